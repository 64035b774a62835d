"""The training values of the official packs, read from the installed Faker and Mimesis."""

# ruff: noqa: RUF001  # the Turkish dotless i in test data is intended, not a typo

from __future__ import annotations

import unicodedata

import pytest

from phony_index._build.data import (
    OFFICIAL_LOCALES,
    SOURCES,
    faker_values,
    locale_models,
    mimesis_values,
    normalise,
    pair_suffixes,
    read_origin,
)
from phony_registry.errors import TrainingError, UsageError

pytest.importorskip("faker", reason="the official data is read from Faker (a dev dependency)")
pytest.importorskip("mimesis", reason="the official data is read from Mimesis (a dev dependency)")

EXPECTED_MODELS = {
    "cities",
    "companies",
    "first_names",
    "first_names_female",
    "first_names_male",
    "last_names",
    "streets",
}


def test_normalise_composes_strips_dedupes_and_sorts() -> None:
    decomposed = "I\u0307pek"  # I + combining dot above: the NFD spelling of İpek
    assert normalise([" Zeynep", decomposed, "İpek", "", "  ", "ılgaz", "Zeynep"]) == [
        "Zeynep",
        "İpek",
        "ılgaz",
    ]


def test_normalise_keeps_turkish_case() -> None:
    assert normalise(["IŞIK", "ışık", "İnci"]) == ["IŞIK", "İnci", "ışık"]


def test_faker_weighted_lists_give_their_values_not_weights() -> None:
    names = faker_values("person", "en_US", "first_names_female")
    assert "Mary" in names
    assert all(isinstance(name, str) for name in names)


def test_faker_missing_locale_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="Faker has no address provider for tr_TR"):
        faker_values("address", "tr_TR", "cities")


def test_mimesis_missing_path_names_the_file_and_path() -> None:
    with pytest.raises(TrainingError, match=r"tr/person\.json names\.other: not found"):
        mimesis_values("tr", "person", "names", "other")


def test_pair_suffixes_is_stable_and_uses_the_given_suffixes() -> None:
    first = pair_suffixes(["Lale", "Gül", "Lale"], ["Caddesi", "Sokağı"])
    assert first == pair_suffixes(["Gül", "Lale"], ["Caddesi", "Sokağı"])
    assert len(first) == 2
    assert all(street.split(" ", 1)[1] in {"Caddesi", "Sokağı"} for street in first)


def test_unknown_origin_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown data origin"):
        read_origin("wikipedia:tr cities")


@pytest.mark.parametrize("locale", OFFICIAL_LOCALES)
def test_each_official_locale_has_every_model(locale: str) -> None:
    models = locale_models(locale)
    assert {m.name for m in models} == EXPECTED_MODELS
    for model in models:
        assert model.locale == locale
        assert list(model.values) == sorted(set(model.values)), model.name
        assert all(unicodedata.is_normalized("NFC", v) and v == v.strip() for v in model.values)
        assert len(model.values) >= 50, f"{model.name} has only {len(model.values)} values"
        assert model.license == "MIT"
        assert model.sources, model.name


def test_turkish_values_come_from_both_libraries() -> None:
    models = {m.name: m for m in locale_models("tr_TR")}
    assert "İstanbul" in models["cities"].values
    assert "Yılmaz" in models["last_names"].values  # Faker
    assert "Abacı" in models["last_names"].values  # Mimesis
    female = set(models["first_names_female"].values)
    male = set(models["first_names_male"].values)
    assert set(models["first_names"].values) == female | male
    assert [s.name for s in models["last_names"].sources] == ["Faker", "Mimesis"]
    assert models["streets"].values[0].endswith(("Caddesi", "Sokağı"))


def test_source_text_cites_library_licence_and_copyright() -> None:
    model = next(m for m in locale_models("tr_TR") if m.name == "companies")
    text = model.source_text()
    assert "faker:company/tr_TR large_companies" in text
    assert "Copyright (c) 2012 Daniele Faraglia" in text
    assert "Isaak Uchakaev" in text
    assert SOURCES["faker"].version in text


def test_unknown_locale_lists_the_official_ones() -> None:
    with pytest.raises(UsageError, match="official: en_US, tr_TR"):
        locale_models("xx_XX")
