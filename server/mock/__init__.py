"""``phony mock``: a deterministic, stateful mock REST API served from schemas.

    from phony_server.mock import CollectionSource, MockApp, MockConfig
    app = MockApp(MockConfig([CollectionSource("people", "person", "en_US")], seed=42))

``app`` is a plain ASGI application; :func:`app_from_env` builds one from the
``PHONY_MOCK_CONFIG`` environment variable for any ASGI host
(``uvicorn --factory phony_server.mock:app_from_env``). See ``docs/mock.md``.
Names are imported lazily so that registering the command stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phony_server.mock.app import MockApp
    from phony_server.mock.config import MockConfig
    from phony_server.mock.records import Collection
    from phony_server.mock.sources import CollectionSource

__all__ = ["Collection", "CollectionSource", "MockApp", "MockConfig", "app_from_env"]

_LAZY = {
    "Collection": "phony_server.mock.records",
    "CollectionSource": "phony_server.mock.sources",
    "MockApp": "phony_server.mock.app",
    "MockConfig": "phony_server.mock.config",
}


def app_from_env() -> MockApp:
    """The ASGI application the ``PHONY_MOCK_CONFIG`` environment variable describes."""
    from phony_server.mock.app import MockApp
    from phony_server.mock.config import MockConfig

    return MockApp(MockConfig.from_env())


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'phony_server.mock' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
