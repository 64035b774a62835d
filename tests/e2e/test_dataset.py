"""Datasets of partitions: one process, a Dask LocalCluster of 2 workers, a folder and S3.

The same (schema, count, seed, partitions) must give the same files, byte for
byte, whoever writes them: this process, Dask workers in any number and
order, to a local folder or to moto's S3 server on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from phony_registry.dataset import partitions, write_dataset, write_partition
from phony_registry.format import save_model
from phony_registry.ngram import read_values, train
from phony_registry.schema import load_schema
from tests.e2e.conftest import S3Endpoint

pytestmark = [pytest.mark.e2e]
pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "examples" / "tr_first_names.txt"
COUNT, SEED, PARTS = 50_000, 11, 5


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("schema")
    save_model(
        train(read_values(SAMPLE), name="names", order=3, kind="first_name"),
        folder / "names.phony",
    )
    path = folder / "people.toml"
    path.write_text(
        """
[columns.id]
type = "sequence"
[columns.first_name]
type = "ngram"
model = "names.phony"
[columns.age]
type = "integer"
min = 18
max = 90
[columns.born]
type = "date"
start = "1950-01-01"
end = "2005-12-31"
""",
        "utf-8",
    )
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_partitions_cover_the_rows_in_order() -> None:
    parts = partitions(10, 3)
    assert [(p.start, p.stop) for p in parts] == [(0, 3), (3, 6), (6, 10)]
    assert [p.rows for p in partitions(2, 4)] == [0, 1, 0, 1]


def test_one_process_dataset_holds_the_single_file_rows(schema_file: Path, tmp_path: Path) -> None:
    run = [sys.executable, "-m", "phony_client", "generate", "--schema", str(schema_file)]
    common = ["--count", str(COUNT), "--seed", str(SEED), "--format", "parquet"]
    subprocess.run([*run, *common, "-o", str(tmp_path / "single.parquet")], check=True)
    result = subprocess.run(
        [*run, *common, "-o", f"{tmp_path}/ds/", "--partitions", str(PARTS)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "wrote 50,000 rows in 5 files (part-00000.parquet to part-00004.parquet)" in (
        result.stderr
    )
    names = [p.name for p in sorted((tmp_path / "ds").iterdir())]
    assert names == [f"part-{i:05d}.parquet" for i in range(PARTS)]
    single = pq.read_table(tmp_path / "single.parquet")
    parts = duckdb.sql(
        f"select * from read_parquet('{tmp_path}/ds/*.parquet', filename=true) "  # noqa: S608 - a test's own folder
        "order by filename, id"
    ).fetchall()
    assert [row[:4] for row in parts] == [tuple(r.values()) for r in single.to_pylist()]


def test_a_retried_partition_rewrites_the_same_file(schema_file: Path, tmp_path: Path) -> None:
    schema = load_schema(schema_file)
    args = {"count": 1000, "seed": 1, "parts": 4, "format_name": "csv"}
    write_partition(schema, str(tmp_path), index=2, **args)
    first = _files(tmp_path)
    write_partition(schema, str(tmp_path), index=2, **args)  # what a retried task does
    assert _files(tmp_path) == first
    assert list(first) == ["part-00002.csv"]
    assert first["part-00002.csv"].count(b"\n") == 1 + 250  # a header and its rows, once


def test_a_failed_partition_leaves_no_file(
    schema_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phony_registry import dataset

    def broken(*_: object) -> Iterator[list[list[str]]]:
        yield [["1"], ["a"], ["20"], ["2000-01-01"]]
        raise OSError("disk gone")

    monkeypatch.setattr(dataset, "_rows", broken)
    with pytest.raises(OSError, match="disk gone"):
        write_partition(
            load_schema(schema_file),
            str(tmp_path),
            count=10,
            seed=1,
            parts=1,
            index=0,
            format_name="parquet",
        )
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def cluster(s3_endpoint: S3Endpoint) -> Iterator[str]:
    """A LocalCluster of 2 worker processes whose environment reaches the S3 endpoint,
    as a real cluster's workers hold their own AWS settings."""
    distributed = pytest.importorskip("distributed")
    with pytest.MonkeyPatch.context() as env:
        for key, value in s3_endpoint.env.items():
            env.setenv(key, value)
        env.setenv("AWS_ENDPOINT_URL", s3_endpoint.url)
        with distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",  # 8787 may be another cluster's
        ) as local:
            yield local.scheduler_address


@pytest.mark.slow  # a cluster of two worker processes: about 20 s
@pytest.mark.s3
def test_dask_on_two_workers_writes_the_same_bytes_to_a_folder_and_s3(
    schema_file: Path,
    tmp_path: Path,
    cluster: str,
    s3_endpoint: S3Endpoint,
) -> None:
    from phony_registry.dask_engine import run_on_dask

    schema = load_schema(schema_file)
    args = {"count": COUNT, "seed": SEED, "format_name": "parquet"}
    write_dataset(schema, str(tmp_path / "here"), parts=PARTS, **args)
    expected = _files(tmp_path / "here")
    assert len(expected) == PARTS

    seen: list[tuple[int, int]] = []
    run = run_on_dask(
        schema,
        str(tmp_path / "dask"),
        parts=PARTS,
        scheduler=cluster,
        progress=lambda done, total: seen.append((done, total)),
        **args,
    )
    assert run.workers == 2
    assert run.rows == COUNT
    assert seen[-1] == (PARTS, PARTS)
    assert _files(tmp_path / "dask") == expected

    bucket = s3_endpoint.new_bucket("phony-dataset")
    run_on_dask(schema, f"s3://{bucket}/people/", parts=PARTS, scheduler=cluster, **args)
    client = s3_endpoint.client()
    listed = client.list_objects_v2(Bucket=bucket, Prefix="people/")  # type: ignore[attr-defined]
    # (pyarrow keeps a "people/" folder marker object once it has deleted one, as the
    # commit of the dataset's temporary objects does; readers skip it)
    keys = sorted(item["Key"] for item in listed["Contents"] if item["Key"] != "people/")
    assert keys == [f"people/{name}" for name in expected]
    for name, data in expected.items():
        body = client.get_object(Bucket=bucket, Key=f"people/{name}")["Body"].read()  # type: ignore[attr-defined]
        assert body == data


@pytest.mark.slow  # the CLI starts its own LocalCluster: about 10 s
def test_dask_cli_with_its_own_local_cluster(schema_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    schema = load_schema(schema_file)
    write_dataset(
        schema, str(tmp_path / "here"), count=20_000, seed=3, parts=3, format_name="arrow"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "phony_client",
            "generate",
            "--schema",
            str(schema_file),
            "--count",
            "20000",
            "--seed",
            "3",
            "--format",
            "arrow",
            "--engine",
            "dask",
            "--partitions",
            "3",
            "-o",
            f"{tmp_path}/dask/",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 20,000 rows in 3 files" in result.stderr
    assert _files(tmp_path / "dask") == _files(tmp_path / "here")
