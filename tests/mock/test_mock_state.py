"""The write overlay in process (httpx's ASGI transport): bookkeeping and its cap."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from phony_registry.errors import UsageError
from phony_server.mock import state
from phony_server.mock.app import MockApp
from phony_server.mock.config import MockConfig
from phony_server.mock.sources import CollectionSource

SCHEMA = """
[columns.name]
type = "choice"
values = ["ada", "grace", "linus"]

[columns.age]
type = "integer"
min = 1
max = 99
"""


@pytest.fixture
def client(tmp_path: Path) -> Any:
    (tmp_path / "people.toml").write_text(SCHEMA)
    config = MockConfig(
        [CollectionSource("people", str(tmp_path / "people.toml"))], seed=3, count=10
    )
    app = MockApp(config, warm=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")


async def _ids(client: httpx.AsyncClient) -> list[int]:
    answer = await client.get("/people", params={"_limit": 100})
    ids = [r["id"] for r in answer.json()]
    assert answer.headers["x-total-count"] == str(len(ids))
    return ids


@pytest.mark.anyio
async def test_pages_skip_deleted_records_and_end_with_created_ones(client: Any) -> None:
    async with client:
        for rid in (2, 5, 6):
            assert (await client.delete(f"/people/{rid}")).status_code == 200
        for _ in range(3):
            answer = await client.post("/people", json={"name": "ada", "age": 30})
            assert answer.status_code == 201
        assert (await client.delete("/people/12")).status_code == 200
        assert await _ids(client) == [1, 3, 4, 7, 8, 9, 10, 11, 13]
        page = await client.get("/people", params={"_page": 2, "_limit": 4})
        assert [r["id"] for r in page.json()] == [8, 9, 10, 11]
        assert page.headers["x-total-count"] == "9"


@pytest.mark.anyio
async def test_the_overlay_is_capped_and_a_reset_frees_it(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state, "MAX_WRITES", 3)
    async with client:
        for _ in range(3):
            assert (await client.post("/people", json={"name": "ada", "age": 1})).status_code == 201
        full = await client.post("/people", json={"name": "ada", "age": 1})
        assert full.status_code == 507
        assert "POST /__reset" in full.json()["detail"]
        assert (await client.patch("/people/1", json={"age": 2})).status_code == 507
        assert (await client.post("/__reset")).status_code == 200
        assert (await client.patch("/people/1", json={"age": 2})).status_code == 200


STEPPED = """
[columns.id]
type = "sequence"
start = 100
step = 10

[columns.name]
type = "choice"
values = ["ada", "grace"]
"""


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_created_records_follow_the_schemas_id_sequence(tmp_path: Path, kind: str) -> None:
    (tmp_path / "items.toml").write_text(STEPPED)
    state_spec = "memory" if kind == "memory" else f"sqlite:{tmp_path / 'state.db'}"
    config = MockConfig(
        [CollectionSource("items", str(tmp_path / "items.toml"))],
        seed=3,
        count=3,
        state=state_spec,
    )
    app = MockApp(config, warm=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")
    async with client:
        listed = (await client.get("/items")).json()
        assert [r["id"] for r in listed] == [100, 110, 120]
        created = [(await client.post("/items", json={"name": "ada"})).json()["id"] for _ in "ab"]
        assert created == [130, 140]
        assert (await client.get("/items/140")).json() == {"id": 140, "name": "ada"}
        assert (await client.delete("/items/140")).status_code == 200
        assert (await client.post("/items", json={"name": "grace"})).json()["id"] == 150
        assert [r["id"] for r in (await client.get("/items")).json()] == [100, 110, 120, 130, 150]
        snapshot = (await client.get("/__snapshot")).json()
        assert snapshot["collections"]["items"]["next_id"] == 160
        # A next id off the sequence (or before it) cannot be restored.
        snapshot["collections"]["items"]["next_id"] = 165
        refused = await client.post("/__restore", json=snapshot)
        assert refused.status_code == 422
        assert refused.json()["field"] == "collections.items.next_id"


TYPED = """
[columns.id]
type = "sequence"
start = 5
step = 3

