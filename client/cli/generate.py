"""``phony generate``: write values generated from a model.

:func:`write_values` is the single-model path; multi-column commands can call
it (or :func:`open_output` and :func:`resolve_model`) alongside their own.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import click

from phony_client.cli._params import SEED, FormatOption, choose_format
from phony_registry.errors import InvalidName, NotFound, OfflineError, PhonyError, UsageError

if TYPE_CHECKING:
    from phony_registry._lite import SmallModel
    from phony_registry.model import Model

__all__ = ["generate", "open_output", "resolve_model", "write_values"]


def resolve_model(spec: str) -> Path:
    """The model file ``spec`` names: a path when it is an existing file or ends in
    ``.phony``, otherwise a model looked up by name (plugin locale packs, the cache).

    An official model (``tr_TR/cities``) the cache does not hold is installed
    as a schema's models are: from the registries in install order, by
    default the bundled official index (no network).
    """
    path = Path(spec)
    if path.is_file() or spec.endswith(".phony"):
        if path.is_dir():
            raise UsageError(f"{spec} is a folder, not a model file")
        if not path.is_file():
            raise UsageError(f"{spec}: no such model file")
        return path
    from phony_registry.plugins import get_plugins

    # The phony_resolve_model hook: locale packs shipped by plugins, any
    # source a plugin adds, then (phony's own implementation, last) the cache.
    try:
        found = get_plugins().manager.hook.phony_resolve_model(spec=spec)
    except InvalidName as exc:  # "nope": a mistyped file more likely than a name
        raise UsageError(f"{spec}: no such model file, nor a model name ({exc})") from None
    except (NotFound, OfflineError):  # not cached: an official model can be installed
        found = _official_installed(spec)
        if found is None:
            raise
    if found is None:
        raise UsageError(
            f"{spec!r} is not a model file (looking models up by name is not available)"
        )
    return Path(found)


def _official_installed(spec: str) -> Path | None:
    """The file of the official model ``spec`` names, installed; None for another name
    (a community model is pulled, a pack named by its models) or one no registry has."""
    from phony_client.install import find_or_install_model, parse_install_target

    if "/" not in spec.partition("@")[0]:
        return None
    try:
        reference = parse_install_target(spec)
    except UsageError:  # not a locale first: a community model
        return None
    return find_or_install_model(reference)


@contextlib.contextmanager
def open_output(output: str | None) -> Iterator[BinaryIO]:
    """A binary stream to write to: stdout for None or ``-``, else ``output`` written
    by the rules of :func:`phony_registry._fs.open_output` (atomic for a regular
    file, through a device or FIFO, following a symbolic link)."""
    if output is None or output == "-":
        counted = _CountedStream(sys.stdout.buffer)
        try:
            yield cast(BinaryIO, counted)
        except PhonyError as exc:  # stdout cannot be taken back: say what it holds
            if counted.written:
                exc.message += (
                    f" (stdout already holds {counted.written:,} bytes of incomplete output)"
                )
            raise
        sys.stdout.buffer.flush()
        return
    from phony_registry._fs import open_output as open_path

    with open_path(output) as stream:
        yield stream


class _CountedStream:
    """stdout, counting the bytes written (to say how much a failed run left there)."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        return self._inner.write(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def write_values(
    model: Model,
    stream: BinaryIO,
    *,
    count: int,
    seed: int,
    format_name: str = "txt",
    unique: bool = False,
    options: dict[str, str] | None = None,
    jobs: int = 1,
) -> None:
    """Generate ``count`` values from ``model`` and write them in ``format_name``.

    Batches stream straight to the writer, so memory stays flat for any count.
    With ``jobs`` > 1, txt, csv and jsonl are made by that many processes
    (:mod:`phony_registry.parallel`), the same bytes as one; with one, as
    bytes straight from the walk where the model allows it.
    """
    from phony_registry.parallel import can_parallelise, parallel_bytes, writes_bytes

    if jobs > 1 and not can_parallelise(model, format_name, unique=unique):
        jobs = 1
    if jobs > 1 or writes_bytes(model, format_name, unique=unique):
        from phony_registry.plugins import get_plugins

        fmt = get_plugins().format(format_name)
        writer = fmt.open(stream, [model.column_name], options or {})
        for data in parallel_bytes(
            model, count=count, seed=seed, jobs=jobs, fmt=fmt, options=options or {}
        ):
            writer.write([[]])  # the header (once, with the first rows) for a format with one
            stream.write(data)
        writer.close()  # (the header of no rows)
        return
    batches = model.iter_batches(count, seed, unique=unique)
    _write_column(model.column_name, batches, stream, format_name, options)


