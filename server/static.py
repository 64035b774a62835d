"""Serving stored files: the static registry layout and blobs by digest.

``GET /snapshot.json``, ``/keys/registry.pub.pem``, ``/index/<key>.jsonl``,
``/manifests/<key>/<version>.json`` and ``/blobs/sha256/<xx>/<hex>`` answer
exactly what a static host serving the storage would, so a client reads this
server, a bucket, a CDN or a folder through one code path. The server's
private area is never served. Mutable files (snapshot, index) carry an ETag
and ``Cache-Control: no-cache`` so clients and caches revalidate them;
manifests and blobs are immutable.

These handlers are plain Starlette endpoints (no dependency injection) and
read small files of a local storage directly: they are the hot path of pulls.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from phony_registry.digests import is_digest
from phony_registry.errors import NotFound, RegistryUnavailable
from phony_registry.layout import BLOBS_DIR, INDEX_DIR, MANIFESTS_DIR, REGISTRY_KEY, SNAPSHOT
from phony_server.storage import LocalStorage, Storage, check_key

if TYPE_CHECKING:
    from phony_server.registry import Registry

__all__ = ["FastRoute", "LayoutFastPath", "blob_response", "etag_matches", "layout_file"]

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_BLOB = re.compile(rf"{BLOBS_DIR}/sha256/([0-9a-f]{{2}})/([0-9a-f]{{64}})")
#: One ``bytes`` range (RFC 9110 §14.1.2): the unit is case-insensitive, digits ASCII.
_RANGE = re.compile(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*", re.ASCII | re.IGNORECASE)
#: Longer numbers than this are beyond any blob: compared as text, never converted.
_DIGITS = 18


def _kind(path: str) -> tuple[str, str] | None:
    """(media type, cache policy) of a servable layout path, None for anything else."""
    if path == SNAPSHOT:
        return "application/json", REVALIDATE
    if path == REGISTRY_KEY:
        return "application/x-pem-file", REVALIDATE
    if path.startswith(f"{INDEX_DIR}/") and path.endswith(".jsonl"):
        return "application/jsonl", REVALIDATE
    if path.startswith(f"{MANIFESTS_DIR}/") and path.endswith(".json"):
        return "application/json", IMMUTABLE
    return None


class _BlobFile(FileResponse):
    """A blob from a local file, read 1 MB at a time (fewer trips to the thread pool).

    ``handle`` is the blob already open (:meth:`LocalStorage.open`, which
    follows no symbolic link): Starlette would open ``path`` again by name,
    following whatever link was planted there meanwhile, so it reads this
    handle instead, and the server never hands the path to the ASGI server
    (``http.response.pathsend``) either.

    ``span`` is the range :func:`_range` found (None: the whole file): the
    request's own ``Range`` and ``If-Range`` are replaced by it before
    Starlette sees them, so both storages follow one reading of the headers
    (Starlette would answer a malformed range with a 400).
    """

    chunk_size = 1 << 20

    def __init__(
        self,
        path: str | os.PathLike[str],
        handle: BinaryIO,
        span: tuple[int, int] | None,
        **kw: Any,
    ):
        super().__init__(path, **kw)
        self.handle = handle
        self.span = span

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        if self.span is not None:
            headers.append((b"range", f"bytes={self.span[0]}-{self.span[1]}".encode()))
        extensions = {
            k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"
        }
        try:
            await super().__call__(
                {**scope, "headers": headers, "extensions": extensions}, receive, send
            )
        finally:
            self.handle.close()

    @contextlib.asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        yield anyio.AsyncFile(self.handle)


def _quoted(tag: str) -> str:
    return tag if tag.startswith('"') else f'"{tag}"'


def _weak(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """True if an ``If-None-Match`` value names ``etag`` (RFC 9110 §13.1.2).

    The comparison is weak (``W/"x"`` matches ``"x"``), the value may be a
    list, and ``*`` matches any current representation.
    """
    if not if_none_match:
        return False
    wanted = [t.strip() for t in if_none_match.split(",")]
    return "*" in wanted or _weak(etag) in {_weak(t) for t in wanted}


def _not_modified(request: Request, etag: str) -> bool:
    return etag_matches(request.headers.get("if-none-match"), etag)


def _read_local(storage: LocalStorage, key: str) -> tuple[bytes, str]:
    # A few KB from the page cache: cheaper inline than a trip to the thread pool.
    # Through the storage's own open, which follows no symbolic link: a link
    # planted in a shared public folder must not serve the private area.
    try:
        return storage.read(key)
    except NotFound:
        raise NotFound("no such file in this registry") from None


async def layout_file(request: Request) -> Response:
    """``GET``/``HEAD`` of any file of the static layout."""
    path = request.path_params["path"]
    match = _BLOB.fullmatch(path)
    registry: Registry = request.app.state.registry
    if match is not None:
        return await blob_response(request, registry.storage, f"sha256:{match.group(2)}")
    kind = _kind(path)
    if kind is None:
        raise NotFound(f"no such file in this registry: /{path[:200]}")
    check_key(path)
    storage = registry.storage
    if isinstance(storage, LocalStorage):
        data, tag = _read_local(storage, path)
    else:
        data, tag = await run_in_threadpool(storage.read, path)
    etag = _quoted(tag)
    headers = {"ETag": etag, "Cache-Control": kind[1]}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(data))
        return Response(status_code=200, headers=headers, media_type=kind[0])
    return Response(data, headers=headers, media_type=kind[0])


def _compare(a: str, b: str) -> int:
    """Compare two strings of ASCII digits as numbers, at any length (-1, 0 or 1)."""
    a, b = a.lstrip("0") or "0", b.lstrip("0") or "0"
    left, right = (len(a), a), (len(b), b)
    return (left > right) - (left < right)


def _number(digits: str, size: int) -> int:
    """``digits`` as an int, or ``size`` (past the end of any blob) when it is longer."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _DIGITS else size


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single ``bytes=`` range; None to send everything.

    As RFC 9110 §14.2 says, a header that is not one valid byte range (another
    unit, several ranges, letters, an end before its start) is ignored: the
    whole blob is sent. Raises ValueError for a valid range the blob cannot
    satisfy (a start past its end, an empty suffix): a 416.
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header)
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None  # "bytes=-" is no range at all
        length = _number(last, size)
        if length == 0 or size == 0:
            raise ValueError("empty suffix range")
        return max(0, size - length), size - 1
    if last and _compare(last, first) < 0:
        return None  # an invalid range-spec (§14.1.1): ignored
    start = _number(first, size)
    if start >= size:
        raise ValueError("range outside the blob")
    return start, min(_number(last, size), size - 1) if last else size - 1


