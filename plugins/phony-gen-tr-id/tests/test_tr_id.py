"""The tr_id generator, tested with phony's testing kit (the plugin loader and schema engine)."""

from __future__ import annotations

import phony_gen_tr_id
import pytest
from phony_gen_tr_id import is_valid_tr_id

from phony_registry.testing import PluginTester


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("10000000146", True),  # the well-known test number
        ("10000000147", False),
        ("01234567890", False),
        ("1000000014", False),
        ("1000000014a", False),
    ],
)
def test_is_valid_tr_id(text: str, valid: bool) -> None:
    assert is_valid_tr_id(text) is valid


def test_every_generated_number_is_valid_and_reproducible() -> None:
    ids = PluginTester(phony_gen_tr_id).check_generator("tr_id", count=10_000, valid=is_valid_tr_id)
    assert len(set(ids)) > 9_990
