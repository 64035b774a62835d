"""The tr_id generator, tested through phony's plugin loader and schema engine."""

from __future__ import annotations

from unittest import mock

import phony_gen_tr_id
import pytest
from phony_gen_tr_id import is_valid_tr_id

from phony_registry import plugins
from phony_registry.schema import generate_table, parse_schema


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
    loaded = plugins.load_plugins({"phony-gen-tr-id": phony_gen_tr_id})
    with mock.patch.object(plugins, "get_plugins", return_value=loaded):
        schema = parse_schema({"columns": {"id": {"type": "tr_id"}}})
    ids = [v for batch in generate_table(schema, 10_000, 1) for v in batch[0]]
    assert all(is_valid_tr_id(v) for v in ids)
    assert len(set(ids)) > 9_990
    again = [v for batch in generate_table(schema, 10_000, 1, batch_size=777) for v in batch[0]]
    assert again == ids
