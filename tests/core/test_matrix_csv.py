"""N-gram and email columns to CSV built as bytes: the bytes the columns and the writer give."""
# ruff: noqa: RUF001 - Turkish letters (the dotless i) make a model that is not ASCII

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from phony_registry import _matrix_csv
from phony_registry.format import dump_model
from phony_registry.model import CHUNK_ROWS
from phony_registry.ngram import train
from phony_registry.schema import Schema, load_schema, write_table

FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
         "William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
         "Jean-Luc", "O'Neil", "Mary Ann", "Zoe2"]  # fmt: skip
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
        "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
        "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "D'Arcy", "Van Dyke"]  # fmt: skip
# values that fold to nothing now and then: the email skips that part ("user" if both)
ODD = ["-", "--", "'", "a", "B-", "'-'", "x"]
TURKISH = ["Ayşe", "Çağrı", "Işıl", "Ömer", "Şükran", "Ali"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("matrix_csv")
    models = {
        "first": train(FIRST, name="first", order=2),
        "last": train(LAST, name="last", order=3),
        "odd": train(ODD, name="odd", order=1),
        "turkish": train(TURKISH, name="turkish", order=2),
        "first_x": train(FIRST, name="first_x", order=3, exclude_originals=True),
    }
    for name, model in models.items():
        (path / f"{name}.phony").write_bytes(dump_model(model))
    return path


def _schema(folder: Path, text: str) -> Path:
    path = folder / f"s{abs(hash(text))}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _ngram(name: str, model: str, extra: str = "") -> str:
    return f'[columns.{name}]\ntype = "ngram"\nmodel = "{model}.phony"\n{extra}\n'


def _email(name: str, sources: str, extra: str = "") -> str:
    return f'[columns.{name}]\ntype = "email"\nfrom = {sources}\n{extra}\n'


PEOPLE = _ngram("first", "first") + _ngram("last", "last") + _email("email", '["first", "last"]')
SCHEMAS = {
    "people": PEOPLE,
    "separator": _ngram("first", "first")
    + _ngram("last", "last")
    + _email("email", '["first", "last"]', 'separator = "_"\ndomains = ["a.io", "b.dev"]'),
    "no separator": _ngram("first", "first")
    + _ngram("last", "last")
    + _email("email", '["last", "first"]', 'separator = ""'),
    "three sources, hidden": _ngram("first", "first", "hidden = true")
    + _ngram("odd", "odd")
    + _ngram("last", "last")
    + _email("email", '["first", "odd", "last"]'),
    "empty folds": _ngram("a", "odd") + _ngram("b", "odd") + _email("email", '["a", "b"]'),
    "names only": _ngram("first", "first") + _ngram("last", "last") + _ngram("x", "first_x"),
}


def _write_csv(schema: Schema, stream: io.BytesIO, **kw: Any) -> bool:
    generators = {c.name: c.generator for c in schema.columns}
    return _matrix_csv.write_csv(schema.names, generators, stream, **kw)


def _both(path: Path, count: int, seed: int, monkeypatch: pytest.MonkeyPatch, **kw: object):
    schema = load_schema(path)
    fast = io.BytesIO()
    assert _write_csv(schema, fast, count=count, seed=seed, options=kw) is True
    with monkeypatch.context() as patch:
        patch.setattr(_matrix_csv, "write_csv", lambda *a, **k: False)
        general = io.BytesIO()
        write_table(schema, general, count=count, seed=seed, format_name="csv", options=kw)
    return fast.getvalue(), general.getvalue()


@pytest.mark.parametrize("name", list(SCHEMAS))
@pytest.mark.parametrize("count", [0, 1, 1000, CHUNK_ROWS + 321])
def test_bytes_are_the_writers(
    folder: Path, name: str, count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, general = _both(_schema(folder, SCHEMAS[name]), count, 4, monkeypatch)
    assert fast == general
    assert general.count(b"\n") == count + 1


def test_without_header_and_through_write_table(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _schema(folder, PEOPLE)
    fast, general = _both(path, 500, 9, monkeypatch, header="false")
    assert fast == general
    assert not fast.startswith(b"first,")
    through = io.BytesIO()
    write_table(load_schema(path), through, count=500, seed=9, format_name="csv")
    assert through.getvalue().split(b"\n", 1)[1] == fast


def test_empty_folds_take_the_string_path_for_their_batch(folder: Path) -> None:
    out = io.BytesIO()
    path = _schema(folder, SCHEMAS["empty folds"])
    assert _write_csv(load_schema(path), out, count=2000, seed=1, options={})
    assert b",user@" in out.getvalue()  # both parts folded to nothing on some row


@pytest.mark.parametrize(
    "text",
    [
        _ngram("first", "turkish") + _ngram("last", "last"),  # not ASCII
        _ngram("first", "first", "unique = true") + _ngram("last", "last"),
        PEOPLE.replace('from = ["first", "last"]', 'from = ["first", "last"]\nunique = true'),
        _ngram("first", "first") + '[columns.n]\ntype = "integer"\nmin = 1\nmax = 9\n',
        _ngram("first", "first"),  # one column: an empty value would need quotes
        PEOPLE.replace('from = ["first", "last"]', 'from = ["first", "last"]\nseparator = ","'),
    ],
    ids=["non-ascii", "unique ngram", "unique email", "other type", "one column", "comma"],
)
def test_other_schemas_take_the_general_path(folder: Path, text: str) -> None:
    out = io.BytesIO()
    assert (
        _write_csv(load_schema(_schema(folder, text)), out, count=10, seed=1, options={}) is False
    )
    assert out.getvalue() == b""
