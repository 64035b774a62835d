"""phony's own plugin: built-in formats and generators, registered through the public hooks."""

from __future__ import annotations

from collections.abc import Callable

from phony_registry import outputs
from phony_registry.hookspecs import hookimpl


@hookimpl
def phony_register_formats(register: Callable[[outputs.OutputFormat], None]) -> None:
    """Register txt, csv and jsonl."""
    for fmt in (outputs.TXT, outputs.CSV, outputs.JSONL):
        register(fmt)
