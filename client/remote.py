"""Talking to a registry server over HTTP: push, yank, search, key registration.

Pulls read the static layout through :mod:`phony_client.sources`, whatever
serves it (this server, a bucket, a CDN, a folder); this module holds what
only the server can do. One :class:`RegistryClient` keeps one httpx
connection pool for all its requests, with timeouts, and retries connection
errors and 5xx answers with exponential backoff (every request it makes is
idempotent: a blob is addressed by its digest, and publishing the same
manifest twice succeeds twice). A refusal comes back as the
:class:`~phony_registry.errors.PhonyError` subclass named by the server's
``{"error": code, "detail": message}``.

Tokens travel only in the ``Authorization`` header and are never printed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phony_client import _net
from phony_client._progress import Progress
from phony_client.credentials import check_token, token_for
from phony_client.publish import PushResult
from phony_registry.canonical import DOCUMENT_LIMITS, JsonLimits, loads_object
from phony_registry.errors import (
    PhonyError,
    RegistryError,
    RegistryUnavailable,
    RequestTimeout,
    Unauthorized,
    UsageError,
)
from phony_registry.names import parse_name

if TYPE_CHECKING:
    import httpx

    from phony_client.publish import PushResult
    from phony_registry.manifest import Manifest
    from phony_registry.signing import PublicKey

__all__ = [
    "API_PREFIX",
    "RegistryClient",
    "error_from_response",
    "push",
    "require_token",
]

API_PREFIX = "/v1"
_CHUNK = 256 * 1024
#: The most bytes of one answer the client reads, decoded (a search, a model's
#: versions, an error): a registry sending more is refused, never buffered.
MAX_ANSWER = 16 << 20
#: Structural limits of an answer's JSON (the depth and values of a manifest or snapshot;
#: strings up to the whole answer, as a search lists every description).
_ANSWER_LIMITS = JsonLimits(
    max_values=DOCUMENT_LIMITS.max_values, max_depth=DOCUMENT_LIMITS.max_depth, max_string=None
)
#: Seconds one call may take in all, its retries included (0: no limit);
#: ``PHONY_REQUEST_DEADLINE`` overrides it. Each read also has its own timeout,
#: but a server sending a byte every few seconds would never trip that.
CALL_DEADLINE = 900.0


def _error_classes() -> dict[str, type[PhonyError]]:
    found: dict[str, type[PhonyError]] = {}
    pending: list[type[PhonyError]] = [PhonyError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


def error_from_response(response: httpx.Response) -> PhonyError:
    """The PhonyError a failed response stands for (by its JSON ``error`` code)."""
    code, detail = "", ""
    try:
        # The core's capped reader: a hostile answer nested 100,000 deep is no
        # RecursionError, a string of 16 MiB no detail.
        body = loads_object(response.content, "", limits=_ANSWER_LIMITS)
    except PhonyError:
        pass
    else:
        code, detail = str(body.get("error", "")), str(body.get("detail", ""))
    detail = detail or f"{response.status_code} {response.reason_phrase}"
    cls = _error_classes().get(code)
    if cls is None:
        cls = RegistryUnavailable if response.status_code >= 500 else RegistryError
    # The server's words end up on the user's terminal: no control character of theirs does.
    return cls(f"registry: {_net.printable(detail)}")


class RegistryClient:
    """One registry server: a base URL, an optional token, a pooled httpx client."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        retry: _net.RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        deadline: float | None = None,
    ) -> None:
        import httpx

        from phony_client._blob_transport import blob_transport, parse_seconds

        if not _net.is_http_url(url):
            raise UsageError(f"{url!r} is not an http(s) registry URL")
        self.url = url.rstrip("/")
        #: How messages name the registry: never with the password a URL may carry.
        self.shown = _net.redacted(self.url)
        self.retry = retry or _net.RetryPolicy()
        if deadline is None:
            variable = os.environ.get("PHONY_REQUEST_DEADLINE")
            deadline = (
                parse_seconds(variable, "PHONY_REQUEST_DEADLINE") if variable else CALL_DEADLINE
            )
        self.deadline = deadline
        headers = {"User-Agent": _net.user_agent(), "Accept-Encoding": _net.ACCEPT_ENCODING}
        if token:
            # A token that is no header value must never reach httpx: its error quotes it.
            headers["Authorization"] = f"Bearer {check_token(token, 'given to the client')}"
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=_net.timeout(timeout),
            # The blob transport shuts a socket down at the call's deadline,
            # whatever read it is in (a proxy keeps httpx's own: see blob_transport).
            transport=transport if transport is not None else blob_transport(),
            follow_redirects=True,
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- plumbing -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        content: Callable[[], bytes | Iterator[bytes]] | None = None,
        ok: Iterable[int] = (200, 201, 204),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request, retried by the client's :class:`~phony_client._net.RetryPolicy`.

        ``content`` is a callable so that a streamed body can be produced again
        for a retry. Any status outside ``ok`` raises the matching PhonyError.
        """
        import httpx

        accepted = set(ok)
        retry = self.retry
        end = time.monotonic() + self.deadline if self.deadline else None
        attempt = 0
        while True:
            attempt += 1
            self._check_deadline(end, path)
            try:
                body = content() if content is not None else None
                request = self._http.build_request(
                    method, path, content=body, extensions={"phony_deadline": end}, **kwargs
                )
                response = self._read(self._http.send(request, stream=True), path, end)
            except httpx.TransportError as exc:
                self._check_deadline(end, path)  # a socket shut at the deadline: say so
                if attempt > retry.retries or not _net.retryable(exc):
                    raise RegistryUnavailable(
                        f"cannot reach registry {self.shown}: {_net.describe(exc)}"
                    ) from None
                _net.say_retrying(self.shown, exc, attempt, retry.retries)
                self._wait(retry, attempt, end, path)
                continue
            if response.status_code in accepted:
                return response
            if response.status_code in _net.RETRY_STATUS and attempt <= retry.retries:
                self._wait(retry, attempt, end, path, response.headers.get("Retry-After"))
                continue
            raise error_from_response(response)

    def _read(self, response: httpx.Response, path: str, end: float | None) -> httpx.Response:
        """``response`` with its body read: decoded, at most :data:`MAX_ANSWER`, by ``end``."""
        import httpx

        body = bytearray()
        try:
            for piece in _net.decoded(response, f"{self.shown}{path}"):
                self._check_deadline(end, path)
                body += piece
                if len(body) > MAX_ANSWER:
                    raise RegistryError(
                        f"registry {self.shown}: the answer to {path} is larger than "
                        f"{MAX_ANSWER >> 20} MiB; refused"
                    )
        finally:
            response.close()
        self._check_deadline(end, path)  # a socket shut at the deadline ends a body early
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=response.request
        )

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object an answer holds, or one :class:`RegistryError` saying it is not one."""
        try:
            # The core's capped reader, never json.loads: an answer nested
            # 100,000 deep was a RecursionError, shown as a bug in phony.
            return loads_object(response.content, "", limits=_ANSWER_LIMITS)
        except PhonyError:
            raise RegistryError(
                f"registry {self.shown}: the answer to {response.request.url.path} is not a JSON "
                "object (is this a phony registry?)"
            ) from None

    def _check_deadline(self, end: float | None, path: str) -> None:
        if end is not None and time.monotonic() >= end:
            raise self._too_late(path)

    def _too_late(self, path: str) -> RequestTimeout:
        return RequestTimeout(
            f"registry {self.shown}: {path} took longer than {self.deadline:g} s in all (a "
            "stalled or very slow registry; raise PHONY_REQUEST_DEADLINE if it is only slow)"
        )

    def _wait(
        self,
        retry: _net.RetryPolicy,
        attempt: int,
        end: float | None,
        path: str,
        retry_after: str | None = None,
    ) -> None:
        """Wait before the next try, unless the wait would end past the call's deadline."""
        delay = retry.delay(attempt, retry_after)
        if end is not None and time.monotonic() + delay >= end:
            raise self._too_late(path)
        retry.sleep(delay)

    # -- the API --------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /v1/health``."""
        return self._json(self.request("GET", f"{API_PREFIX}/health"))

    def whoami(self) -> dict[str, Any]:
        """What the registry knows about the token in use (id, namespaces, expiry)."""
        return self._json(self.request("GET", f"{API_PREFIX}/whoami"))

    def has_blob(self, digest: str) -> bool:
        """True if the registry already stores the blob ``digest`` (a HEAD request)."""
        response = self.request("HEAD", f"{API_PREFIX}/blobs/{digest}", ok=(200, 404))
        return response.status_code == 200

    def upload_blob(self, digest: str, path: Path, *, progress: bool | None = None) -> bool:
        """Stream the file at ``path`` as blob ``digest``; True if the registry stored it now."""
        size = path.stat().st_size
        with Progress(f"uploading {path.name}", size, enabled=progress) as bar:

            def body() -> Iterator[bytes]:
                bar.reset()
                with open(path, "rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        bar.advance(len(chunk))
                        yield chunk

            response = self.request(
                "PUT",
                f"{API_PREFIX}/blobs/{digest}",
                content=body,
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            )
        return response.status_code == 201

    def register_key(self, public_key: PublicKey, namespace: str | None = None) -> dict[str, Any]:
        """Register a publisher key for the token's namespaces (or one of them)."""
        payload: dict[str, Any] = {"public_key": public_key.to_base64()}
        if namespace is not None:
            payload["namespace"] = namespace
        return self._json(self.request("PUT", f"{API_PREFIX}/keys", json=payload))

    def publish(self, manifest: Manifest) -> tuple[bool, dict[str, Any]]:
        """Publish a signed manifest whose blob is already uploaded; (created, answer)."""
        data = manifest.to_bytes()
        response = self.request(
            "PUT",
            f"{API_PREFIX}/models/{manifest.name}/versions/{manifest.version}",
            content=lambda: data,
            headers={"Content-Type": "application/json"},
        )
        return response.status_code == 201, self._json(response)

    def yank(self, name: str, version: str, *, undo: bool = False) -> dict[str, Any]:
        """Yank (or with ``undo`` unyank) ``name@version``."""
        action = "unyank" if undo else "yank"
        return self._json(
            self.request("POST", f"{API_PREFIX}/models/{name}/versions/{version}/{action}")
        )

    def search(self, query: str = "", *, limit: int = 50) -> list[dict[str, Any]]:
        """Models whose name, description, locale or kind match ``query`` (all if empty)."""
        response = self.request(
            "GET", f"{API_PREFIX}/models", params={"q": query, "limit": str(limit)}
        )
        models = self._json(response).get("models", [])
        if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
            raise RegistryError(f"registry {self.shown}: its search answer is not a list of models")
        return models

    def model_info(self, name: str) -> dict[str, Any]:
        """``GET /v1/models/{name}``: versions, yanked flags, latest."""
        return self._json(self.request("GET", f"{API_PREFIX}/models/{name}"))


def require_token(url: str) -> str:
    """The token for ``url`` (``PHONY_TOKEN`` or ``phony login``'s), or Unauthorized."""

    token = token_for(url)
    if not token:
        shown = _net.redacted(url)
        raise Unauthorized(
            f"no token for {shown}: run `phony login --registry {shown}` or set PHONY_TOKEN"
        )
    return token


def push(
    url: str,
    blob: Path,
    manifest: Manifest,
    *,
    public_keys: Iterable[PublicKey] = (),
    token: str | None = None,
    progress: bool | None = None,
    transport: httpx.BaseTransport | None = None,
) -> PushResult:
    """Publish ``manifest`` and its blob file to the server at ``url``.

    Registers ``public_keys`` (the keys that signed the manifest) for the
    namespace, skips the upload when the server already has the blob (HEAD),
    uploads it otherwise, then publishes the manifest. The token comes from
    ``token``, ``PHONY_TOKEN`` or ``phony login``'s credentials, in that order.
    """
    token = token or require_token(url)
    if manifest.digest is None:
        raise UsageError("pushing a pack to a server is not supported yet; push its members")

    namespace = parse_name(manifest.name).namespace
    with RegistryClient(url, token=token, transport=transport) as client:
        for key in public_keys:
            client.register_key(key, namespace=namespace)
        uploaded = False
        if not client.has_blob(manifest.digest):
            uploaded = client.upload_blob(manifest.digest, blob, progress=progress)
        created, _answer = client.publish(manifest)

    return PushResult(
        manifest.name,
        manifest.version,
        manifest.digest,
        created,
        client.url,
        uploaded_blob=uploaded,
    )
