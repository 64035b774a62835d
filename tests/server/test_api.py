"""The /v1 API in-process: publishing, refusals, reads, yanks, search."""

from __future__ import annotations

import asyncio
import gzip
import json

import pytest

from phony_registry.index import Snapshot, parse_index
from phony_registry.manifest import Manifest
from tests.server.conftest import Server, digest_of, gzip_json, make_blob

pytestmark = pytest.mark.anyio


def _error(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "detail"}, body
    return str(body["error"])


async def test_publish_then_read_everything_back(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    answer = await server.push(alice, "alice/names", "1.0.0", blob, description="Turkish names")
    assert answer.status_code == 201, answer.text
    assert answer.json()["digest"] == digest_of(blob)

    info = (await server.client.get("/v1/models/alice/names")).json()
    assert info["latest"] == "1.0.0"
    assert [v["version"] for v in info["versions"]] == ["1.0.0"]

    raw = await server.client.get("/v1/models/alice/names/manifests/latest")
    manifest = Manifest.from_bytes(raw.content)
    assert manifest.digest == digest_of(blob)
    assert manifest.description == "Turkish names"
    # Signed by the publisher and countersigned by the registry.
    registry_key = server.app.state.registry.key.public_key  # type: ignore[attr-defined]
    assert manifest.verify([alice.key.public_key])
    assert manifest.verify([registry_key])
    by_digest = await server.client.get(f"/v1/models/alice/names/manifests/{digest_of(blob)}")
    assert by_digest.content == raw.content

    data = await server.client.get(f"/v1/blobs/{digest_of(blob)}")
    assert data.content == blob
    assert data.headers["etag"] == f'"{digest_of(blob)}"'


async def test_static_layout_matches_a_folder_registry(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    await server.push(alice, "alice/names", "1.0.0", blob)
    digest = digest_of(blob)
    assert server.files() >= {
        "snapshot.json",
        "keys/registry.pub.pem",
        "index/alice/names.jsonl",
        "manifests/alice/names/1.0.0.json",
        f"blobs/sha256/{digest[7:9]}/{digest[7:]}",
    }
    for path in server.files():
        served = await server.client.get(f"/{path}")
        assert served.status_code == 200, path
        assert served.content == (server.root / path).read_bytes(), path

    snapshot = Snapshot.from_bytes((await server.client.get("/snapshot.json")).content)
    registry_key = server.app.state.registry.key.public_key  # type: ignore[attr-defined]
    snapshot.verify(registry_key)
    index = (await server.client.get("/index/alice/names.jsonl")).content
    snapshot.check_file("index/alice/names.jsonl", index)
    assert parse_index(index)[0].digest == digest


async def test_snapshot_and_index_revalidate_with_etag(server: Server, blob: bytes) -> None:
    first = await server.client.get("/snapshot.json")
    again = await server.client.get(
        "/snapshot.json", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    await server.push(server.publisher("alice"), "alice/names", "1.0.0", blob)
    changed = await server.client.get(
        "/snapshot.json", headers={"If-None-Match": first.headers["etag"]}
    )
    assert changed.status_code == 200
    assert (
        Snapshot.from_bytes(changed.content).version
        == Snapshot.from_bytes(first.content).version + 1
    )


async def test_blob_range_head_and_etag(server: Server, blob: bytes) -> None:
    await server.push(server.publisher("alice"), "alice/names", "1.0.0", blob)
    url = f"/v1/blobs/{digest_of(blob)}"
    head = await server.client.head(url)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(blob)
    assert head.content == b""
    part = await server.client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == blob[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(blob)}"
    cached = await server.client.get(url, headers={"If-None-Match": f'"{digest_of(blob)}"'})
    assert cached.status_code == 304
    missing = await server.client.head(f"/v1/blobs/sha256:{'0' * 64}")
    assert missing.status_code == 404


async def test_republishing_the_same_release_is_idempotent(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    assert (await server.push(alice, "alice/names", "1.0.0", blob)).status_code == 201
    again = await server.push(alice, "alice/names", "1.0.0", blob)
    assert again.status_code == 200
    assert again.json()["created"] is False


async def test_same_version_with_other_bytes_is_409(
    server: Server, blob: bytes, other_blob: bytes
) -> None:
    alice = server.publisher("alice")
    await server.push(alice, "alice/names", "1.0.0", blob)
    before = (server.root / "index/alice/names.jsonl").read_bytes()
    answer = await server.push(alice, "alice/names", "1.0.0", other_blob)
    assert answer.status_code == 409
    assert _error(answer) == "already_exists"
    assert (server.root / "index/alice/names.jsonl").read_bytes() == before


async def test_racing_publishes_of_one_version_give_one_winner(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    blobs = [make_blob([*["ayse", "fatma", "elif"], f"name{i}"], name=f"n{i}") for i in range(8)]
    answers = await asyncio.gather(*(server.push(alice, "alice/race", "1.0.0", b) for b in blobs))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 7
    winner = next(b for b, a in zip(blobs, answers, strict=True) if a.status_code == 201)
    entries = parse_index((server.root / "index/alice/race.jsonl").read_bytes())
    assert [e.digest for e in entries] == [digest_of(winner)]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        pytest.param({}, 401, "unauthorized", id="no-token"),
        pytest.param({"Authorization": "Bearer nonsense"}, 401, "unauthorized", id="malformed"),
        pytest.param(
            {"Authorization": f"Bearer phony_{'0' * 16}_{'A' * 43}"},
            401,
            "unauthorized",
            id="unknown",
        ),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, 401, "unauthorized", id="basic-auth"),
    ],
)
async def test_writes_without_a_valid_token_write_nothing(
    server: Server, blob: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    alice = server.publisher("alice")
    before = server.files()
    manifest = alice.manifest("alice/names", "1.0.0", blob).to_bytes()
    for method, url, body in [
        ("PUT", f"/v1/blobs/{digest_of(blob)}", blob),
        ("PUT", "/v1/models/alice/names/versions/1.0.0", manifest),
        ("POST", "/v1/models/alice/names/versions/1.0.0/yank", b""),
    ]:
        answer = await server.client.request(method, url, content=body, headers=headers)
        assert answer.status_code == status, (url, answer.text)
        assert _error(answer) == code
        assert "phony_" not in answer.text  # a token is never echoed
    assert server.files() == before


async def test_revoked_and_expired_tokens_are_401(server: Server, blob: bytes) -> None:
    token, _record = server.tokens.create(["alice"], expires_in=60, now=0)
    expired = await server.client.put(
        f"/v1/blobs/{digest_of(blob)}", content=blob, headers={"Authorization": f"Bearer {token}"}
    )
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    alice = server.publisher("alice")
    server.tokens.revoke(alice.token_id)
    answer = await server.client.put(
        f"/v1/blobs/{digest_of(blob)}", content=blob, headers=alice.headers
    )
    assert answer.status_code == 401
    assert "revoked" in answer.json()["detail"]


async def test_token_for_another_namespace_is_403(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    bob = server.publisher("bob")
    await server.push(alice, "alice/names", "1.0.0", blob)
    before = server.files()
    manifest = bob.manifest("alice/names", "2.0.0", blob).to_bytes()
    answer = await server.client.put(
        "/v1/models/alice/names/versions/2.0.0", content=manifest, headers=bob.headers
    )
    assert answer.status_code == 403
    assert _error(answer) == "forbidden"
    yank = await server.client.post(
        "/v1/models/alice/names/versions/1.0.0/yank", headers=bob.headers
    )
    assert yank.status_code == 403
    assert server.files() == before


async def test_official_names_need_an_operator_token(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    answer = await server.push(alice, "tr_TR/first_names", "1.0.0", blob)
    assert answer.status_code == 403
    assert "operator" in answer.json()["detail"]


async def test_official_names_need_the_official_key_too(server: Server, blob: bytes) -> None:
    # Every pull accepts an official name only under the official key, so the
    # server refuses a release the operator alone signed instead of serving it.
    operator = server.publisher(operator=True)
    before = server.files()
    answer = await server.push(operator, "tr_TR/first_names", "1.0.0", blob)
    assert answer.status_code == 400, answer.text
    assert _error(answer) == "signature"
    assert "not signed by the official key" in answer.json()["detail"]
    assert (await server.client.get("/v1/models/tr_TR/first_names")).status_code == 404
    assert {f for f in server.files() if not f.startswith("blobs/")} == {
        f for f in before if not f.startswith("blobs/")
    }
    # The official release itself (from the bundled index), countersigned by
    # the operator's registered key, is published.
    import phony_index
    from phony_registry.layout import blob_path, manifest_path

    official = Manifest.from_bytes(
        (phony_index.ROOT / manifest_path("tr_TR/cities", "1.0.0")).read_bytes()
    )
    assert official.digest is not None
    data = (phony_index.ROOT / blob_path(official.digest)).read_bytes()
    uploaded = await server.client.put(
        f"/v1/blobs/{official.digest}", content=data, headers=operator.headers
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    answer = await server.client.put(
        "/v1/models/tr_TR/cities/versions/1.0.0",
        content=official.signed(operator.key).to_bytes(),
        headers=operator.headers,
    )
    assert answer.status_code == 201, answer.text


async def test_manifest_needs_a_registered_publisher_key(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice", register=False)
    answer = await server.push(alice, "alice/names", "1.0.0", blob)
    assert answer.status_code == 400
    assert _error(answer) == "signature"
    registered = await server.client.put(
        "/v1/keys", json={"public_key": alice.key.public_key.to_base64()}, headers=alice.headers
    )
    assert registered.json()["added"] == ["alice"]
    assert (await server.push(alice, "alice/names", "1.0.0", blob)).status_code == 201


async def test_manifest_signed_by_an_unregistered_key_is_refused(
    server: Server, blob: bytes
) -> None:
    from phony_registry.signing import PrivateKey

    alice = server.publisher("alice")
    alice.key = PrivateKey.generate()  # signs with a key nobody registered
    answer = await server.push(alice, "alice/names", "1.0.0", blob)
    assert answer.status_code == 400
    assert _error(answer) == "signature"
    assert not (server.root / "manifests/alice/names/1.0.0.json").exists()


async def test_tampered_manifest_signature_is_refused(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    await server.client.put(f"/v1/blobs/{digest_of(blob)}", content=blob, headers=alice.headers)
    data = alice.manifest("alice/names", "1.0.0", blob).to_dict()
    data["description"] = "changed after signing"
    answer = await server.client.put(
        "/v1/models/alice/names/versions/1.0.0", content=json.dumps(data), headers=alice.headers
    )
    assert answer.status_code == 400
    assert _error(answer) == "signature"


async def test_blob_digest_is_computed_by_the_server(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    wrong = f"sha256:{'a' * 64}"
    answer = await server.client.put(f"/v1/blobs/{wrong}", content=blob, headers=alice.headers)
    assert answer.status_code == 400
    assert _error(answer) == "digest_mismatch"
    assert not any(p.startswith("blobs/") for p in server.files())


async def test_manifest_before_its_blob_is_404(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    answer = await server.client.put(
        "/v1/models/alice/names/versions/1.0.0",
        content=alice.manifest("alice/names", "1.0.0", blob).to_bytes(),
        headers=alice.headers,
    )
    assert answer.status_code == 404
    assert "upload it first" in answer.json()["detail"]


async def test_manifest_format_version_must_match_the_blob(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    await server.client.put(f"/v1/blobs/{digest_of(blob)}", content=blob, headers=alice.headers)
    manifest = Manifest.model(
        "alice/names", "1.0.0", digest=digest_of(blob), size=len(blob), format_version=1
    ).signed(alice.key)
    answer = await server.client.put(
        "/v1/models/alice/names/versions/1.0.0", content=manifest.to_bytes(), headers=alice.headers
    )
    assert answer.status_code == 422
    assert "format_version" in answer.json()["detail"]


async def test_manifest_must_match_the_url(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    await server.client.put(f"/v1/blobs/{digest_of(blob)}", content=blob, headers=alice.headers)
    manifest = alice.manifest("alice/names", "1.0.0", blob).to_bytes()
    answer = await server.client.put(
        "/v1/models/alice/names/versions/2.0.0", content=manifest, headers=alice.headers
    )
    assert answer.status_code == 422
    assert _error(answer) == "invalid_manifest"


async def test_colliding_spelling_is_409(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    assert (await server.push(alice, "alice/my-names", "1.0.0", blob)).status_code == 201
    answer = await server.push(alice, "alice/my_names", "2.0.0", blob)
    assert answer.status_code == 409
    assert "collides" in answer.json()["detail"]


@pytest.mark.parametrize(
    "name",
    [
        "alice/..",
        "alice/.hidden",
        "Alice/names",
        "alice/na%2Fmes",
        "alice/names/extra",
        "alice/nämes",
    ],
)
async def test_bad_names_are_422(server: Server, blob: bytes, name: str) -> None:
    alice = server.publisher("alice")
    before = server.files()
    answer = await server.client.put(
        f"/v1/models/{name}/versions/1.0.0", content=b"{}", headers=alice.headers
    )
    assert 400 <= answer.status_code < 500, answer.text
    _error(answer)
    assert server.files() == before


HOSTILE = {
    "not-gzip": b"just some text",
    "truncated-gzip": make_blob()[:-20],
    "concatenated-gzip": make_blob() + make_blob(),
    "non-utf8": gzip.compress(b"\xff\xfe{}", mtime=0),
    "deep-json": gzip.compress(b"[" * 100_000 + b"]" * 100_000, mtime=0),
    "future-format": gzip_json({"format_version": 999}),
    "not-an-object": gzip_json([1, 2, 3]),
}


@pytest.mark.parametrize("body", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_hostile_blobs_are_4xx_and_not_stored(server: Server, body: bytes) -> None:
    alice = server.publisher("alice")
    answer = await server.client.put(
        f"/v1/blobs/{digest_of(body)}", content=body, headers=alice.headers
    )
    assert 400 <= answer.status_code < 500, answer.text
    _error(answer)
    assert not any(p.startswith("blobs/") for p in server.files())


async def test_gzip_bomb_is_413(server: Server) -> None:
    bomb = gzip.compress(b"\0" * (8 << 20), mtime=0)  # 8 MB inflated, cap is 1 MB
    alice = server.publisher("alice")
    answer = await server.client.put(
        f"/v1/blobs/{digest_of(bomb)}", content=bomb, headers=alice.headers
    )
    assert answer.status_code == 413
    assert _error(answer) == "decompression_limit"


async def test_upload_over_the_cap_is_413_with_or_without_length(server: Server) -> None:
    alice = server.publisher("alice")
    big = b"x" * 100_000  # the fixture's cap is 64 KB
    declared = await server.client.put(
        f"/v1/blobs/{digest_of(big)}", content=big, headers=alice.headers
    )
    assert declared.status_code == 413

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"y" * 1000

    chunked = await server.client.put(
        f"/v1/blobs/sha256:{'1' * 64}", content=chunks(), headers=alice.headers
    )
    assert chunked.status_code == 413
    assert _error(chunked) == "payload_too_large"
    assert not any(p.startswith("blobs/") for p in server.files())


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"name": "alice/names", "name": "alice/other"}', id="duplicate-keys"),
        pytest.param(b"[" * 50_000 + b"]" * 50_000, id="deep-json"),
        pytest.param(b"\xff\xfe", id="non-utf8"),
        pytest.param(b"[]", id="not-an-object"),
        pytest.param(b'{"schema": 1}', id="missing-fields"),
    ],
)
async def test_hostile_manifests_are_422(server: Server, body: bytes) -> None:
    alice = server.publisher("alice")
    answer = await server.client.put(
        "/v1/models/alice/names/versions/1.0.0", content=body, headers=alice.headers
    )
    assert answer.status_code == 422, answer.text
    assert _error(answer) == "invalid_manifest"


async def test_yank_and_unyank(server: Server, blob: bytes, other_blob: bytes) -> None:
    alice = server.publisher("alice")
    await server.push(alice, "alice/names", "1.0.0", blob)
    await server.push(alice, "alice/names", "1.1.0", other_blob)
    yanked = await server.client.post(
        "/v1/models/alice/names/versions/1.1.0/yank", headers=alice.headers
    )
    assert yanked.status_code == 200
    assert yanked.json()["yanked"] is True
    latest = await server.client.get("/v1/models/alice/names/manifests/^1")
    assert latest.headers["x-phony-version"] == "1.0.0"
    pinned = await server.client.get("/v1/models/alice/names/manifests/1.1.0")
    assert pinned.status_code == 200  # exact pins still get a yanked version
    index = parse_index((await server.client.get("/index/alice/names.jsonl")).content)
    assert [e.yanked for e in index] == [False, True]
    await server.client.post("/v1/models/alice/names/versions/1.1.0/unyank", headers=alice.headers)
    latest = await server.client.get("/v1/models/alice/names/manifests/^1")
    assert latest.headers["x-phony-version"] == "1.1.0"


async def test_yank_of_an_unknown_version_is_404(server: Server, blob: bytes) -> None:
    alice = server.publisher("alice")
    await server.push(alice, "alice/names", "1.0.0", blob)
    answer = await server.client.post(
        "/v1/models/alice/names/versions/9.9.9/yank", headers=alice.headers
    )
    assert answer.status_code == 404
    assert _error(answer) == "not_found"


async def test_search_matches_name_and_description(
    server: Server, blob: bytes, other_blob: bytes
) -> None:
    alice = server.publisher("alice")
    await server.push(alice, "alice/names", "1.0.0", blob, description="Turkish first names")
    await server.push(alice, "alice/streets", "1.0.0", other_blob, description="Istanbul streets")
    found = (await server.client.get("/v1/models", params={"q": "turkish"})).json()["models"]
    assert [m["name"] for m in found] == ["alice/names"]
    everything = (await server.client.get("/v1/models")).json()["models"]
    assert [m["name"] for m in everything] == ["alice/names", "alice/streets"]


async def test_unknown_model_and_private_files_are_404(server: Server) -> None:
    for url in ["/v1/models/alice/nothing", "/_server/registry-key.pem", "/_server/tokens/x.json",
                "/../etc/passwd", "/index/../_server/registry-key.pem"]:  # fmt: skip
        answer = await server.client.get(url)
        assert answer.status_code == 404, url
        assert "PRIVATE KEY" not in answer.text


async def test_health_and_openapi(server: Server) -> None:
    health = await server.client.get("/v1/health")
    assert health.json()["status"] == "ok"
    schema = (await server.client.get("/openapi.json")).json()
    assert "/v1/blobs/{digest}" in schema["paths"]
    assert "put" in schema["paths"]["/v1/models/{name}/versions/{version}"]


async def test_whoami_shows_scope_never_the_token(server: Server) -> None:
    alice = server.publisher("alice")
    answer = await server.client.get("/v1/whoami", headers=alice.headers)
    assert answer.json()["namespaces"] == ["alice"]
    assert alice.token not in answer.text
    assert "hash" not in answer.json()


async def test_pack_publish_checks_its_members(server: Server, blob: bytes) -> None:
    from phony_registry.manifest import PackMember

    alice = server.publisher("alice")
    await server.push(alice, "alice/first_names", "1.0.0", blob)

    def pack(digest: str) -> bytes:
        members = [PackMember("alice/first_names", "1.0.0", digest)]
        return Manifest.pack("alice/people", "1.0.0", members).signed(alice.key).to_bytes()

    wrong = await server.client.put(
        "/v1/models/alice/people/versions/1.0.0",
        content=pack(f"sha256:{'0' * 64}"),
        headers=alice.headers,
    )
    assert wrong.status_code == 400
    assert _error(wrong) == "digest_mismatch"
    right = await server.client.put(
        "/v1/models/alice/people/versions/1.0.0",
        content=pack(digest_of(blob)),
        headers=alice.headers,
    )
    assert right.status_code == 201, right.text
    answer = await server.client.get("/manifests/alice/people/1.0.0.json")
    assert [m.name for m in Manifest.from_bytes(answer.content).members] == ["alice/first_names"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        pytest.param("PUT", "/v1/keys", '{"public_key": "-----BEGIN \u00e9"}', id="non-ascii-pem"),
        pytest.param("PUT", "/v1/keys", '{"public_key": "AAAA"}', id="short-key"),
        pytest.param("PUT", "/v1/keys", '{"public_key": 5}', id="not-a-string"),
        pytest.param("GET", "/v1/keys/" + "x" * 300, None, id="long-namespace"),
        pytest.param("GET", "/index/" + "x" * 300 + ".jsonl", None, id="long-path"),
        pytest.param("GET", "/v1/models/alice/names/manifests/%ff", None, id="bad-ref"),
    ],
)
async def test_odd_requests_are_4xx_never_5xx(
    server: Server, method: str, url: str, body: str | None
) -> None:
    alice = server.publisher("alice")
    headers = {**alice.headers, "Content-Type": "application/json"}
    answer = await server.client.request(method, url, content=body, headers=headers)
    assert 400 <= answer.status_code < 500, answer.text
    _error(answer)
