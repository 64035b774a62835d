"""How the client waits for a registry, and how it says what went wrong.

One policy for both HTTP paths (:mod:`phony_client.sources` for reads,
:mod:`phony_client.remote` for the API):

* a connection must be made within :data:`CONNECT_TIMEOUT` seconds and each
  read answer within :data:`READ_TIMEOUT`;
* a refused or reset connection is retried (with backoff): a server being
  restarted is back in a moment. A **timeout is not retried**: a registry
  that did not answer in that long will not answer the next second, and
  retrying it made a silent two-minute wait;
* each retry is announced on stderr (``phony: ... retrying``), so a person
  waiting knows what is happening;
* errors name the problem in words (``connection refused``, ``no answer
  within 5 s``), never an exception class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = ["CONNECT_TIMEOUT", "READ_TIMEOUT", "describe", "retryable", "say_retrying", "timeout"]

#: Seconds to wait for a TCP (and TLS) connection to a registry.
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for each piece of an answer.
READ_TIMEOUT = 30.0


def timeout(read: float = READ_TIMEOUT) -> httpx.Timeout:
    """The httpx timeout of every registry client."""
    import httpx

    return httpx.Timeout(read, connect=CONNECT_TIMEOUT)


def retryable(exc: httpx.TransportError) -> bool:
    """True for a failure worth one more try soon (refused, reset), not a timeout."""
    import httpx

    return not isinstance(exc, httpx.TimeoutException)


def describe(exc: httpx.TransportError) -> str:
    """What happened, in words a user can act on."""
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within {CONNECT_TIMEOUT:g} s (is the address right, the server up?)"
    if isinstance(exc, httpx.TimeoutException):
        return "the server stopped answering (no data within the read timeout)"
    text = str(exc).strip()
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused (is the server running?)"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "unknown host name"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({text})" if text else "cannot connect"
    return text or "the connection failed"


def say_retrying(where: str, exc: httpx.TransportError, attempt: int, attempts: int) -> None:
    """Tell the person waiting that phony is retrying, and why."""
    from phony_client._progress import notice

    notice(f"{where}: {describe(exc)}; retrying ({attempt} of {attempts})")


def ensure_can_listen(host: str, port: int) -> None:
    """Fail with one line, before a server starts, when ``host:port`` cannot be bound.

    uvicorn would log the failure and exit with its own status 3, which
    phony uses for something else.
    """
    import errno
    import socket

    from phony_registry.errors import PhonyError

    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PhonyError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PhonyError(
                    f"cannot listen on {host}:{port}: the port is in use (by another "
                    "server?); choose another with --port"
                ) from None
            reason = (exc.strerror or str(exc)).lower()
            raise PhonyError(f"cannot listen on {host}:{port}: {reason}") from None
