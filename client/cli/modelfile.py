"""``phony train``, ``info``, ``validate``, ``stats``, ``migrate``, ``cat``: model file commands.

numpy and the model code are imported inside the commands, so listing the
commands (``phony --help``) stays cheap.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from phony_client.cli._output import echo_json, human_size, plural
from phony_client.cli._params import SEED, ParamBase
from phony_registry.digests import digest_bytes
from phony_registry.errors import ModelFormatError, TrainingError, UsageError

__all__ = ["cat", "info", "migrate", "stats", "train", "validate"]

_PATH = click.Path(dir_okay=False, path_type=Path)
_EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


class _ModelSpec(ParamBase):
    """A .phony file, or the name of a model phony can find (the cache, a locale pack)."""

    name = "MODEL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        if isinstance(value, Path):
            return value
        from phony_client.cli.generate import resolve_model

        return resolve_model(str(value))


_MODEL = _ModelSpec()


@click.command()
@click.argument(
    "source", required=False, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path)
)
@click.option("--db", metavar="URL", help="Train on a database column (with --table, --column).")
@click.option("--table", help="The table of --db.")
@click.option(
    "-o",
    "--output",
    type=_PATH,
    help="Model file to write [default: SOURCE stem + .phony; with --db, TABLE.COLUMN.phony].",
)
@click.option("--column", help="Train on this column of a CSV file or --db table.")
@click.option(
    "--order",
    type=int,
    help="N of the N-grams, 1 to 12 [default: chosen by cross-validation, "
    "with the smoothing unless --smoothing is given].",
)
@click.option(
    "--smoothing",
    # phony_registry.ngram.SMOOTHINGS, spelled out: importing ngram imports NumPy.
    type=click.Choice(["none", "witten-bell", "kneser-ney", "modified-kneser-ney"]),
    help="How unseen combinations get weight [default: chosen with the order; "
    "none when --order is given]. See docs/format.md.",
)
@click.option(
    "--name",
    help="Model name [default: SOURCE's file name without extension; with --db, TABLE.COLUMN].",
)
@click.option("--locale", help="Locale of the values, e.g. tr_TR.")
@click.option("--kind", help="What the values are (first_name, street...): the column name.")
@click.option("--license", "license_", metavar="TEXT", help="Licence of the training data.")
@click.option("--description", default="", help="One line describing the model.")
@click.option(
    "--source-description",
    "source_text",
    metavar="TEXT",
    help="Where the values come from "
    "[default: SOURCE's file name; with --db, the column and its table].",
)
@click.option(
    "--created",
    metavar="ISO8601",
    help="Creation time to record [default: SOURCE_DATE_EPOCH, else none].",
)
@click.option(
    "--exclude-originals/--keep-originals",
    default=None,
    help="Store salted hashes so generation never emits a training value; "
    "--keep-originals stores none [default: on with --db; otherwise, with a "
    "chosen order, a share of them so that 90% of values are new].",
)
def train(
    source: Path,
    output: Path | None,
    column: str | None,
    order: int | None,
    name: str | None,
    locale: str | None,
    kind: str | None,
    license_: str | None,
    description: str,
    source_text: str | None,
    created: str | None,
    exclude_originals: bool | None,
    smoothing: str | None,
    db: str | None = None,
    table: str | None = None,
) -> None:
    """Train a model on SOURCE: one value per line, or a CSV column (--column).

    The same input and options always give a byte-identical file.
    """
    from phony_registry._fs import write_output
    from phony_registry.format import dump_model
    from phony_registry.ngram import (
        MAX_TRAINING_BYTES,
        check_exclusion,
        created_timestamp,
        read_values,
    )
    from phony_registry.ngram import train as train_model

    texts = {
        "--name": name,
        "--locale": locale,
        "--kind": kind,
        "--license": license_,
        "--description": description,
        "--source-description": source_text,
        "--created": created,
    }
    for option, text in texts.items():
        if text is not None and not _is_utf8(text):
            raise UsageError(f"{option} is not valid UTF-8 text")
    if name is not None and name and not name.strip():
        raise UsageError("--name must not be blank")

    target: Path | None = None
    if db is not None:  # a database column, read-only, privacy guard on by default
        if source is not None or not table or not column:
            raise UsageError("--db URL takes --table T and --column C, and no SOURCE")
        from phony_client.sync.columns import read_column

        values = read_column(db, table, column)
        stem, source = f"{table}.{column}", Path(f"column {column} of table {table}")
        exclude_originals = exclude_originals is not False
    elif source is None:
        raise UsageError("give SOURCE (a file, or - for stdin), or --db URL --table T --column C")
    elif str(source) == "-":
        data = sys.stdin.buffer.read(MAX_TRAINING_BYTES + 1)
        if len(data) > MAX_TRAINING_BYTES:
            raise UsageError(f"stdin: larger than {MAX_TRAINING_BYTES} bytes")
        values = read_values(data, column=column, label="stdin")
        stem = "stdin"
    else:
        if not source.exists():
            raise UsageError(f"{source}: no such file")
        # The default file name keeps the source name's own bytes.
        target = output or Path(f"{source.stem}.phony")
        with contextlib.suppress(OSError):  # a target not there yet is not the source
            if target.samefile(source):
                raise UsageError(f"-o {target} is the training input: the model would replace it")
        values = read_values(source, column=column)  # a regular file, a pipe, a device
        stem = _decoded_name(source.stem)
    target = target or output or Path(f"{stem}.phony")
    from phony_client._progress import activity

    # Training shows no figures until it ends: on a terminal, say it is working.
    with activity(f"training on {plural(len(values), 'value')}"):
        model = train_model(
            values,
            name=name or stem,
            order=order,
            locale=locale,
            kind=kind,
            license=license_,
            source=source_text
            if source_text is not None
            else (_decoded_name(source.name) if stem != "stdin" else stem),
            description=description,
            created=created_timestamp(created),
            exclude_originals=exclude_originals,
            smoothing=smoothing,
        )
        check_exclusion(model, values)
        data = dump_model(model)
        _check_readable(data, model.order, len(values))
    write_output(target, data)
    chosen = model.selection
    how = (
        f" ({chosen.smoothing}, chosen by {chosen.folds}-fold cross-validation: "
        f"{chosen.chosen.bits_per_character:.3f} bits per held-out character)"
        if chosen is not None
        else ""
    )
    from phony_client._net import printable

    click.echo(
        f"wrote {printable(_decoded_name(str(target)))}: order {model.order}{how}, "
        f"{plural(model.training.values, 'value')}, "
        f"{plural(model.num_states, 'context')}, {plural(model.num_edges, 'n-gram')}, "
        f"{plural(len(data), 'byte')}, "
        f"{digest_bytes(data)}",
        err=True,
    )


def _is_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8: an argument in another encoding comes
    to Python with its bytes as lone surrogates, which no model field can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _decoded_name(file_name: str) -> str:
    """A file name as text a model can record: bytes that are not UTF-8 (a
    Latin-1 name on disk) become U+FFFD, as a file manager shows them."""
    return os.fsencode(file_name).decode("utf-8", "replace")


def _check_readable(data: bytes, order: int, values: int) -> None:
    """Refuse to write a model that phony's own reader would refuse.

    The reader caps what a file may inflate to (a gzip bomb looks like a very
    big model), and checks every field: the new bytes are read back through
    the whole reader, at a fraction of training's cost.
    """
    from phony_registry.format import DEFAULT_MAX_INFLATED, load_model

    fix = f"train with a lower --order (this one is {order}) or on fewer values ({values} now)"
    inflated = int.from_bytes(data[-4:], "little")  # gzip's ISIZE: the size mod 2**32
    if inflated > DEFAULT_MAX_INFLATED or len(data) > DEFAULT_MAX_INFLATED:
        raise TrainingError(
            f"the model would be too big to read: it inflates to {human_size(inflated)}, "
            f"past the {human_size(DEFAULT_MAX_INFLATED)} phony reads in a model file; {fix}"
        )
    try:
        load_model(data)
    except ModelFormatError as exc:
        reason = f"the model would be refused by phony's reader ({exc})"
        if (exc.field or "").startswith("meta"):  # a name or text option, not the size
            raise TrainingError(reason) from None
        raise TrainingError(f"{reason}; {fix}") from None


def _load(path: Path) -> tuple[bytes, Any]:
    from phony_registry.format import load_model

    data = path.read_bytes()
    return data, load_model(data)


@click.command()
@click.argument("path", metavar="MODEL", type=_MODEL)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(path: Path, as_json: bool) -> None:
    """Show a model's name, locale, kind, format version, order, sizes and digest.

    MODEL is a .phony file or the name of a cached or installed model.
    """
    data, model = _load(path)
    meta = model.meta
    t = model.training
    record = {
        "path": str(path),
        "name": meta.name,
        "locale": meta.locale,
        "kind": meta.kind,
        "license": meta.license,
        "source": meta.source,
        "description": meta.description,
        "created": meta.created,
        "format_version": model.format_version,
        "order": model.order,
        "alphabet": len(model.alphabet),
        "contexts": model.num_states,
        "ngrams": model.num_edges,
        "max_length": model.max_length,
        "training": {
            "values": t.values,
            "unique_values": t.unique_values,
            "characters": t.characters,
            "max_length": t.max_length,
        },
        "exclude_originals": model.excludes_originals,
        "excluded_values": None if model.exclude is None else int(model.exclude.hashes.size),
        "selection": _selection_record(model.selection),
        "size": len(data),
        "digest": digest_bytes(data),
    }
    if as_json:
        echo_json(record)
        return
    version = str(model.format_version)
    if model.format_version < 2:
        version += " (read through migration; phony migrate writes version 2)"
    unique = "?" if t.unique_values is None else f"{t.unique_values:,}"
    rows = [
        ("name", meta.name),
        ("locale", meta.locale or "-"),
        ("kind", meta.kind or "-"),
        ("license", meta.license or "-"),
        ("source", meta.source or "-"),
        ("description", meta.description or "-"),
        ("created", meta.created or "-"),
        ("format version", version),
        ("order", model.order),
        ("alphabet", f"{len(model.alphabet)} characters"),
        ("contexts", f"{model.num_states:,}"),
        ("n-grams", f"{model.num_edges:,}"),
        (
            "training",
            f"{plural(t.values, 'value')} ({unique} distinct), {plural(t.characters, 'character')}",
        ),
        ("max length", model.max_length),
        ("exclude originals", _exclusion_line(model)),
        ("selection", _selection_line(model)),
        ("size", plural(len(data), "byte")),
        ("digest", record["digest"]),
    ]
    from phony_client._net import printable  # a pulled model's text is its publisher's

    for key, value in rows:
        click.echo(f"{key + ':':<19}{printable(value)}")
    _echo_candidates(model.selection)


def _exclusion_line(model: Any) -> str:
    """``yes``, ``no``, or how many training values selection excluded to reach its floor."""
    if model.exclude is None:
        return "no"
    if model.excludes_originals:
        return "yes"
    floor = model.selection.min_novelty if model.selection is not None else None
    return (
        f"{int(model.exclude.hashes.size):,} of {model.training.unique_values:,} training values"
        + (f", so that {floor:.0%} of the values are new" if floor else "")
    )


def _selection_record(selection: Any) -> dict[str, Any] | None:
    """The selection record as JSON (``info --json``, ``stats --json``), None if none."""
    from phony_registry.selection import selection_to_json

    return None if selection is None else selection_to_json(selection)


def _selection_line(model: Any) -> str:
    selection = model.selection
    if selection is None:
        if model.training.unique_values is not None and model.training.unique_values < 2:
            # Training falls back to the default order: nothing to hold out.
            return "none (fewer than two distinct values: nothing to hold out)"
        return "none (order and smoothing given at training)"
    return (
        f"order {selection.order}, {selection.smoothing}: "
        f"{selection.chosen.bits_per_character:.4f} bits per held-out character "
        f"({selection.folds}-fold cross-validation, {selection.held_out_characters} characters)"
    )


def _echo_candidates(selection: Any) -> None:
    """The candidates selection measured, best first, the chosen one marked."""
    if selection is None:
        return
    floor = selection.min_novelty
    click.echo(
        "candidates (held-out bits per character, lower is better"
        + (f"; novelty floor {floor:.0%}" if floor else "")
        + "):"
    )
    ranked = sorted(selection.candidates, key=lambda c: (c.bits_per_character, c.order))
    for c in ranked:
        mark = "*" if (c.order, c.smoothing) == (selection.order, selection.smoothing) else " "
        novelty = "" if c.novelty is None else f"  novelty {c.novelty:.1%}"
        click.echo(
            f"  {mark} order {c.order:<2} {c.smoothing:<20} {c.bits_per_character:.4f}{novelty}"
        )


@click.command()
@click.argument("specs", metavar="MODEL...", nargs=-1, required=True)
def validate(specs: tuple[str, ...]) -> None:
    """Check model files; list every problem with its field path (exit 4 if any).

    Each MODEL is a .phony file or the name of a cached or installed model.
    """
    from phony_client.cli.generate import resolve_model
    from phony_registry.format import document_version, load_document, problems

    paths = [resolve_model(spec) for spec in specs]
    bad = 0
    for spec, path in zip(specs, paths, strict=True):
        try:
            doc = load_document(path.read_bytes())
        except ModelFormatError as exc:
            found = [str(exc)]
        else:
            found = [str(p) for p in problems(doc)]
        if found:
            bad += 1
            for line in found:
                click.echo(f"{spec}: {line}")
        else:
            click.echo(f"{spec}: ok (format version {document_version(doc)})")
    if bad:
        raise ModelFormatError(f"{bad} of {plural(len(paths), 'model')} invalid")


@click.command()
@click.argument("path", metavar="MODEL", type=_MODEL)
@click.option(
    "--sample",
    default=10_000,
    show_default=True,
    type=click.IntRange(1, 65_536),
    help="Values to generate for the sample figures.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=SEED,
    help="Seed of the sample, 0 to 2**128-1: the same seed, the same figures.",
)
@click.option(
    "--training",
    "training_file",
    type=_EXISTING,
    help="Training values to measure novelty against (else the model's hashes).",
)
@click.option("--column", help="Column of --training when it is a CSV file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(
    path: Path,
    sample: int,
    seed: int,
    training_file: Path | None,
    column: str | None,
    as_json: bool,
) -> None:
    """N-gram counts, length distribution, entropy and the novelty of a sample.

    MODEL is a .phony file or the name of a cached or installed model.
    """
    from phony_registry.model import DISTINCT_VALUES_CAP
    from phony_registry.ngram import model_stats, read_values

    _, model = _load(path)
    originals = read_values(training_file, column=column) if training_file else None
    figures = model_stats(model, sample=sample, seed=seed, originals=originals)
    figures["selection"] = _selection_record(model.selection)
    if as_json:
        echo_json(figures)
        return
    t, e, s = figures["training"], figures["entropy"], figures["sample"]
    from phony_client._net import printable

    click.echo(f"model:        {printable(figures['name'])} (order {figures['order']})")
    click.echo(
        f"n-grams:      {plural(figures['ngrams'], 'n-gram')} over "
        f"{plural(figures['states'], 'context')}, an alphabet of "
        f"{plural(figures['alphabet'], 'character')}"
    )
    click.echo(
        f"training:     {plural(t['values'], 'value')}, {plural(t['characters'], 'character')}"
    )
    click.echo(f"selection:    {_selection_line(model)}")
    possible = figures["distinct_values"]
    if isinstance(possible, int):
        possible_text = f"{possible:,}"
    elif possible >= DISTINCT_VALUES_CAP:  # counting stopped there
        possible_text = f"more than {possible:.2e}"
    else:
        possible_text = f"about {possible:.2e}"
    click.echo(
        f"possible:     {possible_text} different values the model can spell in up to "
        f"{plural(model.max_length, 'character')};"
    )
    click.echo(
        "              the rarest are almost never drawn, so --unique reaches fewer "
        "(ask well under this)"
    )
    click.echo(
        f"entropy:      {e['bits_per_token']:.3f} bits per character, "
        f"{e['bits_per_value']:.2f} bits per value (how unpredictable a draw is)"
    )
    if s["accepted"]:
        dropped = s["size"] - s["accepted"]
        why = (
            "ran past the length limit or were excluded training values"
            if s["walk_novelty"] is not None
            else "ran past the length limit"
        )
        click.echo(
            f"sample:       {plural(s['size'], 'draw')} (seed {seed}) gave "
            f"{plural(s['accepted'], 'value')}" + (f" ({dropped:,} {why})" if dropped else "") + ":"
        )
        click.echo(
            f"              {s['distinct']:.1%} of them different, "
            f"{s['mean_length']:.2f} characters long on average"
        )
    else:
        click.echo(f"sample:       {plural(s['size'], 'draw')} (seed {seed}) gave no value")
    chosen = model.selection.chosen if model.selection is not None else None
    if s["novelty"] is None and model.exclude is not None and chosen and chosen.novelty:
        from phony_registry.ngram import MAX_EXCLUDED_MASS

        # Selection excluded training values up to the floor, or up to this mass.
        floor = model.selection.min_novelty or 1.0
        expected = min(floor, chosen.novelty / (1 - MAX_EXCLUDED_MASS))
        click.echo(
            f"novelty:      at least {expected:.0%} expected (training excluded some of "
            "its values to reach it); pass --training FILE to measure the sample"
        )
    elif s["novelty"] is None:
        click.echo(
            "novelty:      unknown: pass --training FILE to compare the sample "
            "with the training values"
        )
    else:
        click.echo(f"novelty:      {s['novelty']:.1%} of the sample values are not training values")
    if s["walk_novelty"] is not None and model.excludes_originals:
        click.echo(
            f"              (before --exclude-originals dropped the training values: "
            f"{s['walk_novelty']:.1%})"
        )
    elif s["walk_novelty"] is not None:
        click.echo(
            f"              ({1 - s['walk_novelty']:.1%} of the draws were excluded "
            "training values, dropped)"
        )
    click.echo("length  training values  sample values")
    train_hist = t["length_histogram"]
    sample_hist = s["length_histogram"]
    for length in range(1, max(len(train_hist), len(sample_hist))):
        a = train_hist[length] if length < len(train_hist) else 0
        b = sample_hist[length] if length < len(sample_hist) else 0
        if a or b:
            click.echo(f"{length:>6}  {a:>15}  {b:>13}")
    _echo_candidates(model.selection)


def _check_version(version: int | None) -> None:
    """A ``--to`` version this phony writes, else a usage error (the file is not at fault)."""
    from phony_registry._constants import NEWEST_FORMAT_VERSION

    if version is not None and not 1 <= version <= NEWEST_FORMAT_VERSION:
        raise UsageError(
            f"no format version {version}: this phony writes versions 1 to {NEWEST_FORMAT_VERSION}"
        )


@click.command()
@click.argument("path", metavar="MODEL", type=_MODEL)
@click.option(
    "-o", "--output", type=_PATH, required=True, help="Where to write the migrated model."
)
@click.option(
    "--to",
    "version",
    type=int,
    metavar="N",
    help="Format version to write, older or newer (1: the original layout PHP and "
    "JavaScript readers load) [default: the oldest current version that holds the model].",
)
def migrate(path: Path, output: Path, version: int | None) -> None:
    """Rewrite a model in another format version, one single step at a time.

    MODEL is a .phony file or the name of a cached or installed model. The
    same input gives the same bytes, so the digest printed can be reproduced.
    """
    from phony_registry._fs import write_output
    from phony_registry.convert import derive
    from phony_registry.format import dump_model

    _check_version(version)
    data, model = _load(path)
    old = model.format_version
    if version is None:
        out, lost = dump_model(model), list[str]()
        version = model.written_version(model.selection)  # the oldest version that holds it
    else:
        out, lost = derive(data, version)
    write_output(output, out)
    change = (
        f"already at format version {old}, rewritten"
        if old == version
        else f"format version {old} -> {version}"
    )
    click.echo(
        f"wrote {output}: {change}, {digest_bytes(out)} (from {digest_bytes(data)})", err=True
    )
    for item in lost:
        click.echo(f"phony: format version {version} does not keep {item}", err=True)


@click.command()
@click.argument("path", metavar="MODEL", type=_MODEL)
@click.option(
    "--to",
    "version",
    type=int,
    metavar="N",
    help="Show the model as format version N would hold it [default: as stored].",
)
def cat(path: Path, version: int | None) -> None:
    """Print a model as readable JSON, its arrays decoded into lists (for jq).

    MODEL is a .phony file or the name of a cached or installed model. The
    document is the file's own (format version included); base64 arrays
    (model.offsets, tokens, weights, targets, exclude.hashes) become arrays of
    integers. Not a .phony file: write one with phony migrate.
    """
    from phony_registry.convert import convert
    from phony_registry.format import decode_array, document_to_model, load_document

    _check_version(version)
    doc = load_document(path.read_bytes())
    document_to_model(doc)  # only a model phony can read is shown
    if version is not None:
        doc = convert(doc, version)
    fields = {"offsets": "<u4", "tokens": "<u4", "weights": "<u4", "targets": "<u4"}
    if isinstance(doc.get("model"), dict):
        for key, dtype in fields.items():
            doc["model"][key] = decode_array(doc["model"][key], dtype, f"model.{key}").tolist()
    if isinstance(doc.get("exclude"), dict):
        doc["exclude"]["hashes"] = decode_array(
            doc["exclude"]["hashes"], "<u8", "exclude.hashes"
        ).tolist()
    echo_json(doc)
