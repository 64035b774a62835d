"""How the command line shows what the packages report: one line each on stderr.

The packages report through :mod:`logging` and never print; the command line
decides what a person sees. A warning (a plugin that failed to load, an
unknown key in config.toml) is ``warning: ...``; a client notice logged at
INFO (a model installed on first use) is ``phony: ...``. Each line goes to
the current ``sys.stderr`` (click's test runner swaps it), without a logger
name.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["show_warnings"]

#: The loggers of phony's packages; each module logs under its own name below them.
PACKAGES = ("phony_registry", "phony_client", "phony_server")


class _Lines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning" if record.levelno >= logging.WARNING else "phony"
        try:
            sys.stderr.write(f"{prefix}: {record.getMessage()}\n")
            sys.stderr.flush()
        except Exception:  # a closed stderr must not turn a message into a crash
            self.handleError(record)


def show_warnings() -> None:
    """Show the packages' warnings, and the client's notices, on stderr (once per process)."""
    for name in PACKAGES:
        logger = logging.getLogger(name)
        if not any(isinstance(h, _Lines) for h in logger.handlers):
            logger.addHandler(_Lines(logging.INFO))
    # The client's INFO records are notices for the person at the terminal.
    logging.getLogger("phony_client").setLevel(logging.INFO)
