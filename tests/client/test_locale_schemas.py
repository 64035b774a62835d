"""Ready schemas per locale, and fallback chains over the official packs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import phony_index
from phony_client.locale_schemas import load_locale_schema, ready_schema_names
from phony_registry.errors import NotFound, UsageError
from phony_registry.layout import blob_path, manifest_path
from phony_registry.schema import generate_table


def bundled(locale: str, role: str) -> Path | None:
    """The blob of an official model straight from the bundled index (no cache)."""
    manifest = phony_index.ROOT / manifest_path(f"{locale}/{role}", "1.0.0")
    if not manifest.is_file():
        return None
    return phony_index.ROOT / blob_path(json.loads(manifest.read_bytes())["digest"])


def without(missing: set[str]) -> object:
    def find(locale: str, role: str) -> Path | None:
        return None if f"{locale}/{role}" in missing else bundled(locale, role)

    return find


def rows(loaded: object, count: int = 5, seed: int = 7) -> list[tuple[str, ...]]:
    batches = list(generate_table(loaded.schema, count, seed))  # type: ignore[attr-defined]
    return [row for batch in batches for row in zip(*batch, strict=True)]


def test_ready_schemas_are_listed() -> None:
    assert {"person", "address", "company"} <= set(ready_schema_names())


def test_person_for_tr_tr_gives_turkish_people() -> None:
    loaded = load_locale_schema("person", "tr-tr", find_model=bundled)
    assert loaded.schema.names == ["first_name", "last_name", "email", "city"]
    table = rows(loaded, 50)
    assert len(table) == 50
    for first, last, email, city in table:
        assert all((first, last, city))
        assert email.isascii()
        assert "@" in email
    # Same seed, same table.
    assert table == rows(load_locale_schema("person", "tr_TR", find_model=bundled), 50)
    assert loaded.report() == []


def test_missing_model_names_locale_and_model() -> None:
    expected = r"locale tr_TR has no model 'companies' \(tr_TR/companies\)"
    with pytest.raises(NotFound, match=expected):
        load_locale_schema("company", "tr_TR", find_model=without({"tr_TR/companies"}))


def test_fallback_chain_reports_which_locale_served_each_column() -> None:
    loaded = load_locale_schema("company", "tr_TR,en_US", find_model=without({"tr_TR/companies"}))
    assert loaded.report() == [
        "column company <- en_US/companies (fallback: tr_TR has no companies)",
        "column city <- tr_TR/cities",
        "column first_name <- tr_TR/first_names",
        "column last_name <- tr_TR/last_names",
    ]
    assert loaded.schema.names == ["company", "city", "contact", "email"]
    assert len(rows(loaded)) == 5


def test_unknown_ready_schema_lists_the_ready_ones() -> None:
    with pytest.raises(UsageError, match=r"ready schemas: address, company, person"):
        load_locale_schema("people", "tr_TR", find_model=bundled)


def test_own_schema_file_uses_the_chain_for_bare_model_names(tmp_path: Path) -> None:
    schema = tmp_path / "mine.toml"
    schema.write_text(
        '[columns.name]\ntype = "ngram"\nmodel = "first_names"\n'
        '[columns.n]\ntype = "integer"\nmin = 1\nmax = 3\n',
        encoding="utf-8",
    )
    loaded = load_locale_schema(str(schema), "en_US", find_model=bundled)
    assert loaded.schema.names == ["name", "n"]
    assert all(1 <= int(n) <= 3 for _name, n in rows(loaded))


def test_a_ready_schema_needs_a_locale() -> None:
    with pytest.raises(UsageError, match=r"ready schema 'person' needs a locale: --locale tr_TR"):
        load_locale_schema("person", None, find_model=bundled)


def test_a_schema_file_names_its_locale_and_official_models(tmp_path: Path) -> None:
    schema = tmp_path / "people.toml"
    schema.write_text(
        'locale = "tr-TR"\n\n'
        '[columns.first]\ntype = "ngram"\nmodel = "first_names"\n\n'
        '[columns.last]\ntype = "ngram"\nmodel = "tr_tr/last_names"\n',
        encoding="utf-8",
    )
    asked: list[tuple[str, str]] = []

    def find(locale: str, role: str) -> Path | None:
        asked.append((locale, role))
        return bundled(locale, role)

    loaded = load_locale_schema(str(schema), None, find_model=find)
    assert sorted(asked) == [("tr_TR", "first_names"), ("tr_TR", "last_names")]
    table = rows(loaded, 20)
    assert all(first and last for first, last in table)
    # The official name resolves to the same model without a locale in the file.
    schema.write_text(
        '[columns.last]\ntype = "ngram"\nmodel = "tr_TR/last_names"\n', encoding="utf-8"
    )
    alone = load_locale_schema(str(schema), None, find_model=bundled)
    assert [row[0] for row in rows(alone, 20)] == [row[1] for row in table]
