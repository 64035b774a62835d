"""Each package's public surface is its sorted, complete ``__all__``."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

PACKAGES = ["phony_registry", "phony_client", "phony_server"]


def _modules() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return names


def _public_defined(module: ModuleType) -> set[str]:
    return {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_") and getattr(value, "__module__", None) == module.__name__
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_package_all_is_complete(package: str) -> None:
    module = importlib.import_module(package)
    exported = set(module.__all__)
    missing = {name for name in exported if not hasattr(module, name)}
    assert not missing, f"{package}.__all__ names missing {sorted(missing)}"
    # Everything public that the package itself defines is exported.
    assert _public_defined(module) <= exported


@pytest.mark.parametrize("name", _modules())
def test_all_is_sorted_and_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        pytest.skip(f"{name} declares no __all__")
    assert list(exported) == sorted(exported), f"{name}.__all__ is not sorted"
    missing = [member for member in exported if not hasattr(module, member)]
    assert not missing, f"{name}.__all__ names missing {missing}"
