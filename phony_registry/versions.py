"""Semantic versions and the specs that select them.

A version is ``MAJOR.MINOR.PATCH`` with an optional ``-prerelease``
(semver 2.0 precedence). Build metadata (``+build``) is refused: two
published versions must differ by precedence, or ``name@version`` would not
name one thing.

A spec (what follows ``@`` in ``name@spec``) is one of:

- an exact version, ``1.2.3`` or ``=1.2.3``;
- a range: ``^1.2`` (compatible: ``>=1.2.0,<2.0.0``; below 1.0 the first
  non-zero part is the compatible one), ``~1.2.3`` (``>=1.2.3,<1.3.0``), a
  partial version ``1.2`` (``>=1.2.0,<1.3.0``), ``*``, or comparators
  ``>=1,<2`` joined by commas or spaces;
- a tag: ``latest``;
- a digest: ``sha256:<64 hex>``.

Ranges and tags skip yanked versions and pre-releases (unless the range
names a pre-release of the same ``MAJOR.MINOR.PATCH``, as npm does); exact
pins and digests are served even when yanked.

The parsing is our own: ``packaging`` implements PEP 440 (no ``^``/``~``
ranges in the cargo/npm sense) and no semver range library is both small and
well kept, while the grammar above fits in this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import total_ordering
from typing import Protocol, TypeVar

from phony_registry.digests import is_digest
from phony_registry.errors import InvalidVersion

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "Candidate",
    "DigestSpec",
    "ExactSpec",
    "MAX_IDENTIFIER_LENGTH",
    "MAX_NUMBER_DIGITS",
    "MAX_VERSION_LENGTH",
    "RangeSpec",
    "Spec",
    "TAGS",
    "TagSpec",
    "VERSION_PATTERN",
    "Version",
    "parse_spec",
    "parse_version",
    "select",
]

#: Tags a spec may name.
TAGS = frozenset({"latest"})

#: The limits of a version, the one definition clients, folder registries and
#: the server all check: each of MAJOR, MINOR and PATCH has at most this many
#: digits (below a billion) ...
MAX_NUMBER_DIGITS = 9
#: ... each dot-separated pre-release identifier at most this many characters
#: (a sha256 in hex fits, so does a git commit id) ...
MAX_IDENTIFIER_LENGTH = 64
#: ... and the whole version at most this many characters.
MAX_VERSION_LENGTH = 128

_MAX_PART = 10**MAX_NUMBER_DIGITS
_NUM = rf"(?:0|[1-9][0-9]{{0,{MAX_NUMBER_DIGITS - 1}}})"
# A numeric identifier has no leading zero (semver 2.0 §9).
_IDENT = rf"(?:(?!0[0-9]+(?:\.|$))[0-9A-Za-z-]{{1,{MAX_IDENTIFIER_LENGTH}}})"
#: A version as a regular expression, every limit included (the OpenAPI schema
#: shows it; it is ECMA-262 as well as Python).
VERSION_PATTERN = (
    rf"^(?=.{{1,{MAX_VERSION_LENGTH}}}$){_NUM}\.{_NUM}\.{_NUM}(?:-{_IDENT}(?:\.{_IDENT})*)?$"
)
_VERSION = re.compile(rf"({_NUM})\.({_NUM})\.({_NUM})(?:-({_IDENT}(?:\.{_IDENT})*))?", re.ASCII)
_PARTIAL = re.compile(
    rf"({_NUM})(?:\.({_NUM})(?:\.({_NUM})(?:-({_IDENT}(?:\.{_IDENT})*))?)?)?", re.ASCII
)
#: The shape of a version or partial version before its limits are checked:
#: what :func:`_why_not` reads to say which rule a refused one breaks.
_LOOSE = re.compile(r"([0-9]+)(?:\.([0-9]+)(?:\.([0-9]+)(?:-(.*))?)?)?", re.ASCII | re.DOTALL)
_COMPARATOR = re.compile(r"(\^|~|>=|<=|>|<|=)?\s*(.+)")


def _pre_key(pre: tuple[str, ...]) -> tuple[tuple[int, int | str], ...]:
    # Numeric identifiers sort below alphanumeric ones and compare as numbers.
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre)


@total_ordering
@dataclass(frozen=True, eq=True)
class Version:
    """A semantic version; compare versions with the usual operators."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.pre)}" if self.pre else core

    @property
    def is_prerelease(self) -> bool:
        """True for ``1.0.0-rc.1`` and the like."""
        return bool(self.pre)

    @property
    def release(self) -> tuple[int, int, int]:
        """``(major, minor, patch)``."""
        return (self.major, self.minor, self.patch)

    def sort_key(self) -> tuple[object, ...]:
        """A key that orders versions by semver precedence."""
        # A release sorts above every pre-release of the same MAJOR.MINOR.PATCH.
        return (*self.release, 0 if self.pre else 1, _pre_key(self.pre))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.sort_key() < other.sort_key()


