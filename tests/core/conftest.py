"""Fixtures for the core tests: small real models trained on the spot."""

# Turkish names with the dotless i are the point of these tests:
# ruff: noqa: RUF001

from __future__ import annotations

from pathlib import Path

import pytest

FIRST_NAMES = [
    "Ayşe", "Fatma", "Emine", "Hatice", "Zeynep", "Elif", "Şükran", "Gülşen", "Işıl", "Özlem",
    "Mehmet", "Mustafa", "Ahmet", "Ali", "Hüseyin", "Hasan", "İbrahim", "İsmail", "Ömer", "Çağrı",
]  # fmt: skip
LAST_NAMES = [
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın",
    "Özdemir", "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç", "Kurt", "Özkan",
]  # fmt: skip


def _train(values: list[str], name: str, folder: Path) -> Path:
    from phony_registry import dump_model, train

    path = folder / f"{name}.phony"
    path.write_bytes(dump_model(train(values, name=name, order=3, locale="tr_TR", kind=name)))
    return path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``first_names.phony`` and ``last_names.phony`` (Turkish names)."""
    folder = tmp_path_factory.mktemp("models")
    _train(FIRST_NAMES, "first_names", folder)
    _train(LAST_NAMES, "last_names", folder)
    return folder
