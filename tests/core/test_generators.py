"""Built-in column generators: the values a user gets, and their determinism."""

# Turkish names with the dotless i are the point of these tests:
# ruff: noqa: RUF001

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phony_registry import plugins
from phony_registry.errors import ValidationError
from phony_registry.generators import ColumnStream, ascii_fold, column_seed
from phony_registry.hookspecs import hookimpl
from phony_registry.schema import generate_table, parse_schema


def test_column_seed_is_the_same_in_another_process() -> None:
    # Not Python's salted hash(): a new interpreter (another PYTHONHASHSEED) agrees.
    code = "from phony_registry.generators import column_seed; print(column_seed(7, 'city'))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == column_seed(7, "city")


def table(
    columns: dict[str, dict[str, Any]],
    count: int = 50,
    seed: int = 1,
    batch_size: int = 65_536,
    base_dir: Path | None = None,
) -> dict[str, list[str]]:
    """Generate a table and return it as {column: values}."""
    schema = parse_schema({"columns": columns}, base_dir=base_dir)
    out: dict[str, list[str]] = {name: [] for name in schema.names}
    for batch in generate_table(schema, count, seed, batch_size=batch_size):
        for name, values in zip(schema.names, batch, strict=True):
            out[name].extend(values)
    return out


def test_column_seed_and_stream_are_pinned() -> None:
    # These numbers must never change: they are what makes a seed reproducible.
    seeds = {column_seed(seed, name) for seed in (0, 1, 2) for name in ("email", "emails", "id")}
    assert len(seeds) == 9  # every (seed, column) pair has its own stream
    assert column_seed(1, "email") == 0x18B74ABAB8B10F9C
    assert column_seed(1, "id") == 0x7027D416B86CBF26
    stream = ColumnStream(12345, 10)
    assert stream.raw(3).tolist() == [
        4193609425186963869,
        5843160025838961886,
        14708796524633321433,
    ]


def test_pinned_outputs() -> None:
    got = table(
        {
            "n": {"type": "integer", "min": 1, "max": 100},
            "c": {"type": "choice", "values": ["a", "b", "c"], "weights": [1, 2, 3]},
            "d": {"type": "date", "start": dt.date(2000, 1, 1), "end": dt.date(2000, 12, 31)},
        },
        count=4,
        seed=42,
    )
    assert got == PINNED


PINNED = {
    "n": ["19", "29", "7", "92"],
    "c": ["c", "c", "a", "c"],
    "d": ["2000-11-17", "2000-07-21", "2000-04-26", "2000-09-19"],
}


def test_sequence_counts_across_batches() -> None:
    got = table({"id": {"type": "sequence", "start": 10, "step": 5, "format": "C{:04d}"}}, 7,
                batch_size=3)  # fmt: skip
    assert got["id"] == ["C0010", "C0015", "C0020", "C0025", "C0030", "C0035", "C0040"]


def test_integer_range_is_inclusive() -> None:
    values = [int(v) for v in table({"n": {"type": "integer", "min": -2, "max": 2}}, 2000)["n"]]
    assert set(values) == {-2, -1, 0, 1, 2}


def test_integer_huge_range() -> None:
    values = table({"n": {"type": "integer", "min": 0, "max": 2**64 - 1}}, 100)["n"]
    assert all(0 <= int(v) < 2**64 for v in values)
    assert len(set(values)) == 100


def test_number_has_fixed_decimals_within_bounds() -> None:
    values = table({"p": {"type": "number", "min": -1.5, "max": 2, "decimals": 2}}, 2000)["p"]
    assert all(len(v.split(".")[1]) == 2 for v in values)
    floats = [float(v) for v in values]
    assert min(floats) >= -1.5
    assert max(floats) <= 2
    assert "-1.50" in values
    assert "2.00" in values


def test_choice_follows_weights() -> None:
    values = table({"c": {"type": "choice", "values": ["a", "b", "z"], "weights": [3, 1, 0]}},
                   20_000)["c"]  # fmt: skip
    counts = Counter(values)
    assert counts["z"] == 0
    assert 2.7 < counts["a"] / counts["b"] < 3.3


def test_choice_accepts_numbers_and_equal_weights() -> None:
    assert set(table({"c": {"type": "choice", "values": [1, 2.5]}}, 200)["c"]) == {"1", "2.5"}


def test_dates_are_iso_and_within_range() -> None:
    start, end = dt.date(2024, 2, 27), dt.date(2024, 3, 1)
    values = table({"d": {"type": "date", "start": start, "end": end}}, 500)["d"]
    assert set(values) == {"2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"}


