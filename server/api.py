"""The ``/v1`` HTTP API: read endpoints, publishing, yanking and keys.

Writes need ``Authorization: Bearer <token>``: no or a bad token is a 401,
a token for another namespace a 403, and in both cases nothing is read from
the body and nothing is written. No route declares a body model (FastAPI
would read and parse it before the route runs): each one checks the token
first, then reads its body through :func:`_read_body` or :func:`_chunks`,
capped for that route (413 past the cap) and with a read timeout between
two pieces (408). Every refusal is a 4xx (503 for storage failures) with
``{"error": code, "detail": message}``; see ``docs/registry-protocol.md``
("HTTP API").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from phony_registry.canonical import JsonLimits, loads_object
from phony_registry.digests import Hasher, is_digest
from phony_registry.errors import (
    DigestMismatch,
    InvalidManifest,
    NotFound,
    PayloadTooLarge,
    PhonyError,
    RequestTimeout,
    SignatureError,
    UsageError,
    ValidationError,
)
from phony_registry.manifest import check_new_manifest
from phony_registry.names import ModelName, parse_name
from phony_registry.signing import PublicKey
from phony_registry.versions import VERSION_PATTERN, parse_version
from phony_server.registry import Registry, parse_manifest_body
from phony_server.settings import Settings
from phony_server.static import blob_response
from phony_server.storage import LocalStorage
from phony_server.tokens import TokenRecord, TokenStore

__all__ = [
    "DigestParam",
    "ErrorBody",
    "NameParam",
    "NamespaceParam",
    "VersionParam",
    "manifest_fast_path",
    "router",
]

router = APIRouter(prefix="/v1")
_T = TypeVar("_T")

_SEGMENT = r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?"
_LOCALE = r"[A-Za-z]{2,3}[-_][A-Za-z]{2}"
#: Path parameters, with the shapes the OpenAPI schema advertises (the full
#: rules, reserved namespaces included, are phony_registry.names').
_NAME = rf"^(?:{_LOCALE}(?:/{_SEGMENT})?|{_SEGMENT}/{_SEGMENT})$"
NameParam = Annotated[str, Path(pattern=_NAME, max_length=129)]


def _check_version(text: str) -> str:
    # InvalidVersion is no ValueError: pydantic lets it through to the PhonyError
    # handler, a 422 invalid_version naming the limit, before any token is read.
    parse_version(text)
    return text


#: A version in a path: checked by phony_registry.versions, the one definition
#: every client and folder registry checks too; the schema shows its pattern.
VersionParam = Annotated[
    str,
    Path(json_schema_extra={"pattern": VERSION_PATTERN}),
    AfterValidator(_check_version),
]
DigestParam = Annotated[str, Path(pattern=r"^sha256:[0-9a-f]{64}$")]
NamespaceParam = Annotated[str, Path(pattern=rf"^(?:_official|{_SEGMENT})$")]


class ErrorBody(BaseModel):
    """The body of every refusal."""

    error: str
    detail: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 408, 409, 413, 422, 503)
}


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


async def _blocking(registry: Registry, work: Callable[[], _T]) -> _T:
    """Run storage work inline on a folder (a few small reads), in the thread pool on S3."""
    if isinstance(registry.storage, LocalStorage):
        return work()
    return await run_in_threadpool(work)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _token(request: Request) -> TokenRecord:
    """The caller's token record (401 when missing, malformed, unknown, revoked or expired)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else None
    tokens: TokenStore = request.app.state.tokens
    return await run_in_threadpool(tokens.authenticate, token)


async def _writer(request: Request, name: str, what: str) -> tuple[TokenRecord, ModelName]:
    record = await _token(request)
    parsed = parse_name(name)
    TokenStore.authorize(record, parsed.namespace, what)
    return record, parsed


