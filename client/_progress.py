"""The one progress display of phony: a line on stderr, only on a terminal.

Every operation that can take more than a second (training, a push's
upload, a pull's download, an install) reports through :class:`Progress`:

* it draws only when stderr is a terminal (never into a pipe, a log or a
  CI transcript) and the terminal can redraw a line (``TERM`` is not
  ``dumb``);
* it waits half a second before its first line, so quick operations stay
  silent, then redraws at most ten times a second;
* it uses no colour at all, so ``NO_COLOR`` holds trivially, and clears its
  line when done: what remains on the terminal is the command's own output.

Bytes show as ``1.5 / 4.2 MiB  35%  3.1 MiB/s``; a count as
``120,000 / 500,000 values  24%``; work of unknown size as the time it has
taken so far, redrawn by a background thread (:func:`activity`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from types import TracebackType

__all__ = ["Progress", "activity", "enabled", "notice"]

_FIRST_DRAW = 0.5
_REDRAW = 0.1


def enabled() -> bool:
    """True when a progress line would reach a person: stderr is a redrawable terminal."""
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


def notice(message: str) -> None:
    """Tell the person running phony what it is doing (``phony: message`` on stderr).

    Unlike the progress line this is printed everywhere, terminal or log:
    it explains a wait or a change (a re-download, a retry).
    """
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"phony: {message}\n")
        sys.stderr.flush()


def _size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


class Progress:
    """A progress line for one operation; use as a context manager.

    ``unit`` is ``"bytes"`` (sizes and a rate are shown) or a plural noun for
    a count (``"values"``). ``total`` may be None (unknown). ``enabled``
    None means :func:`enabled`.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "bytes",
        enabled: bool | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self.enabled = globals()["enabled"]() if enabled is None else enabled
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._shown = False
        self._last = ""
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def advance(self, amount: int) -> None:
        """Count ``amount`` more bytes or items."""
        self.done += amount
        self._maybe_draw()

    def update(self, done: int, total: int | None = None) -> None:
        """Set how much is done (and the total, when it became known)."""
        self.done = done
        if total is not None:
            self.total = total
        self._maybe_draw()

    def reset(self) -> None:
        """Start again from zero (a retried transfer)."""
        self.done = 0
        self._started = time.monotonic()
        self._maybe_draw()

    def wrap(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Pass ``chunks`` through, counting their bytes."""
        for chunk in chunks:
            self.advance(len(chunk))
            yield chunk

    def close(self) -> None:
        """Clear the line, leaving the terminal as it was."""
        with self._lock:
            if self._shown:
                self._write("\r\033[K")
                self._shown = False
                self._last = ""

    def line(self) -> str:
        """The text of the progress line as it would be drawn now."""
        elapsed = time.monotonic() - self._started
        parts = [self.label]
        if self.unit == "bytes":
            if self.total:
                parts.append(f"{_size(self.done)} / {_size(self.total)}")
            elif self.done:
                parts.append(_size(self.done))
            if self.done and elapsed > 0:
                parts.append(f"{_size(self.done / elapsed)}/s")
        elif self.total:
            parts.append(f"{self.done:,} / {self.total:,} {self.unit}")
        elif self.done:
            parts.append(f"{self.done:,} {self.unit}")
        if self.total:
            parts.insert(2, f"{min(self.done / self.total, 1):4.0%}")
        parts.append(f"{elapsed:.0f} s")
        return "  ".join(parts)

    def _maybe_draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._started < _FIRST_DRAW or (not force and now - self._drawn_at < _REDRAW):
            return
        with self._lock:
            self._drawn_at = now
            width = shutil.get_terminal_size((80, 24)).columns
            text = self.line()[: max(width - 1, 10)]
            if text != self._last:  # the same line again would only flicker
                self._write("\r" + text + "\033[K")
                self._last = text
            self._shown = True

    @staticmethod
    def _write(text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(text)
            sys.stderr.flush()


@contextlib.contextmanager
def activity(label: str, *, enabled: bool | None = None) -> Iterator[Progress]:
    """A progress line for work that cannot count itself (training): the time taken so far.

    A background thread redraws it while the caller works; the line is
    cleared when the block ends.
    """
    progress = Progress(label, unit="", enabled=enabled)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(_REDRAW * 2):
            progress._maybe_draw(force=True)

    ticker = threading.Thread(target=tick, name="phony-progress", daemon=True)
    if progress.enabled:
        progress._maybe_draw(force=True)
        ticker.start()
    try:
        yield progress
    finally:
        stop.set()
        if progress.enabled:
            ticker.join()
        progress.close()
