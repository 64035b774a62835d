"""phony's core: the .phony format, N-gram training and generation, manifests,
signatures, names and versions, plugin hooks, and the error tree.

Nothing here talks to the network; the client and the server build on it.

    from phony_registry import Phony, load_model
    fake = Phony("tr_TR", seed=42)
    fake.first_name(), fake.email(), fake.record("person")
    model = load_model("names.phony")
    model.generate(10, seed=42)

The model API and the facade are imported lazily (numpy), so importing the package
for its errors stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from phony_registry.errors import PhonyError

if TYPE_CHECKING:
    from phony_registry.facade import Phony
    from phony_registry.format import dump_model, load_model
    from phony_registry.model import Model
    from phony_registry.ngram import train

__all__ = ["Model", "Phony", "PhonyError", "dump_model", "load_model", "train"]

_LAZY = {
    "Model": "phony_registry.model",
    "Phony": "phony_registry.facade",
    "dump_model": "phony_registry.format",
    "load_model": "phony_registry.format",
    "train": "phony_registry.ngram",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'phony_registry' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