def _check_declared(request: Request, limit: int) -> None:
    """413 at once when the declared Content-Length is over ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes is over the {limit} byte limit")


async def _read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused past ``limit`` bytes without buffering more."""
    _check_declared(request, limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in _chunks(request):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body over the {limit} byte limit")
        parts.append(chunk)
    return b"".join(parts)


async def _chunks(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives, each piece within the body read timeout.

    A client that hangs up mid-body is a 400, one that stops sending for
    ``body_timeout`` seconds a 408 (and the connection is closed), not a
    request held open forever.
    """
    timeout = _settings(request).body_timeout
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise RequestTimeout(
                f"no body data for {timeout:g} s: the request was abandoned"
            ) from None
        except ClientDisconnect:
            raise UsageError("the client disconnected before the body was complete") from None
        yield chunk


# -- reading ---------------------------------------------------------------------------------


@router.get("/health", responses=_ERRORS)
def health(request: Request) -> dict[str, Any]:
    """The server answers and its storage is reachable."""
    registry = _registry(request)
    registry.storage.check()
    snapshot = registry.snapshot()
    return {
        "status": "ok",
        "snapshot_version": snapshot.version if snapshot else None,
        "registry_key": registry.key.keyid,
    }


@router.get("/whoami", responses=_ERRORS)
async def whoami(request: Request) -> dict[str, Any]:
    """What the registry knows about the caller's token (never the token itself)."""
    return (await _token(request)).public()


@router.get("/models", responses=_ERRORS)
def search(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Search (or, with no query, list) the published models."""
    models = _registry(request).search(q, limit)
    return {"query": q, "models": models}


@router.get("/models/{name:path}/versions/{version}", responses=_ERRORS)
def version_info(request: Request, name: NameParam, version: VersionParam) -> dict[str, Any]:
    """One published version: its index line and its manifest."""
    registry = _registry(request)
    entry = registry.resolve(parse_name(name), str(parse_version(version)))
    return {**entry.to_dict(), "manifest_json": registry.manifest(entry).to_dict()}


@router.get(
    "/models/{name:path}/manifests/{ref}",
    responses={**_ERRORS, 200: {"content": {"application/json": {}}}},
)
async def manifest(request: Request, name: NameParam, ref: str) -> Response:
    """The stored manifest selected by a version, range, tag (``latest``) or digest."""
    registry = _registry(request)
    body, headers = await _blocking(registry, lambda: _find_manifest(registry, name, ref))
    return Response(body, media_type="application/json", headers=headers)


def _find_manifest(registry: Registry, name: str, ref: str) -> tuple[bytes, dict[str, str]]:
    """Body and headers of the manifest API's answer (the route's and the fast path's)."""
    entry = registry.resolve(parse_name(name), ref)
    body = registry.manifest_bytes(entry)
    return body, {"ETag": f'"{entry.manifest}"', "X-Phony-Version": entry.version}


_MANIFEST_ROUTE = re.compile(r"/v1/models/(?P<name>.*)/manifests/(?P<ref>[^/]+)")
_NAME_RE = re.compile(_NAME)


def manifest_fast_path(registry: Registry, path: str) -> tuple[bytes, dict[str, str]] | None:
    """Answer ``GET path`` of the manifest API without FastAPI, or None to leave it to the route.

    Why it is fast: it skips routing, request objects and dependency
    resolution, about 60 % of the route's time under load, and on a folder
    the index lookup is one ``stat`` (:meth:`Registry.entries`). It answers
    only what the route would answer 200 with the same body and headers: a
    folder storage (reads inline, as :func:`_blocking` does), a name the
    route's pattern accepts, and a manifest found; everything else, errors
    included, goes on to the route, which words the refusal.
    """
    match = _MANIFEST_ROUTE.fullmatch(path)
    if match is None or not isinstance(registry.storage, LocalStorage):
        return None
    name = match["name"]
    if len(name) > 129 or _NAME_RE.fullmatch(name) is None:
        return None
    try:
        return _find_manifest(registry, name, match["ref"])
    except PhonyError:
        return None


@router.get("/models/{name:path}", responses=_ERRORS)
def model_info(request: Request, name: NameParam) -> dict[str, Any]:
    """Every version of a model, with yanked flags, and the latest unyanked one."""
    parsed = parse_name(name)
    entries = _registry(request).entries(parsed)
    live = [e for e in entries if not e.yanked]
    return {
        "name": entries[0].name if entries else str(parsed),
        "latest": live[-1].version if live else None,
        "versions": [e.to_dict() for e in entries],
    }


@router.get(
    "/blobs/{digest}",
    responses={
        **_ERRORS,
        200: {"content": {"application/octet-stream": {}}},
        206: {"description": "The requested range", "content": {"application/octet-stream": {}}},
        304: {"description": "Not modified (If-None-Match)"},
        416: {"description": "Range not satisfiable"},
    },
)
async def get_blob(request: Request, digest: DigestParam) -> Response:
    """A blob by digest, with ETag, ``Range`` and ``HEAD``."""
    return await blob_response(request, _registry(request).storage, digest)


@router.head("/blobs/{digest}", responses=_ERRORS, include_in_schema=False)
async def head_blob(request: Request, digest: DigestParam) -> Response:
    """HEAD of a blob: does the registry have it (clients skip re-uploading)."""
    return await blob_response(request, _registry(request).storage, digest)


@router.get("/keys", responses=_ERRORS)
def registry_keys(request: Request) -> dict[str, Any]:
    """The registry's snapshot key (also at ``/keys/registry.pub.pem``)."""
    key = _registry(request).key.public_key
    return {"registry": {"keyid": key.keyid, "public_key": key.to_base64()}}


@router.get("/keys/{namespace}", responses=_ERRORS)
def publisher_keys(request: Request, namespace: NamespaceParam) -> dict[str, Any]:
    """Publisher keys registered for a namespace (``_official`` for official names)."""
    scope = None if namespace == "_official" else namespace
    keys = _registry(request).publishers.list(scope)
    return {
        "namespace": namespace,
        "keys": [{"keyid": k.keyid, "public_key": k.to_base64()} for k in keys],
    }


# -- writing ---------------------------------------------------------------------------------

_BLOB_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.put("/blobs/{digest}", status_code=201, responses=_ERRORS, openapi_extra=_BLOB_BODY)
async def put_blob(request: Request, digest: DigestParam) -> JSONResponse:
    """Upload a model file under its digest: streamed, capped, hashed and parsed."""
    record = await _token(request)
    if not is_digest(digest):
        raise UsageError(f"{digest[:100]!r} is not a digest (sha256:<64 lowercase hex>)")
    registry = _registry(request)
    limit = _settings(request).max_upload
    _check_declared(request, limit)
    fd, name = tempfile.mkstemp(prefix="phony-upload-", suffix=".tmp")
    temp = pathlib.Path(name)
    try:
        hasher = Hasher()
        size = 0
        with os.fdopen(fd, "wb") as out:
            async for chunk in _chunks(request):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"blob over the {limit} byte limit")
                hasher.update(chunk)
                out.write(chunk)
        actual = hasher.digest
        if actual != digest:
            raise DigestMismatch(f"the uploaded bytes are {actual}, not {digest}")
        async with _model_checks(request):
            await run_in_threadpool(_validate_model, registry, temp)
        created = await run_in_threadpool(registry.store_blob, digest, temp)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    body = {"digest": digest, "size": size, "created": created, "token": record.id}
    return JSONResponse(body, status_code=201 if created else 200)


#: Models parsed at once per worker: each costs up to about three times the
#: decompression cap, so uploads in parallel wait here rather than add up.
MODEL_CHECKS = 2


def _model_checks(request: Request) -> asyncio.Semaphore:
    """The worker's semaphore of model parses (created in its event loop on first use)."""
    state = request.app.state
    checks: asyncio.Semaphore | None = getattr(state, "model_checks", None)
    if checks is None:
        checks = state.model_checks = asyncio.Semaphore(MODEL_CHECKS)
    return checks


def _validate_model(registry: Registry, path: pathlib.Path) -> None:
    from phony_registry.format import DEFAULT_MAX_INFLATED, load_model

    load_model(path.read_bytes(), max_inflated=registry.max_inflated or DEFAULT_MAX_INFLATED)


_MANIFEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.put(
    "/models/{name:path}/versions/{version}",
    status_code=201,
    responses=_ERRORS,
    openapi_extra=_MANIFEST_BODY,
)
async def publish(request: Request, name: NameParam, version: VersionParam) -> JSONResponse:
    """Publish a signed manifest whose blob was uploaded first."""
    _record, parsed = await _writer(request, name, f"publish {name}")
    wanted = str(parse_version(version))
    body = await _read_body(request, _settings(request).max_manifest)
    # Printable text throughout (422 naming the field), before the blob is parsed again.
    manifest = check_new_manifest(parse_manifest_body(body))
    if manifest.name != str(parsed):
        raise InvalidManifest(f"is {manifest.name!r} but the URL names {parsed}", field="name")
    if manifest.version != wanted:
        raise InvalidManifest(f"is {manifest.version!r} but the URL says {wanted}", field="version")
    registry = _registry(request)

    def run() -> tuple[bool, Any]:
        if manifest.is_pack:
            registry.check_members(manifest)
        else:
            registry.check_blob(manifest)
        registry.verify_publisher(manifest, parsed)
        return registry.publish(manifest, parsed)

    async with _model_checks(request):  # a model's blob is parsed again to check it
        created, entry = await run_in_threadpool(run)
    return JSONResponse(
        {**entry.to_dict(), "created": created}, status_code=201 if created else 200
    )


async def _yank(request: Request, name: str, version: str, yanked: bool) -> dict[str, Any]:
    _record, parsed = await _writer(request, name, f"{'yank' if yanked else 'unyank'} {name}")
    wanted = str(parse_version(version))
    entry = await run_in_threadpool(_registry(request).set_yanked, parsed, wanted, yanked)
    return entry.to_dict()


@router.post("/models/{name:path}/versions/{version}/yank", responses=_ERRORS)
async def yank(request: Request, name: NameParam, version: VersionParam) -> dict[str, Any]:
    """Yank a version: ranges skip it, exact pins still get it."""
    return await _yank(request, name, version, True)


@router.post("/models/{name:path}/versions/{version}/unyank", responses=_ERRORS)
async def unyank(request: Request, name: NameParam, version: VersionParam) -> dict[str, Any]:
    """Undo a yank."""
    return await _yank(request, name, version, False)


class KeyRegistration(BaseModel):
    """A publisher key to register, for one namespace or every namespace of the token.

    Documents the body of ``PUT /v1/keys``; the route reads the body itself,
    after the token (see the module docstring), and checks it the same way.
    """

    public_key: str
    namespace: str | None = None


#: Largest body of ``PUT /v1/keys`` (a PEM Ed25519 key is 113 bytes).
MAX_KEY_BODY = 8 * 1024
_KEY_BODY_LIMITS = JsonLimits(max_values=16, max_depth=2, max_string=4096)
_KEY_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": KeyRegistration.model_json_schema()}},
    }
}


