"""Maintainer tooling: the build of the official index that this folder holds.

Not shipped: ``pyproject.toml`` leaves ``phony_index._build`` out of the
wheel (it needs Faker and Mimesis, dev-only dependencies, and users never
build the index). It lives beside the files it writes, is run by
``scripts/build-index`` (``python -m phony_index._build``) and is tested by
``tests/index/``. The check a client makes of any registry, this one
included, is the core's verified reader (:mod:`phony_registry.reader`).

- :mod:`phony_index._build.build`: build and ``--check`` the index;
- :mod:`phony_index._build.data`: the training values, from Faker and Mimesis;
- :mod:`phony_index._build.quality`: novelty and plausibility by N-gram order.
"""

from __future__ import annotations

__all__: list[str] = []
