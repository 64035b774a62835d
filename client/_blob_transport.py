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

A read timeout bounds each read, not a transfer: a registry sending one byte
every few seconds never trips it. So a pull also has an overall deadline and
a minimum rate (:class:`TransferLimits`, from ``[pull]`` in config.toml or
``PHONY_PULL_DEADLINE`` / ``PHONY_PULL_MIN_RATE``), which
:class:`TransferClock` checks between the pieces of every body. A body is
read a piece at a time as it arrives (``read1``: up to 1 MiB, one socket
read), so the checks run however slowly it trickles; and a request given a
``phony_deadline`` extension has its socket shut down at that moment, so
even headers sent a byte at a time cannot outlast it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import httpx

from phony_registry.errors import ConfigError, RequestTimeout

__all__ = ["BlobTransport", "TransferClock", "TransferLimits", "blob_transport", "parse_seconds"]

#: Bytes asked of the socket per read, and so the largest chunk a body yields.
READ_SIZE = 1 << 20
#: Seconds over which the transfer rate is measured against the minimum.
RATE_WINDOW = 5.0
_DEFAULT_PORTS = {"http": 80, "https": 443}
_Origin = tuple[str, str, int]


@dataclass(frozen=True)
class TransferLimits:
    """How long one pull may take in all, and how slowly its transfers may move."""

    #: Seconds from a pull's first request to the end of its last (0: no deadline).
    deadline: float = 900.0
    #: Bytes per second a transfer must keep up over every RATE_WINDOW (0: any rate).
    min_rate: float = 1024.0

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> TransferLimits:
        """``PHONY_PULL_DEADLINE`` / ``PHONY_PULL_MIN_RATE``, else ``[pull]`` of config.toml."""
        from phony_client.config import load_config

        env = os.environ if environ is None else environ
        table = load_config().extra.get("pull", {})
        if not isinstance(table, dict):
            raise ConfigError("config.toml: [pull] must be a table")
        values = {}
        for field, variable, parse in (
            ("deadline", "PHONY_PULL_DEADLINE", parse_seconds),
            ("min_rate", "PHONY_PULL_MIN_RATE", _rate),
        ):
            if env.get(variable):
                values[field] = parse(env[variable], variable)
            elif field in table:
                values[field] = parse(table[field], f"config.toml: pull.{field}")
        return cls(**values)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)?")
_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:([kmg])(i)?)?b?(?:/s)?")


