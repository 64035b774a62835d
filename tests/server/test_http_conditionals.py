"""Range and If-None-Match as RFC 9110 reads them, on every path that serves a blob
or a layout file.

A Range the server cannot parse, or in a unit it does not know, is ignored
(the whole blob, 200); a valid one outside the blob is 416. If-None-Match
compares weakly, takes lists and ``*``. Blobs are served from a folder
(Starlette's file response) and from storages without local files (S3): both
are tested, through the API and the static layout path.
"""

from __future__ import annotations

import pytest

from tests.server.conftest import Server, digest_of

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["folder", "no-local-file"])
async def published(request: pytest.FixtureRequest, server: Server, blob: bytes) -> Server:
    """A server holding ``blob``, reading it from a folder, or as S3 would (no local path)."""
    answer = await server.push(server.publisher("alice"), "alice/names", "1.0.0", blob)
    assert answer.status_code == 201, answer.text
    if request.param == "no-local-file":
        storage = server.app.state.registry.storage  # type: ignore[attr-defined]
        request.getfixturevalue("monkeypatch").setattr(storage, "local_path", lambda key: None)
    return server


def _urls(blob: bytes) -> list[str]:
    hexdigest = digest_of(blob).removeprefix("sha256:")
    return [f"/v1/blobs/sha256:{hexdigest}", f"/blobs/sha256/{hexdigest[:2]}/{hexdigest}"]


@pytest.mark.parametrize(
    "header",
    [
        "bytes=10-5",
        "bytes=abc",
        "items=0-1",
        "bytes=",
        "bytes=-",
        "bytes=5",
        "bytes=1-2-3",
        "bytes=0-1,3-4",
        "bytes=--1",
        "bytes=٣-5".encode(),
        "10-20",
        "bytes=99999999999999999999999-1",
    ],
    ids=[
        "end-before-start", "letters", "unknown-unit", "empty", "dash", "no-dash",
        "two-dashes", "several-ranges", "double-minus", "non-ascii-digit", "no-unit",
        "huge-start-before-end",
    ],
)  # fmt: skip
async def test_a_range_that_is_not_one_is_ignored(
    published: Server, blob: bytes, header: str | bytes
) -> None:
    for url in _urls(blob):
        answer = await published.client.get(url, headers={"Range": header})
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:100])
        assert answer.headers["content-type"] == "application/octet-stream"
        assert "content-range" not in answer.headers
        assert answer.content == blob


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=10-19", 10, 19),
        ("Bytes = 10 - 19", 10, 19),
        ("bytes=10-", 10, None),
        ("bytes=-7", -7, None),
        ("bytes=0-99999999999999999999999999", 0, None),
        ("bytes=-99999999999999999999999999", 0, None),
        ("bytes=0000000000000000000000000003-4", 3, 4),
    ],
    ids=["closed", "spaces-and-case", "open", "suffix", "huge-end", "huge-suffix", "zeros"],
)
async def test_a_valid_range_gives_206(
    published: Server, blob: bytes, header: str, start: int, end: int | None
) -> None:
    first = start % len(blob)
    last = len(blob) - 1 if end is None else end
    for url in _urls(blob):
        answer = await published.client.get(url, headers={"Range": header})
        assert answer.status_code == 206, (url, answer.text[:100])
        assert answer.content == blob[first : last + 1]
        assert answer.headers["content-range"] == f"bytes {first}-{last}/{len(blob)}"


@pytest.mark.parametrize(
    "header",
    ["bytes=999999-", "bytes=-0", "bytes=999999-1000000", "bytes=99999999999999999999999-"],
    ids=["start-past-end", "empty-suffix", "closed-past-end", "huge-start"],
)
async def test_an_unsatisfiable_range_is_416(published: Server, blob: bytes, header: str) -> None:
    for url in _urls(blob):
        answer = await published.client.get(url, headers={"Range": header})
        assert answer.status_code == 416, (url, answer.status_code)
        assert answer.headers["content-range"] == f"bytes */{len(blob)}"
        assert answer.content == b""
        assert "cache-control" not in answer.headers  # a shared cache must not keep it


async def test_if_range_that_does_not_match_sends_everything(
    published: Server, blob: bytes
) -> None:
    for url in _urls(blob):
        answer = await published.client.get(
            url, headers={"Range": "bytes=10-19", "If-Range": '"sha256:other"'}
        )
        assert answer.status_code == 200
        assert answer.content == blob
        matching = await published.client.get(
            url, headers={"Range": "bytes=10-19", "If-Range": f'"{digest_of(blob)}"'}
        )
        assert matching.status_code == 206
        assert matching.content == blob[10:20]


def _if_none_match_cases(etag: str) -> list[tuple[str, int]]:
    return [
        (etag, 304),
        (f"W/{etag}", 304),
        (f'"nope", {etag}', 304),
        (f'W/"nope",W/{etag}', 304),
        ("*", 304),
        ('"nope"', 200),
        ('W/"nope", "other"', 200),
        (etag.strip('"'), 200),  # unquoted: not an entity tag
    ]


async def test_if_none_match_on_layout_files(published: Server) -> None:
    for path in ["/snapshot.json", "/index/alice/names.jsonl", "/keys/registry.pub.pem"]:
        etag = (await published.client.get(path)).headers["etag"]
        for header, status in _if_none_match_cases(etag):
            answer = await published.client.get(path, headers={"If-None-Match": header})
            assert answer.status_code == status, (path, header)
            assert answer.headers["etag"] == etag


async def test_if_none_match_on_the_snapshot_without_the_fast_path(
    published: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The application's own route (what an S3 storage goes through).
    storage = published.app.state.registry.storage  # type: ignore[attr-defined]
    monkeypatch.setattr(storage, "local_path", lambda key: None)
    etag = (await published.client.get("/snapshot.json")).headers["etag"]
    for header, status in _if_none_match_cases(etag):
        answer = await published.client.get("/snapshot.json", headers={"If-None-Match": header})
        assert answer.status_code == status, header


async def test_if_none_match_on_blobs(published: Server, blob: bytes) -> None:
    etag = f'"{digest_of(blob)}"'
    for url in _urls(blob):
        for header, status in _if_none_match_cases(etag):
            answer = await published.client.get(url, headers={"If-None-Match": header})
            assert answer.status_code == status, (url, header)
