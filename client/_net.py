"""How the client waits for a registry, and how it says what went wrong.

One policy for both HTTP paths (:mod:`phony_client.sources` for reads,
:mod:`phony_client.remote` for the API):

* a connection must be made within :data:`CONNECT_TIMEOUT` seconds and each
  read answer within :data:`READ_TIMEOUT`;
* a refused or reset connection, and an answer of :data:`RETRY_STATUS`
  (429, 5xx a retry may cure), is retried :data:`RETRIES` times with
  exponential backoff (:class:`RetryPolicy`); a ``Retry-After`` header of
  such an answer is honoured (up to :data:`MAX_RETRY_AFTER` seconds) for
  pulls and pushes alike. A **timeout is not retried**: a registry that did
  not answer in that long will not answer the next second, and retrying it
  made a silent two-minute wait;
* each retry is announced on stderr (``phony: ... retrying``), so a person
  waiting knows what is happening;
* errors name the problem in words (``connection refused``, ``no answer
  within 5 s``), never an exception class;
* every request says who it is with one ``User-Agent``, ``phony/<version>``;
* what a registry or a publisher wrote (a description, a licence, a name in
  a search answer, an error's detail) is shown through :func:`printable`,
  with every control character visible as an escape: text from elsewhere
  never moves the cursor, rings the bell, starts a line or reverses the
  text on the user's terminal.

Waits go through :attr:`RetryPolicy.sleep`, so a test gives a policy that
records them instead of sleeping.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phony_registry._dist import version
from phony_registry.manifest import CONTROL_CHARACTERS, escape_control

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ACCEPT_ENCODING",
    "CONNECT_TIMEOUT",
    "MAX_RETRY_AFTER",
    "READ_TIMEOUT",
    "RETRIES",
    "RETRY_STATUS",
    "RetryPolicy",
    "decoded",
    "describe",
    "is_http_url",
    "printable",
    "redacted",
    "retry_after_seconds",
    "retryable",
    "say_retrying",
    "timeout",
    "user_agent",
    "version",
]

#: Seconds to wait for a TCP (and TLS) connection to a registry.
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for each piece of an answer.
READ_TIMEOUT = 30.0
#: Tries after the first, for every request to a registry (pulls and pushes).
RETRIES = 3
#: Answers worth another try: too many requests, and server errors a retry may cure.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
#: The longest ``Retry-After`` phony waits for; a server asking for more gets this.
MAX_RETRY_AFTER = 30.0
#: The content codings every client asks for, and :func:`decoded` reads.
ACCEPT_ENCODING = "gzip, deflate"
#: The most bytes :func:`decoded` hands over at a time.
PIECE = 1 << 20


@dataclass(frozen=True)
class RetryPolicy:
    """How often a registry request is tried again, and how long phony waits between tries."""

    #: Tries after the first.
    retries: int = RETRIES
    #: The first wait in seconds; each further wait doubles, up to ``max_backoff``.
    backoff: float = 0.25
    max_backoff: float = 4.0
    #: How to wait (tests pass a function that records the delay instead).
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1 for the first)."""
        wait: float = min(self.backoff * 2.0 ** (attempt - 1), self.max_backoff)
        asked = retry_after_seconds(retry_after)
        return wait if asked is None else max(wait, asked)

    def wait(self, attempt: int, retry_after: str | None = None) -> None:
        """Wait before the next try (see :meth:`delay`)."""
        self.sleep(self.delay(attempt, retry_after))


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from now, capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


#: Characters a terminal acts on rather than shows, and how each is shown: the
#: core's one definition, the same a registry refuses in a new manifest.
_HIDDEN = CONTROL_CHARACTERS
_escape = escape_control


def printable(value: object) -> str:
    r"""``value`` as text safe to show on a terminal: each control character as an escape.

    A newline is shown as the two characters ``\n``, BEL as ``\x07``, ESC as
    ``\x1b``, U+202E as ``\u202e``; everything else, non-ASCII letters
    included, is unchanged. The one way the command line shows text a
    registry or a publisher wrote (JSON output keeps the data as it is).
    """
    return _HIDDEN.sub(lambda match: _escape(match.group()), str(value))


def is_http_url(text: str | os.PathLike[str] | None) -> bool:
    """True if ``text`` is an http(s) URL (a server or static host) rather than a folder."""
    return isinstance(text, str) and text.lower().startswith(("http://", "https://"))


def redacted(url: str) -> str:
    """``url`` as it may be shown: a user name and password in it become ``***``.

    ``https://ci:s3cret@models.example.org`` (basic auth for a registry behind
    a proxy, which httpx sends from the URL) is shown as
    ``https://***@models.example.org`` in every message, retry notice and
    error, so the password does not end up in a terminal or a CI log.
    """
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def user_agent() -> str:
    """The ``User-Agent`` of every request phony makes to a registry."""
    return f"phony/{version()}"


def timeout(read: float = READ_TIMEOUT) -> httpx.Timeout:
    """The httpx timeout of every registry client."""
    import httpx

    return httpx.Timeout(read, connect=CONNECT_TIMEOUT)


def decoded(response: httpx.Response, where: str) -> Iterator[bytes]:
    """The body of a streamed ``response``, decoded, in pieces of at most :data:`PIECE` bytes.

    httpx's own decoders inflate each piece the transport reads in one go, so
    a megabyte of a gzip bomb became a gigabyte in memory before any limit on
    the body could be checked. Here the inflater never hands over more than a
    piece at a time, and the caller counts decoded bytes against its cap.
    A coding phony did not ask for is refused (:class:`RegistryUnavailable`,
    naming ``where``).
    """
    import httpx

    from phony_registry.errors import RegistryUnavailable

    try:
        whole = response.content  # a body a transport read before (a test's MockTransport)
    except httpx.ResponseNotRead:
        pass
    else:
        for start in range(0, len(whole), PIECE):
            yield whole[start : start + PIECE]
        return
    coding = response.headers.get("Content-Encoding", "").strip().lower()
    if coding in ("", "identity"):
        for data in response.iter_raw():
            for start in range(0, len(data), PIECE):
                yield data[start : start + PIECE]
        return
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise RegistryUnavailable(
            f"{where}: the answer is in Content-Encoding {coding!r}, which phony did not ask "
            f"for (it accepts {ACCEPT_ENCODING})"
        )
    inflater = zlib.decompressobj(wbits=47)  # a gzip or zlib header, found by zlib
    try:
        for data in response.iter_raw():
            while data and not inflater.eof:
                piece = inflater.decompress(data, PIECE)
                data = inflater.unconsumed_tail
                if piece:
                    yield piece
        rest = inflater.flush()
    except zlib.error as exc:
        raise RegistryUnavailable(f"{where}: the answer is not valid {coding} ({exc})") from None
    if rest:
        yield rest
    if not inflater.eof:
        raise RegistryUnavailable(f"{where}: the {coding} answer ends before its end")


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
