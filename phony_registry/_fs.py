"""Files: the one atomic write, the one way to write a user's output path, one TOML reader,
one reader of a capped user-named file.

Two kinds of file, two rules:

* **State** phony keeps for itself (the cache, config, credentials, keys,
  a registry folder) is written in one way whatever the file, durable and
  all-or-nothing: a temporary file in the same folder, its data flushed to
  disk (``fsync``), renamed over the target, and the folder flushed so the
  rename itself survives a crash. A reader never sees half a file, and
  after a power cut the file holds either the old or the new content.

  - :func:`write_atomic` replaces a file with bytes;
  - :func:`atomic_writer` does the same for content streamed in pieces (a
    downloaded blob, checked before it is committed);
  - :func:`create_exclusive` creates a file only if nothing is at that path
    yet (an immutable registry object, a private key), complete or not at all.

  ``durable=False`` skips the two flushes (still all-or-nothing for
  readers while the machine runs) for copies whose originals are elsewhere:
  the cache's registry metadata, ETags and refs, which a pull writes several
  of (each flush costs a few milliseconds) and which ``phony cache rm`` and
  a new pull replace. Blobs in the cache, and everything else, are durable.

  Only regular files are written this way: a folder, device or FIFO at the
  target is an error (a symbolic link is replaced, never followed). The mode
  is explicit (``0o600`` for secrets, from the moment the file exists) or,
  by default, what ``open()`` would give: ``0o666`` less the umask.

* **Output** a user names with ``-o PATH`` (``generate``, ``train``,
  ``migrate``): :func:`open_output` behaves like a shell redirection that
  is atomic where that is possible, and does what a user expects where it is
  not:

  - a character device, a FIFO, a socket or ``/dev/stdout`` is opened and
    written through, never replaced (``-o /dev/null`` stays the device);
  - a symbolic link is followed: the file it points to is written, the
    link stays;
  - a regular file is written to a temporary file beside it and renamed
    over it when writing succeeded, so a failed run leaves the old file
    untouched. A new file gets ``0o666`` less the umask, an existing file
    keeps its mode (and its owner, where the process may set it);
  - a regular file with more than one hard link is overwritten in place,
    as ``>`` and ``cp`` do, so every name sees the new content. The output
    is staged in a temporary file first and copied in only when it is
    complete, so a failed run still leaves the file untouched; only an I/O
    error during the copy itself could leave it partly written.
  - an existing file in a folder phony may not create files in is
    overwritten in place the same way (staged in the system's temporary
    folder).

Errors name the user's path, never a temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from phony_registry.errors import PhonyError, UsageError, ValidationError

__all__ = [
    "MAX_TOML",
    "atomic_writer",
    "create_exclusive",
    "fsync_folder",
    "loads_toml",
    "not_a_file",
    "open_output",
    "read_capped",
    "read_toml",
    "read_toml_text",
    "toml_text",
    "write_atomic",
    "write_output",
]

#: Paths that stand for an open file of the process rather than a file on disk.
_PROCESS_PATHS = ("/dev/", "/proc/")
_STANDARD_STREAMS = {"/dev/stdout": 1, "/dev/stderr": 2}
_COPY_CHUNK = 1 << 20


def write_atomic(
    path: str | os.PathLike[str], data: bytes, *, mode: int | None = None, durable: bool = True
) -> None:
    """Replace ``path`` with ``data``, durably and all at once (see the module docs).

    ``mode`` is set on the new file from the start (``0o600`` for secrets:
    the content is never readable by others, not even while being written);
    ``None`` gives what ``open()`` would give, ``0o666`` less the umask.
    The folder is created when missing.
    """
    with atomic_writer(path, mode=mode, durable=durable) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str],
    *,
    mode: int | None = None,
    temp_prefix: str | None = None,
    durable: bool = True,
) -> Iterator[BinaryIO]:
    """A stream whose content replaces ``path`` when the ``with`` block ends without error.

    The content goes to a temporary file beside ``path`` (named
    ``temp_prefix`` + random + ``.tmp`` if given, so a caller can recognise
    its own leftovers); an exception inside the block removes it and leaves
    ``path`` as it was. On success the file is flushed to disk, given
    ``mode``, renamed over ``path`` and the folder flushed.
    """
    target = Path(path)
    _check_regular(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = _create_temp(
        target.parent, target.name, 0o666 if mode is None else mode, temp_prefix
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if mode is not None:
            temp.chmod(mode)  # the umask may have taken bits the caller asked for
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_folder(target.parent)


def create_exclusive(
    path: str | os.PathLike[str], source: bytes | os.PathLike[str], *, mode: int | None = None
) -> bool:
    """Create ``path`` holding ``source`` (bytes, or a file to copy) only if it does not exist.

    Returns True if this call created it, False if something was already
    there (left alone). The content is written and flushed in full to a
    temporary file first and then hard-linked to ``path``, so no one ever
    sees a partial file at ``path``; where the file system has no hard
    links, ``path`` is created exclusively and filled from the complete
    temporary file.
    """
    target = Path(path)
    if os.path.lexists(target):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = _create_temp(target.parent, target.name, 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(source, bytes):
                handle.write(source)
            else:
                with open(source, "rb") as src:
                    shutil.copyfileobj(src, handle, _COPY_CHUNK)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            temp.chmod(mode)
        try:
            os.link(temp, target)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # No hard links here (some network shares): an exclusive create of
            # the final name, filled from the complete temporary file.
            if not _copy_exclusive(temp, target, 0o666 if mode is None else mode):
                return False
    finally:
        temp.unlink(missing_ok=True)
    fsync_folder(target.parent)
    return True


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Flush a folder's entries to disk, so a rename or link in it survives a crash."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not possible here (some platforms cannot open a folder): best effort
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the data itself is flushed
    finally:
        os.close(fd)


def _copy_exclusive(temp: Path, target: Path, mode: int) -> bool:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as out, open(temp, "rb") as src:
        shutil.copyfileobj(src, out, _COPY_CHUNK)
        out.flush()
        os.fsync(out.fileno())
    return True


def _check_regular(target: Path) -> None:
    """Refuse to replace anything but a regular file or a symbolic link."""
    try:
        st = target.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise OSError(errno.EEXIST, f"{target} is {kind}; not replacing it")


#: The largest TOML file phony reads (config, credentials, lockfile, schema, pack):
#: a lockfile or schema comes with a repository, and is read whole.
MAX_TOML = 16 << 20


def loads_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads``, with every way TOML text can be refused a ``TOMLDecodeError``.

    tomllib parses nested arrays and inline tables by recursion: ``x = [[[...]]]``
    a few thousand deep (a lockfile or schema in a cloned repository) raised
    RecursionError, which no caller expected. The one way phony parses TOML.
    """
    import tomllib

    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("arrays or inline tables nested too deeply") from None


