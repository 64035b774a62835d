"""Faults inside a plugin's code, attributed to the plugin.

What a plugin registers (a generator, a format, a command) runs long after
loading, deep inside phony's own loops. :func:`guard` wraps each object a
third-party plugin registers so that an exception escaping the plugin's code
becomes one :class:`~phony_registry.errors.PluginFault` naming the plugin (its
distribution and version), the object and the step (``build``, ``generate``,
``write``...), with the original exception as its cause (shown by
``PHONY_DEBUG=1``/``--traceback``).

``SystemExit`` is a fault like any other exception (only
``KeyboardInterrupt`` passes), except in a command, which may end the
process with its own exit code. Errors a plugin raises on purpose pass
through unchanged: any :class:`~phony_registry.errors.PhonyError` (a
``ValidationError`` for a bad argument, a ``UsageError`` for a bad option),
and a writer's ``OSError`` (a full disk, a closed pipe: the output's fault,
not the plugin's).
phony's own plugin is never wrapped: a fault there is a bug in phony.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO, TypeVar

from phony_registry.errors import PhonyError, PluginFault
from phony_registry.generators import BuildContext, ColumnGenerator, ColumnStream, GeneratorFactory
from phony_registry.outputs import OutputFormat, RowWriter

__all__ = [
    "Owner",
    "fault",
    "guard",
    "guard_command",
    "guard_hook",
    "model_file",
    "stdout_to_stderr",
]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Owner:
    """The plugin an object came from: entry point name, distribution and version."""

    name: str
    distribution: str
    version: str

    def __str__(self) -> str:
        label = f"{self.distribution} {self.version}".strip()
        return label if self.name == self.distribution else f"{label} (entry point {self.name})"


def fault(owner: Owner, what: str, exc: BaseException) -> PluginFault:
    """The one error for ``exc`` raised by ``owner``'s ``what``."""
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return PluginFault(
        f"plugin {owner}: {what} failed: {detail} "
        "(a bug in the plugin: PHONY_DEBUG=1 shows the traceback)",
        owner.name,
        distribution=owner.distribution,
        version=owner.version,
        what=what,
    )


def _passes(exc: BaseException, io: bool) -> bool:
    return isinstance(exc, PhonyError | MemoryError) or (io and isinstance(exc, OSError))


