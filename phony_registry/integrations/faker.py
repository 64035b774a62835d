"""A Faker provider backed by phony's models: ``fake.add_provider(PhonyProvider("tr_TR"))``.

Existing Faker code switches to phony's values with one line::

    from faker import Faker
    from phony_registry.integrations.faker import PhonyProvider

    fake = Faker()
    fake.add_provider(PhonyProvider("tr_TR"))
    fake.first_name()        # from phony's tr_TR/first_names
    fake.user_name()         # Faker's formats, filled with phony's names

:func:`PhonyProvider` returns a provider *class* for the locale, which Faker
instantiates for its generator (``add_provider`` accepts classes), so each
value is picked with that generator's random: ``Faker.seed()`` and
``fake.seed_instance()`` make the values reproducible exactly as they do
Faker's own. The values are picked from a fixed sample of 16,384 draws of each
model (see :mod:`phony_registry.facade._pools`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from faker.providers import BaseProvider

from phony_registry.errors import UsageError
from phony_registry.facade import Phony
from phony_registry.facade._pools import field_sample
from phony_registry.facade._sources import locale_chain

__all__ = ["PhonyProvider"]


def PhonyProvider(  # named as a class: it returns one, for Faker to instantiate
    locale: str | Iterable[str] | None = "en_US", *, fields: Iterable[str] | None = None
) -> type[BaseProvider]:
    """A Faker provider class whose methods are phony's fields for ``locale``.

    ``locale`` is a locale or a fallback chain, as for
    :class:`~phony_registry.facade.Phony`; ``fields`` limits the methods (by
    default every field of the chain: ``first_name``, ``last_name``,
    ``name``, ``city``, ``street_name``, ``company``, ``email``...); a string
    is one field.
    """
    chain = locale_chain(locale)
    known = Phony(chain, seed=0).fields()
    if not known:
        # A provider without methods would leave Faker's own values, silently.
        raise UsageError(
            f"no fields for {','.join(chain)}: phony has no locale pack for it (the "
            "bundled ones, or a plugin's); a chain falls back, for example "
            f"{[*chain, 'en_US']!r}"
        )
    # One name is one field (fields="email"), not the letters of it.
    chosen = known if fields is None else [fields] if isinstance(fields, str) else list(fields)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise UsageError(
            f"no field {', '.join(unknown)} for {','.join(chain)} (fields: {', '.join(known)})"
        )
    namespace: dict[str, object] = {
        "__doc__": f"phony's models for {','.join(chain)} as Faker methods.",
        "__provider__": "phony",
        "__lang__": chain[0],
        "phony_locales": chain,
        "__reduce__": _reducer(chain, tuple(chosen)),
    }
    for name in chosen:
        namespace[name] = _method(chain, name)
    return cast(type[BaseProvider], type(f"PhonyProvider_{chain[0]}", (BaseProvider,), namespace))


def _reducer(
    chain: tuple[str, ...], fields: tuple[str, ...]
) -> Callable[[BaseProvider], tuple[Any, ...]]:
    """``__reduce__`` of the provider: made again by :func:`PhonyProvider` when unpickled.

    The class is made at run time, so pickle cannot find it by name; a Faker
    instance pickles (and deepcopies) through its providers, and must go on
    doing so once phony's is added.
    """

    def reduce(self: BaseProvider) -> tuple[Any, ...]:
        return _provider, (chain, fields, self.generator)

    return reduce


def _provider(chain: tuple[str, ...], fields: tuple[str, ...], generator: Any) -> BaseProvider:
    """The provider for ``generator`` that :func:`_reducer` pickles."""
    return PhonyProvider(chain, fields=fields)(generator)


def _method(chain: tuple[str, ...], name: str) -> Callable[[BaseProvider], str]:
    def method(self: BaseProvider) -> str:
        sample = field_sample(chain, name)
        value: str = sample[self.generator.random.randrange(len(sample))]
        return value

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"A {name.replace('_', ' ')} from phony's models for {','.join(chain)}."
    return method