def parse_seconds(value: object, where: str) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"1h"``; ConfigError otherwise."""
    match = _DURATION.fullmatch(str(value).strip().lower()) if not isinstance(value, bool) else None
    if match is None:
        raise ConfigError(f"{where}: {value!r} is not a duration (like 900, 90s, 15m or 1h)")
    unit = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[match.group(2)]
    return float(match.group(1)) * unit


def _rate(value: object, where: str) -> float:
    """Bytes per second from ``1024``, ``"10KB"``, ``"1MiB/s"``; ConfigError otherwise."""
    match = _RATE.fullmatch(str(value).strip().lower()) if not isinstance(value, bool) else None
    if match is None:
        raise ConfigError(f"{where}: {value!r} is not a rate (like 1024, 10KB or 1MiB/s)")
    base = 1024 if match.group(3) else 1000
    power = "kmg".index(match.group(2)) + 1 if match.group(2) else 0
    return float(match.group(1)) * float(base**power)


class TransferClock:
    """The deadline and the minimum rate of one pull, over all its requests."""

    def __init__(self, limits: TransferLimits, label: str) -> None:
        self.limits = limits
        self.label = label
        self._start: float | None = None

    def deadline(self) -> float | None:
        """The monotonic time the pull must end by (its clock starts at the first call)."""
        if self._start is None:
            self._start = time.monotonic()
        return self._start + self.limits.deadline if self.limits.deadline else None

    def expired(self) -> bool:
        """True once the deadline has passed."""
        end = self.deadline()
        return end is not None and time.monotonic() >= end

    def too_late(self, what: str) -> RequestTimeout:
        """The error for a pull past its deadline."""
        return RequestTimeout(
            f"{what} from {self.label}: the pull took longer than {self.limits.deadline:g} s "
            "(a stalled or very slow registry; raise pull.deadline in config.toml or "
            "PHONY_PULL_DEADLINE if it is only slow)"
        )

    def check(self, what: str) -> None:
        """Raise :class:`RequestTimeout` if the pull is past its deadline."""
        if self.expired():
            raise self.too_late(what)

    def watch(self, chunks: Iterator[bytes], what: str) -> Iterator[bytes]:
        """``chunks``, checked against the deadline and the minimum rate as each arrives."""
        minimum = self.limits.min_rate
        end = self.deadline() or float("inf")
        window_start = time.monotonic()
        window_bytes = 0
        for chunk in chunks:
            now = time.monotonic()  # once a piece: pieces come fast on a fast link
            if now >= end:
                raise self.too_late(what)
            window_bytes += len(chunk)
            if now - window_start >= RATE_WINDOW:
                rate = window_bytes / (now - window_start)
                if rate < minimum:
                    raise RequestTimeout(
                        f"{what} from {self.label}: {rate:.0f} bytes/s over the last "
                        f"{now - window_start:.0f} s, under the minimum of {minimum:g} "
                        "(a stalled registry; lower pull.min_rate in config.toml or "
                        "PHONY_PULL_MIN_RATE if the link is this slow)"
                    )
                window_start, window_bytes = now, 0
            yield chunk
        self.check(what)


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
        deadline: float | None = request.extensions.get("phony_deadline")
        body: bytes | Iterable[bytes]
        if request.method in ("GET", "HEAD") or "Content-Length" not in request.headers:
            body = request.read()
        else:
            # An upload of known length goes out as it is produced (a progress bar
            # moves with it), not buffered first; http.client sends each piece.
            body = request.stream  # type: ignore[assignment]
        with self._lock:
            idle = self._idle.pop(origin, None)
        if idle is not None:
            try:
                return self._exchange(idle, origin, request, body, deadline)
            except httpx.TransportError:
                if request.method not in ("GET", "HEAD"):
                    raise
                # The server may have closed the idle connection: once more on a new one.
        connection = self._connect(origin, timeouts, deadline)
        return self._exchange(connection, origin, request, body, deadline)

    def _connect(
        self, origin: _Origin, timeouts: dict[str, float], deadline: float | None = None
    ) -> http.client.HTTPConnection:
        scheme, host, port = origin
        connect = timeouts.get("connect")
        if deadline is not None:
            left = max(deadline - time.monotonic(), 0.001)
            connect = left if connect is None else min(connect, left)
        connection: http.client.HTTPConnection
        if scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context()
            connection = http.client.HTTPSConnection(
                host, port, timeout=connect, context=self._ssl_context
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=connect)
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
        body: bytes | Iterable[bytes],
        deadline: float | None = None,
    ) -> httpx.Response:
        watchdog = _Watchdog(connection, deadline)
        try:
            connection.putrequest(
                request.method,
                request.url.raw_path.decode("ascii"),
                skip_host=True,  # httpx already set Host and Accept-Encoding
                skip_accept_encoding=True,
            )
            for name, value in request.headers.raw:
                connection.putheader(name, value)
            try:
                connection.endheaders(body or None)
            except OSError:
                # A server may answer before reading the body (401, 413) and close
                # while it is still being sent: its answer is what to report.
                response = _early_answer(connection)
                if response is None:
                    raise
            else:
                response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            watchdog.cancel()
            connection.close()
            raise _transport_error(exc) from exc
        except BaseException:
            watchdog.cancel()
            connection.close()
            raise
        return httpx.Response(
            response.status,
            headers=response.getheaders(),
            stream=_Body(self, origin, connection, response, watchdog),
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
        watchdog: _Watchdog,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._connection: http.client.HTTPConnection | None = connection
        self._response = response
        self._watchdog = watchdog

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        try:
            # read1: what one socket read brings (up to 1 MiB), so a trickling body
            # still hands over pieces and its reader can check the clock between them.
            while chunk := response.read1(READ_SIZE):
                yield chunk
        except (OSError, http.client.HTTPException) as exc:
            raise _transport_error(exc) from exc
        if response.length == 0:
            # read1, unlike read, leaves a finished body open: finish it so that
            # the connection can be kept for the next request.
            response.close()
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
        self._watchdog.cancel()
        if self._watchdog.fired:
            self._response.close()
            connection.close()
        elif self._response.isclosed() and not self._response.will_close:
            self._transport._release(self._origin, connection)
        else:
            # A response marked "will close" owns the socket: close both.
            self._response.close()
            connection.close()


class _Watchdog:
    """Shuts a connection's socket down at a deadline, whatever read it is blocked in."""

    def __init__(self, connection: http.client.HTTPConnection, deadline: float | None) -> None:
        self.fired = False
        self._connection = connection
        self._timer: threading.Timer | None = None
        if deadline is not None:
            self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        sock = self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _early_answer(connection: http.client.HTTPConnection) -> http.client.HTTPResponse | None:
    """The answer a server sent before closing on a request body, if it can be read."""
    try:
        response = connection.getresponse()
    except (OSError, http.client.HTTPException):
        return None
    response.will_close = True  # the request was cut short: never reuse the connection
    return response


def _transport_error(exc: OSError | http.client.HTTPException) -> httpx.TransportError:
    """The httpx error for a socket or ``http.client`` failure."""
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(str(exc) or "timed out")
    if isinstance(exc, http.client.HTTPException):  # a malformed or cut-off response
        return httpx.RemoteProtocolError(str(exc) or type(exc).__name__)
    return httpx.ReadError(str(exc) or type(exc).__name__)
