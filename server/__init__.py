"""The phony registry server: a FastAPI application over a storage backend.

    from phony_server import Settings, create_app
    app = create_app(Settings(storage_dir=Path("registry-data")))

Names are imported lazily, so importing the package (for its storage or
tokens) does not import FastAPI, and :class:`S3Storage` alone imports boto3.
See ``docs/registry-protocol.md`` (HTTP API) and ``docs/deploy.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phony_server.app import create_app, create_app_from_env
    from phony_server.registry import Registry
    from phony_server.s3 import S3Storage
    from phony_server.settings import Settings
    from phony_server.storage import LocalStorage, Storage
    from phony_server.tokens import TokenStore

__all__ = [
    "LocalStorage",
    "Registry",
    "S3Storage",
    "Settings",
    "Storage",
    "TokenStore",
    "create_app",
    "create_app_from_env",
]

_LAZY = {
    "LocalStorage": "phony_server.storage",
    "Registry": "phony_server.registry",
    "S3Storage": "phony_server.s3",
    "Settings": "phony_server.settings",
    "Storage": "phony_server.storage",
    "TokenStore": "phony_server.tokens",
    "create_app": "phony_server.app",
    "create_app_from_env": "phony_server.app",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'phony_server' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
