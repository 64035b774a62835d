"""An HTTP registry is the same code path as a folder: same checks, plus ETag revalidation."""

from __future__ import annotations

import pytest
from registry_sim import FolderOverHttp, RegistrySim, cache_files, train_bytes

from phony_client._net import RetryPolicy
from phony_client.pull import pull
from phony_client.sources import FolderSource, HttpSource, open_source
from phony_registry import layout
from phony_registry.errors import DigestMismatch, NotFound, OfflineError, RegistryUnavailable

URL = "http://127.0.0.1:9"  # never contacted: every request goes to the mock transport


@pytest.fixture
def served(sim: RegistrySim, model_v2: bytes) -> FolderOverHttp:
    sim.publish("alice/names", "1.0.0", model_v2)
    sim.publish("bob/cities", "1.0.0", train_bytes(["ankara", "izmir", "bursa"]))
    return FolderOverHttp(sim.root)


def test_open_source_picks_the_reader() -> None:
    assert isinstance(open_source("./somewhere"), FolderSource)
    assert isinstance(open_source("file:///srv/models"), FolderSource)
    assert open_source("file:///srv/models").id == "file:/srv/models"
    assert isinstance(open_source("https://models.example.org/"), HttpSource)
    assert open_source("https://models.example.org/").id == "https://models.example.org"


def test_pull_over_http_verifies_like_a_folder(served: FolderOverHttp, model_v2: bytes) -> None:
    result = pull("alice/names@^1", registry=URL, transport=served.transport())
    assert result.ref.location == URL
    paths = served.paths()
    assert paths[0] == "/snapshot.json"
    assert "/index/alice/names.jsonl" in paths
    assert any(p.startswith("/blobs/sha256/") for p in paths)


def test_index_files_are_revalidated_not_refetched(
    served: FolderOverHttp, sim: RegistrySim
) -> None:
    transport = served.transport()
    pull("alice/names@^1", registry=URL, transport=transport)
    served.requests.clear()
    # Same snapshot: the cached index matches its digest, so it is not even asked for.
    pull("alice/names@^1", registry=URL, transport=transport, refresh=True)
    assert "/index/alice/names.jsonl" not in served.paths()
    sim.publish("alice/names", "1.1.0", train_bytes(["a1", "b2"]))
    served.requests.clear()
    assert pull("alice/names@^1", registry=URL, transport=transport).ref.version == "1.1.0"
    index_requests = [r for r in served.requests if r.url.path == "/index/alice/names.jsonl"]
    assert index_requests
    assert index_requests[0].headers.get("If-None-Match")


def test_snapshot_not_modified_is_used_from_the_cache(served: FolderOverHttp) -> None:
    transport = served.transport()
    pull("alice/names@^1", registry=URL, transport=transport)
    served.requests.clear()
    pull("alice/names@^1", registry=URL, transport=transport)
    snapshot_requests = [r for r in served.requests if r.url.path == "/snapshot.json"]
    assert snapshot_requests[0].headers.get("If-None-Match")


def test_flipped_byte_in_transit(served: FolderOverHttp) -> None:
    def flip(path: str, data: bytes) -> bytes:
        return data[:-1] + bytes([data[-1] ^ 1]) if path.startswith("blobs/") else data

    served.mangle = flip
    with pytest.raises(DigestMismatch):
        pull("alice/names@^1", registry=URL, transport=served.transport())
    assert cache_files() == set()


def test_short_body_in_transit(served: FolderOverHttp) -> None:
    served.mangle = lambda path, data: data[:-5] if path.startswith("blobs/") else data
    with pytest.raises(DigestMismatch):
        pull("alice/names@^1", registry=URL, transport=served.transport())
    assert cache_files() == set()


def test_mixed_index_in_transit(served: FolderOverHttp, sim: RegistrySim) -> None:
    stale = sim.read(layout.index_path("alice/names"))
    sim.publish("alice/names", "1.1.0", train_bytes(["a1", "b2"]))
    served.mangle = lambda path, data: stale if path == "index/alice/names.jsonl" else data
    with pytest.raises(DigestMismatch, match="snapshot"):
        pull("alice/names@^1", registry=URL, transport=served.transport())


def test_server_errors_are_retried_then_reported(served: FolderOverHttp) -> None:
    import httpx

    calls = []

    def failing(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)

    waits: list[float] = []
    retry = RetryPolicy(retries=2, sleep=waits.append)  # records each wait instead of sleeping
    with pytest.raises(RegistryUnavailable, match="503"):
        HttpSource(URL, transport=httpx.MockTransport(failing), retry=retry).fetch("snapshot.json")
    assert len(calls) == 3
    assert waits == [0.25, 0.5]
    with pytest.raises(NotFound):
        HttpSource(URL, transport=served.transport()).fetch("index/nobody/x.jsonl")


def test_a_pull_honours_retry_after(served: FolderOverHttp) -> None:
    import httpx

    answers = iter([httpx.Response(429, headers={"Retry-After": "5"}), None])
    real = served.transport()

    def busy_once(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        return answer if answer is not None else real.handle_request(request)

    waits: list[float] = []
    retry = RetryPolicy(sleep=waits.append)
    source = HttpSource(URL, transport=httpx.MockTransport(busy_once), retry=retry)
    assert source.fetch("snapshot.json").data
    assert waits == [5.0]  # the server's Retry-After, not the 0.25 s backoff


def test_offline_mode_never_touches_the_network(
    served: FolderOverHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = served.transport()
    pull("alice/names@1.0.0", registry=URL, transport=transport)
    served.requests.clear()
    monkeypatch.setenv("PHONY_OFFLINE", "1")
    assert pull("alice/names@^1", registry=URL, transport=transport).from_cache
    with pytest.raises(OfflineError, match="PHONY_OFFLINE is set and bob/cities"):
        pull("bob/cities", registry=URL, transport=transport)
    assert served.requests == []


def test_download_progress_on_a_terminal(
    served: FolderOverHttp, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from phony_client import _progress
    from phony_client import pull as pull_module

    monkeypatch.setattr(pull_module, "_PROGRESS_MIN", 1)
    monkeypatch.setattr(_progress, "_FIRST_DRAW", 0.0)
    monkeypatch.setattr(_progress, "_REDRAW", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    pull("alice/names@^1", registry=URL, transport=served.transport())
    err = capsys.readouterr().err
    assert "\rdownloading sha256:" in err
    assert "100%" in err
    assert err.endswith("\r\033[K")


def test_a_retry_after_past_the_pull_deadline_ends_the_pull_at_once() -> None:
    import httpx

    from phony_client._blob_transport import TransferLimits
    from phony_registry.errors import RequestTimeout

    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "30"})

    waits: list[float] = []
    source = HttpSource(
        URL,
        transport=httpx.MockTransport(busy),
        retry=RetryPolicy(sleep=waits.append),
        limits=TransferLimits(deadline=5.0),
    )
    with pytest.raises(RequestTimeout, match="longer than 5 s"):
        source.fetch("snapshot.json")
    assert waits == []  # it did not wait 30 s for an answer it could not use
