"""Hypothesis strategies from phony's models: ``values(spec)`` and ``records(schema)``.

::

    from hypothesis import given
    from phony_registry import strategies as ps

    @given(ps.values("tr_TR/first_names"))
    def test_greeting(name): ...

    @given(ps.records("person", locale="tr_TR"))
    def test_signup(person): ...

Each strategy draws an index with Hypothesis's ``integers`` into a fixed
sample that phony makes once per process (seed 0), ordered shortest first, so
an example is reproducible from Hypothesis's database and a failing one
shrinks toward the shortest value (or record) that still fails. The sample
is made on the first draw, never when the test module is imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from phony_registry.facade._pools import record_sample, value_sample
from phony_registry.facade._sources import locale_chain

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["records", "values"]


def values(spec: str, *, locale: str | Iterable[str] | None = "en_US") -> SearchStrategy[str]:
    """Values of the model ``spec``: a name (``tr_TR/first_names``, ``alice/names@^1``),
    a model role of ``locale`` (``first_names``) or a ``.phony`` file.

    Draws from the distinct values among the model's first 16,384, shrinking
    toward the shortest.
    """
    from hypothesis import strategies as st

    chain = locale_chain(locale)

    def build() -> SearchStrategy[str]:
        sample = value_sample(chain, spec)
        return st.integers(min_value=0, max_value=len(sample) - 1).map(sample.__getitem__)

    return st.deferred(build)


def records(
    schema: str = "person", *, locale: str | Iterable[str] | None = "en_US"
) -> SearchStrategy[dict[str, str]]:
    """Records (dicts) of a ready schema (``person``, ``address``, ``company``) or a schema file.

    Draws from the schema's first 1,024 records, shrinking toward the one
    with the fewest characters.
    """
    from hypothesis import strategies as st

    chain = locale_chain(locale)

    def build() -> SearchStrategy[dict[str, str]]:
        sample = record_sample(chain, schema)
        return st.integers(min_value=0, max_value=len(sample) - 1).map(lambda i: dict(sample[i]))

    return st.deferred(build)