def _write_column(
    name: str,
    batches: Iterable[list[str]],
    stream: BinaryIO,
    format_name: str,
    options: dict[str, str] | None,
) -> None:
    from phony_registry.plugins import get_plugins

    fmt = get_plugins().format(format_name)
    writer = fmt.open(stream, [name], options or {})
    for batch in batches:
        writer.write([batch])
    writer.close()


def _load_model(path: Path) -> Model:
    from phony_registry.format import load_model  # imports NumPy

    return load_model(path)


def _small_model(path: Path, count: int, unique: bool) -> SmallModel | None:
    """The model at ``path`` read without NumPy, when a short run makes that worth it.

    Importing NumPy is about 45 % of ``phony generate NAME --count 10``;
    :mod:`phony_registry._lite` reads a small model and samples a few hundred
    values in pure Python, giving the same values, in a millisecond or two.
    """
    from phony_registry import _lite

    if unique or count > _lite.MAX_COUNT:
        return None
    try:
        if path.stat().st_size > _lite.MAX_FILE_SIZE:
            return None
        small = _lite.load_small(path.read_bytes())
    except OSError:
        return None  # the full reader reports it
    return small if small is not None and small.worth_it(count) else None


@click.command()
@click.argument("model_spec", metavar="MODEL", required=False)
@click.option(
    "-n",
    "--count",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many values.",
)
@click.option(
    "--seed",
    type=SEED,
    help="Seed, 0 to 2**128-1: the same model, seed and count give the same output "
    "everywhere [default: random, printed on stderr].",
)
@click.option(
    "-f",
    "--format",
    "format_name",
    metavar="FORMAT",
    cls=FormatOption,
    help="Output format: {formats} (phony formats describes them) "
    "[default: from the -o file's extension, else txt].",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write to FILE instead of stdout: a file is replaced only once complete "
    "and keeps its mode; a device, pipe or symlink is written through. A path ending "
    "in /, an existing folder or a URL takes a dataset of --schema's table.",
)
@click.option(
    "--unique", is_flag=True, help="Only distinct values; fails if the model has too few."
)
@click.option(
    "--schema",
    "schema_path",
    metavar="FILE",
    help="Generate the columns a TOML schema describes, instead of one MODEL "
    "(or a ready schema by name: person, address, company; - reads it from stdin).",
)
@click.option(
    "--column",
    "column_options",
    metavar="NAME=TYPE[:KEY=VALUE...]",
    multiple=True,
    help="A schema column given inline, e.g. age=integer:min=18:max=99 (repeatable; "
    "added to --schema, or a schema of its own).",
)
@click.option(
    "--locale",
    metavar="LOCALE[,FALLBACK...]",
    help="Locale of the schema's models (tr_TR); a chain tr_TR,en_US falls back in order.",
)
@click.option(
    "--option",
    "option_pairs",
    metavar="KEY=VALUE",
    multiple=True,
    help="Format option, e.g. --option table=people for sql (repeatable).",
)
@click.option(
    "--temperature",
    metavar="T",
    help="Below 1 (down to 0.1): more typical values, fewer distinct ones; above 1 "
    "(up to 10): more surprising ones [default: 1, the model as trained].",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Processes generating one MODEL's values (txt, csv, jsonl); the output is the "
    "same bytes for any number.",
)
@click.option(
    "--partitions",
    type=click.IntRange(1, 100_000),
    help="With --schema and -o DEST/ (a folder or URL): write one file per partition, "
    "part-00000.EXT, ... [default: about 1M rows each].",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where partitions are generated: this process, or a Dask cluster.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Dask scheduler (tcp://HOST:8786) for --engine dask; it has 5 s to answer "
    "[default: a local cluster].",
)
def generate(
    model_spec: str | None,
    count: int,
    seed: int | None,
    format_name: str | None,
    output: str | None,
    unique: bool,
    schema_path: str | None,
    column_options: tuple[str, ...],
    locale: str | None,
    option_pairs: tuple[str, ...],
    temperature: str | None,
    jobs: int = 1,
    partitions: int | None = None,
    engine: str = "local",
    scheduler: str | None = None,
) -> None:
    """Generate values from MODEL: a .phony file, or the name of a cached model.

    With --schema FILE, generate a table whose columns FILE describes instead.
    """
    from phony_registry.outputs import parse_options

    options = parse_options(option_pairs)
    if column_options and model_spec is not None:
        raise UsageError("--column makes a schema: give it alone or with --schema, not a MODEL")
    if column_options:
        schema_path = schema_path or ""  # the --column options alone are the schema
    if (model_spec is None) == (schema_path is None):
        raise UsageError("give either a MODEL or --schema FILE")
    if schema_path is not None and unique:
        raise UsageError("--unique applies to a MODEL; in a schema, set unique = true on a column")
    if locale is not None and schema_path is None:
        raise UsageError("--locale goes with --schema; a MODEL names its locale: tr_TR/cities")
    if temperature is not None and schema_path is not None:
        raise UsageError("--temperature applies to a MODEL, not to --schema")
    if jobs > 1 and schema_path is not None:
        raise UsageError(
            "--jobs applies to a MODEL; a schema's partitions spread over processes "
            "with --engine dask"
        )
    dataset = _is_dataset(output, schema_path is not None, partitions, engine)
    if scheduler is not None and engine != "dask":
        raise UsageError("--scheduler goes with --engine dask")
    if scheduler is not None:
        from phony_registry.dask_engine import check_scheduler_address

        check_scheduler_address(scheduler)  # its form; whether it answers, once the schema loads
    if dataset:
        from phony_registry.dataset import check_destination

        # Before the schema's models load: a destination that cannot hold a dataset.
        check_destination(output or "", here=engine != "dask" or scheduler is None)
    format_name = choose_format(format_name, output)  # fails before any output
    small: SmallModel | None = None
    model: Model | None = None
    if schema_path is not None:
        from phony_client.locale_schemas import load_locale_schema
        from phony_registry.schema import write_table

        # A ready schema by name, or a file; either may name a locale (chain)
        # and official models, installed from the bundled index when missing.
        loaded = load_locale_schema(schema_path, locale, column_options=column_options)
        schema = loaded.schema
        for line in loaded.report():
            click.echo(f"phony: {line}", err=True)
        _refuse_an_input(output, [Path(schema_path)], "schema")
        _refuse_an_input(output, [getattr(c.generator, "path", None) for c in schema.columns])
    else:
        path = resolve_model(model_spec or "")
        _refuse_an_input(output, [path])
        # A temperature reweights the model: the NumPy path does it.
        small = _small_model(path, count, unique) if temperature is None and jobs == 1 else None
        if small is None:
            model = _load_model(path)
            if temperature is not None:
                model = model.with_temperature(temperature)
    if seed is None:
        import secrets  # only without --seed: it costs start-up ~5 ms (hmac, random)

        seed = secrets.randbits(63)
        click.echo(f"phony: seed {seed} (pass --seed {seed} to repeat this output)", err=True)
    values = small.generate(count, seed) if small is not None else None
    if small is not None and values is None:  # slow to come in pure Python
        model = _load_model(path)
    if dataset:
        _write_dataset(
            schema, output or "", count, seed, format_name, options, partitions, engine, scheduler
        )
        return
    with open_output(output) as stream:
        if schema_path is not None:
            write_table(
                schema, stream, count=count, seed=seed, format_name=format_name, options=options
            )
        elif small is not None and values is not None:
            batches = [values] if values else []
            _write_column(small.column_name, batches, stream, format_name, options)
        elif model is not None:
            write_values(
                model,
                stream,
                count=count,
                seed=seed,
                format_name=format_name,
                unique=unique,
                options=options,
                jobs=jobs,
            )


def _refuse_an_input(
    output: str | None, inputs: Iterable[Path | None], what: str = "model"
) -> None:
    """A usage error when ``-o`` names one of the files the run reads (by any path or
    hard link), as ``cp`` refuses a file onto itself: the output would replace it."""
    if output is None or output in ("", "-") or "://" in output:
        return
    for path in inputs:
        try:
            same = path is not None and path.samefile(output)
        except OSError:  # the output does not exist yet (or cannot be looked at)
            same = False
        if same:
            raise UsageError(
                f"-o {output} is the {what} being read: its values would replace the {what}"
            )


def _is_dataset(output: str | None, schema: bool, partitions: int | None, engine: str) -> bool:
    """Whether ``-o`` and the options ask for a dataset; a usage error when they disagree.

    A dataset is asked for by ``--partitions`` or ``--engine dask``, or by an
    ``-o`` naming a folder: a path ending in ``/``, an existing folder, a URL.
    """
    from phony_registry.dataset import is_dataset_target

    if output == "":
        raise UsageError(
            "-o needs a path: -o FILE, or -o DEST/ for a dataset (one file per partition)"
        )
    folder = is_dataset_target(output)
    asked = " and ".join(
        name
        for name, given in (
            ("--partitions", partitions is not None),
            ("--engine dask", engine == "dask"),
        )
        if given
    )
    writes = f"{asked} {'write' if ' and ' in asked else 'writes'} a dataset"
    if asked and not schema:
        raise UsageError(f"{writes}, which needs --schema")
    if folder and not schema:
        inside = f"{output.rstrip('/')}/values.txt" if output and "://" not in output else "FILE"
        raise UsageError(
            f"-o {output} names a folder, which takes a dataset of --schema's table (one file "
            f"per partition); for MODEL's values name a file: -o {inside}"
        )
    if asked and (output is None or output == "-"):
        raise UsageError(f"{writes}, to a folder or URL: give -o DEST/")
    if asked and not folder:
        if Path(output or "").exists():
            raise UsageError(
                f"-o {output} is a file; {writes}, one file per partition in a folder: "
                "give -o DEST/"
            )
        raise UsageError(
            f"-o {output}: {writes}, one file per partition in a folder: "
            f"give -o {output}/ (ending in /) to create that folder"
        )
    return folder


def _write_dataset(
    schema: Any,
    destination: str,
    count: int,
    seed: int,
    format_name: str,
    options: dict[str, str],
    partitions: int | None,
    engine: str,
    scheduler: str | None,
) -> None:
    """One file per partition under ``destination``, here or on Dask (phony_registry.dataset)."""
    from phony_registry.dataset import default_partitions, write_dataset

    if engine == "dask":
        from phony_client._progress import Progress
        from phony_registry.dask_engine import run_on_dask

        # The one progress display: a line on a terminal, cleared when done.
        bar = Progress("writing partitions", unit="partitions")
        with bar:
            run = run_on_dask(
                schema,
                destination,
                count=count,
                seed=seed,
                parts=partitions,
                format_name=format_name,
                options=options,
                scheduler=scheduler,
                progress=bar.update,
                started=lambda parts, workers, link: click.echo(
                    f"phony: {_plural(parts, 'partition')} on Dask "
                    f"({_plural(workers, 'worker')})" + (f", dashboard {link}" if link else ""),
                    err=True,
                ),
            )
        files, where = run.files, f"Dask ({_plural(run.workers, 'worker')})"
    else:
        parts = partitions or default_partitions(count)
        files = tuple(
            write_dataset(
                schema,
                destination,
                count=count,
                seed=seed,
                parts=parts,
                format_name=format_name,
                options=options,
            )
        )
        where = "this process"
    names = files[0][0] if len(files) == 1 else f"{files[0][0]} to {files[-1][0]}"
    click.echo(
        f"wrote {sum(rows for _, rows in files):,} rows in {_plural(len(files), 'file')} "
        f"({names}) to {destination} on {where}",
        err=True,
    )


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
