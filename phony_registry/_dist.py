"""The installed phony distribution, as the client's User-Agent and the server's API report it."""

from __future__ import annotations

import functools

__all__ = ["version"]


@functools.cache
def version() -> str:
    """The installed phony distribution's version ("0" when run from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return distribution_version("phony")
    except PackageNotFoundError:
        return "0"
