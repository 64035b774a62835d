"""Parquet and Arrow IPC output: typed columns from a schema, options, what DuckDB reads."""

from __future__ import annotations

import gc
import io
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from phony_registry.errors import GenerationError, UsageError
from phony_registry.formats_arrow import ARROW, PARQUET
from phony_registry.ngram import read_values, train
from phony_registry.outputs import open_writer
from phony_registry.plugins import get_plugins
from phony_registry.schema import generate_table, parse_schema, write_table

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")

SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"


@pytest.fixture(scope="module")
def schema_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    model = tmp_path_factory.mktemp("m") / "names.phony"
    from phony_registry.format import save_model

    save_model(train(read_values(SAMPLE), name="names", order=3, kind="first_name"), model)
    return f"""
[columns.id]
type = "sequence"
[columns.first_name]
type = "ngram"
model = "{model}"
[columns.age]
type = "integer"
min = 18
max = 90
[columns.born]
type = "date"
start = "1950-01-01"
end = "2005-12-31"
[columns.seen]
type = "date"
start = "2020-01-01T00:00:00"
end = "2020-12-31T23:59:59"
[columns.salary]
type = "number"
min = -500000
max = 900000
decimals = 2
[columns.code]
type = "sequence"
format = "C{{:04d}}"
"""


def _table(schema_text: str, fmt: str, count: int, **options: str) -> bytes:
    schema = parse_schema(tomllib.loads(schema_text))
    out = io.BytesIO()
    write_table(schema, out, count=count, seed=7, format_name=fmt, options=options)
    return out.getvalue()


def test_parquet_columns_are_typed_and_duckdb_reads_them(schema_text: str, tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    path.write_bytes(_table(schema_text, "parquet", 5000))
    described = duckdb.sql(f"describe select * from '{path}'").fetchall()  # noqa: S608 - own file
    types = {row[0]: row[1] for row in described}
    assert types == {
        "id": "BIGINT",
        "first_name": "VARCHAR",
        "age": "BIGINT",
        "born": "DATE",
        "seen": "TIMESTAMP",
        "salary": "DECIMAL(38,2)",
        "code": "VARCHAR",
    }
    [(count, low, high, first_id, last_id)] = duckdb.sql(
        f"select count(*), min(age), max(age), min(id), max(id) from '{path}'"  # noqa: S608
    ).fetchall()
    assert (count, first_id, last_id) == (5000, 1, 5000)
    assert 18 <= low <= high <= 90


def test_parquet_holds_the_values_the_csv_writes(schema_text: str) -> None:
    csv_rows = _table(schema_text, "csv", 300).decode().splitlines()[1:]
    table = pq.read_table(io.BytesIO(_table(schema_text, "parquet", 300)))
    rows = table.to_pylist()
    for line, row in zip(csv_rows, rows, strict=True):
        fields = line.split(",")
        assert str(row["id"]) == fields[0]
        assert row["first_name"] == fields[1]
        assert str(row["age"]) == fields[2]
        assert row["born"].isoformat() == fields[3]
        assert row["seen"].isoformat() == fields[4]
        assert str(row["salary"]) == fields[5]
        assert row["code"] == fields[6]


def test_parquet_is_deterministic_and_compression_is_an_option(schema_text: str) -> None:
    zstd = _table(schema_text, "parquet", 20_000)
    assert zstd == _table(schema_text, "parquet", 20_000)
    plain = _table(schema_text, "parquet", 20_000, compression="none")
    gzip = _table(schema_text, "parquet", 20_000, compression="gzip")
    codecs = {
        pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(1).compression
        for data in (zstd, plain, gzip)
    }
    assert codecs == {"ZSTD", "UNCOMPRESSED", "GZIP"}
    assert len(zstd) < len(plain)
    assert pq.read_table(io.BytesIO(plain)).equals(pq.read_table(io.BytesIO(zstd)))


def test_row_groups_follow_the_option(schema_text: str) -> None:
    data = _table(schema_text, "parquet", 10_000, row_group_size="3000")
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        3000,
        3000,
        3000,
        1000,
    ]


