"""Reproducible chaos: latency and faults drawn from the mock's seed.

``--delay`` takes ``120ms`` (fixed), ``50-300ms`` (uniform) or
``lognormal:80ms:0.6`` (median and sigma); ``--faults`` takes a
comma-separated list of ``WHAT:PROBABILITY`` where WHAT is an HTTP status
(``500:0.05``, ``503:0.02``) or ``reset`` (the connection is dropped before
the answer completes).

Every draw is a hash of (seed, method, path and query, how many times this
process has seen that request), so the same sequence of requests meets the
same delays and faults on every run, whatever else runs in between, and a
failing test replays the same way. With ``--workers`` each worker counts
its own requests.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from dataclasses import dataclass

from phony_registry.errors import UsageError

__all__ = ["Chaos", "DelaySpec", "parse_delay", "parse_faults"]

_MS = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s)")
#: Longest delay the mock will wait (a typo such as 5000s should not hang a test run).
MAX_DELAY_MS = 60_000.0
#: Distinct requests remembered for counting repeats before the counts start over.
_MAX_KEYS = 100_000


@dataclass(frozen=True)
class DelaySpec:
    """A latency distribution in milliseconds."""

    kind: str  # fixed, uniform, lognormal
    a: float
    b: float = 0.0

    def sample(self, u1: float, u2: float) -> float:
        """A delay in ms from two uniform draws in (0, 1)."""
        if self.kind == "fixed":
            ms = self.a
        elif self.kind == "uniform":
            ms = self.a + (self.b - self.a) * u1
        else:  # lognormal: Box-Muller from the two draws
            z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
            ms = self.a * math.exp(self.b * z)
        return min(ms, MAX_DELAY_MS)


def _ms(text: str, option: str) -> float:
    match = _MS.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"{option} {text!r}: expected a duration such as 120ms or 0.5s")
    value = float(match[1]) * (1000.0 if match[2] == "s" else 1.0)
    if value > MAX_DELAY_MS:
        raise UsageError(f"{option} {text!r}: at most {MAX_DELAY_MS / 1000:.0f}s")
    return value


def parse_delay(spec: str) -> DelaySpec:
    """``120ms``, ``50-300ms`` or ``lognormal:80ms:0.6``; a UsageError otherwise."""
    text = spec.strip()
    if text.startswith("lognormal:"):
        parts = text.split(":")
        if len(parts) != 3:
            raise UsageError(
                f"--delay {spec!r}: expected lognormal:MEDIAN:SIGMA, e.g. lognormal:80ms:0.6"
            )
        try:
            sigma = float(parts[2])
        except ValueError:
            raise UsageError(f"--delay {spec!r}: sigma must be a number") from None
        if not 0 <= sigma <= 5:
            raise UsageError(f"--delay {spec!r}: sigma must be between 0 and 5")
        return DelaySpec("lognormal", _ms(parts[1], "--delay"), sigma)
    low, dash, high = text.partition("-")
    if dash:
        unit = "s" if high.strip().endswith("s") and not high.strip().endswith("ms") else "ms"
        if not _MS.fullmatch(low.strip()):
            low = low.strip() + unit
        lo, hi = _ms(low, "--delay"), _ms(high, "--delay")
        if hi < lo:
            raise UsageError(f"--delay {spec!r}: the upper bound is below the lower")
        return DelaySpec("uniform", lo, hi)
    return DelaySpec("fixed", _ms(text, "--delay"))


def parse_faults(spec: str) -> list[tuple[str, float]]:
    """``500:0.05,reset:0.01`` as (what, probability) pairs; a UsageError otherwise."""
    faults: list[tuple[str, float]] = []
    for part in spec.split(","):
        what, sep, prob = part.strip().partition(":")
        if not sep:
            raise UsageError(f"--faults {part!r}: expected WHAT:PROBABILITY, e.g. 500:0.05")
        if what != "reset" and not (what.isdigit() and 400 <= int(what) <= 599):
            raise UsageError(f"--faults {part!r}: WHAT is an HTTP status 400-599 or reset")
        try:
            p = float(prob)
        except ValueError:
            raise UsageError(f"--faults {part!r}: the probability must be a number") from None
        if not 0 <= p <= 1:
            raise UsageError(f"--faults {part!r}: the probability must be between 0 and 1")
        faults.append((what, p))
    if sum(p for _, p in faults) > 1:
        raise UsageError(f"--faults {spec!r}: the probabilities add up to more than 1")
    return faults


class Chaos:
    """Draws the delay and the fault of each request from the seed."""

    def __init__(self, seed: int, delay: DelaySpec | None, faults: list[tuple[str, float]]) -> None:
        self.seed, self.delay, self.faults = seed, delay, faults
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether there is anything to draw."""
        return self.delay is not None or bool(self.faults)

    def draw(self, method: str, target: str) -> tuple[float, str | None]:
        """(delay in seconds, fault or None) for this request."""
        with self._lock:
            key = (method, target)
            if len(self._seen) >= _MAX_KEYS and key not in self._seen:
                self._seen.clear()
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
        digest = hashlib.blake2b(
            f"{self.seed}\0{method}\0{target}\0{n}".encode(), digest_size=24
        ).digest()
        u = [(int.from_bytes(digest[i : i + 8], "big") + 0.5) / 2.0**64 for i in (0, 8, 16)]
        delay = self.delay.sample(u[0], u[1]) / 1000.0 if self.delay is not None else 0.0
        fault = None
        running = 0.0
        for what, p in self.faults:
            running += p
            if u[2] < running:
                fault = what
                break
        return delay, fault
