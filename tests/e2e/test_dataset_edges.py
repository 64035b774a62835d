"""Datasets at their edges: rewriting one, odd destinations, many partitions, Dask failures.

What a user sees from ``phony generate ... -o DEST/``: the files left in the
folder (names and bytes), the exit code and the one ``error:`` line. Tables
come from inline ``--column`` schemas, so no model needs installing. The Dask
tests share one LocalCluster of two worker processes on 127.0.0.1, reached
with ``--scheduler``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phony_registry import dataset
from phony_registry.dataset import (
    MAX_PARTITIONS,
    default_partitions,
    partition,
    partitions,
    write_dataset,
    write_partition,
)
from phony_registry.schema import load_schema
from tests.conftest import phony_command
from tests.e2e.conftest import S3Endpoint

pytestmark = [pytest.mark.e2e]

COLUMNS = ["--column", "id=sequence", "--column", "age=integer:min=18:max=90"]


def phony(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``phony ARGS`` in a subprocess, as a user runs it."""
    return subprocess.run(
        [*phony_command(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def table(*args: str, count: int = 600, seed: int = 1, fmt: str = "csv") -> list[str]:
    """``phony generate`` arguments for the inline two-column table."""
    return [
        "generate",
        *COLUMNS,
        "--count",
        str(count),
        "--seed",
        str(seed),
        "--format",
        fmt,
        *args,
    ]


def files(folder: Path) -> dict[str, bytes]:
    """Every entry of ``folder`` (hidden ones too) and its bytes; a folder maps to b""."""
    return {p.name: b"" if p.is_dir() else p.read_bytes() for p in sorted(folder.iterdir())}


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failure ends with; stderr must hold nothing else that looks like a trace."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "no error line"
    assert lines[-1].startswith("error: "), result.stderr
    return lines[-1]


@pytest.fixture
def columns_schema(tmp_path: Path) -> Path:
    path = tmp_path / "t.toml"
    path.write_text(
        '[columns.id]\ntype = "sequence"\n[columns.age]\ntype = "integer"\nmin = 18\nmax = 90\n',
        "utf-8",
    )
    return path


# --- rewriting a dataset ------------------------------------------------------------------


def test_a_rewrite_with_fewer_partitions_replaces_the_dataset(tmp_path: Path) -> None:
    dest = tmp_path / "st"
    assert phony(*table("--partitions", "6", "-o", f"{dest}/")).returncode == 0
    assert len(files(dest)) == 6
    (dest / "README.md").write_text("mine")
    (dest / "part-1.csv").write_text("not a phony part name")
    (dest / "sub").mkdir()
    result = phony(*table("--partitions", "3", "-o", f"{dest}/", count=300, seed=2))
    assert result.returncode == 0, result.stderr
    fresh = tmp_path / "fresh"
    assert phony(*table("--partitions", "3", "-o", f"{fresh}/", count=300, seed=2)).returncode == 0
    expected = files(fresh)
    assert list(expected) == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    assert files(dest) == {
        **expected,
        "README.md": b"mine",
        "part-1.csv": b"not a phony part name",
        "sub": b"",
    }
    rows = b"".join(data.split(b"\n", 1)[1] for data in expected.values())
    assert rows.count(b"\n") == 300


def test_a_rewrite_in_another_format_removes_the_old_parts(tmp_path: Path) -> None:
    dest = tmp_path / "ds"
    assert phony(*table("--partitions", "4", "-o", f"{dest}/")).returncode == 0
    assert phony(*table("--partitions", "2", "-o", f"{dest}/", fmt="jsonl")).returncode == 0
    assert list(files(dest)) == ["part-00000.jsonl", "part-00001.jsonl"]


def test_a_failed_rewrite_leaves_the_old_dataset_whole(
    columns_schema: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = load_schema(columns_schema)
    dest = tmp_path / "ds"
    args = {"count": 90, "seed": 1, "parts": 3, "format_name": "csv"}
    write_dataset(schema, str(dest), **args)
    before = files(dest)
    assert len(before) == 3

    rows = dataset._rows

    def third_fails(schema: object, part: dataset.Partition, *rest: object) -> object:
        if part.index == 2:
            raise OSError(28, "No space left on device")
        return rows(schema, part, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(dataset, "_rows", third_fails)
    with pytest.raises(Exception, match=r"partition 2 .* No space left on device"):
        write_dataset(schema, str(dest), **{**args, "seed": 2})
    assert files(dest) == before  # parts 0 and 1 of seed 2 never replaced the old ones


@pytest.mark.parametrize("engine", [(), ("--engine", "dask")], ids=["local", "dask"])
def test_a_second_run_into_a_folder_being_written_is_refused(
    engine: tuple[str, ...], columns_schema: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine:
        pytest.importorskip("distributed")
    schema = load_schema(columns_schema)
    dest = tmp_path / "ds"
    args = {"count": 90, "seed": 1, "parts": 3, "format_name": "csv"}
    rows = dataset._rows
    second: list[subprocess.CompletedProcess[str]] = []

    def meanwhile(schema: object, part: dataset.Partition, *rest: object) -> object:
        if part.index == 1 and not second:  # partition 0 written, under its temporary name
            second.append(phony(*table(*engine, "--partitions", "2", "-o", f"{dest}/", seed=2)))
        return rows(schema, part, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(dataset, "_rows", meanwhile)
    write_dataset(schema, str(dest), **args)  # the first run ends well
    assert second[0].returncode == 2, second[0].stderr
    assert error_line(second[0]) == (
        f"error: -o {dest}/: another phony run is writing this dataset now; "
        "run again when it has finished"
    )
    monkeypatch.undo()
    write_dataset(schema, str(tmp_path / "alone"), **args)
    assert files(dest) == files(tmp_path / "alone")


def test_a_rewrite_that_cannot_put_a_part_in_place_changes_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "ds"
    assert phony(*table("--partitions", "3", "-o", f"{dest}/")).returncode == 0
    (dest / "part-00004.csv").mkdir()  # in the way of the next run's fifth part
    before = files(dest)
    result = phony(*table("--partitions", "5", "-o", f"{dest}/", seed=2))
    assert result.returncode == 1
    assert "part-00004.csv" in error_line(result)
    assert files(dest) == before


@pytest.mark.s3
def test_an_s3_rewrite_replaces_the_dataset(
    columns_schema: Path, s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in s3_endpoint.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint.url)
    schema = load_schema(columns_schema)
    bucket = s3_endpoint.new_bucket("phony-rewrite")
    client = s3_endpoint.client()
    client.put_object(Bucket=bucket, Key="ds/README.md", Body=b"mine")  # type: ignore[attr-defined]

    def keys() -> list[str]:
        listed = client.list_objects_v2(Bucket=bucket, Prefix="ds/")  # type: ignore[attr-defined]
        # (pyarrow keeps an emptied "ds/" as a folder marker object, which readers skip)
        return sorted(i["Key"] for i in listed.get("Contents", []) if i["Key"] != "ds/")

    args = {"count": 100, "format_name": "csv"}
    write_dataset(schema, f"s3://{bucket}/ds/", seed=1, parts=5, **args)
    assert len(keys()) == 6
    write_dataset(schema, f"s3://{bucket}/ds/", seed=2, parts=2, **args)
    assert keys() == ["ds/README.md", "ds/part-00000.csv", "ds/part-00001.csv"]
    body = client.get_object(Bucket=bucket, Key="ds/part-00001.csv")["Body"].read()  # type: ignore[attr-defined]
    assert body.count(b"\n") == 1 + 50


# --- many partitions, default partitions ---------------------------------------------------


def test_a_partition_is_found_in_constant_time(columns_schema: Path, tmp_path: Path) -> None:
    for count, parts in [(10, 3), (2, 4), (1_000_003, 977), (MAX_PARTITIONS, MAX_PARTITIONS)]:
        every = partitions(count, parts)
        for index in {0, 1 % parts, parts // 2, parts - 1}:
            assert partition(count, parts, index) == every[index]
    schema = load_schema(columns_schema)
    dest = tmp_path / "ds"
    started = time.monotonic()
    for index in range(0, MAX_PARTITIONS, MAX_PARTITIONS // 100):  # 100 of 100,000 partitions
        write_partition(
            schema,
            str(dest),
            count=MAX_PARTITIONS,
            seed=1,
            parts=MAX_PARTITIONS,
            index=index,
            format_name="csv",
        )
    assert time.monotonic() - started < 8  # about 0.2 s each when the whole list was built
    assert (dest / "part-99000.csv").read_bytes().count(b"\n") == 2


def test_the_default_partitions_depend_on_the_count_only() -> None:
    assert [default_partitions(n) for n in (0, 1, 1_000_000, 1_000_001, 10**12)] == [
        1,
        1,
        1,
        2,
        MAX_PARTITIONS,
    ]


# --- Dask ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A LocalCluster of two single-threaded worker processes on 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # 8787 may be another cluster's
    ) as local:
        yield local.scheduler_address


@pytest.mark.slow  # a cluster of two worker processes
def test_dask_writes_the_default_partitions_of_the_local_engine(
    scheduler: str, tmp_path: Path
) -> None:
    here, there = tmp_path / "here", tmp_path / "dask"
    assert phony(*table("-o", f"{here}/", count=100)).returncode == 0
    result = phony(
        *table("--engine", "dask", "--scheduler", scheduler, "-o", f"{there}/", count=100)
    )
    assert result.returncode == 0, result.stderr
    assert list(files(here)) == ["part-00000.csv"]
    assert files(there) == files(here)


@pytest.mark.slow
def test_a_dask_rewrite_replaces_the_dataset(scheduler: str, tmp_path: Path) -> None:
    dest, fresh = tmp_path / "ds", tmp_path / "fresh"
    dask = ["--engine", "dask", "--scheduler", scheduler]
    assert phony(*table(*dask, "--partitions", "6", "-o", f"{dest}/")).returncode == 0
    result = phony(*table(*dask, "--partitions", "3", "-o", f"{dest}/", count=300, seed=2))
    assert result.returncode == 0, result.stderr
    assert phony(*table("--partitions", "3", "-o", f"{fresh}/", count=300, seed=2)).returncode == 0
    assert files(dest) == files(fresh)


# --- where -o points ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from phony_registry.format import save_model
    from phony_registry.ngram import read_values, train

    path = tmp_path_factory.mktemp("model") / "names.phony"
    sample = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"
    save_model(train(read_values(sample), name="names", order=3, kind="first_name"), path)
    return path


def test_a_model_to_a_folder_names_the_folder(model_file: Path, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    for target in (str(tmp_path / "d"), f"{tmp_path}/d/"):
        result = phony("generate", str(model_file), "--count", "3", "-o", target)
        assert result.returncode == 2
        line = error_line(result)
        assert f"-o {target} " in line
        assert "values.txt" in line  # what to give instead
    assert list((tmp_path / "d").iterdir()) == []


@pytest.mark.parametrize("schema", [True, False], ids=["schema", "model"])
def test_an_empty_output_path_is_its_own_error(
    schema: bool, model_file: Path, tmp_path: Path
) -> None:
    source = COLUMNS if schema else [str(model_file)]
    result = phony("generate", *source, "--count", "3", "-o", "")
    assert result.returncode == 2
    assert error_line(result).startswith("error: -o needs a path")


@pytest.mark.parametrize("exists", [False, True], ids=["new", "existing-file"])
def test_partitions_to_a_file_name_is_refused(exists: bool, tmp_path: Path) -> None:
    target = tmp_path / "file.csv"
    if exists:
        target.write_text("keep me")
    result = phony(*table("--partitions", "2", "-o", str(target)))
    assert result.returncode == 2
    line = error_line(result)
    assert f"-o {target}" in line
    assert "-o DEST/" in line or f"-o {target}/" in line
    assert (target.read_text() == "keep me") if exists else not target.exists()


def test_a_dataset_in_place_of_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file.csv").write_text("keep me")
    result = phony(*table("-o", f"{tmp_path}/file.csv/"))
    assert result.returncode == 2
    assert "is a file, not a folder" in error_line(result)
    result = phony(*table("-o", f"{tmp_path}/file.csv/sub/"))
    assert result.returncode == 1
    assert error_line(result) == f"error: Not a directory: {tmp_path}/file.csv/sub/"
    assert files(tmp_path) == {"file.csv": b"keep me"}


def test_an_unknown_storage_protocol_is_a_usage_error() -> None:
    result = phony(*table("-o", "nosuchproto://b/x/"))
    assert result.returncode == 2
    assert error_line(result) == (
        "error: -o nosuchproto://b/x/: unknown storage protocol nosuchproto:// "
        "(s3://, gs://, abfs://... or a local folder)"
    )


def test_a_missing_filesystem_package_is_named() -> None:
    pytest.importorskip("fsspec")
    if __import__("importlib").util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed here")
    result = phony(*table("-o", "gs://b/x/"))
    assert result.returncode == 2
    assert error_line(result) == (
        "error: -o gs://b/x/ needs gcsfs, which is not installed: pip install gcsfs"
    )


# --- Dask: the scheduler address, failures, Ctrl-C -----------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "garbage",
        "",
        "http://127.0.0.1:1",
        "tcp://127.0.0.1",
        "tcp://127.0.0.1:99999",
        "inproc://x:1",
    ],
    ids=["word", "empty", "http", "no-port", "big-port", "inproc"],
)
def test_a_malformed_scheduler_address_is_a_usage_error(address: str, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    started = time.monotonic()
    result = phony(*table("--engine", "dask", "--scheduler", address, "-o", f"{tmp_path}/ds/"))
    assert result.returncode == 2
    assert error_line(result).startswith("error: --scheduler ")
    assert time.monotonic() - started < 20
    assert not (tmp_path / "ds").exists()


@pytest.fixture
def not_a_scheduler(request: pytest.FixtureRequest) -> Iterator[str]:
    """tcp://127.0.0.1:PORT where nothing listens, or a socket that accepts and then
    says nothing, or answers as an HTTP server would."""
    import socket
    import threading

    from tests.e2e.conftest import free_port

    if request.param == "refused":
        yield f"tcp://127.0.0.1:{free_port()}"
        return
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
            if request.param == "http":
                conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for conn in accepted:
            conn.close()


@pytest.mark.parametrize("not_a_scheduler", ["refused", "silent", "http"], indirect=True)
def test_an_unreachable_scheduler_is_one_line_within_seconds(
    not_a_scheduler: str, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    started = time.monotonic()
    result = phony(
        *table("--engine", "dask", "--scheduler", not_a_scheduler, "-o", f"{tmp_path}/ds/"),
        timeout=60,
    )
    assert time.monotonic() - started < 20  # the connection timeout is 5 s
    assert result.returncode == 1, result.stderr
    assert error_line(result).startswith(
        f"error: cannot reach the Dask scheduler at {not_a_scheduler}: "
    )
    assert not list((tmp_path / "ds").glob("*")) if (tmp_path / "ds").exists() else True


@pytest.mark.slow  # starts phony's own LocalCluster when the check does not stop it first
def test_a_destination_under_a_file_fails_before_dask_starts(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    (tmp_path / "afile").write_text("keep me")
    started = time.monotonic()
    result = phony(*table("--engine", "dask", "-o", f"{tmp_path}/afile/sub/", count=100))
    assert result.returncode == 1
    assert error_line(result) == f"error: Not a directory: {tmp_path}/afile/sub/"
    assert "distributed" not in result.stderr
    assert time.monotonic() - started < 20


@pytest.mark.slow
def test_a_failed_partition_on_dask_is_one_line_naming_it(scheduler: str, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("keep me")
    dest = f"{tmp_path}/afile/sub/"  # the client leaves a remote cluster's paths to its workers
    result = phony(
        *table("--engine", "dask", "--scheduler", scheduler, "--partitions", "2", "-o", dest)
    )
    assert result.returncode == 1
    line = error_line(result)
    assert line.startswith("error: partition ")
    assert line.endswith(f" of {dest} could not be written: Not a directory")
    assert "distributed" not in result.stderr


@pytest.mark.slow  # phony's own LocalCluster
def test_a_failure_on_phonys_own_cluster_is_quiet_and_changes_nothing(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    dest = tmp_path / "ds"
    dest.mkdir()
    (dest / "part-00001.csv").mkdir()  # in the way of the second partition's file
    result = phony(*table("--engine", "dask", "--partitions", "2", "-o", f"{dest}/"))
    assert result.returncode == 1
    assert error_line(result) == f"error: Is a directory: {dest}/part-00001.csv"
    assert "distributed" not in result.stderr
    assert "Compute Failed" not in result.stderr
    assert files(dest) == {"part-00001.csv": b""}


def _alive_in_group(group: int) -> list[str]:
    """Processes of process group ``group`` still running (zombies aside)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(entry.name)
    return alive


@pytest.mark.slow  # phony's own LocalCluster
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_ctrl_c_on_dask_is_prompt_and_leaves_nothing(tmp_path: Path) -> None:
    import os
    import signal

    pytest.importorskip("distributed")
    dest = tmp_path / "ds"
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "phony_client",
            *table("--engine", "dask", "--partitions", "40", "-o", f"{dest}/", count=40_000_000),
        ],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a group of its own, as a terminal's foreground job
    ) as process:
        try:
            assert process.stderr is not None
            assert "partitions on Dask" in process.stderr.readline()
            time.sleep(1)  # the workers are writing
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
            interrupted = time.monotonic()
            rest = process.stderr.read()
            code = process.wait(timeout=30)
            took = time.monotonic() - interrupted
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert code == 130
    assert [line for line in rest.splitlines() if line.strip()] == ["error: interrupted"]
    assert took < 5
    time.sleep(0.5)
    assert _alive_in_group(process.pid) == []
    assert not dest.exists() or list(dest.iterdir()) == []