def test_datetimes_and_strftime() -> None:
    got = table(
        {
            "t": {"type": "date", "start": "2024-01-01T00:00:00", "end": "2024-01-01T00:00:59"},
            "f": {"type": "date", "start": "1990-05-01", "end": "1990-05-01", "format": "%d/%m/%Y"},
        },
        100,
    )
    assert all(v.startswith("2024-01-01T00:00:") for v in got["t"])
    assert set(got["f"]) == {"01/05/1990"}


def test_datetimes_with_a_time_zone_carry_its_offset() -> None:
    # start and end are instants; a value written without their offset read as another one.
    start = dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    end = dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.UTC)  # 05:00 at +05:00
    got = table(
        {
            "t": {"type": "date", "start": start, "end": end},
            "f": {"type": "date", "start": start, "end": end, "format": "%H:%M%z"},
            "w": {"type": "date", "start": "2023-12-31T20:00:00-03:30", "end": end},
        },
        200,
    )
    for text in got["t"]:
        assert text.endswith("+05:00")
        assert start <= dt.datetime.fromisoformat(text) <= end
    assert all(v.endswith("+0500") for v in got["f"])
    assert all(v.endswith("-03:30") for v in got["w"])
    assert dt.datetime.fromisoformat(max(got["w"])) <= end


def test_epoch_seconds_do_not_depend_on_the_machine_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The C library's %s reads the date-time in the TZ of the machine: the same seed
    # gave 1577836800 in UTC and 1577804400 in Tokyo.
    import time

    columns = {
        "d": {"type": "date", "start": "2020-01-01", "end": "2020-01-01", "format": "%s|%%s|%Y"},
        "z": {
            "type": "date",
            "start": "2020-01-01T09:00:00+09:00",
            "end": "2020-01-01T09:00:00+09:00",
            "format": "%s",
        },
    }
    try:
        monkeypatch.setenv("TZ", "Asia/Tokyo")
        time.tzset()
        got = table(columns, 3)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert set(got["d"]) == {"1577836800|%s|2020"}
    assert set(got["z"]) == {"1577836800"}


def test_a_date_format_holding_nul_is_refused() -> None:
    # strftime stops at NUL: "a\0b" wrote "a".
    with pytest.raises(ValidationError, match="NUL"):
        table({"d": {"type": "date", "start": "2020-01-01", "end": "2020-01-02", "format": "a\0b"}})


def test_template_composes_other_columns() -> None:
    got = table(
        {
            "first": {"type": "choice", "values": ["Ayşe"]},
            "last": {"type": "choice", "values": ["Yılmaz"]},
            "full": {"type": "template", "template": "{first} {last} ({first!r}) {{x}} {last:>8}"},
        },
        2,
    )
    assert got["full"] == ["Ayşe Yılmaz ('Ayşe') {x}   Yılmaz"] * 2


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Şükrü", "sukru"),
        ("Işık", "isik"),
        ("İbrahim", "ibrahim"),
        ("Ørjan", "orjan"),
        ("Müller-Lüdenscheidt", "mullerludenscheidt"),
        ("Zoë O'Neil", "zoeoneil"),
        ("Straße", "strasse"),
        ("Łukasz", "lukasz"),
        ("李", ""),
    ],
)
def test_ascii_fold(name: str, folded: str) -> None:
    assert ascii_fold(name) == folded


def test_email_is_derived_from_other_columns() -> None:
    got = table(
        {
            "first": {"type": "choice", "values": ["Şükrü", "Ayşe"]},
            "last": {"type": "choice", "values": ["Işık", "Öztürk"]},
            "email": {"type": "email", "from": ["first", "last"], "domains": ["firma.com.tr"]},
        },
        200,
    )
    for first, last, email in zip(got["first"], got["last"], got["email"], strict=True):
        assert email == f"{ascii_fold(first)}.{ascii_fold(last)}@firma.com.tr"
    assert "sukru.isik@firma.com.tr" in got["email"]


def test_email_skips_a_part_that_folds_to_nothing() -> None:
    got = table(
        {
            "first": {"type": "choice", "values": ["李", "Ayşe"]},
            "last": {"type": "choice", "values": ["Wang"]},
            "email": {"type": "email", "from": ["first", "last"], "domains": ["x.cn"]},
        },
        100,
        batch_size=7,
    )
    assert set(got["email"]) == {"wang@x.cn", "ayse.wang@x.cn"}


