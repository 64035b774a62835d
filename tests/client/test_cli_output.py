"""What ``-o PATH`` leaves behind: devices, FIFOs, links, modes and read-only folders.

``generate``, ``train`` and ``migrate`` write their output through one helper
(:mod:`phony_registry._fs`); these tests run the real commands in-process and
look at what is left on disk.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from phony_client.cli import main
from phony_registry import _fs

NAMES = "\n".join(["ali", "veli", "ayse", "fatma", "mehmet", "zeynep", "emre", "elif"]) + "\n"


@pytest.fixture
def model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    source = tmp_path / "names.txt"
    source.write_text(NAMES)
    target = tmp_path / "names.phony"
    assert main(["train", str(source), "--order", "3", "-o", str(target)]) == 0
    capsys.readouterr()
    return target


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _generate(model: Path, output: Path | str, *extra: str) -> int:
    return main(["generate", str(model), "-n", "5", "--seed", "1", "-o", str(output), *extra])


def _expected(model: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["generate", str(model), "-n", "5", "--seed", "1"]) == 0
    return capsys.readouterr().out


def _no_temporaries(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_new_file_gets_0666_less_the_umask(
    model: Path, tmp_path: Path, umask_022: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.txt"
    assert _generate(model, out) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert out.read_text() == _expected(model, capsys)
    old = os.umask(0o077)
    try:
        other = tmp_path / "private.txt"
        assert _generate(model, other) == 0
        assert stat.S_IMODE(other.stat().st_mode) == 0o600
    finally:
        os.umask(old)
    _no_temporaries(tmp_path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o664], ids=oct)
def test_an_existing_file_keeps_its_mode(
    model: Path, tmp_path: Path, umask_022: None, mode: int
) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old\n")
    out.chmod(mode)
    assert _generate(model, out) == 0
    assert stat.S_IMODE(out.stat().st_mode) == mode
    assert out.read_text() != "old\n"


def test_a_hard_linked_file_is_overwritten_in_place(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old\n")
    other = tmp_path / "other-name.txt"
    os.link(out, other)
    inode = out.stat().st_ino
    assert _generate(model, out) == 0
    expected = _expected(model, capsys)
    assert out.stat().st_ino == inode
    assert out.stat().st_nlink == 2
    assert other.read_text() == expected == out.read_text()
    _no_temporaries(tmp_path)


def test_a_symbolic_link_is_followed_and_kept(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "data" / "real.txt"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert _generate(model, link) == 0
    assert link.is_symlink()
    assert real.read_text() == _expected(model, capsys)
    _no_temporaries(tmp_path)
    _no_temporaries(real.parent)


def test_a_dangling_symbolic_link_creates_its_target(model: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "new.txt")
    assert _generate(model, link) == 0
    assert link.is_symlink()
    assert (tmp_path / "new.txt").read_text().count("\n") == 5


def test_a_fifo_with_a_waiting_reader_is_written_through(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with fifo.open("rb") as stream:
            received.append(stream.read())

    reader = threading.Thread(target=read)
    reader.start()
    code = _generate(model, fifo)
    reader.join(timeout=30)
    assert code == 0
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received == [_expected(model, capsys).encode()]
    _no_temporaries(tmp_path)


def test_a_character_device_is_opened_not_replaced(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root the old code replaced /dev/null with a regular file; make any
    # rename fail loudly so this test can never do that to the machine.
    def refuse(self: Path, target: object) -> None:
        raise AssertionError(f"renamed {self} over {target}")

    monkeypatch.setattr(Path, "replace", refuse)
    before = Path("/dev/null").stat()
    assert _generate(model, "/dev/null") == 0
    after = Path("/dev/null").stat()
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_dev_stdout_writes_to_the_process_stdout(model: Path, tmp_path: Path) -> None:
    # A subprocess, so /dev/stdout is a real pipe; redirected to a regular
    # file it must still be written through, not renamed over.
    out = tmp_path / "captured.txt"
    from tests.conftest import phony_command

    with out.open("wb") as stream:
        done = subprocess.run(
            [
                *phony_command(),
                "generate",
                str(model),
                "-n",
                "3",
                "--seed",
                "4",
                "-o",
                "/dev/stdout",
            ],
            stdout=stream,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert out.read_text().count("\n") == 3
    piped = subprocess.run(
        [*phony_command(), "generate", str(model), "-n", "3", "--seed", "4", "-o", "/dev/stdout"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert piped.stdout == out.read_text()


def test_a_folder_is_refused_by_name(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["migrate", str(model), "-o", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{folder}' is a directory" in err
    assert list(folder.iterdir()) == []
    from phony_registry.errors import UsageError

    with pytest.raises(UsageError, match=f"^{folder} is a folder: give a file name to write$"):
        _fs.write_output(folder, b"x")
    assert list(folder.iterdir()) == []


def test_a_failed_run_leaves_the_old_file(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.txt"
    out.write_text("keep me\n")
    assert _generate(model, out, "--format", "nope") == 2
    assert main(["generate", str(model), "-n", "100000", "--unique", "-o", str(out)]) == 6
    assert out.read_text() == "keep me\n"
    _no_temporaries(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_names_the_users_path(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    existing = folder / "existing.txt"
    existing.write_text("old\n")
    folder.chmod(0o555)
    try:
        assert _generate(model, folder / "new.txt") == 1
        err = capsys.readouterr().err
        assert err == f"error: cannot write {folder / 'new.txt'}: permission denied\n"
        assert ".tmp" not in err
        # An existing, writable file in that folder is overwritten in place.
        assert _generate(model, existing) == 0
        assert existing.read_text() == _expected(model, capsys)
        assert sorted(p.name for p in folder.iterdir()) == ["existing.txt"]
    finally:
        folder.chmod(0o755)


def test_a_read_only_folder_as_another_user(model: Path, tmp_path: Path) -> None:
    """The same check when the tests run as root (CI): run phony as nobody."""
    if os.geteuid() != 0:
        pytest.skip("covered by test_a_read_only_folder_names_the_users_path")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is not installed")
    from tests.conftest import phony_command

    folder = tmp_path / "ro"
    folder.mkdir()
    existing = folder / "existing.txt"
    existing.write_text("old\n")
    existing.chmod(0o666)
    shutil.copy(model, folder / "m.phony")
    (folder / "m.phony").chmod(0o644)
    for parent in [folder, *folder.parents]:
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o005)
    folder.chmod(0o555)
    command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *phony_command()]
    env = {**os.environ, "PHONY_CACHE_DIR": str(tmp_path / "c"), "HOME": str(tmp_path)}
    model_path = str(folder / "m.phony")
    new = subprocess.run(
        [*command, "generate", model_path, "-n", "2", "--seed", "1", "-o", str(folder / "n.txt")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if "Permission denied" in new.stderr and "python" in new.stderr.lower():
        pytest.skip("the virtual environment is not readable by nobody")
    assert new.returncode == 1, new.stderr
    assert new.stderr == f"error: cannot write {folder / 'n.txt'}: permission denied\n"
    old = subprocess.run(
        [*command, "generate", model_path, "-n", "2", "--seed", "1", "-o", str(existing)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert old.returncode == 0, old.stderr
    assert existing.read_text().count("\n") == 2
    assert sorted(p.name for p in folder.iterdir()) == ["existing.txt", "m.phony"]


def test_train_and_migrate_write_through_the_same_rules(
    model: Path, tmp_path: Path, umask_022: None, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "names.txt"
    out = tmp_path / "trained.phony"
    out.write_bytes(b"old")
    out.chmod(0o640)
    link = tmp_path / "link.phony"
    link.symlink_to(out)
    assert main(["train", str(source), "--order", "3", "-o", str(link)]) == 0
    assert link.is_symlink()
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert main(["migrate", str(model), "-o", "/dev/null"]) == 0
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)
    assert "already at format version 2" in capsys.readouterr().err


def test_state_files_keep_their_explicit_mode(tmp_path: Path, umask_022: None) -> None:
    secret = tmp_path / "sub" / "credentials.toml"
    _fs.write_atomic(secret, b"token", mode=0o600)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    plain = tmp_path / "plain"
    _fs.write_atomic(plain, b"x")
    assert stat.S_IMODE(plain.stat().st_mode) == 0o644
    _no_temporaries(tmp_path)


@pytest.mark.parametrize(("sig", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interrupted_run_leaves_the_old_file_and_no_temporary(
    model: Path, tmp_path: Path, sig: str, code: int
) -> None:
    import signal
    import time

    from tests.conftest import phony_command

    out = tmp_path / "out.txt"
    out.write_text("keep me\n")
    process = subprocess.Popen(
        [
            *phony_command(),
            "generate",
            str(model),
            "-n",
            "4000000000",
            "--seed",
            "1",
            "-o",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until the output is being written (its temporary file exists).
    deadline = time.monotonic() + 30
    while not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]:
        assert time.monotonic() < deadline, "generation never started"
        time.sleep(0.05)
    process.send_signal(getattr(signal, sig))
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "Traceback" not in err
    assert out.read_text() == "keep me\n"
    _no_temporaries(tmp_path)
