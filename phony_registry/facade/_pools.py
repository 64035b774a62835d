"""Fixed samples of a field, a model or a schema, for the integrations that draw with another RNG.

Faker's provider, factory_boy's declaration and Hypothesis's strategies each
come with their own source of randomness (``Faker.seed()``,
``factory.random.reseed_random()``, Hypothesis's choices). They pick from a
sample that phony makes once per process with seed 0, so the values follow
that randomness and stay reproducible with it.
"""

from __future__ import annotations

from functools import lru_cache

from phony_registry.facade._phony import Phony

__all__ = ["FIELD_SAMPLE", "RECORD_SAMPLE", "field_sample", "record_sample", "value_sample"]

#: Values drawn for a field or a model's sample (repeats kept for a field:
#: frequent names stay frequent).
FIELD_SAMPLE = 1 << 14
#: Records drawn for a schema's sample.
RECORD_SAMPLE = 1 << 10


@lru_cache(maxsize=64)
def field_sample(chain: tuple[str, ...], field: str, size: int = FIELD_SAMPLE) -> tuple[str, ...]:
    """The first ``size`` values of ``field`` for ``chain`` with seed 0, repeats kept."""
    return tuple(Phony(chain, seed=0, buffer=size).take(field, size))


@lru_cache(maxsize=64)
def value_sample(chain: tuple[str, ...], spec: str, size: int = FIELD_SAMPLE) -> tuple[str, ...]:
    """The distinct values among the first ``size`` of model ``spec``, shortest first."""
    fake = Phony(chain, seed=0, buffer=size)
    distinct = {fake.value(spec) for _ in range(size)}
    return tuple(sorted(distinct, key=lambda v: (len(v), v)))


@lru_cache(maxsize=64)
def record_sample(
    chain: tuple[str, ...], schema: str, size: int = RECORD_SAMPLE
) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The first ``size`` records of ``schema`` with seed 0, shortest (in characters) first."""
    rows = Phony(chain, seed=0, buffer=size).records(schema, size)
    ordered = sorted(rows, key=lambda r: (sum(map(len, r.values())), list(r.values())))
    return tuple(tuple(row.items()) for row in ordered)