def _check_pre(pre: str | None, text: str) -> tuple[str, ...]:
    if pre is None:
        return ()
    parts = tuple(pre.split("."))
    for part in parts:
        if part.isdigit() and len(part) > 1 and part.startswith("0"):
            raise InvalidVersion(
                f"{_shown(text)}: a numeric pre-release identifier has no leading zero"
            )
    return parts


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else f"{text[:40]!r}..."


def _why_not(text: str, *, partial: bool) -> str:
    """Which rule ``text``, refused by the strict pattern, breaks: one short phrase."""
    match = _LOOSE.fullmatch(text)
    if match is None or (not partial and match.group(3) is None):
        return "not a semantic version (expected MAJOR.MINOR.PATCH)"
    numbers = [n for n in match.groups()[:3] if n is not None]
    if any(len(n) > MAX_NUMBER_DIGITS for n in numbers):
        return f"a number is at most {MAX_NUMBER_DIGITS} digits"
    if any(len(n) > 1 and n.startswith("0") for n in numbers):
        return "a number has no leading zero"
    pre = match.group(4)
    if pre is not None:
        identifiers = pre.split(".")
        if any(not i for i in identifiers):
            return "a pre-release identifier is never empty"
        if any(re.fullmatch(r"[0-9A-Za-z-]+", i, re.ASCII) is None for i in identifiers):
            return "a pre-release identifier uses only ASCII letters, digits and '-'"
        if any(len(i) > MAX_IDENTIFIER_LENGTH for i in identifiers):
            return f"a pre-release identifier is at most {MAX_IDENTIFIER_LENGTH} characters"
        if any(len(i) > 1 and i.isdigit() and i.startswith("0") for i in identifiers):
            return "a numeric pre-release identifier has no leading zero"
    return "not a semantic version (expected MAJOR.MINOR.PATCH)"


def parse_version(text: str) -> Version:
    """Parse an exact semantic version ``MAJOR.MINOR.PATCH[-pre]``.

    The limits are :data:`MAX_NUMBER_DIGITS`, :data:`MAX_IDENTIFIER_LENGTH`
    and :data:`MAX_VERSION_LENGTH`. Raises :class:`InvalidVersion`, one line
    naming the rule broken, otherwise (including for ``+build`` metadata).
    """
    if not isinstance(text, str):
        raise InvalidVersion(f"{text!r} is not a version")
    text = text.strip()
    if "+" in text:
        raise InvalidVersion(
            f"{_shown(text)}: build metadata (+...) is not supported; "
            "versions must differ by precedence"
        )
    if len(text) > MAX_VERSION_LENGTH:
        raise InvalidVersion(
            f"{_shown(text)}: a version is at most {MAX_VERSION_LENGTH} characters"
        )
    match = _VERSION.fullmatch(text)
    if match is None:
        raise InvalidVersion(f"{_shown(text)}: {_why_not(text, partial=False)}")
    major, minor, patch, pre = match.groups()
    return Version(int(major), int(minor), int(patch), _check_pre(pre, text))


