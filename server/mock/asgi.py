"""The mock's HTTP plumbing under its routes: ASGI types, error answers, request bodies,
query parameters, CORS and the lifespan protocol.

Nothing here knows a collection: :mod:`phony_server.mock.app` routes requests
to records and answers through these.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "CORS",
    "EXPOSED",
    "HTTPError",
    "JSON_HEADER",
    "MAX_BODY",
    "Receive",
    "Scope",
    "Send",
    "allow",
    "allow_header",
    "cors_headers",
    "drop",
    "json_body",
    "lifespan",
    "preflight",
    "query_parameters",
    "read_body",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: Largest request body read (bytes).
MAX_BODY = 1 << 20

#: The headers scripts of another origin may read.
EXPOSED = (b"access-control-expose-headers", b"X-Total-Count, Link, Location")
#: CORS headers of an answer to a request from no page (no ``Origin``); Vary, so that
#: a cache does not give it to a page, whose answer names the page's origin.
CORS = [(b"access-control-allow-origin", b"*"), (b"vary", b"Origin"), EXPOSED]
#: The content type of every JSON answer.
JSON_HEADER = (b"content-type", b"application/json; charset=utf-8")


class HTTPError(Exception):
    """An answer other than success: status, error code, message, maybe a field and headers."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        field: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.field = status, code, detail, field
        self.headers = headers or []


_ARRAY_ITEM = re.compile(r"\[[0-9]{0,6}\]$")


def query_parameters(query: str) -> list[tuple[str, str]]:
    """The query's (name, value) pairs; ``name[]`` and ``name[0]`` are ``name``, as
    json-server's parser (qs) reads the arrays axios and qs send (``{id: [2, 4]}`` ->
    ``id[]=2&id[]=4`` or ``id[0]=2&id[1]=4``)."""
    if not query:
        return []
    pairs = parse_qsl(query, keep_blank_values=True)
    return [(_ARRAY_ITEM.sub("", name), value) for name, value in pairs]


def allow(method: str, *allowed: str) -> None:
    """A 405 with an ``Allow`` header unless ``method`` is one of ``allowed``."""
    if method not in allowed:
        raise HTTPError(
            405,
            "method_not_allowed",
            f"{method} is not allowed here ({', '.join(allowed)})",
            headers=[allow_header(allowed)],
        )


def allow_header(methods: Iterable[str]) -> tuple[bytes, bytes]:
    """A 405's ``Allow`` header (RFC 9110): the route's methods, HEAD wherever GET is."""
    listed = [m for method in methods for m in ((method, "HEAD") if method == "GET" else (method,))]
    return b"allow", ", ".join(listed).encode()


def cors_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """CORS headers for a request: open to any origin, as json-server's are.

    A request from a page (an ``Origin`` header) is answered for that origin,
    credentials allowed (json-server's ``cors({origin: true, credentials:
    true})``): a browser refuses ``*`` to ``fetch(..., {credentials:
    "include"})``. The mock keeps no cookies or sessions, so this shows a page
    nothing ``*`` does not.
    """
    for name, value in scope["headers"]:
        if name == b"origin" and 0 < len(value) <= 1024:
            return [
                (b"access-control-allow-origin", value),
                (b"access-control-allow-credentials", b"true"),
                (b"vary", b"Origin"),
                EXPOSED,
            ]
    return CORS


async def preflight(scope: Scope, send: Send, cors: list[tuple[bytes, bytes]]) -> None:
    """Answer a CORS preflight (OPTIONS): every method, the headers the page asks for."""
    asked = b""
    for name, value in scope["headers"]:
        if name == b"access-control-request-headers":
            asked = value[:1024]
    headers = [
        *cors,
        (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        (b"access-control-max-age", b"86400"),
        (b"content-length", b"0"),
    ]
    if asked:
        headers.append((b"access-control-allow-headers", asked))
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def read_body(receive: Receive) -> bytes:
    """The request body, at most :data:`MAX_BODY` bytes (a 413 past it)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPError(400, "bad_request", "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise HTTPError(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def json_body(body: bytes) -> Any:
    """The JSON document of a request body; a 400 if it is not JSON, or not Unicode text."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        at = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        raise HTTPError(400, "bad_request", f"the body is not JSON: {at}") from None
    except UnicodeDecodeError as exc:
        raise HTTPError(
            400, "bad_request", f"the body is not JSON: not UTF-8 text (byte {exc.start})"
        ) from None
    except RecursionError:
        raise HTTPError(400, "bad_request", "the body is not JSON: nested too deeply") from None
    except ValueError:  # an integer of more digits than int() reads
        raise HTTPError(400, "bad_request", "the body is not JSON") from None
    where = _lone_surrogate(document)
    if where is not None:
        raise HTTPError(
            400,
            "bad_request",
            f"the body is not Unicode text: {where} holds a lone surrogate "
            "(an unpaired \\ud800-\\udfff escape), which no record can store",
        )
    return document


def _lone_surrogate(document: Any) -> str | None:
    """Where ``document`` holds a string with a lone surrogate (a dotted path), or None.

    json.loads accepts ``"\\ud800"`` unpaired (and the CESU-8 bytes of one) as
    a string no UTF-8 encoder will write: stored, it would break every answer
    that shows it. Walked with a stack, not recursion: a body nests as deep as
    json.loads allows.
    """
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                at = f"{path}.{key[:60]}" if path else key[:60]
                if _has_surrogate(key):
                    return f"a key{f' in {path}' if path else ''}"
                stack.append((at, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, str) and _has_surrogate(value):
            return path or "the body"
    return None


def _has_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


async def drop(send: Send) -> None:
    """Start an answer and stop halfway: the server closes the connection (a reset fault)."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [JSON_HEADER, (b"content-length", b"1024")],
        }
    )
    await send({"type": "http.response.body", "body": b"[", "more_body": True})


async def lifespan(receive: Receive, send: Send) -> None:
    """ASGI's lifespan protocol: nothing to start or stop but saying so."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
