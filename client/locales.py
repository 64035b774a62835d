"""Locale resolution: spellings, fallback chains, and which locale serves each model.

``tr-TR``, ``tr_TR`` and ``tr_tr`` name the same locale (the official pack
``tr_TR``). A chain such as ``tr_TR,en_US`` asks for a fallback: each model
is taken from the first locale of the chain that has it, and the caller
reports which locale served what. Without a chain, a model missing from the
locale's pack is an error naming both the locale and the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from phony_registry.errors import InvalidName, UsageError
from phony_registry.names import first_locale_with, normalize_locale, parse_locale_chain

__all__ = [
    "Resolution",
    "parse_locale",
    "parse_locale_chain",
    "resolve_models",
]


def parse_locale(text: str) -> str:
    """The canonical spelling of one locale: ``tr-tr`` -> ``tr_TR``.

    Raises :class:`~phony_registry.errors.UsageError` for anything that is not
    a locale, with an example of the expected form.
    """
    try:
        return normalize_locale(text.strip())
    except InvalidName:
        raise UsageError(f"{text!r} is not a locale (expected e.g. tr_TR or en-US)") from None


@dataclass(frozen=True)
class Resolution:
    """Which official model serves each role, and from which locale."""

    #: role (for example ``first_names``) -> full model name (``tr_TR/first_names``).
    models: Mapping[str, str]
    #: role -> the locale that served it.
    served_by: Mapping[str, str]
    #: the chain that was asked for, first locale first.
    chain: tuple[str, ...]

    @property
    def fallbacks(self) -> dict[str, str]:
        """Roles served by a locale other than the first of the chain."""
        return {role: loc for role, loc in self.served_by.items() if loc != self.chain[0]}

    def report(self) -> list[str]:
        """One line per role saying which locale served it (for stderr)."""
        lines = []
        for role, locale in self.served_by.items():
            note = "" if locale == self.chain[0] else f" (fallback: {self.chain[0]} has none)"
            lines.append(f"{role}: {self.models[role]}{note}")
        return lines


def resolve_models(
    roles: Iterable[str], chain: list[str], has_model: Callable[[str, str], bool]
) -> Resolution:
    """Pick, for each role, the first locale of ``chain`` whose pack has that model.

    ``has_model(locale, role)`` says whether ``<locale>/<role>`` is available.
    With a single-locale chain a missing model raises
    :class:`~phony_registry.errors.NotFound` naming the locale and the model;
    with a longer chain only a model that no locale has is an error.
    """
    if not chain:
        raise UsageError("no locale given")
    models: dict[str, str] = {}
    served: dict[str, str] = {}
    for role in roles:
        locale = first_locale_with(
            chain,
            role,
            lambda locale: has_model(locale, role),  # noqa: B023 - called before the loop moves on
            example="--locale {first},{other}",
        )
        models[role] = f"{locale}/{role}"
        served[role] = locale
    return Resolution(models, served, tuple(chain))
