"""phony inside the tools Python tests already use.

- :mod:`phony_registry.integrations.pytest_plugin`: the ``phony`` fixture and
  marker, installed with phony through pytest's ``pytest11`` entry point;
- :mod:`phony_registry.integrations.faker`: :func:`PhonyProvider`, a Faker
  provider that switches Faker's fields to phony's models;
- :mod:`phony_registry.integrations.factory_boy`: :class:`PhonyAttribute`, a
  factory_boy declaration used as ``factory.Faker`` is;
- :mod:`phony_registry.strategies` (beside this package): Hypothesis strategies.

Each module imports its framework; importing this package imports none.
"""

from __future__ import annotations

__all__: list[str] = []
