"""Fixtures of the Python API tests."""

from __future__ import annotations

import pytest

from phony_registry.plugins import get_plugins


@pytest.fixture
def de_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first-party de_DE locale pack plugin, loaded through its entry point."""
    monkeypatch.setenv("PHONY_LOAD_PLUGINS", "phony-locale-de-de")
    get_plugins.cache_clear()
