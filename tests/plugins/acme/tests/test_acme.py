"""phony-acme's own tests: three lines each, with phony's testing kit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

import phony_acme
import pytest

from phony_registry.errors import ValidationError
from phony_registry.testing import PluginTester


def _rows(data: bytes) -> list[Mapping[str, str]]:
    return [{cell.tag: cell.text or "" for cell in row} for row in ET.fromstring(data)]  # noqa: S314


def test_ibans_are_valid_and_deterministic() -> None:
    PluginTester(phony_acme).check_generator("acme_iban", valid=phony_acme.is_valid_iban)


def test_a_fixed_bank_code() -> None:
    ibans = PluginTester(phony_acme).check_generator("acme_iban", {"bank_code": "37040044"})
    assert all(iban[4:12] == "37040044" for iban in ibans)


def test_a_bad_bank_code_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"columns\.value\.bank_code: expected 8 digits"):
        PluginTester(phony_acme).generate("acme_iban", {"bank_code": "12"})


def test_xml_round_trips_awkward_values() -> None:
    PluginTester(phony_acme).check_format("xml", _rows)


def test_the_known_example_iban() -> None:
    assert phony_acme.iban_check_digits("37040044", "0532013000") == "89"
    assert phony_acme.is_valid_iban("DE89 3704 0044 0532 0130 00")