_routing = threading.Lock()
#: The real sys.stdout (``[0]``) while plugin calls are in progress, one more item per call.
_routed: list[Any] = []


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what plugin code prints (``print``, ``sys.stdout``) to stderr while it runs.

    stdout holds phony's output (a CSV, a JSON document, a format's bytes):
    a plugin's debug print there would corrupt it. Calls may overlap
    (threads of the mock server): the first one in swaps ``sys.stdout``,
    the last one out puts it back.
    """
    with _routing:
        _routed.append(_routed[0] if _routed else sys.stdout)
        sys.stdout = sys.stderr
    try:
        yield
    finally:
        with _routing:
            real = _routed.pop()
            if not _routed:
                sys.stdout = real


def _call(owner: Owner, what: str, function: Callable[..., T], *args: Any, io: bool = False) -> T:
    try:
        with stdout_to_stderr():
            return function(*args)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # sys.exit() in a generator or writer is a fault too
        if _passes(exc, io):
            raise
        raise fault(owner, what, exc) from exc


def _delegate(wrapper: object, name: str) -> Any:
    """``name`` of the wrapped object, for what the wrapper does not define itself.

    Unpickling (a Dask worker receiving a plugin's generator) asks for
    ``__setstate__`` before ``_inner`` is restored: that lookup must fail
    plainly rather than recurse through ``_inner`` itself.
    """
    inner = vars(wrapper).get("_inner")
    if inner is None:
        raise AttributeError(name)
    return getattr(inner, name)


def _column_names(requires: Any) -> tuple[str, ...]:
    """A generator's ``requires``, checked: a sequence of column names."""
    if isinstance(requires, str):  # ("first") where ("first",) was meant
        raise TypeError(f"requires is the string {requires!r}, not a sequence of column names")
    names = tuple(requires)
    wrong = [name for name in names if not isinstance(name, str)]
    if wrong:
        raise TypeError(f"requires holds {wrong[0]!r}, not a column name")
    return names


class _Generator:
    """A plugin's column generator; faults in ``generate``/``seek`` name the plugin."""

    def __init__(self, inner: ColumnGenerator, owner: Owner, what: str) -> None:
        self._inner = inner
        self._owner = owner
        self._what = what
        self.requires: Sequence[str] = _call(
            owner, f"{what} (requires)", lambda: _column_names(inner.requires)
        )
        if hasattr(inner, "seek"):
            self.seek = self._seek

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        what = f"{self._what} (generate)"
        values = _call(self._owner, what, self._inner.generate, n, stream, inputs)
        if not isinstance(values, Sequence) or isinstance(values, str | bytes):
            raise fault(
                self._owner,
                what,
                TypeError(f"returned {type(values).__name__}, expected a list of strings"),
            )
        if len(values) != n:
            raise fault(self._owner, what, ValueError(f"gave {len(values)} values for {n} rows"))
        try:
            # One pass in C over the batch: phony's writers join values as text,
            # so anything else would fail there, far from the plugin.
            "".join(values)
        except TypeError:
            kinds = sorted({type(v).__name__ for v in values if not isinstance(v, str)})
            raise fault(
                self._owner, what, TypeError(f"gave {', '.join(kinds)} values, not text")
            ) from None
        return values

    def _seek(self, stream: ColumnStream, row: int) -> bool:
        seek = self._inner.seek  # type: ignore[attr-defined]
        return bool(_call(self._owner, f"{self._what} (seek)", seek, stream, row))

    def __getattr__(self, name: str) -> Any:  # anything else the generator offers
        return _delegate(self, name)


class _Writer:
    """A plugin's row writer; faults in ``write``/``close`` name the plugin.

    The stream belongs to phony (stdout, or a temporary file renamed into
    place at the end): a writer that closes it is at fault, not phony's
    flush or rename that fails next.
    """

    def __init__(self, inner: RowWriter, owner: Owner, what: str, stream: BinaryIO) -> None:
        self._inner = inner
        self._owner = owner
        self._what = what
        self._stream = stream

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        _call(self._owner, f"{self._what} (write)", self._inner.write, columns, io=True)
        self._check_open("write")

    def close(self) -> None:
        _call(self._owner, f"{self._what} (close)", self._inner.close, io=True)
        self._check_open("close")

    def _check_open(self, step: str) -> None:
        if getattr(self._stream, "closed", False):
            problem = ValueError("closed the output stream, which belongs to phony")
            raise fault(self._owner, f"{self._what} ({step})", problem)

    def __getattr__(self, name: str) -> Any:
        return _delegate(self, name)


def _guard_factory(factory: GeneratorFactory, owner: Owner) -> GeneratorFactory:
    what = f"generator {factory.name!r}"
    build = factory.build

    @functools.wraps(build)
    def guarded(args: Mapping[str, Any], context: BuildContext) -> ColumnGenerator:
        built = _call(owner, f"{what} (build)", build, args, context)
        if not callable(getattr(built, "generate", None)):
            raise fault(owner, f"{what} (build)", TypeError(f"returned {built!r}, not a generator"))
        return _Generator(built, owner, what)

    return dataclasses.replace(factory, build=guarded)


def _writer(writer: Any, owner: Owner, what: str) -> RowWriter:
    """What ``open`` returned, checked to be a writer where it enters phony."""
    if not all(callable(getattr(writer, m, None)) for m in ("write", "close")):
        problem = TypeError(f"returned {writer!r}, not a writer with write() and close()")
        raise fault(owner, f"{what} (open)", problem)
    return writer  # type: ignore[no-any-return]


def _guard_format(fmt: OutputFormat, owner: Owner) -> OutputFormat:
    what = f"format {fmt.name!r}"
    opener = fmt.open

    @functools.wraps(opener)
    def guarded(stream: BinaryIO, names: Sequence[str], options: Mapping[str, str]) -> RowWriter:
        writer = _call(owner, f"{what} (open)", opener, stream, names, options, io=True)
        return _Writer(_writer(writer, owner, what), owner, what, stream)

    changes: dict[str, Any] = {"open": guarded}
    typed = getattr(fmt, "open_typed", None)  # formats with column types (Parquet, json, sql...)
    if typed is not None:

        @functools.wraps(typed)
        def guarded_typed(
            stream: BinaryIO, names: Sequence[str], types: Sequence[str], options: Mapping[str, str]
        ) -> RowWriter:
            writer = _call(owner, f"{what} (open)", typed, stream, names, types, options, io=True)
            return _Writer(_writer(writer, owner, what), owner, what, stream)

        changes["open_typed"] = guarded_typed
    return dataclasses.replace(fmt, **changes)


def guard(obj: T, owner: Owner) -> T:
    """``obj`` (a registered generator or format) with its faults attributed to ``owner``."""
    if isinstance(obj, GeneratorFactory):
        return _guard_factory(obj, owner)  # type: ignore[return-value]
    if isinstance(obj, OutputFormat):
        return _guard_format(obj, owner)  # type: ignore[return-value]
    return obj


def guard_hook(
    function: Callable[..., T],
    owner: Owner,
    hook: str,
    check: Callable[[Any], Any] | None = None,
) -> Callable[..., T]:
    """A hook implementation called at run time (``phony_resolve_model``), its faults named.

    ``check`` (raising ``TypeError``, ``ValueError``, ``OSError``...) vets the
    answer where it enters phony, so a wrong one is the plugin's fault too.
    """

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> T:
        try:
            with stdout_to_stderr():
                answer = function(*args, **kwargs)
            return check(answer) if check is not None else answer
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # sys.exit() too
            if _passes(exc, io=False):
                raise
            raise fault(owner, f"hook {hook}", exc) from exc

    return guarded


def model_file(answer: Any) -> Any:
    """``phony_resolve_model``'s answer, checked: ``None``, or the path of an existing file."""
    import os
    from pathlib import Path

    if answer is None:
        return None
    if not isinstance(answer, str | os.PathLike):
        raise TypeError(f"returned {answer!r}, not the path of a .phony file")
    if not Path(answer).is_file():
        raise FileNotFoundError(f"returned {answer}, which is not a file")
    return Path(answer)


def model_names(answer: Any) -> Any:
    """``phony_list_models``'s answer, checked: ``None``, or model names (strings)."""
    if answer is None:
        return None
    if isinstance(answer, str | bytes) or not isinstance(answer, Iterable):
        raise TypeError(f"returned {answer!r}, not a list of model names")
    names = list(answer)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"returned {name!r} among the model names, not a string")
    return names


def guard_command(command: Any, owner: Owner) -> None:
    """Make a plugin's click command (and a group's subcommands) name ``owner`` on a fault.

    click's own exceptions (usage errors, ``Exit``, ``Abort``) pass through.
    """
    import click

    callback = getattr(command, "callback", None)
    if callback is not None and not getattr(callback, "_phony_guarded", False):
        what = f"command {command.name!r}"

        @functools.wraps(callback)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return callback(*args, **kwargs)
            except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
                raise
            except Exception as exc:
                if _passes(exc, io=False) or isinstance(exc, BrokenPipeError):
                    raise
                raise fault(owner, what, exc) from exc

        guarded._phony_guarded = True  # type: ignore[attr-defined]
        command.callback = guarded
    for sub in getattr(command, "commands", {}).values():
        guard_command(sub, owner)