def _key_registration(body: bytes) -> KeyRegistration:
    """The fields of a key registration body, checked (422 with the field otherwise)."""
    document = loads_object(body, "key registration", limits=_KEY_BODY_LIMITS)
    extra = sorted(set(document) - {"public_key", "namespace"})
    if extra:
        raise ValidationError("unknown field", field=extra[0][:64])
    public_key = document.get("public_key")
    if not isinstance(public_key, str) or not 40 <= len(public_key) <= 4096:
        raise ValidationError("must be a string of 40 to 4096 characters", field="public_key")
    namespace = document.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or re.fullmatch(_SEGMENT, namespace) is None
    ):
        raise ValidationError("must be a namespace (like alice) or null", field="namespace")
    return KeyRegistration(public_key=public_key, namespace=namespace)


@router.put("/keys", responses=_ERRORS, openapi_extra=_KEY_BODY)
async def register_key(request: Request) -> dict[str, Any]:
    """Register a publisher key (base64 or PEM) for the token's namespace(s)."""
    record = await _token(request)
    payload = _key_registration(await _read_body(request, MAX_KEY_BODY))
    try:
        key = PublicKey.parse(payload.public_key)
    except (SignatureError, ValueError, UnicodeError) as exc:
        raise ValidationError(
            f"not a base64 or PEM Ed25519 public key ({exc})", field="public_key"
        ) from None
    if payload.namespace is not None:
        TokenStore.authorize(record, payload.namespace, "register a key")
        scopes: list[str | None] = [payload.namespace]
    else:
        scopes = [*record.namespaces, *([None] if record.operator else [])]
    if not scopes:
        raise NotFound("this token has no namespace to register a key for")
    publishers = _registry(request).publishers
    added = [
        scope or "_official"
        for scope in scopes
        if await run_in_threadpool(publishers.register, scope, key, record.id)
    ]
    return {
        "keyid": key.keyid,
        "namespaces": [scope or "_official" for scope in scopes],
        "added": added,
    }
