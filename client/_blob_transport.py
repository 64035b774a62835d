"""An httpx transport for blob downloads: http.client underneath, 1 MiB reads.

Why it exists: httpx's default transport (httpcore and h11) hands a body over
64 KiB at a time through several layers of Python and copies each piece three
times; for a 128 MB blob that costs about as much CPU as hashing it (some
95 ms against 90 ms for sha256 on the benchmark machine), which held large
pulls to a quarter of the sha256 speed. :class:`BlobTransport` reads the body
with the standard library's ``http.client``, whose buffered reader fills each
1 MiB ``bytes`` straight from the socket: one copy, a handful of Python calls
per megabyte.

Only the transport changes. :class:`~phony_client.sources.HttpSource` still
sends through an ``httpx.Client`` (redirects, headers, status handling, the
httpx errors its retries catch), and tests swap the transport for an
``httpx.MockTransport`` just as they swap out httpcore's. A client that must
go through a proxy keeps httpx's own transport (see :func:`blob_transport`).
"""

from __future__ import annotations

import http.client
import ssl
import threading
import urllib.request
from collections.abc import Iterator

import httpx

__all__ = ["BlobTransport", "blob_transport"]

#: Bytes asked of the socket per read, and so the size of the chunks a body yields.
READ_SIZE = 1 << 20
_DEFAULT_PORTS = {"http": 80, "https": 443}
_Origin = tuple[str, str, int]


def blob_transport() -> httpx.BaseTransport | None:
    """A :class:`BlobTransport`, or None (httpx's default) when a proxy is configured.

    httpx honours ``HTTP_PROXY`` and friends only with its own transport, so
    a proxied client keeps it.
    """
    if urllib.request.getproxies():
        return None
    return BlobTransport()


class BlobTransport(httpx.BaseTransport):
    """HTTP/1.1 over ``http.client``, keeping one idle connection per origin for reuse."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        self._idle: dict[_Origin, http.client.HTTPConnection] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; the response body streams from the connection."""
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme])
        timeouts = request.extensions.get("timeout", {})
        body = request.read()
        with self._lock:
            idle = self._idle.pop(origin, None)
        if idle is not None:
            try:
                return self._exchange(idle, origin, request, body)
            except httpx.TransportError:
                if request.method not in ("GET", "HEAD"):
                    raise
                # The server may have closed the idle connection: once more on a new one.
        return self._exchange(self._connect(origin, timeouts), origin, request, body)

    def _connect(self, origin: _Origin, timeouts: dict[str, float]) -> http.client.HTTPConnection:
        scheme, host, port = origin
        connection: http.client.HTTPConnection
        if scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context()
            connection = http.client.HTTPSConnection(
                host, port, timeout=timeouts.get("connect"), context=self._ssl_context
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeouts.get("connect"))
        try:
            connection.connect()
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        assert connection.sock is not None
        connection.sock.settimeout(timeouts.get("read"))
        return connection

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        origin: _Origin,
        request: httpx.Request,
        body: bytes,
    ) -> httpx.Response:
        try:
            connection.putrequest(
                request.method,
                request.url.raw_path.decode("ascii"),
                skip_host=True,  # httpx already set Host and Accept-Encoding
                skip_accept_encoding=True,
            )
            for name, value in request.headers.raw:
                connection.putheader(name, value)
            connection.endheaders(body or None)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise _transport_error(exc) from exc
        except BaseException:
            connection.close()
            raise
        return httpx.Response(
            response.status,
            headers=response.getheaders(),
            stream=_Body(self, origin, connection, response),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode()},
        )

    def _release(self, origin: _Origin, connection: http.client.HTTPConnection) -> None:
        """Keep a connection whose response was read to the end, closing any other idle one."""
        with self._lock:
            previous = self._idle.pop(origin, None)
            self._idle[origin] = connection
        if previous is not None:
            previous.close()

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = list(self._idle.values()), {}
        for connection in idle:
            connection.close()


class _Body(httpx.SyncByteStream):
    """A response body read from its connection in :data:`READ_SIZE` pieces."""

    def __init__(
        self,
        transport: BlobTransport,
        origin: _Origin,
        connection: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._connection: http.client.HTTPConnection | None = connection
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        try:
            while chunk := response.read(READ_SIZE):
                yield chunk
        except (OSError, http.client.HTTPException) as exc:
            raise _transport_error(exc) from exc
        if response.length:  # http.client ends a short body quietly; httpcore refuses it
            raise httpx.RemoteProtocolError(
                f"peer closed connection without sending complete message body "
                f"({response.length} bytes missing)"
            )

    def close(self) -> None:
        """Return the connection for reuse if the body was read to its end, else close it."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._response.isclosed() and not self._response.will_close:
            self._transport._release(self._origin, connection)
        else:
            # A response marked "will close" owns the socket: close both.
            self._response.close()
            connection.close()


def _transport_error(exc: OSError | http.client.HTTPException) -> httpx.TransportError:
    """The httpx error for a socket or ``http.client`` failure."""
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(str(exc) or "timed out")
    if isinstance(exc, http.client.HTTPException):  # a malformed or cut-off response
        return httpx.RemoteProtocolError(str(exc) or type(exc).__name__)
    return httpx.ReadError(str(exc) or type(exc).__name__)
