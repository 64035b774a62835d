"""A plugin shipping ready schemas (``phony_register_schemas``), used as a user uses it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.plugins.conftest import plugin_env

pytestmark = pytest.mark.e2e

Run = Callable[..., subprocess.CompletedProcess[str]]

PLUGIN = """
from pathlib import Path

from phony_registry.hookspecs import SchemaSource, hookimpl

HERE = Path(__file__).resolve().parent


@hookimpl
def phony_register_schemas(register):
    register(SchemaSource(name="orders", path=HERE / "orders.toml", description="orders"))
"""

ORDERS = """
[columns.order_id]
type = "sequence"
format = "ORD-{:03d}"

[columns.quantity]
type = "integer"
min = 1
max = 9
"""


def test_a_ready_schema_without_locale_models_needs_no_locale(
    run_phony: Run, tmp_path: Path
) -> None:
    env = plugin_env(
        tmp_path,
        "phony-orders",
        {"phony_orders/__init__.py": PLUGIN, "phony_orders/orders.toml": ORDERS},
    )
    result = run_phony("generate", "--schema", "orders", "-n", "2", "--seed", "1",
                       "--format", "csv", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "order_id,quantity"
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == [
        "ORD-001",
        "ORD-002",
    ]
    with_locale = run_phony("generate", "--schema", "orders", "-n", "2", "--seed", "1",
                            "--format", "csv", "--locale", "en_US", env=env)  # fmt: skip
    assert with_locale.stdout == result.stdout


def test_a_ready_schema_naming_locale_models_still_asks_for_a_locale(
    run_phony: Run, tmp_path: Path
) -> None:
    people = '[columns.first]\ntype = "ngram"\nmodel = "first_names"\n'
    env = plugin_env(
        tmp_path,
        "phony-orders",
        {"phony_orders/__init__.py": PLUGIN, "phony_orders/orders.toml": people},
    )
    result = run_phony("generate", "--schema", "orders", "-n", "2", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: the ready schema 'orders' needs a locale: --locale tr_TR (or a chain tr_TR,en_US)"
    )


def test_a_mistake_in_a_plugins_ready_schema_names_the_schema_and_the_plugin(
    run_phony: Run, tmp_path: Path
) -> None:
    # a column type of another plugin, which is not loaded: the user wrote none of this
    needs_iban = ORDERS + '\n[columns.iban]\ntype = "iban"\n'
    env = plugin_env(
        tmp_path,
        "phony-orders",
        {"phony_orders/__init__.py": PLUGIN, "phony_orders/orders.toml": needs_iban},
    )
    result = run_phony("generate", "--schema", "orders", "-n", "2", env=env)
    assert result.returncode == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: columns.iban.type: unknown generator 'iban' (available: ")
    assert line.endswith(" (in the ready schema 'orders' of plugin phony-orders 1.0)")
