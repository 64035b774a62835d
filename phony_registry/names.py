"""Model names: ``[namespace/]name`` and references ``name[@spec]``.

Official models and packs have no publisher namespace; their first segment is
a locale (``tr_TR``, ``en_US/first_names``). Community models live in their
publisher's namespace (``alice/istanbul-streets``).

Rules, checked by :func:`parse_name`:

- a segment is lowercase ASCII letters, digits, ``-`` and ``_``; it starts and
  ends with a letter or a digit and is at most :data:`MAX_SEGMENT` long
  (so no ``..``, no leading dot, no path tricks);
- a locale segment is ``ll_CC`` or ``lll_CC``; ``tr-TR``, ``tr_tr`` and
  ``TR_tr`` all name the locale ``tr_TR``;
- a namespace that canonicalises to a locale is the official one, never a
  publisher's; a few more namespaces are reserved (:data:`RESERVED_NAMESPACES`);
- two names with the same :func:`canonical_key` (they differ only by case or
  by ``-`` versus ``_``) are the same name for every registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phony_registry.errors import InvalidName, NotFound, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "MAX_NAME",
    "MAX_SEGMENT",
    "ModelName",
    "RESERVED_NAMESPACES",
    "canonical_key",
    "first_locale_with",
    "is_locale",
    "normalize_locale",
    "parse_locale_chain",
    "parse_name",
    "split_reference",
]

#: Longest segment (namespace or model name), in characters.
MAX_SEGMENT = 64
#: Longest full name, in characters.
MAX_NAME = 2 * MAX_SEGMENT + 1

#: Namespaces no publisher may own (locales are reserved too, see :func:`is_locale`).
RESERVED_NAMESPACES = frozenset({"official", "phony", "registry", "admin", "api"})

_SEGMENT = re.compile(r"[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?")
_LOCALE = re.compile(r"([A-Za-z]{2,3})[-_]([A-Za-z]{2})")
# Names Windows refuses as file names; a folder registry must work on a shared drive.
_DEVICE_NAMES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)


def is_locale(segment: str) -> bool:
    """True if ``segment`` names a locale (``tr_TR``, ``tr-tr``, ``fil_PH`` ...)."""
    return _LOCALE.fullmatch(segment) is not None


def first_locale_with(
    chain: Sequence[str], role: str, has: Callable[[str], bool], *, example: str
) -> str:
    """The first locale of ``chain`` for which ``has(locale)``: where the model ``role`` comes from.

    None raises :class:`NotFound`: with one locale, naming it and suggesting a
    fallback chain written as ``example`` (``{first}`` and ``{other}`` filled
    in, as the caller's interface spells a chain); with more, naming each
    ``locale/role`` tried.
    """
    for locale in chain:
        if has(locale):
            return locale
    if len(chain) == 1:
        first = chain[0]
        other = "tr_TR" if first == "en_US" else "en_US"
        suggestion = example.format(first=first, other=other)
        raise NotFound(
            f"locale {first} has no model {role!r} ({first}/{role}); "
            f"ask for a fallback chain, for example {suggestion}"
        )
    tried = ", ".join(f"{locale}/{role}" for locale in chain)
    raise NotFound(f"no locale in {','.join(chain)} has a model {role!r} (tried {tried})")


def normalize_locale(segment: str) -> str:
    """The canonical spelling of a locale: ``tr-tr`` -> ``tr_TR``.

    Raises :class:`InvalidName` if ``segment`` is not a locale.
    """
    match = _LOCALE.fullmatch(segment)
    if match is None:
        raise InvalidName(f"{segment!r} is not a locale (expected a form like tr_TR)")
    return f"{match.group(1).lower()}_{match.group(2).upper()}"


def parse_locale_chain(
    locales: str | Iterable[str], *, example: str = "tr_TR, or tr_TR,en_US"
) -> list[str]:
    """``tr_TR,en_US`` (or a list of such strings) as canonical locales, in order.

    Duplicates are dropped (the first occurrence wins). Anything that is not a
    locale, and an empty chain, is a :class:`UsageError`; ``example`` is how
    the caller's interface writes a chain, for that message.
    """
    parts = [locales] if isinstance(locales, str) else list(locales)
    chain: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise UsageError(f"a locale is a string such as tr_TR, not {part!r}")
        for item in part.split(","):
            if not item.strip():
                continue
            try:
                locale = normalize_locale(item.strip())
            except InvalidName:
                raise UsageError(
                    f"{item!r} is not a locale (expected e.g. tr_TR or en-US)"
                ) from None
            if locale not in chain:
                chain.append(locale)
    if not chain:
        raise UsageError(f"no locale given (expected a form like {example})")
    return chain


def canonical_key(name: str | ModelName) -> str:
    """The key under which two colliding names are the same name.

    Lowercase, with ``-`` folded into ``_``: ``alice/Istanbul-Streets`` and
    ``alice/istanbul_streets`` share the key ``alice/istanbul_streets``.
    """
    text = str(name)
    return text.lower().replace("-", "_")


@dataclass(frozen=True)
class ModelName:
    """A validated model name; build one with :func:`parse_name`.

    ``parts`` holds the normalised segments: ``("tr_TR",)``,
    ``("en_US", "first_names")`` or ``("alice", "istanbul-streets")``.
    """

    parts: tuple[str, ...]

    def __str__(self) -> str:
        return "/".join(self.parts)

    @property
    def official(self) -> bool:
        """True for official names (first segment is a locale)."""
        return is_locale(self.parts[0])

    @property
    def namespace(self) -> str | None:
        """The publisher's namespace, or None for an official name."""
        return None if self.official else self.parts[0]

    @property
    def locale(self) -> str | None:
        """The locale of an official name, or None for a community name."""
        return self.parts[0] if self.official else None

    @property
    def is_locale_pack(self) -> bool:
        """True for a bare locale (``tr_TR``), the name of an official pack."""
        return len(self.parts) == 1

    @property
    def key(self) -> str:
        """See :func:`canonical_key`."""
        return canonical_key(self)


def _check_segment(segment: str, text: str, what: str) -> None:
    if not segment:
        raise InvalidName(f"{text!r}: empty {what}")
    if len(segment) > MAX_SEGMENT:
        raise InvalidName(f"{text!r}: {what} longer than {MAX_SEGMENT} characters")
    if _SEGMENT.fullmatch(segment) is None:
        if segment.lower() != segment and _SEGMENT.fullmatch(segment.lower()):
            raise InvalidName(f"{text!r}: names are lowercase (try {_lowercase(text)!r})")
        raise InvalidName(
            f"{text!r}: a {what} uses lowercase letters, digits, '-' and '_', "
            "and starts and ends with a letter or digit"
        )
    if segment in _DEVICE_NAMES:
        raise InvalidName(f"{text!r}: {segment!r} is reserved")


def _lowercase(text: str) -> str:
    """``text`` in lowercase, a leading locale in its normal form (``tr_TR/first_names``)."""
    first, sep, rest = text.partition("/")
    head = normalize_locale(first) if sep and is_locale(first) else first.lower()
    return head + sep + rest.lower()


def parse_name(text: str) -> ModelName:
    """Validate and normalise a model name (no ``@spec``).

    Raises :class:`InvalidName` with the reason when ``text`` breaks a rule.
    """
    if not isinstance(text, str) or not text:
        raise InvalidName("a model name cannot be empty")
    if len(text) > MAX_NAME:
        raise InvalidName(f"{text[:40]!r}...: longer than {MAX_NAME} characters")
    if "@" in text:
        raise InvalidName(f"{text!r}: a name has no '@' (did you mean a reference name@version?)")
    parts = text.split("/")
    if len(parts) > 2:
        raise InvalidName(f"{text!r}: a name has at most two segments, namespace/name")
    first = parts[0]
    if is_locale(first):
        rest = parts[1:]
        for segment in rest:
            _check_segment(segment, text, "model name")
        return ModelName((normalize_locale(first), *rest))
    if len(parts) == 1:
        _check_segment(first, text, "model name")
        raise InvalidName(
            f"{text!r}: community models live in a namespace (for example alice/{first}); "
            "names without one are official and start with a locale such as tr_TR"
        )
    _check_segment(first, text, "namespace")
    _check_segment(parts[1], text, "model name")
    if canonical_key(first) in RESERVED_NAMESPACES:
        raise InvalidName(f"{text!r}: the namespace {first!r} is reserved")
    return ModelName((first, parts[1]))


def split_reference(text: str) -> tuple[ModelName, str | None]:
    """Split ``name[@spec]`` into the parsed name and the raw spec (None when absent).

    The spec is parsed by :func:`phony_registry.versions.parse_spec`.
    """
    name, sep, spec = text.partition("@")
    if sep and not spec:
        raise InvalidName(f"{text!r}: nothing after '@' (try {name}@latest)")
    return parse_name(name), (spec if sep else None)