def toml_text(data: bytes) -> str:
    """TOML bytes as text: UTF-8, without the byte order mark some Windows editors
    put first (tomllib refuses it as an invalid statement at line 1).

    Raises ``UnicodeDecodeError`` for bytes that are not UTF-8.
    """
    return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")


def not_a_file(path: str | os.PathLike[str], what: str) -> str:
    """Why ``path`` cannot be read as a ``what`` file, for an error line.

    ``is a folder, not a {what} file`` for a folder, else ``no such {what} file``.
    """
    if Path(path).is_dir():
        return f"{os.fspath(path)}: is a folder, not a {what} file"
    return f"{os.fspath(path)}: no such {what} file"


def read_toml_text(path: str | os.PathLike[str], limit: int = MAX_TOML) -> str:
    """The UTF-8 text of the TOML file ``path``, refused past ``limit`` bytes.

    Raises what ``open`` and UTF-8 decoding raise (``FileNotFoundError``,
    ``UnicodeDecodeError``...), and ``tomllib.TOMLDecodeError`` for a file
    over the limit, so a caller maps every problem as it already does.
    """
    import tomllib

    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise tomllib.TOMLDecodeError(f"larger than {limit} bytes")
    return toml_text(data)


def read_toml(
    path: str | os.PathLike[str], what: str, *, missing: type[PhonyError] = ValidationError
) -> dict[str, Any]:
    """The TOML document in ``path`` (a schema, plan or pack file), not yet checked.

    Each problem is one error naming the file: ``missing`` (a ValidationError
    unless the caller says otherwise) for ``no such {what} file``, a
    ValidationError for text that is not UTF-8, not valid TOML, nested too
    deeply or larger than :data:`MAX_TOML`.
    """
    import tomllib

    try:
        return loads_toml(read_toml_text(path))
    except (FileNotFoundError, IsADirectoryError):
        raise missing(not_a_file(path, what)) from None
    except UnicodeDecodeError:
        raise ValidationError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path}: not valid TOML: {exc}") from None


def read_capped(path: str | os.PathLike[str], limit: int, label: str) -> bytes:
    """The bytes of the user-named file ``path``, refused past ``limit`` bytes.

    Reads at most ``limit + 1`` bytes, so an endless or huge file costs no
    more. Each problem is one UsageError starting with ``label`` (how the
    user named the file, e.g. ``--openapi spec.yaml``): the system's reason
    it cannot be read, or ``larger than {limit} bytes``.
    """
    try:
        with open(path, "rb") as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"{label}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UsageError(f"{label}: larger than {limit} bytes")
    return data