@pytest.mark.parametrize("batch_size", [7, 65_536])
def test_unique_emails_number_the_repeats(batch_size: int) -> None:
    columns: dict[str, dict[str, Any]] = {
        "first": {"type": "choice", "values": ["Ali", "Can"]},
        "last": {"type": "choice", "values": ["Kaya"]},
        "email": {"type": "email", "from": ["first", "last"], "domains": ["x.org"], "unique": True},
    }
    got = table(columns, 50, batch_size=batch_size)
    assert len(set(got["email"])) == 50
    assert {"ali.kaya@x.org", "ali.kaya2@x.org", "can.kaya@x.org", "can.kaya2@x.org"} <= set(
        got["email"]
    )
    assert got == table(columns, 50, batch_size=3)


def test_email_spreads_over_domains_and_handles_unfoldable_names() -> None:
    got = table(
        {
            "n": {"type": "choice", "values": ["李"]},
            "email": {"type": "email", "from": ["n"], "separator": "_"},
        },
        300,
    )
    assert {e.split("@")[1] for e in got["email"]} == {"example.com", "example.net", "example.org"}
    assert all(e.startswith("user@") for e in got["email"])


def test_same_seed_same_table_any_batch_size() -> None:
    columns = {
        "n": {"type": "integer", "max": 10**9},
        "c": {"type": "choice", "values": list("abcdef")},
        "id": {"type": "sequence"},
    }
    whole = table(columns, 1000, seed=7)
    assert table(columns, 1000, seed=7, batch_size=33) == whole
    assert table(columns, 1000, seed=8) != whole


def test_adding_or_reordering_columns_does_not_change_the_others() -> None:
    base = {"n": {"type": "integer", "max": 10**9}}
    more = {"x": {"type": "choice", "values": ["a", "b"]}, **base, "y": {"type": "sequence"}}
    assert table(more, 300)["n"] == table(base, 300)["n"]


def test_ngram_model_by_relative_path(model_dir: Path) -> None:
    got = table({"first": {"type": "ngram", "model": "first_names.phony"}}, 500,
                base_dir=model_dir)  # fmt: skip
    assert len(got["first"]) == 500
    assert all(v and v == v.strip() for v in got["first"])
    # realistic: mostly names the model was trained on
    assert {"Ayşe", "Mehmet"} & set(got["first"])


def test_ngram_column_is_deterministic_and_batch_independent(model_dir: Path) -> None:
    columns = {"first": {"type": "ngram", "model": str(model_dir / "first_names.phony")}}
    assert table(columns, 300, seed=3) == table(columns, 300, seed=3, batch_size=7)
    assert table(columns, 300, seed=3) != table(columns, 300, seed=4)


def test_ngram_unique(model_dir: Path) -> None:
    columns = {
        "first": {"type": "ngram", "model": str(model_dir / "first_names.phony"), "unique": True}
    }
    values = table(columns, 15)["first"]
    assert len(set(values)) == 15


def test_ngram_model_by_name_through_the_resolve_hook(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Resolver:
        @hookimpl
        def phony_resolve_model(self, spec: str) -> Path | None:
            return model_dir / "last_names.phony" if spec == "tr_TR/last_names" else None

    loaded = plugins.load_plugins({"resolver": Resolver()})
    monkeypatch.setattr(plugins, "get_plugins", lambda: loaded)
    schema = {"locale": "tr_TR", "columns": {"last": {"type": "ngram", "model": "last_names"}}}
    parsed = parse_schema(schema)
    values = next(generate_table(parsed, 20, 1))[0]
    assert len(values) == 20


@settings(max_examples=300)
@given(st.lists(st.text(max_size=8), min_size=1, max_size=30))
def test_email_local_parts_are_the_folded_names(names: list[str]) -> None:
    got = table(
        {
            "n": {"type": "choice", "values": names},
            "email": {"type": "email", "from": ["n"], "domains": ["d.org"]},
        },
        60,
        batch_size=16,
    )
    for name, email in zip(got["n"], got["email"], strict=True):
        assert email == (ascii_fold(name) or "user") + "@d.org"


class _UnevenModel:
    """A stand-in model whose batches have awkward sizes: 1, 2, 3, ... values."""

    def iter_batches(self, count: int, seed: int, *, unique: bool = False) -> Any:
        produced, size = 0, 1
        while produced < count:
            take = min(size, count - produced)
            yield [str(produced + i) for i in range(take)]
            produced, size = produced + take, size + 1


@pytest.mark.parametrize("batch_size", [1, 2, 5, 64, 1000])
def test_ngram_column_rebatches_the_model_output_in_order(batch_size: int) -> None:
    from phony_registry.columns import _Ngram

    column = _Ngram(_UnevenModel(), unique=False)
    stream = ColumnStream(1, 300)
    values: list[str] = []
    while len(values) < 300:
        n = min(batch_size, 300 - len(values))
        values.extend(column.generate(n, stream, {}))
    assert values == [str(i) for i in range(300)]
