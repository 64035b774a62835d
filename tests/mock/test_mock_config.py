"""The mock's configuration and OpenAPI readers, in process: one capped reader, one message."""

from __future__ import annotations

from pathlib import Path

import pytest

from phony_registry.errors import UsageError
from phony_server.mock import config, openapi_import


def test_the_mock_config_and_openapi_readers_refuse_big_files_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b"{" + b" " * (openapi_import.MAX_SPEC + 1))
    with pytest.raises(UsageError, match=rf"^--openapi {big}: larger than \d+ bytes$"):
        openapi_import.read_spec(big)
    monkeypatch.setenv(config.CONFIG_ENV, str(big))
    with pytest.raises(UsageError, match=rf"^PHONY_MOCK_CONFIG={big}: larger than \d+ bytes$"):
        config.MockConfig.from_env()
    monkeypatch.setenv(config.CONFIG_ENV, str(tmp_path / "gone.json"))
    with pytest.raises(UsageError, match=r"gone.json: No such file or directory$"):
        config.MockConfig.from_env()