class Candidate(Protocol):
    """What :func:`select` picks from: an index entry, for example."""

    @property
    def version(self) -> str: ...

    @property
    def yanked(self) -> bool: ...

    @property
    def digest(self) -> str | None: ...


C = TypeVar("C", bound=Candidate)


class Spec:
    """Base of the four spec kinds; ``str(spec)`` gives its normal spelling."""

    text: str

    def __str__(self) -> str:
        return self.text

    def matches(self, version: Version) -> bool:
        """True if ``version`` satisfies this spec (yanked or not)."""
        raise NotImplementedError

    @property
    def serves_yanked(self) -> bool:
        """True if a yanked version may be selected by this spec."""
        return False


@dataclass(frozen=True)
class ExactSpec(Spec):
    """``1.2.3``: that version only; served even when yanked."""

    version: Version

    @property
    def text(self) -> str:  # type: ignore[override]
        return str(self.version)

    def matches(self, version: Version) -> bool:
        """True for the pinned version only."""
        return version == self.version

    @property
    def serves_yanked(self) -> bool:
        """An exact pin keeps working after a yank."""
        return True


@dataclass(frozen=True)
class TagSpec(Spec):
    """``latest``: the highest non-yanked release (pre-releases only if nothing else)."""

    tag: str

    @property
    def text(self) -> str:  # type: ignore[override]
        return self.tag

    def matches(self, version: Version) -> bool:
        """Every version is a candidate; :func:`select` prefers releases."""
        return True


@dataclass(frozen=True)
class DigestSpec(Spec):
    """``sha256:<hex>``: the version whose blob (or manifest) has this digest."""

    digest: str

    @property
    def text(self) -> str:  # type: ignore[override]
        return self.digest

    def matches(self, version: Version) -> bool:
        """Digests are matched against candidates, not versions."""
        return True

    @property
    def serves_yanked(self) -> bool:
        """A digest names exact bytes; a yank does not change them."""
        return True


# A primitive bound: (operator, version) with operator in <, <=, >, >=, ==.
_Bound = tuple[str, Version]


@dataclass(frozen=True)
class RangeSpec(Spec):
    """A range: every bound must hold. Pre-releases only as npm allows."""

    text: str
    bounds: tuple[_Bound, ...]

    def matches(self, version: Version) -> bool:
        """True if ``version`` lies in the range."""
        if version.is_prerelease and not any(
            b.is_prerelease and b.release == version.release for _, b in self.bounds
        ):
            return False
        return all(_holds(op, version, bound) for op, bound in self.bounds)


def _holds(op: str, version: Version, bound: Version) -> bool:
    if op == "<":
        return version < bound
    if op == "<=":
        return version <= bound
    if op == ">":
        return version > bound
    if op == ">=":
        return version >= bound
    return version == bound


def _partial(text: str, whole: str) -> tuple[list[int], tuple[str, ...]]:
    match = _PARTIAL.fullmatch(text)
    if match is None:
        reason = _why_not(text, partial=True)
        if reason.startswith("not a"):
            reason = f"{_shown(text)} is not a version or partial version"
        raise InvalidVersion(f"{_shown(whole)}: {reason}")
    major, minor, patch, pre = match.groups()
    nums = [int(x) for x in (major, minor, patch) if x is not None]
    return nums, _check_pre(pre, whole)


def _bump(nums: list[int], index: int) -> Version:
    """The first version above every version starting with nums[: index + 1]."""
    parts = [*nums[: index + 1], 0, 0, 0][:3]
    parts[index] += 1
    for i in range(index + 1, 3):
        parts[i] = 0
    return Version(parts[0], parts[1], parts[2])


