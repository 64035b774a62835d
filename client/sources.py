"""Reading a registry: a folder and an HTTP base URL through one small interface.

A :class:`Source` answers two questions about a path of the static layout
(:mod:`phony_registry.layout`): "give me this small file" (:meth:`Source.fetch`,
with ETag revalidation) and "stream me this blob" (:meth:`Source.stream`).
:class:`FolderSource` reads a folder (``./team-registry``, ``file:///srv/models``,
the bundled official index); :class:`HttpSource` does ``GET {base}/{path}``
with httpx (blob bodies through :mod:`phony_client._blob_transport`), timeouts
and a few retries on connection errors and 5xx. Everything above this module (verification,
caching, resolution) is the same code for both: the core's verified reader
(:mod:`phony_registry.reader`, which defines :class:`Source` and
:class:`FolderSource`).

``PHONY_OFFLINE=1`` forbids every HTTP request (:class:`OfflineError`);
folders stay readable, as they need no network. :data:`NETWORK_REQUESTS`
counts HTTP requests made by this process (the benchmarks check it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from phony_client import _net
from phony_client._net import is_http_url, timeout, user_agent
from phony_client.config import is_offline, registry_id
from phony_registry.errors import NotFound, OfflineError, RegistryUnavailable
from phony_registry.reader import Fetched, FolderSource
from phony_registry.reader import RegistrySource as Source
from phony_registry.trust import folder_path

if TYPE_CHECKING:
    import httpx

    from phony_client._blob_transport import TransferClock, TransferLimits
    from phony_client._net import RetryPolicy

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "Fetched",
    "FolderSource",
    "HttpSource",
    "NETWORK_REQUESTS",
    "Source",
    "open_source",
]

#: HTTP requests made by this process, by path (only ever appended to).
NETWORK_REQUESTS: list[str] = []

_CHUNK = 1 << 20


class HttpSource:
    """A registry served over HTTP(S): ``GET {base}/{layout path}``."""

    remote = True

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        limits: TransferLimits | None = None,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.id = registry_id(self.base)
        #: How messages name it: never with the password a URL may carry.
        self.label = _net.redacted(self.base)
        self._transport = transport
        self._timeout = timeout
        self._retry = retry
        self._limits = limits
        self._clock: TransferClock | None = None
        self._client: httpx.Client | None = None
        self._blob_client: httpx.Client | None = None

    def clock(self) -> TransferClock:
        """The deadline and minimum rate of everything read through this source (one pull)."""
        if self._clock is None:
            # httpx: the transport module loads when a registry is read, never for --help.
            from phony_client._blob_transport import TransferClock, TransferLimits

            self._clock = TransferClock(self._limits or TransferLimits.load(), self.label)
        return self._clock

    def _check_online(self) -> None:
        if is_offline():
            raise OfflineError(
                f"PHONY_OFFLINE is set: not contacting {self.label} (pull without "
                "PHONY_OFFLINE, or use what the cache holds)"
            )

    def _http(self) -> httpx.Client:
        self._check_online()
        if self._client is None:
            # The same transport as blobs: it enforces the pull's deadline even on headers.
            from phony_client._blob_transport import blob_transport

            self._client = self._new_client(self._transport or blob_transport())
        return self._client

    def _blob_http(self) -> httpx.Client:
        self._check_online()
        if self._blob_client is None:
            from phony_client._blob_transport import blob_transport

            self._blob_client = self._new_client(self._transport or blob_transport())
        return self._blob_client

    def _new_client(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        import httpx

        return httpx.Client(
            transport=transport,
            timeout=timeout(self._timeout),
            follow_redirects=True,
            headers={"User-Agent": user_agent(), "Accept-Encoding": _net.ACCEPT_ENCODING},
        )

    def _send(
        self,
        path: str,
        headers: dict[str, str],
        *,
        stream: bool,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        import httpx

        client = client if client is not None else self._http()
        url = f"{self.base}/{path}"
        clock = self.clock()
        retry = self._retry or _net.RetryPolicy()
        attempt = 0
        while True:
            attempt += 1
            clock.check(path)
            NETWORK_REQUESTS.append(path)
            try:
                request = client.build_request(
                    "GET", url, headers=headers, extensions={"phony_deadline": clock.deadline()}
                )
                response = client.send(request, stream=stream)
            except httpx.TransportError as exc:
                clock.check(path)  # a socket shut at the deadline: say so, do not retry
                if attempt > retry.retries or not _net.retryable(exc):
                    reason = _net.describe(exc)
                    raise RegistryUnavailable(f"cannot reach {self.label}: {reason}") from None
                _net.say_retrying(self.label, exc, attempt, retry.retries)
                self._wait(retry, attempt, path)
                continue
            if response.status_code not in _net.RETRY_STATUS or attempt > retry.retries:
                return self._check(response, path)
            response.close()
            self._wait(retry, attempt, path, response.headers.get("Retry-After"))

    def _wait(
        self, retry: RetryPolicy, attempt: int, path: str, retry_after: str | None = None
    ) -> None:
        """Wait before the next try, unless the wait would end past the pull's deadline."""
        import time

        delay = retry.delay(attempt, retry_after)
        end = self.clock().deadline()
        if end is not None and time.monotonic() + delay >= end:
            raise self.clock().too_late(path)
        retry.sleep(delay)

    def _check(self, response: httpx.Response, path: str) -> httpx.Response:
        status = response.status_code
        if status == 404:
            response.close()
            raise NotFound(f"{path} not found in registry {self.label}")
        if status >= 400:
            response.close()
            raise RegistryUnavailable(f"{self.label} answered {status} for {path}")
        return response

    def fetch(self, path: str, *, etag: str | None = None, limit: int = 16 << 20) -> Fetched:
        """GET ``path``; with ``etag``, a 304 gives ``Fetched(b"", etag, not_modified=True)``."""
        import httpx

        headers = {"If-None-Match": etag} if etag else {}
        response = self._send(path, headers, stream=True)
        try:
            if response.status_code == 304:
                return Fetched(b"", etag, not_modified=True)
            body = bytearray()
            clock = self.clock()
            try:
                for chunk in clock.watch(_net.decoded(response, f"{path} from {self.label}"), path):
                    body += chunk
                    if len(body) > limit:
                        raise RegistryUnavailable(f"{path} from {self.label} is over {limit} bytes")
            except httpx.TransportError as exc:
                clock.check(path)
                raise RegistryUnavailable(f"{path} from {self.label}: {exc}") from None
            return Fetched(bytes(body), response.headers.get("ETag"))
        finally:
            response.close()

    def stream(self, path: str) -> Iterator[bytes]:
        """GET ``path`` and yield its body in the pieces the transport reads.

        Blobs go through their own client, whose transport (unless one was
        given) is :class:`~phony_client._blob_transport.BlobTransport`: 1 MiB
        reads instead of httpcore's 64 KiB, a quarter of the CPU per byte.
        """
        import httpx

        response = self._send(path, {}, stream=True, client=self._blob_http())
        clock = self.clock()

        def chunks() -> Iterator[bytes]:
            try:
                yield from clock.watch(_net.decoded(response, f"{path} from {self.label}"), path)
            except httpx.TransportError as exc:
                clock.check(path)
                raise RegistryUnavailable(f"{path} from {self.label}: {exc}") from None
            finally:
                response.close()

        return chunks()

    def close(self) -> None:
        """Close the connection pools."""
        for client in (self._client, self._blob_client):
            if client is not None:
                client.close()
        self._client = self._blob_client = None


def open_source(location: str, *, transport: httpx.BaseTransport | None = None) -> Source:
    """A :class:`Source` for a folder path, a ``file://`` URL or an ``http(s)://`` base URL."""
    if is_http_url(location):
        return HttpSource(location, transport=transport)
    return FolderSource(folder_path(location))
