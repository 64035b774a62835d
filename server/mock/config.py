"""A mock's configuration: what ``phony mock start`` was given, as one JSON document.

The command line builds a :class:`MockConfig`; uvicorn's workers (and any
other ASGI host, through :func:`phony_server.mock.app_from_env`) read it back
from the ``PHONY_MOCK_CONFIG`` environment variable, which holds either the
JSON itself or the path of a file holding it. Relative schema paths in a
configuration file are relative to that file's folder (``phony mock deploy``
writes such a folder).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phony_registry._fs import read_capped
from phony_registry.errors import UsageError
from phony_server.mock.sources import CollectionSource

__all__ = ["CONFIG_ENV", "DEFAULT_COUNT", "MockConfig"]

#: The environment variable a worker reads its configuration from.
CONFIG_ENV = "PHONY_MOCK_CONFIG"
#: Records per collection when neither --count nor the schema says.
DEFAULT_COUNT = 1_000
#: Largest configuration document read (bytes).
_MAX_CONFIG = 1 << 20


@dataclass
class MockConfig:
    """Everything a mock server needs to start."""

    sources: list[CollectionSource]
    seed: int
    count: int = DEFAULT_COUNT
    state: str = "memory"
    read_only: bool = False
    delay: str | None = None
    faults: str | None = None
    scan_limit: int = 1_000_000
    max_page: int = 1_000
    #: Index every chunk of the models at start-up (in the background), not on first use.
    warm: bool = False
    #: MiB of served records' JSON kept per process (0: none); see phony_server.mock.blocks.
    cache_mb: int = 16
    #: Folder that relative schema paths start from.
    base: Path | None = field(default=None, compare=False)

    def to_json(self) -> str:
        """The document workers read back (compact JSON)."""
        doc = {
            "phony_mock": 1,
            "collections": [s.to_json() for s in self.sources],
            "seed": self.seed,
            "count": self.count,
            "state": self.state,
            "read_only": self.read_only,
            "delay": self.delay,
            "faults": self.faults,
            "scan_limit": self.scan_limit,
            "max_page": self.max_page,
            "warm": self.warm,
            "cache_mb": self.cache_mb,
        }
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, *, base: Path | None = None) -> MockConfig:
        """Read a configuration document; a UsageError names what is wrong."""
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"{CONFIG_ENV}: not JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("phony_mock") != 1:
            raise UsageError(f"{CONFIG_ENV}: not a phony mock configuration")

        def need(key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
            value = doc.get(key, default)
            if (
                value is ...
                or not isinstance(value, kind)
                or isinstance(value, bool) != (kind is bool)
            ):
                raise UsageError(f"{CONFIG_ENV}: {key} is missing or of the wrong type")
            return value

        sources = []
        for i, item in enumerate(need("collections", list)):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise UsageError(f"{CONFIG_ENV}: collections[{i}] needs a name and a schema")
            schema, locale, count = item.get("schema"), item.get("locale"), item.get("count")
            if not isinstance(schema, str) or not isinstance(locale, str | None):
                raise UsageError(f"{CONFIG_ENV}: collections[{i}]: bad schema or locale")
            if count is not None and (not isinstance(count, int) or count < 0):
                raise UsageError(f"{CONFIG_ENV}: collections[{i}].count: expected an integer >= 0")
            sources.append(CollectionSource(item["name"], schema, locale, count))
        return cls(
            sources=sources,
            seed=need("seed", int),
            count=need("count", int, DEFAULT_COUNT),
            state=need("state", str, "memory"),
            read_only=need("read_only", bool, False),
            delay=doc.get("delay") if isinstance(doc.get("delay"), str) else None,
            faults=doc.get("faults") if isinstance(doc.get("faults"), str) else None,
            scan_limit=need("scan_limit", int, 1_000_000),
            max_page=need("max_page", int, 1_000),
            warm=need("warm", bool, False),
            cache_mb=need("cache_mb", int, 16),
            base=base,
        )

    @classmethod
    def from_env(cls) -> MockConfig:
        """The configuration in ``PHONY_MOCK_CONFIG`` (JSON, or a file path)."""
        raw = os.environ.get(CONFIG_ENV)
        if not raw:
            raise UsageError(
                f"{CONFIG_ENV} is not set: it holds a mock configuration (JSON) or the path "
                "of one, as `phony mock deploy` writes"
            )
        if raw.lstrip().startswith("{"):
            return cls.from_json(raw)
        path = Path(raw).expanduser()
        data = read_capped(path, _MAX_CONFIG, f"{CONFIG_ENV}={raw}")
        return cls.from_json(data.decode("utf-8", "replace"), base=path.resolve().parent)
