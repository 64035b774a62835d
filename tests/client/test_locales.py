"""Locale spellings, fallback chains, and which locale serves each model."""

from __future__ import annotations

import pytest

from phony_client.locales import parse_locale, parse_locale_chain, resolve_models
from phony_registry.errors import NotFound, UsageError

PACKS = {
    "tr_TR": {"first_names", "last_names", "cities"},
    "en_US": {"first_names", "last_names", "cities", "companies"},
}


def has_model(locale: str, role: str) -> bool:
    return role in PACKS.get(locale, set())


@pytest.mark.parametrize("spelling", ["tr_TR", "tr-TR", "tr_tr", "TR-tr", " tr_TR "])
def test_spellings_name_the_same_locale(spelling: str) -> None:
    assert parse_locale(spelling) == "tr_TR"


@pytest.mark.parametrize("text", ["turkish", "tr", "tr_TR_x", "", "t_TR"])
def test_non_locales_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="is not a locale"):
        parse_locale(text)


def test_chain_keeps_order_and_drops_duplicates() -> None:
    assert parse_locale_chain("tr-tr,en_us,tr_TR") == ["tr_TR", "en_US"]
    assert parse_locale_chain(["tr_TR", "en-US"]) == ["tr_TR", "en_US"]


def test_empty_chain_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no locale given"):
        parse_locale_chain(" , ")


def test_single_locale_serves_everything_it_has() -> None:
    found = resolve_models(["first_names", "cities"], ["tr_TR"], has_model)
    assert dict(found.models) == {"first_names": "tr_TR/first_names", "cities": "tr_TR/cities"}
    assert found.fallbacks == {}


def test_missing_model_without_fallback_names_locale_and_model() -> None:
    with pytest.raises(NotFound) as info:
        resolve_models(["first_names", "companies"], ["tr_TR"], has_model)
    message = str(info.value)
    assert "locale tr_TR has no model 'companies' (tr_TR/companies)" in message
    assert "--locale tr_TR,en_US" in message


def test_fallback_chain_says_which_locale_served_each_model() -> None:
    found = resolve_models(["first_names", "companies"], ["tr_TR", "en_US"], has_model)
    assert dict(found.served_by) == {"first_names": "tr_TR", "companies": "en_US"}
    assert found.fallbacks == {"companies": "en_US"}
    assert found.report() == [
        "first_names: tr_TR/first_names",
        "companies: en_US/companies (fallback: tr_TR has none)",
    ]


def test_model_no_locale_has_lists_what_was_tried() -> None:
    with pytest.raises(NotFound, match="tried tr_TR/iban, en_US/iban"):
        resolve_models(["iban"], ["tr_TR", "en_US"], has_model)
