"""Small output helpers shared by the command groups: tables for people, JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

__all__ = ["echo_json", "echo_table", "human_size", "plural", "short_digest"]


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout."""
    click.echo(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print an aligned plain-text table (no colours, so it pipes cleanly)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def human_size(size: int | None) -> str:
    """``1536`` -> ``1.5 KiB``."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def short_digest(digest: str | None) -> str:
    """``sha256:abcdef...`` -> ``sha256:abcdef012345``."""
    return digest[:19] if digest else "-"


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 value``, ``2 values``, ``1,000 values``."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"
