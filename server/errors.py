"""What a client is told of a :class:`~phony_registry.errors.PhonyError`: one status per code.

Every answer of the server (the API, the static layout, the web pages and
their sample JSON) takes its status and detail from :func:`refusal`, so an
error code has one status everywhere: a ``PhonyError`` carries its own
(``invalid_name`` 422, ``not_found`` 404, ``unavailable`` 503...), anything
outside 4xx and 5xx is a 400.

A refusal (4xx) is about the request, and its detail says what was wrong
with it. A failure (5xx, a storage that cannot be reached or holds something
unexpected) is about the server: its message names the endpoint, the bucket,
an object key of the private area, so a client only reads
:data:`UNAVAILABLE` and the full message goes to the server log (logger
``phony_server``, level warning), for the operator.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from phony_registry.errors import PhonyError

__all__ = ["Refusal", "UNAVAILABLE", "refusal"]  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks

log = logging.getLogger("phony_server")

#: The detail of every 5xx answer.
UNAVAILABLE = "storage unavailable"


@dataclass(frozen=True)
class Refusal:
    """The status, code and client-safe detail of one error answer."""

    status: int
    code: str
    detail: str

    def body(self) -> dict[str, str]:
        """The JSON body: ``{"error": code, "detail": message}``."""
        return {"error": self.code, "detail": self.detail}


def refusal(exc: PhonyError, method: str, path: str) -> Refusal:
    """How to answer ``exc`` raised for ``method path``; logs a 5xx with its full message."""
    status = exc.http_status if 400 <= exc.http_status < 600 else 400
    if status >= 500:
        log.warning("%s %s: %s", method, path, exc)
        return Refusal(status, exc.code, UNAVAILABLE)
    return Refusal(status, exc.code, str(exc))
