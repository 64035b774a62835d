"""uvicorn's HTTP protocol with the three limits uvicorn leaves out.

uvicorn times out idle keep-alive connections, but not a client that opens a
connection and sends its headers a byte at a time, or never finishes them:
each such connection holds a file descriptor forever, and a few hundred of
them starve the server (``/v1/health`` failed with 220). And once the
application has answered a request without reading its body (a 401 before
the upload, a 413), uvicorn keeps reading and discarding whatever the client
still sends. :class:`HttpProtocol` adds both limits:

- **header timeout**: from a connection's opening, or the end of its previous
  response, the client has ``header_timeout`` seconds to complete a request's
  headers; then the connection is closed (with a 408 if a request had begun);
- **no unread bodies**: a response sent before its request's body was read to
  the end says ``Connection: close`` and closes the connection, so a refused
  body is never received (and a client does not send its next request on a
  connection about to close);
- **header size**: a request's line and headers may take
  :data:`MAX_HEADER_BYTES`; past that the connection gets a 431 and is
  closed. uvicorn's httptools protocol has no such cap (its h11 protocol
  stops at 16 KiB): one header value sent for the whole header timeout was
  kept in memory whole, some 160 MiB of server memory per connection in
  ten seconds, before any token was checked.

Body pauses are the application's to time (``Settings.body_timeout``, in
``phony_server.api``). Use it with ``phony registry serve`` (which passes it
to uvicorn) or ``uvicorn --http phony_server.connections:HttpProtocol``; the
timeout comes from ``PHONY_HEADER_TIMEOUT`` (seconds, default 15).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "DEFAULT_HEADER_TIMEOUT",
    "HttpProtocol",
    "MAX_HEADER_BYTES",
    "header_timeout",
]

#: Seconds a client has to send a request's headers, unless configured.
DEFAULT_HEADER_TIMEOUT = 15.0
_TIMEOUT_BODY = b'{"error":"timeout","detail":"the request headers did not arrive in time"}'
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


#: Bytes a request's line and headers may take (nginx allows 32 KiB by default).
MAX_HEADER_BYTES = 64 * 1024
_TOO_LARGE_BODY = (
    b'{"error":"headers_too_large","detail":"the request line and headers are over %d bytes"}'
    % MAX_HEADER_BYTES
)
_TOO_LARGE_RESPONSE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_TOO_LARGE_BODY), _TOO_LARGE_BODY)
)


def header_timeout() -> float:
    """The header timeout in seconds (``PHONY_HEADER_TIMEOUT``, else the default)."""
    text = os.environ.get("PHONY_HEADER_TIMEOUT", "")
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_HEADER_TIMEOUT
    return value if value > 0 else DEFAULT_HEADER_TIMEOUT


class _HeaderDeadline:
    """The timer of one connection: armed while it waits for a request's headers."""

    def __init__(self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport) -> None:
        self._loop = loop
        self._transport = transport
        self._timeout = header_timeout()
        self._timer: asyncio.TimerHandle | None = None
        #: Bytes of a request arrived since the timer was armed.
        self.started = False

    def arm(self) -> None:
        self.cancel()
        self.started = False
        self._timer = self._loop.call_later(self._timeout, self._expire)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def _expire(self) -> None:
        self._timer = None
        if self._transport.is_closing():
            return
        if self.started:
            self._transport.write(_TIMEOUT_RESPONSE)
        self._transport.close()


def _close_if_unread(cycle: Any) -> None:
    """Make ``cycle``'s response say ``Connection: close`` if its body is still unread then."""
    send = cycle.send

    async def send_closing(message: Any) -> None:
        if message["type"] == "http.response.start" and cycle.more_body:
            headers = [*message.get("headers", []), (b"connection", b"close")]
            message = {**message, "headers": headers}
        await send(message)

    cycle.send = send_closing


def _protocol_base() -> type[Any]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # uvicorn without its [standard] extra: the h11 protocol below
        return object
    return HttpToolsProtocol


class _HeaderTimeout:
    """What both protocols add to uvicorn's: the header deadline, armed when idle.

    Mixed in before uvicorn's protocol class, so ``super()`` is that class.
    """

    _deadline: _HeaderDeadline | None = None
    loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._deadline = _HeaderDeadline(self.loop, transport)
        self._deadline.arm()

    def _request_started(self) -> None:
        if self._deadline is not None and self._deadline.armed:
            self._deadline.started = True

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)  # type: ignore[misc]


class _HttpTools(_HeaderTimeout, _protocol_base()):  # type: ignore[misc]
    """uvicorn's httptools protocol with the header timeout and size, and no unread bodies."""

    #: True from a request's headers being complete until the next request begins.
    _headers_done = False
    #: Bytes received since the current request began, while its headers are incomplete.
    _header_bytes = 0

    def data_received(self, data: bytes) -> None:
        self._request_started()
        if not self._headers_done:
            self._header_bytes += len(data)
        super().data_received(data)
        # Counted after parsing: a piece that completes the headers and carries
        # body bytes as well has set _headers_done, and is no header excess.
        if (
            not self._headers_done
            and self._header_bytes > MAX_HEADER_BYTES
            and not self.transport.is_closing()
        ):
            if self._deadline is not None:
                self._deadline.cancel()
            self.transport.write(_TOO_LARGE_RESPONSE)
            self.transport.close()

    def on_message_begin(self) -> None:
        self._headers_done = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._header_bytes = 0
        if self._deadline is not None:
            self._deadline.cancel()
        super().on_headers_complete()
        if self.cycle is not None:  # its task starts later, on the loop: in time
            _close_if_unread(self.cycle)

    def on_response_complete(self) -> None:
        cycle = self.cycle
        unread = cycle is not None and cycle.more_body and not cycle.disconnected
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if unread:
            # Answered before the body was read (a refusal): never receive the rest.
            self.transport.close()
        elif not self.pipeline and self._deadline is not None:
            self._deadline.arm()


def _h11_protocol() -> type[Any]:
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class _H11(_HeaderTimeout, H11Protocol):  # type: ignore[misc]
        """uvicorn's h11 protocol with the header timeout and no unread bodies."""

        def data_received(self, data: bytes) -> None:
            self._request_started()
            cycle = self.cycle
            super().data_received(data)
            if self.cycle is not cycle and self.cycle is not None:
                _close_if_unread(self.cycle)
            if self._deadline is not None and self.conn.their_state is not h11.IDLE:
                self._deadline.cancel()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.transport.is_closing():
                return
            if self.conn.their_state is h11.SEND_BODY:
                self.transport.close()
            elif self.conn.their_state is h11.IDLE and self._deadline is not None:
                self._deadline.arm()

    return _H11


#: The protocol class to give uvicorn (``http=``): httptools when installed, else h11.
HttpProtocol: type[Any] = _HttpTools if _protocol_base() is not object else _h11_protocol()
