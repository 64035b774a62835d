"""The one atomic write (phony_registry._fs): whole or absent, durable, regular files only."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from unittest import mock

import pytest

from phony_registry import _fs
from phony_registry.errors import UsageError


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_write_atomic_replaces_and_flushes_file_and_folder(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "state.json"
    target.parent.mkdir()
    target.write_bytes(b"old")
    with mock.patch.object(os, "fsync", wraps=os.fsync) as fsync:
        _fs.write_atomic(target, b"new", mode=0o600)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert fsync.call_count == 2  # the data, then the folder holding the rename
    assert _listing(target.parent) == ["state.json"]


def test_a_failed_stream_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "blob"
    target.write_bytes(b"old")
    seen = []

    def fail() -> None:
        with _fs.atomic_writer(target, temp_prefix=".tmp-x-") as out:
            out.write(b"half")
            seen.extend(_listing(tmp_path))
            raise RuntimeError("the digest did not match")

    with pytest.raises(RuntimeError):
        fail()
    assert any(name.startswith(".tmp-x-") and name.endswith(".tmp") for name in seen)
    assert target.read_bytes() == b"old"
    assert _listing(tmp_path) == ["blob"]


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_only_regular_files_are_replaced(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind == "folder":
        target.mkdir()
    else:
        os.mkfifo(target)
    with pytest.raises(OSError, match="not replacing it"):
        _fs.write_atomic(target, b"x")
    assert _listing(tmp_path) == ["target"]


def test_a_symbolic_link_is_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"keep")
    link = tmp_path / "link"
    link.symlink_to(outside)
    _fs.write_atomic(link, b"new")
    assert not link.is_symlink()
    assert link.read_bytes() == b"new"
    assert outside.read_bytes() == b"keep"


def test_create_exclusive_never_replaces(tmp_path: Path) -> None:
    target = tmp_path / "keys" / "me.pem"
    assert _fs.create_exclusive(target, b"first", mode=0o600) is True
    assert _fs.create_exclusive(target, b"second", mode=0o600) is False
    assert target.read_bytes() == b"first"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    source = tmp_path / "source"
    source.write_bytes(b"from a file")
    assert _fs.create_exclusive(tmp_path / "copy", source) is True
    assert (tmp_path / "copy").read_bytes() == b"from a file"
    assert sorted(_listing(tmp_path)) == ["copy", "keys", "source"]
    assert _listing(target.parent) == ["me.pem"]


def test_create_exclusive_without_hard_links(tmp_path: Path) -> None:
    import errno

    refused = OSError(errno.EPERM, "hard links not supported")
    with mock.patch.object(os, "link", side_effect=refused):
        assert _fs.create_exclusive(tmp_path / "a", b"data") is True
        assert _fs.create_exclusive(tmp_path / "a", b"other") is False
    assert (tmp_path / "a").read_bytes() == b"data"
    assert _listing(tmp_path) == ["a"]


def test_a_cache_copy_skips_the_flushes(tmp_path: Path) -> None:
    target = tmp_path / "index.jsonl"
    with mock.patch.object(os, "fsync", wraps=os.fsync) as fsync:
        _fs.write_atomic(target, b"{}\n", durable=False)
    assert target.read_bytes() == b"{}\n"
    assert fsync.call_count == 0
    assert _listing(tmp_path) == ["index.jsonl"]


def test_read_capped_reads_up_to_the_limit_and_names_the_file_in_each_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(b"x" * 10)
    assert _fs.read_capped(path, 10, "--doc doc.json") == b"x" * 10
    with pytest.raises(UsageError, match=r"^--doc doc.json: larger than 9 bytes$"):
        _fs.read_capped(path, 9, "--doc doc.json")
    with pytest.raises(UsageError, match=r"^--doc gone.json: No such file or directory$"):
        _fs.read_capped(tmp_path / "gone.json", 10, "--doc gone.json")


@pytest.mark.parametrize("path", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_dev_stdout_writes_where_the_shell_is_writing(tmp_path: Path, path: str) -> None:
    # `(echo header; phony ... -o /dev/stdout; echo after) > f` must keep the
    # three in order, as `-o -` does: the output shares the shell's offset.
    import subprocess
    import sys

    out = tmp_path / "f.txt"
    write = (
        "from phony_registry._fs import open_output\n"
        f"with open_output({path!r}) as stream:\n"
        "    stream.write(b'one\\ntwo\\n')\n"
    )
    script = f'(echo header; "{sys.executable}" -c "$0"; echo after) > "{out}"'
    subprocess.run(["bash", "-c", script, write], check=True)
    assert out.read_text() == "header\none\ntwo\nafter\n"


def test_toml_text_drops_a_byte_order_mark_and_only_that() -> None:
    assert _fs.toml_text(b'\xef\xbb\xbfa = "\xc3\xa7"\n') == 'a = "\u00e7"\n'
    assert _fs.toml_text(b"a = 1\n") == "a = 1\n"
    with pytest.raises(UnicodeDecodeError):
        _fs.toml_text(b"\xef\xbb\xbf\xff")


def test_read_toml_names_a_folder_as_one(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r": is a folder, not a plan file$"):
        _fs.read_toml(tmp_path, "plan", missing=UsageError)
    with pytest.raises(UsageError, match=r"nope\.toml: no such plan file$"):
        _fs.read_toml(tmp_path / "nope.toml", "plan", missing=UsageError)