[columns."na{me}"]
type = "choice"
values = ["Çağla", "O\\"Neil", "line\\nbreak"]

[columns.age]
type = "integer"
min = 1
max = 99

[columns.score]
type = "number"
min = 0
max = 1000
decimals = 3

[columns.joined]
type = "date"
start = "2020-01-01"
end = "2024-12-31"
"""


@pytest.mark.anyio
async def test_a_page_encoded_by_column_is_the_json_of_its_records(tmp_path: Path) -> None:
    (tmp_path / "typed.toml").write_text(TYPED)
    config = MockConfig([CollectionSource("typed", str(tmp_path / "typed.toml"))], seed=9, count=50)
    app = MockApp(config, warm=False)
    collection = app.collections["typed"]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for start, stop in [(0, 20), (37, 50), (49, 60), (60, 70)]:
        assert collection.rows_json(start, stop) == dumps(collection.rows(start, stop))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")
    async with client:
        before = (await client.get("/typed", params={"_page": 2, "_limit": 20})).json()
        assert before == collection.rows(20, 40)
        assert {r["na{me}"] for r in before} <= {"Çağla", 'O"Neil', "line\nbreak"}
        v1 = (await client.get("/typed", params={"_page": 2, "_per_page": 20})).json()
        assert (v1["prev"], v1["next"], v1["last"], v1["items"]) == (1, 3, 3, 50)
        assert v1["data"] == before
        # With a write, pages take the path that merges the overlay: the same records.
        assert (await client.patch("/typed/8", json={"age": 7})).status_code == 200
        after = (await client.get("/typed", params={"_page": 2, "_limit": 20})).json()
        assert after == before
        first = (await client.get("/typed", params={"_per_page": 2})).json()
        assert first["data"][1] == {**collection.rows(1, 2)[0], "age": 7}


POSTS = """
[columns.user_id]
type = "integer"
min = 1
max = 10

[columns.title]
type = "template"
template = "hello"
"""


@pytest.fixture(params=["memory", "sqlite"])
async def blog(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Ten people and ten posts referring to them, writes in memory or in SQLite; some written."""
    (tmp_path / "people.toml").write_text(SCHEMA)
    (tmp_path / "posts.toml").write_text(POSTS)
    config = MockConfig(
        [
            CollectionSource("people", str(tmp_path / "people.toml")),
            CollectionSource("posts", str(tmp_path / "posts.toml")),
        ],
        seed=3,
        count=10,
        state="memory" if request.param == "memory" else f"sqlite:{tmp_path / 'state.db'}",
    )
    app = MockApp(config, warm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mock"
    ) as client:
        assert (await client.patch("/people/1", json={"age": 42})).status_code == 200
        assert (await client.delete("/people/2")).status_code == 200
        created = await client.post("/people", json={"name": "grace", "age": 7})
        assert created.json()["id"] == 11
        post = await client.post("/posts", json={"user_id": 11, "title": "mine"})
        assert post.json()["id"] == 11
        yield client


async def _seen(client: httpx.AsyncClient) -> tuple[Any, ...]:
    """The write state and what every list and the written records show."""
    answers = [
        await client.get("/__snapshot"),
        await client.get("/people", params={"_limit": 100}),
        await client.get("/posts", params={"_limit": 100}),
        await client.get("/people/1"),
        await client.get("/people/11"),
    ]
    assert [a.status_code for a in answers] == [200] * 5
    return tuple(a.json() for a in answers)


def _people_record(snapshot: dict[str, Any], record_id: int) -> dict[str, Any]:
    items = snapshot["collections"]["people"]["records"]
    (item,) = [i for i in items if i["id"] == record_id]
    record: dict[str, Any] = item["record"]
    return record


RECORDS = "collections.people.records"

Change = Callable[[dict[str, Any]], object]


def _record(record_id: int, **changes: Any) -> Change:
    return lambda snapshot: _people_record(snapshot, record_id).update(changes)


def _without(record_id: int, name: str) -> Change:
    return lambda snapshot: _people_record(snapshot, record_id).pop(name)


def _next_id(value: int) -> Change:
    return lambda snapshot: snapshot["collections"]["people"].update(next_id=value)


def _item(record_id: int, record: dict[str, Any] | None) -> Change:
    item = {"id": record_id, "record": record}
    return lambda snapshot: snapshot["collections"]["people"]["records"].append(item)


# Records are sorted by id in a snapshot: [0] is id 1 (patched), [1] id 2
# (deleted), [2] id 11 (created); [3] is one a change adds.
BAD_SNAPSHOTS = [
    pytest.param(_record(11, bogus=[1, 2]), f"{RECORDS}[2].record.bogus", id="unknown-field"),
    pytest.param(_record(1, age="old"), f"{RECORDS}[0].record.age", id="wrong-type"),
    pytest.param(_record(1, age=2**64), f"{RECORDS}[0].record.age", id="out-of-range"),
    pytest.param(_record(11, name="zed"), f"{RECORDS}[2].record.name", id="not-a-choice"),
    pytest.param(_without(11, "age"), f"{RECORDS}[2].record.age", id="missing-field"),
    pytest.param(_record(1, name="a" * 10_001), f"{RECORDS}[0].record.name", id="too-long"),
    pytest.param(_next_id(10**29), "collections.people.next_id", id="huge-next-id"),
    pytest.param(_next_id(2**63 + 1), "collections.people.next_id", id="next-id-past-the-largest"),
    pytest.param(_next_id(11), f"{RECORDS}[2].id", id="created-at-next-id"),
    pytest.param(_item(0, None), f"{RECORDS}[3].id", id="id-zero"),
    pytest.param(_item(-4, None), f"{RECORDS}[3].id", id="negative-id"),
    pytest.param(_item(2**63, {"id": 2**63, "name": "ada", "age": 1}), f"{RECORDS}[3].id",
                 id="id-past-the-largest"),
]  # fmt: skip


async def _refused(blog: httpx.AsyncClient, change: Change) -> dict[str, Any]:
    """The 422 answer to restoring the current snapshot after ``change``; nothing changed."""
    before = await _seen(blog)
    snapshot = json.loads(json.dumps(before[0]))
    change(snapshot)
    refused = await blog.post("/__restore", json=snapshot)
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid"
    assert await _seen(blog) == before
    # The ids carry on where they were.
    assert (await blog.post("/people", json={"name": "ada", "age": 1})).json()["id"] == 12
    answer: dict[str, Any] = refused.json()
    return answer


@pytest.mark.anyio
@pytest.mark.parametrize(("change", "field"), BAD_SNAPSHOTS)
async def test_a_snapshot_with_a_bad_record_or_next_id_is_refused_and_nothing_changes(
    blog: Any, change: Change, field: str
) -> None:
    refused = await _refused(blog, change)
    assert refused["field"] == field
    assert refused["detail"].startswith(f"{field}: ")


def _top(**changes: Any) -> Change:
    return lambda snapshot: snapshot.update(changes)


def _item_id(index: int, value: Any) -> Change:
    return lambda snapshot: snapshot["collections"]["people"]["records"][index].update(id=value)


# JSON has one number type; a snapshot's integers are written without a
# fraction or exponent, and 12.0 or 1e1 is not one of them.
NOT_INTEGERS_OR_TWICE = [
    pytest.param(_next_id(12.0), "collections.people.next_id",
                 "expected an integer, not 12.0", id="float-next-id"),
    pytest.param(_next_id(True), "collections.people.next_id",
                 "expected an integer, not true", id="boolean-next-id"),
    pytest.param(_top(seed=3.0), "seed", "expected an integer, not 3.0", id="float-seed"),
    pytest.param(_top(phony_mock_snapshot=1.0), "phony_mock_snapshot",
                 "expected an integer, not 1.0", id="float-version"),
    pytest.param(_top(phony_mock_snapshot=True), "phony_mock_snapshot",
                 "expected an integer, not true", id="boolean-version"),
    pytest.param(_item_id(1, 2.0), f"{RECORDS}[1].id", "expected an integer, not 2.0",
                 id="float-id"),
    pytest.param(_record(11, id=11.0), f"{RECORDS}[2].record.id",
                 "expected an integer, not 11.0", id="float-record-id"),
    pytest.param(_item(2, {"id": 2, "name": "ada", "age": 5}), f"{RECORDS}[3].id",
                 "id 2 comes twice in this collection (first at records[1])",
                 id="duplicate-deleted-then-written"),
    pytest.param(_item(11, None), f"{RECORDS}[3].id",
                 "id 11 comes twice in this collection (first at records[2])",
                 id="duplicate-created-then-deleted"),
]  # fmt: skip


@pytest.mark.anyio
@pytest.mark.parametrize(("change", "field", "reason"), NOT_INTEGERS_OR_TWICE)
async def test_a_snapshot_with_a_float_for_an_integer_or_an_id_twice_is_refused(
    blog: Any, change: Change, field: str, reason: str
) -> None:
    refused = await _refused(blog, change)
    assert (refused["field"], refused["detail"]) == (field, f"{field}: {reason}")


@pytest.mark.anyio
async def test_a_snapshot_comes_back_whole_dangling_references_included(blog: Any) -> None:
    # The post refers to person 11; deleting 11 leaves the reference, as a database without
    # cascades would: the snapshot holds it, and restoring must take it back.
    assert (await blog.delete("/people/11")).status_code == 200
    taken = await _seen_without_eleven(blog)
    assert (await blog.post("/__reset")).status_code == 200
    assert (await blog.get("/people/1")).json()["age"] != 42
    restored = await blog.post("/__restore", json=taken[0])
    assert restored.status_code == 200, restored.text
    assert await _seen_without_eleven(blog) == taken
    assert (await blog.get("/posts/11")).json() == {"id": 11, "user_id": 11, "title": "mine"}


async def _seen_without_eleven(client: httpx.AsyncClient) -> tuple[Any, ...]:
    snapshot = await client.get("/__snapshot")
    people = await client.get("/people", params={"_limit": 100})
    posts = await client.get("/posts", params={"_limit": 100})
    assert (await client.get("/people/11")).status_code == 404
    return snapshot.json(), people.json(), posts.json()


class _Interleaved:
    """A worker's SQLite connection through which another worker commits at one moment:
    just before the statement starting with ``before``, or just after ``after``."""

    def __init__(self, db: Any, meanwhile: Callable[[], Any], *, before: str = "", after: str = ""):
        self.db, self.meanwhile, self.before, self.after = db, meanwhile, before, after

    def execute(self, sql: str, *args: Any) -> Any:
        if self.before and sql.startswith(self.before):
            self.before = ""
            self.meanwhile()
        result = self.db.execute(sql, *args)
        if self.after and sql.startswith(self.after):
            self.after = ""
            self.meanwhile()
        return result

    def executemany(self, sql: str, rows: Any) -> Any:
        return self.db.executemany(sql, rows)


@pytest.mark.parametrize(
    "moment",
    [{"before": "SELECT collection, id, body"}, {"after": "COMMIT"}],
    ids=["while-reloading", "just-after-committing"],
)
def test_workers_sharing_a_state_file_never_hand_out_one_id_twice(
    tmp_path: Path, moment: dict[str, str]
) -> None:
    path = tmp_path / "state.db"
    one = state.Overlay({"posts": 11}, 3, path)
    other = state.Overlay({"posts": 11}, 3, path)
    assert other.create("posts", {"title": "first"})["id"] == 11
    ids = [11]
    db = one._db

    def meanwhile() -> None:
        ids.append(other.create("posts", {"title": "meanwhile"})["id"])

    one._db = _Interleaved(db, meanwhile, **moment)  # type: ignore[assignment]
    one.refresh()
    ids.append(one.create("posts", {"title": "one"})["id"])
    one._db = db
    one.refresh()
    ids.append(one.create("posts", {"title": "two"})["id"])
    assert sorted(ids) == [11, 12, 13, 14]
    other.refresh()
    assert sorted(other.layers["posts"].created) == [11, 12, 13, 14]


def test_a_state_file_refuses_collections_whose_generated_ids_end_elsewhere(
    tmp_path: Path,
) -> None:
    # Record 11 was created after ten generated posts; over twenty, id 11 is a generated
    # record, which the created one would silently replace.
    path = tmp_path / "state.db"
    first = state.Overlay({"posts": 11}, 3, path)
    assert first.create("posts", {"title": "mine"})["id"] == 11
    with pytest.raises(UsageError) as refused:
        state.Overlay({"posts": 21}, 3, path)
    assert str(refused.value) == (
        f"--state sqlite:{path} holds writes to posts made when its created ids started at "
        "11, not 21 (another --count or id sequence): use the same, or another state file"
    )
    with pytest.raises(UsageError) as refused:
        state.Overlay({"posts": 11}, 3, path, steps={"posts": 10})
    assert "started at 11, 1 apart, not 11, 10 apart" in str(refused.value)
    # The same collections, or more of them, are fine.
    again = state.Overlay({"posts": 11, "users": 6}, 3, path)
    assert again.lookup("posts", 11) == (True, {"id": 11, "title": "mine"})
    # Once nothing is written, another count is too.
    again.reset()
    assert state.Overlay({"posts": 21, "users": 6}, 3, path).create("posts", {})["id"] == 21
    with pytest.raises(UsageError):
        state.Overlay({"posts": 11, "users": 6}, 3, path)