async def blob_response(request: Request, storage: Storage, digest: str) -> Response:
    """A blob with ETag (its digest), single ``Range`` requests and ``HEAD``."""
    from phony_registry.layout import blob_path

    if not is_digest(digest):
        raise NotFound(f"{digest[:100]!r} is not a blob digest (sha256:<64 hex>)")
    key = blob_path(digest)
    etag = f'"{digest}"'
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE,
        "Accept-Ranges": "bytes",
        "Docker-Content-Digest": digest,
    }
    handle: BinaryIO | None = None
    stat_result: os.stat_result | None = None
    if isinstance(storage, LocalStorage):
        try:
            handle = storage.open(key)  # no symbolic link, a regular file
        except NotFound:
            raise NotFound(f"no blob {digest}") from None
        stat_result = os.fstat(handle.fileno())
        size = stat_result.st_size
    else:
        info = await run_in_threadpool(storage.stat, key)
        if info is None:
            raise NotFound(f"no blob {digest}")
        size = info.size
    if _not_modified(request, etag):
        if handle is not None:
            handle.close()
        return Response(status_code=304, headers=headers)
    if_range = request.headers.get("if-range")
    wanted = request.headers.get("range") if if_range in (None, etag) else None
    try:
        span = _range(wanted, size)
    except ValueError:
        if handle is not None:
            handle.close()
        # Not cacheable: the blob is immutable, this answer to one Range is not it.
        refusal = {k: v for k, v in headers.items() if k != "Cache-Control"}
        return Response(status_code=416, headers={**refusal, "Content-Range": f"bytes */{size}"})
    if handle is not None:
        # Starlette sends the file itself, the range and HEAD included.
        return _BlobFile(
            handle.name,
            handle,
            span,
            stat_result=stat_result,
            headers=headers,
            media_type="application/octet-stream",
        )
    status = 200
    start, end = 0, size - 1
    if span is not None:
        status = 206
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type="application/octet-stream")
    chunks = await run_in_threadpool(storage.iter_range, key, start, end if span else None)
    return StreamingResponse(
        chunks, status_code=status, headers=headers, media_type="application/octet-stream"
    )


#: A route answered by :class:`LayoutFastPath`: ``(registry, request path)`` to
#: ``(JSON body, headers)``, or None to leave the request to the application.
FastRoute = Callable[["Registry", str], "tuple[bytes, dict[str, str]] | None"]


class LayoutFastPath:
    """ASGI middleware answering ``GET``/``HEAD`` of small layout files of a local storage.

    Snapshot, index files and manifests are most of a registry's traffic; on a
    folder they are served here straight from the page cache, without routing
    or request objects. Anything else, and any file that is missing, goes on
    to the application (which answers 404s and S3 storages the normal way).
    ``routes`` answer ``GET``s of API paths the same way (JSON only), such as
    :func:`phony_server.api.manifest_fast_path`.
    """

    def __init__(self, app: Any, registry: Registry, routes: Sequence[FastRoute] = ()) -> None:
        self.app = app
        self.registry = registry
        self.routes = tuple(routes)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and self.routes:
            for route in self.routes:
                answer = route(self.registry, scope["path"])
                if answer is not None:
                    await self._send_json(send, *answer)
                    return
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"][1:]
            kind = _kind(path)
            if kind is not None:
                storage = self.registry.storage
                try:
                    data, tag = (
                        _read_local(storage, path)
                        if isinstance(storage, LocalStorage)
                        else (None, "")
                    )
                except (NotFound, RegistryUnavailable):
                    data = None
                if data is not None:
                    await self._send(scope, send, data, _quoted(tag), kind)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _send(scope: Any, send: Any, data: bytes, etag: str, kind: tuple[str, str]) -> None:
        wanted = b""
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                wanted = value
        headers = [(b"etag", etag.encode()), (b"cache-control", kind[1].encode())]
        if etag_matches(wanted.decode("latin-1"), etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [
            (b"content-type", kind[0].encode()),
            (b"content-length", str(len(data)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else data
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _send_json(send: Any, body: bytes, extra: dict[str, str]) -> None:
        headers = [(name.lower().encode(), value.encode()) for name, value in extra.items()]
        headers += [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