def _comparator(op: str, text: str, whole: str) -> list[_Bound]:
    nums, pre = _partial(text, whole)
    full = len(nums) == 3
    major, minor, patch = [*nums, 0, 0][:3]
    low = Version(major, minor, patch, pre if full else ())
    if op == "^":
        # The first non-zero part given is the one that must not change.
        index = next((i for i, n in enumerate(nums) if n != 0), len(nums) - 1)
        return [(">=", low), ("<", _bump(nums, index))]
    if op == "~":
        index = 1 if len(nums) >= 2 else 0
        return [(">=", low), ("<", _bump(nums, index))]
    if op in ("", "="):
        if full:
            return [("==", low)]
        return [(">=", low), ("<", _bump(nums, len(nums) - 1))]
    if op == ">":
        return [(">", low)] if full else [(">=", _bump(nums, len(nums) - 1))]
    if op == "<=":
        return [("<=", low)] if full else [("<", _bump(nums, len(nums) - 1))]
    return [(op, low)]  # ">=" and "<" mean the same for partial versions


def _parse_range(text: str) -> RangeSpec:
    pieces = [p for p in re.split(r"[,\s]+", text) if p]
    # Allow ">= 1.2" written with a space after the operator.
    merged: list[str] = []
    for piece in pieces:
        if merged and merged[-1] in ("^", "~", ">=", "<=", ">", "<", "="):
            merged[-1] += piece
        else:
            merged.append(piece)
    if not merged:
        raise InvalidVersion(f"{text!r} is not a version range")
    bounds: list[_Bound] = []
    for piece in merged:
        if piece == "*":
            continue
        match = _COMPARATOR.fullmatch(piece)
        if match is None:  # pragma: no cover - the pattern accepts any non-empty text
            raise InvalidVersion(f"{text!r} is not a version range")
        bounds.extend(_comparator(match.group(1) or "", match.group(2), text))
    return RangeSpec(", ".join(merged), tuple(bounds))


def parse_spec(text: str | None) -> Spec:
    """Parse what follows ``@``; None or ``""`` means ``latest``.

    Raises :class:`InvalidVersion` for anything that is not a version,
    range, tag or digest.
    """
    if text is None or not text.strip():
        return TagSpec("latest")
    text = text.strip()
    if len(text) > 256:
        raise InvalidVersion(f"{text[:40]!r}...: a version spec is at most 256 characters")
    if text in TAGS:
        return TagSpec(text)
    if text.startswith("sha256:"):
        if not is_digest(text):
            raise InvalidVersion(
                f"{text!r}: a digest is sha256: followed by 64 lowercase hex digits"
            )
        return DigestSpec(text)
    if "+" in text:
        raise InvalidVersion(f"{text!r}: build metadata (+...) is not supported")
    bare = text[1:] if text.startswith("=") else text
    if _VERSION.fullmatch(bare.strip()):
        return ExactSpec(parse_version(bare))
    if text[0].isalpha():
        raise InvalidVersion(
            f"{text!r} is not a version, range, tag ({', '.join(sorted(TAGS))}) or digest"
        )
    return _parse_range(text)


def select(
    spec: Spec, candidates: Iterable[C], *, digest_fields: tuple[str, ...] = ("digest",)
) -> C | None:
    """The best candidate for ``spec``, or None.

    Highest matching version wins. Ranges and tags skip yanked candidates;
    ``latest`` prefers releases and falls back to pre-releases only when
    there is nothing else. A :class:`DigestSpec` matches any attribute named
    in ``digest_fields``.
    """
    items = list(candidates)
    if isinstance(spec, DigestSpec):
        for item in items:
            if any(getattr(item, f, None) == spec.digest for f in digest_fields):
                return item
        return None
    pool = [
        (parse_version(item.version), item)
        for item in items
        if spec.serves_yanked or not item.yanked
    ]
    pool = [(v, item) for v, item in pool if spec.matches(v)]
    if isinstance(spec, TagSpec):
        releases = [(v, item) for v, item in pool if not v.is_prerelease]
        pool = releases or pool
    if not pool:
        return None
    return max(pool, key=lambda pair: pair[0].sort_key())[1]
