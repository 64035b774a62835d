"""The Python facade: fake values Faker-style, from phony's models.

    from phony_registry import Phony
    fake = Phony("tr_TR", seed=42)
    fake.first_name(), fake.city(), fake.email()
    fake.value("alice/names@^1")          # any cached, bundled or plugin model
    fake.records("person", 1000)          # rows of a ready schema

See ``docs/python.md``. numpy is imported when a field first draws.
"""

from __future__ import annotations

from phony_registry.facade._phony import Field, Phony
from phony_registry.facade._sources import find_model

__all__ = ["Field", "Phony", "find_model"]
