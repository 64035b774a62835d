"""How the command line shows the library's warnings: one ``warning: ...`` line each.

The packages report through :mod:`logging` (``phony_registry.plugins`` when
a plugin fails to load, for instance) and never print; the command line
decides what a person sees. Each warning is written to the current
``sys.stderr`` (click's test runner swaps it), without a logger name.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["show_warnings"]

#: The loggers of phony's packages; each module logs under its own name below them.
PACKAGES = ("phony_registry", "phony_client", "phony_server")


class _WarningLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"warning: {record.getMessage()}\n")
            sys.stderr.flush()
        except Exception:  # a closed stderr must not turn a warning into a crash
            self.handleError(record)


def show_warnings() -> None:
    """Write the packages' warnings (and worse) to stderr, once per process."""
    for name in PACKAGES:
        logger = logging.getLogger(name)
        if not any(isinstance(h, _WarningLines) for h in logger.handlers):
            logger.addHandler(_WarningLines(logging.WARNING))
