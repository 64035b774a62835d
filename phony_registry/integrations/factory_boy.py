"""A factory_boy declaration: ``PhonyAttribute("first_name", locale="tr_TR")``.

Used where ``factory.Faker`` is::

    import factory
    from phony_registry.integrations.factory_boy import PhonyAttribute

    class UserFactory(factory.Factory):
        class Meta:
            model = User

        first_name = PhonyAttribute("first_name", locale="tr_TR")
        email = PhonyAttribute("email", locale="tr_TR")

Values are picked with factory_boy's own random (``factory.random``), so
``factory.random.reseed_random(seed)`` makes them reproducible as it does
``factory.Faker``'s; ``UserFactory(first_name__locale="de_DE")`` switches the
locale for one call, as with ``factory.Faker``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import factory
import factory.random

from phony_registry.facade._pools import field_sample
from phony_registry.facade._sources import locale_chain

__all__ = ["DEFAULT_LOCALE", "PhonyAttribute"]

#: The locale of a declaration that names none.
DEFAULT_LOCALE = "en_US"


class PhonyAttribute(factory.declarations.BaseDeclaration):
    """A field of phony's models (``first_name``, ``email``, ``city``...) for ``locale``.

    ``locale`` is a locale or a fallback chain (``["de_DE", "en_US"]``).
    """

    def __init__(
        self, field: str, locale: str | Iterable[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(locale=locale, **kwargs)  # type: ignore[no-untyped-call]
        self.field = field

    def evaluate(self, instance: Any, step: Any, extra: dict[str, Any]) -> str:
        """Pick this field's value with factory_boy's random."""
        locale = extra.pop("locale", None) or DEFAULT_LOCALE
        chain = locale_chain(locale)
        sample = field_sample(chain, self.field)
        value: str = sample[factory.random.randgen.randrange(len(sample))]
        return value