def write_output(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to the user's output ``path`` by the rules of :func:`open_output`."""
    with open_output(path) as stream:
        stream.write(data)


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary stream that ends up at the user's output ``path`` (see the module docs).

    The stream must be written inside the ``with`` block; the target changes
    only when the block ends without an exception.
    """
    name = os.fspath(path)
    try:
        st: os.stat_result | None = Path(name).stat()  # follows symbolic links
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _named(exc, name) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{name} is a folder: give a file name to write")
    inherited = _inherited_descriptor(name)
    if inherited is not None:
        # /dev/stdout and the like name a descriptor this process already
        # holds: write through a copy of it, sharing its offset, as `-o -`
        # and a shell's `>&1` do (reopening the path would start a new
        # offset, writing over what the shell writes after phony).
        try:
            shared = os.fdopen(os.dup(inherited), "wb")
        except OSError as exc:
            raise _named(exc, name) from None
        with shared:
            yield shared
        return
    if (st is not None and not stat.S_ISREG(st.st_mode)) or _is_process_path(name):
        # A device, a FIFO: write through it as a shell redirection does.
        try:
            direct = open(name, "ab")  # noqa: SIM115 - closed below; append: never truncate a shared descriptor
        except OSError as exc:
            raise _named(exc, name) from None
        with direct:
            yield direct
        return
    real = Path(os.path.realpath(name))  # the file a symbolic link points to
    in_place = st is not None and st.st_nlink > 1
    fd: int | None = None
    temp: Path | None = None
    if not in_place:
        try:
            fd, temp = _create_temp(real.parent, real.name, 0o666)
        except OSError as exc:
            if st is None or exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise _named(exc, name) from None
            if not os.access(real, os.W_OK):
                raise _named(exc, name) from None
            in_place = True  # a writable file in a folder we may not create files in
    if in_place:
        import tempfile

        try:
            fd, temp = _create_temp(real.parent, real.name, 0o600)
        except OSError:
            try:
                fd, temp = _create_temp(Path(tempfile.gettempdir()), real.name, 0o600)
            except OSError as exc:
                raise _named(exc, name) from None
    assert fd is not None
    assert temp is not None
    try:
        with os.fdopen(fd, "w+b", buffering=1 << 20) as stream:
            try:
                yield stream
                stream.flush()
            except OSError as exc:
                if exc.filename is None and exc.errno in _WRITE_ERRNOS:
                    raise _named(exc, name) from None
                raise
            if in_place:
                stream.seek(0)
                try:
                    with open(real, "r+b") as out:
                        out.truncate(0)
                        shutil.copyfileobj(stream, out, _COPY_CHUNK)
                except OSError as exc:
                    raise _named(exc, name) from None
        if not in_place:
            _take_over(temp, st)
            try:
                temp.replace(real)
            except OSError as exc:
                raise _named(exc, name) from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


#: errno values of a failed write that are about the target, not about the data.
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})


def _inherited_descriptor(name: str) -> int | None:
    """The descriptor ``name`` spells (/dev/stdout, /dev/fd/N, /proc/self/fd/N), if open."""
    number = _STANDARD_STREAMS.get(name)
    if number is None:
        for prefix in ("/dev/fd/", "/proc/self/fd/"):
            if name.startswith(prefix) and name[len(prefix) :].isdigit():
                number = int(name[len(prefix) :])
    if number is None:
        return None
    try:
        os.fstat(number)
    except OSError:
        return None  # not open here: opening the path gives the system's error
    return number


def _is_process_path(name: str) -> bool:
    return name.startswith(_PROCESS_PATHS) or os.path.realpath(name).startswith(_PROCESS_PATHS)


def _create_temp(folder: Path, name: str, mode: int, prefix: str | None = None) -> tuple[int, Path]:
    """Open a new, uniquely named temporary file in ``folder`` (``mode`` less the umask)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    start = f".{name}." if prefix is None else prefix
    for _ in range(100):
        temp = folder / f"{start}{os.urandom(4).hex()}.tmp"
        try:
            return os.open(temp, flags, mode), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(folder))


def _take_over(temp: Path, st: os.stat_result | None) -> None:
    """Give the new file the replaced file's mode, and its owner where that is allowed."""
    if st is None:
        return
    temp.chmod(stat.S_IMODE(st.st_mode))
    if hasattr(os, "chown") and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
        with contextlib.suppress(OSError):
            os.chown(temp, st.st_uid, st.st_gid)


def _named(exc: OSError, name: str) -> OSError:
    """The same error, naming the user's path (never a temporary file)."""
    reason = exc.strerror or str(exc)
    return OSError(exc.errno, f"cannot write {name}: {reason[:1].lower()}{reason[1:]}")