def test_arrow_ipc_file_is_typed_and_compressible(schema_text: str) -> None:
    data = _table(schema_text, "arrow", 70_000, compression="zstd")
    reader = pa.ipc.open_file(pa.BufferReader(data))
    assert reader.schema.field("born").type == pa.date32()
    assert reader.schema.field("id").type == pa.int64()
    assert reader.num_record_batches == 2  # 65,536 + 4,464 rows
    table = reader.read_all()
    assert table.num_rows == 70_000
    parquet_rows = pq.read_table(io.BytesIO(_table(schema_text, "parquet", 70_000))).to_pylist()
    assert table.to_pylist() == parquet_rows


def test_a_datetime_column_with_a_time_zone_is_a_zoned_timestamp() -> None:
    import datetime as dt

    import pyarrow.parquet as pq

    data = tomllib.loads(
        '[columns.t]\ntype = "date"\n'
        "start = 2024-01-01T00:00:00+05:00\nend = 2024-01-01T00:00:00Z\n"
    )
    schema = parse_schema(data)
    out = io.BytesIO()
    write_table(schema, out, count=50, seed=1, format_name="parquet")
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert str(table.schema.field("t").type) == "timestamp[ms, tz=+05:00]"
    texts = [v for batch in generate_table(schema, 50, 1) for v in batch[0]]
    moments = table.column("t").to_pylist()
    assert moments == [dt.datetime.fromisoformat(text) for text in texts]


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_a_group_waits_as_typed_arrays_not_python_strings(fmt: str) -> None:
    # 150,000 rows of two text columns are some 25 MB of Python strings; held
    # until a row group of 1,048,576 filled, 10M rows peaked at 590 MB of RSS.
    import tracemalloc

    data = tomllib.loads(
        '[columns.id]\ntype = "uuid"\n[columns.code]\ntype = "sequence"\nformat = "C{:09d}"\n'
    )
    schema = parse_schema(data)
    options = {"parquet": {"row_group_size": "1000000"}, "arrow": {"batch_size": "1000000"}}
    write_table(schema, io.BytesIO(), count=1, seed=1, format_name=fmt)  # imports pyarrow
    tracemalloc.start()
    try:
        write_table(
            schema, io.BytesIO(), count=150_000, seed=1, format_name=fmt, options=options[fmt]
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12 << 20, f"{peak / 2**20:.0f} MiB of Python objects at the peak"


def test_an_empty_table_still_has_its_columns(schema_text: str) -> None:
    table = pq.read_table(io.BytesIO(_table(schema_text, "parquet", 0)))
    assert table.num_rows == 0
    assert table.schema.field("born").type == pa.date32()
    assert (
        pa.ipc.open_file(pa.BufferReader(_table(schema_text, "arrow", 0))).read_all().num_rows == 0
    )


def test_a_single_model_is_a_string_column() -> None:
    model = train(read_values(SAMPLE), name="n", order=3, kind="first_name")
    out = io.BytesIO()
    writer = PARQUET.open(out, [model.column_name], {})
    for batch in model.iter_batches(1000, seed=1):
        writer.write([batch])
    writer.close()
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert table.column("first_name").to_pylist() == model.generate(1000, seed=1)


@pytest.mark.parametrize(
    ("fmt", "options", "message"),
    [
        ("parquet", {"compression": "rar"}, "option compression: expected one of"),
        ("parquet", {"row_group_size": "0"}, "option row_group_size: expected a positive"),
        ("parquet", {"table": "x"}, "format parquet has no option 'table'"),
        ("arrow", {"compression": "gzip"}, "option compression: expected one of zstd, lz4"),
        ("arrow", {"batch_size": "many"}, "option batch_size: expected a positive"),
        (
            "parquet",
            {"compression": "snappy", "compression_level": "3"},
            "option compression_level: compression=snappy takes no level",
        ),
        (
            "parquet",
            {"compression": "gzip", "compression_level": "10"},
            "option compression_level: expected a whole number from 1 to 9 for gzip, not '10'",
        ),
        ("arrow", {"compression_level": "3"}, "format arrow has no option 'compression_level'"),
    ],
)
def test_bad_options_are_one_clear_error(fmt: str, options: dict[str, str], message: str) -> None:
    out = io.BytesIO()
    with pytest.raises(UsageError, match=message):
        {"parquet": PARQUET, "arrow": ARROW}[fmt].open(out, ["a"], options)
    assert out.getvalue() == b""


@pytest.mark.parametrize("text", ["\u0663", "1_000", " 3", "+3", "3.0", "", "0", "-1", "\uff13"])
@pytest.mark.parametrize(("fmt", "key"), [("parquet", "row_group_size"), ("arrow", "batch_size")])
def test_rows_options_are_ascii_digits(fmt: str, key: str, text: str) -> None:
    out = io.BytesIO()
    with pytest.raises(UsageError) as raised:
        {"parquet": PARQUET, "arrow": ARROW}[fmt].open(out, ["a"], {key: text})
    assert str(raised.value) == f"option {key}: expected a positive integer, not {text!r}"
    assert out.getvalue() == b""


@pytest.mark.parametrize("text", ["\u0663", "1_0", " 3", "+3", "3.0", "", "-1", "\uff13"])
def test_compression_level_is_ascii_digits(text: str) -> None:
    out = io.BytesIO()
    with pytest.raises(UsageError) as raised:
        PARQUET.open(out, ["a"], {"compression": "zstd", "compression_level": text})
    assert str(raised.value) == (
        f"option compression_level: expected a whole number from 1 to 22 for zstd, not {text!r}"
    )
    assert out.getvalue() == b""


def test_registered_through_the_formats_hook() -> None:
    formats = get_plugins()
    assert formats.format("parquet") is PARQUET
    assert formats.format("arrow") is ARROW
    assert PARQUET.binary
    assert ARROW.binary


def _unraisable(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What Python would print as "Exception ignored in ..." during the test."""
    seen: list[str] = []

    def hook(unraisable: Any) -> None:
        seen.append(f"{unraisable.exc_type.__name__}: {unraisable.exc_value}")

    monkeypatch.setattr(sys, "unraisablehook", hook)
    return seen


ROWS_OPTION = {"parquet": "row_group_size", "arrow": "batch_size"}


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_an_abandoned_writer_adds_nothing_to_its_stream(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run stopped part-way (Ctrl-C, a full disk) never closes its writer.
    # Whatever pyarrow would add when the writer is collected (a Parquet
    # footer) would make `phony generate ... > out.parquet`, interrupted,
    # read as a complete file of fewer rows.
    seen = _unraisable(monkeypatch)
    out = io.BytesIO()
    writer = get_plugins().format(fmt).open(out, ["a"], {ROWS_OPTION[fmt]: "2"})
    writer.write([["x", "y", "z"]])
    written = out.getvalue()
    assert written
    del writer
    gc.collect()
    assert out.getvalue() == written
    assert seen == []
    with pytest.raises(pa.ArrowInvalid):
        (pq.read_table if fmt == "parquet" else pa.ipc.open_file)(pa.BufferReader(written))


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_a_writer_abandoned_after_its_file_closed_is_silent(
    fmt: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # phony -o FILE closes and deletes its temporary file when a run fails;
    # the writer, collected later, used to print a pyarrow traceback.
    seen = _unraisable(monkeypatch)
    with (tmp_path / "out.tmp").open("wb") as stream:
        writer = get_plugins().format(fmt).open(stream, ["a"], {ROWS_OPTION[fmt]: "2"})
        writer.write([["x", "y", "z"]])
    del writer
    gc.collect()
    assert seen == []


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_a_failed_write_adds_nothing_more(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _unraisable(monkeypatch)
    out = io.BytesIO()
    opener = get_plugins().format(fmt).open_typed
    assert opener is not None
    writer = opener(out, ["a"], ["int64"], {ROWS_OPTION[fmt]: "2"})
    before = out.getvalue()
    with pytest.raises(pa.ArrowInvalid):
        writer.write([["1", "x"]])
    del writer
    gc.collect()
    assert out.getvalue() == before
    assert seen == []


def _typed(schema_text: str, fmt: str, rows: int, written: int | None = None) -> Any:
    """The table as ``fmt`` stores it, typed for ``rows`` rows; ``written`` of them written."""
    schema = parse_schema(tomllib.loads(schema_text))
    by_name = {c.name: c for c in schema.columns}
    typed = [(by_name[n].type, by_name[n].generator) for n in schema.names]
    out = io.BytesIO()
    writer = open_writer(get_plugins().format(fmt), out, schema.names, {}, typed, rows=rows)
    for batch in generate_table(schema, rows if written is None else written, 3):
        writer.write(batch)
    writer.close()
    if fmt == "parquet":
        return pq.read_table(pa.BufferReader(out.getvalue()))
    return pa.ipc.open_file(pa.BufferReader(out.getvalue())).read_all()


EDGE = 2**63 - 2


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
@pytest.mark.parametrize(
    ("column", "rows", "arrow_type", "first"),
    [
        (f"start = {EDGE}", 2, "int64", EDGE),  # ends at 2**63 - 1
        (f"start = {EDGE}", 5, "string", str(EDGE)),
        (f"start = {-EDGE}\nstep = -1", 3, "int64", -EDGE),  # ends at -2**63
        (f"start = {-EDGE}\nstep = -1", 4, "string", str(-EDGE)),
        ("start = 1\nstep = 4611686018427387904", 2, "int64", 1),
        ("start = 1\nstep = 4611686018427387904", 3, "string", "1"),
        ("start = 5", 0, "int64", None),
    ],
)
def test_a_sequence_is_typed_by_its_range_like_an_integer(
    fmt: str, column: str, rows: int, arrow_type: str, first: object
) -> None:
    schema = f'[columns.s]\ntype = "sequence"\n{column}\n'
    table = _typed(schema, fmt, rows)
    assert str(table.schema.field("s").type) == arrow_type
    values = table.column("s").to_pylist()
    assert [str(v) for v in values] == _table(schema, "csv", rows).decode().splitlines()[1:]
    assert values[:1] == ([first] if rows else [])


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_a_partition_gets_the_type_of_the_whole_table(fmt: str) -> None:
    # The first two rows fit an int64; the table's five do not: so not the partition's.
    schema = f'[columns.s]\ntype = "sequence"\nstart = {EDGE}\n'
    table = _typed(schema, fmt, rows=5, written=2)
    assert str(table.schema.field("s").type) == "string"
    assert table.column("s").to_pylist() == [str(EDGE), str(EDGE + 1)]


def test_an_integer_column_past_int64_is_text() -> None:
    schema = f'[columns.i]\ntype = "integer"\nmin = {EDGE}\nmax = {2**63}\n'
    assert str(_typed(schema, "parquet", 3).schema.field("i").type) == "string"
    schema = f'[columns.i]\ntype = "integer"\nmin = {EDGE}\nmax = {2**63 - 1}\n'
    assert str(_typed(schema, "parquet", 3).schema.field("i").type) == "int64"


def test_a_sequence_typed_without_its_row_count_fails_as_one_clear_error() -> None:
    # A writer opened without the row count (rows=None) keeps a sequence int64;
    # a value past it is a generation error naming the column, not an internal one.
    schema = parse_schema(tomllib.loads(f'[columns.s]\ntype = "sequence"\nstart = {EDGE}\n'))
    typed = [("sequence", schema.columns[0].generator)]
    writer = open_writer(PARQUET, io.BytesIO(), ["s"], {"row_group_size": "1"}, typed)
    [batch] = generate_table(schema, 5, 3)
    message = f"column 's': {EDGE + 2} does not fit the 64-bit integers of a parquet int64 column"
    with pytest.raises(GenerationError, match=message):
        writer.write(batch)
