"""phony's own column types: sequence, integer, number, choice, date, template, email, ngram.

Each is a :class:`~phony_registry.generators.GeneratorFactory` in
:data:`BUILTIN_GENERATORS`, registered by :mod:`phony_registry.builtins`
through the same ``phony_register_generators`` hook as any plugin, on the API
of :mod:`phony_registry.generators` (the column's own random stream, argument
checking with field paths).

Determinism: every generator here draws a fixed number of raw values per row
from its column's stream and uses integer arithmetic only, so the same seed
gives the same column on every platform and numpy version, whatever the
batch size; ``tests/core/test_generators.py`` pins a few outputs.

numpy, datetime, decimal, fractions and string are imported where used: this
module loads with the built-in plugin on every ``phony`` command.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phony_registry import plugins
from phony_registry.errors import RegistryError, ValidationError
from phony_registry.generators import (
    BuildContext,
    ColumnGenerator,
    ColumnStream,
    GeneratorFactory,
    argument,
    ascii_fold,
    column_reference,
    iso_moment,
)

if TYPE_CHECKING:
    import datetime as dt

    import numpy.typing as npt

__all__ = ["BUILTIN_GENERATORS"]


# --- sequence, integer, number, choice, date ---------------------------------


class _Sequence:
    requires: Sequence[str] = ()

    def __init__(self, start: int, step: int, template: str | None) -> None:
        self.start, self.step, self.template = start, step, template

    def seek(self, stream: ColumnStream, row: int) -> bool:
        return True  # no randomness: the row number (stream.offset) is all it needs

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        first = self.start + stream.offset * self.step
        values = range(first, first + n * self.step, self.step) if self.step else [first] * n
        if self.template is None:
            return list(map(str, values))
        return list(map(self.template.format, values))


def _build_sequence(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    template = argument(args, ctx, "format", str, None)
    if template is not None:
        try:
            template.format(0)
        except (ValueError, IndexError, KeyError) as exc:
            raise ValidationError(f"bad format string: {exc}", field=ctx.field("format")) from exc
    return _Sequence(
        argument(args, ctx, "start", int, 1), argument(args, ctx, "step", int, 1), template
    )


class _Integer:
    requires: Sequence[str] = ()

    def __init__(self, low: int, high: int) -> None:
        self.low, self.span = low, high - low + 1

    def seek(self, stream: ColumnStream, row: int) -> bool:
        stream.advance(row)  # one raw value per row
        return True

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        import numpy as np

        drawn = stream.below(n, self.span)
        if self.low >= -(2**63) and self.low + self.span <= 2**63:
            return list(map(str, (drawn.astype(np.int64) + np.int64(self.low)).tolist()))
        return [str(self.low + v) for v in drawn.tolist()]


def _build_integer(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    low, high = argument(args, ctx, "min", int, 0), argument(args, ctx, "max", int)
    if high < low:
        raise ValidationError(f"must be >= min ({low})", field=ctx.field("max"))
    if high - low >= 2**64:
        raise ValidationError("range wider than 2**64", field=ctx.field("max"))
    return _Integer(low, high)


class _Number:
    requires: Sequence[str] = ()

    def __init__(self, low: int, high: int, decimals: int) -> None:
        self.integer, self.decimals = _Integer(low, high), decimals

    def seek(self, stream: ColumnStream, row: int) -> bool:
        stream.advance(row)  # one raw value per row
        return True

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        units = self.integer.generate(n, stream, inputs)
        if not self.decimals:
            return units
        d = self.decimals
        out = []
        for text in units:
            sign, digits = ("-", text[1:]) if text[0] == "-" else ("", text)
            digits = digits.rjust(d + 1, "0")
            out.append(f"{sign}{digits[:-d]}.{digits[-d:]}")
        return out


def _build_number(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    decimals = argument(args, ctx, "decimals", int, 2)
    if not 0 <= decimals <= 12:
        raise ValidationError("must be between 0 and 12", field=ctx.field("decimals"))
    from decimal import Decimal, InvalidOperation

    scale = Decimal(10) ** decimals
    bounds = []
    for key, default in (("min", 0), ("max", ...)):
        value = argument(args, ctx, key, (int, float), default)
        try:
            bound = Decimal(str(value)) * scale
        except InvalidOperation as exc:
            raise ValidationError("not a finite number", field=ctx.field(key)) from exc
        if not bound.is_finite():  # TOML's nan and inf convert without a signal
            raise ValidationError("not a finite number", field=ctx.field(key))
        bounds.append(bound)
    low, high = (
        int(bounds[0].to_integral_value("ROUND_CEILING")),
        int(bounds[1].to_integral_value("ROUND_FLOOR")),
    )
    if high < low:
        raise ValidationError("must be >= min", field=ctx.field("max"))
    return _Number(low, high, decimals)


def _pick(values: list[str], picks: npt.NDArray[Any]) -> list[str]:
    """``[values[i] for i in picks]``: a take from an object array, no Python int per row."""
    import numpy as np

    table = np.empty(len(values), dtype=object)
    table[:] = values
    chosen: list[str] = table.take(picks).tolist()
    return chosen


class _Choice:
    requires: Sequence[str] = ()

    def __init__(self, values: list[str], thresholds: list[int] | None) -> None:
        self.values, self.thresholds = values, thresholds

    def seek(self, stream: ColumnStream, row: int) -> bool:
        stream.advance(row)  # one raw value per row
        return True

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        import numpy as np

        picks: npt.NDArray[Any]
        if self.thresholds is None:
            picks = stream.below(n, len(self.values))
        else:
            top = stream.raw(n) >> np.uint64(11)  # 53 bits
            picks = np.searchsorted(np.asarray(self.thresholds, dtype=np.uint64), top, side="right")
        return _pick(self.values, picks)


def _build_choice(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    from fractions import Fraction

    raw_values = argument(args, ctx, "values", list)
    if not raw_values:
        raise ValidationError("must not be empty", field=ctx.field("values"))
    values = []
    for i, v in enumerate(raw_values):
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            raise ValidationError("expected a string or a number", field=ctx.field(f"values[{i}]"))
        values.append(str(v))
    weights = argument(args, ctx, "weights", list, None)
    if weights is None:
        return _Choice(values, None)
    if len(weights) != len(values):
        raise ValidationError(
            f"has {len(weights)} weights for {len(values)} values", field=ctx.field("weights")
        )
    fractions = []
    for i, w in enumerate(weights):
        if isinstance(w, bool) or not isinstance(w, int | float) or not w >= 0 or w == float("inf"):
            raise ValidationError("expected a number >= 0", field=ctx.field(f"weights[{i}]"))
        fractions.append(Fraction(w))
    total = sum(fractions)
    if total == 0:
        raise ValidationError("at least one weight must be > 0", field=ctx.field("weights"))
    # Cumulative thresholds over 2**53, computed exactly: value i is picked
    # when the top 53 bits of a raw draw fall in [threshold[i-1], threshold[i]).
    thresholds, running = [], Fraction(0)
    for f in fractions[:-1]:
        running += f
        thresholds.append(int(running / total * 2**53))
    return _Choice(values, thresholds)


class _Date:
    requires: Sequence[str] = ()

    def __init__(self, start: dt.datetime, span: int, unit: str, strftime: str | None) -> None:
        self.start, self.span, self.unit, self.strftime = start, span, unit, strftime
        #: The UTC offset every value is written with (``+05:00``): start's, when
        #: start and end are instants; None for local date-times and dates.
        self.offset = _offset_text(start)

    def seek(self, stream: ColumnStream, row: int) -> bool:
        stream.advance(row)  # one raw value per row
        return True

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        import numpy as np

        offsets = stream.below(n, self.span).astype(np.int64)
        unit: Any = self.unit  # "D" or "s"; numpy's stubs want a literal
        base = np.datetime64(self.start.replace(tzinfo=None), unit)
        moments: Any = base + offsets.astype(f"timedelta64[{unit}]")
        if self.strftime is None:
            text: list[str] = np.datetime_as_string(moments, unit=unit).tolist()
            if self.offset is not None:
                return [value + self.offset for value in text]
            return text
        zone = self.start.tzinfo
        values = moments.astype("datetime64[us]").tolist()
        if zone is not None:  # so that %z and %Z name the zone the values are in
            values = [m.replace(tzinfo=zone) for m in values]
        pieces = _epoch_pieces(self.strftime)
        if len(pieces) == 1:
            return [m.strftime(self.strftime) for m in values]
        out = []
        for m in values:
            # %s is written here: the C library's reads the value in the machine's zone.
            epoch = str(int(m.timestamp()) if zone is not None else _naive_epoch(m))
            out.append(epoch.join(m.strftime(piece) for piece in pieces))
        return out


def _epoch_pieces(strftime: str) -> list[str]:
    """``strftime`` cut at each ``%s`` directive (``%%s`` is a literal ``%s``)."""
    pieces, start, i = [], 0, 0
    while i < len(strftime) - 1:
        if strftime[i] == "%":
            if strftime[i + 1] == "s":
                pieces.append(strftime[start:i])
                start = i + 2
            i += 2
        else:
            i += 1
    pieces.append(strftime[start:])
    return pieces


def _naive_epoch(moment: dt.datetime) -> int:
    """Seconds from 1970-01-01T00:00 to a local date-time, as if both were UTC."""
    import datetime as dt

    return (moment - dt.datetime(1970, 1, 1)) // dt.timedelta(seconds=1)


def _offset_text(moment: dt.datetime) -> str | None:
    """``+05:00``: the UTC offset of an aware ``moment`` in ISO 8601 form; None if naive."""
    offset = moment.utcoffset()
    if offset is None:
        return None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _as_moment(value: Any, ctx: BuildContext, key: str) -> tuple[dt.datetime, str]:
    import datetime as dt

    if isinstance(value, str):
        value = iso_moment(value, ctx, key, "an ISO date or datetime")
    if isinstance(value, dt.datetime):
        return value, "s"
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day), "D"
    raise ValidationError("expected a date (1990-01-31) or a datetime", field=ctx.field(key))


def _build_date(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    import datetime as dt

    start, unit_a = _as_moment(argument(args, ctx, "start", (str, dt.date)), ctx, "start")
    end, unit_b = _as_moment(argument(args, ctx, "end", (str, dt.date)), ctx, "end")
    unit = "s" if "s" in (unit_a, unit_b) else "D"
    if (start.tzinfo is None) != (end.tzinfo is None):
        raise ValidationError(
            "start and end must both have a time zone or neither", field=ctx.field("end")
        )
    if end < start:
        raise ValidationError("must not be before start", field=ctx.field("end"))
    offset = start.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        raise ValidationError(
            "a UTC offset in whole minutes is expected (+05:30)", field=ctx.field("start")
        )
    delta = end - start
    span = (delta.days + 1) if unit == "D" else int(delta.total_seconds()) + 1
    strftime = argument(args, ctx, "format", str, None)
    if strftime is not None and "\0" in strftime:
        raise ValidationError(
            "must not hold a NUL character (strftime stops there)", field=ctx.field("format")
        )
    return _Date(start, span, unit, strftime)


# --- template and email --------------------------------------------------------


class _Template:
    def __init__(self, template: str, requires: tuple[str, ...]) -> None:
        self.format = template.format
        self.requires: Sequence[str] = requires

    def seek(self, stream: ColumnStream, row: int) -> bool:
        return True  # no randomness: the row number (stream.offset) is all it needs

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        if not self.requires:
            return [self.format()] * n
        return list(map(self.format, *(inputs[name] for name in self.requires)))


def _build_template(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    text = argument(args, ctx, "template", str)
    # Rewrite "{first_name} {last_name}" into "{0} {1}" so that each row is a
    # single str.format call over the referenced columns.
    requires: list[str] = []
    pieces: list[str] = []
    try:
        import string

        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValidationError(f"bad template: {exc}", field=ctx.field("template")) from exc
    for literal, name, spec, conversion in parsed:
        pieces.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        if not name or not name.isidentifier():
            raise ValidationError(
                f"{{{name}}} must name a column, as in {{first_name}}", field=ctx.field("template")
            )
        column_reference(ctx, name, "template")
        if name not in requires:
            requires.append(name)
        conv = f"!{conversion}" if conversion else ""
        pieces.append(f"{{{requires.index(name)}{conv}{':' + spec if spec else ''}}}")
    return _Template("".join(pieces), tuple(requires))


_DEFAULT_DOMAINS = ("example.com", "example.net", "example.org")
# Every byte but a-z, 0-9 and the newline: deleted when folding ASCII text in bulk.
_NOT_ALNUM_NL = bytes(sorted(set(range(256)) - set(b"\nabcdefghijklmnopqrstuvwxyz0123456789")))


class _Email:
    def __init__(
        self, requires: tuple[str, ...], domains: list[str], separator: str, unique: bool
    ) -> None:
        self.requires: Sequence[str] = requires
        self.domains = ["@" + d for d in domains]
        self.separator = separator
        self.unique = unique
        self._folded: dict[str, str] = {}
        self._unfoldable: set[str] = set()  # values with no ASCII letter or digit at all

    def seek(self, stream: ColumnStream, row: int) -> bool:
        if self.unique:
            return False  # numbering repeats needs every earlier address
        stream.advance(row)  # one raw value (the domain) per row
        return True

    def _fold(self, values: Sequence[str]) -> tuple[list[str], bool]:
        """``ascii_fold`` of each value, and whether any folded to nothing."""
        text = "\n".join(values)
        if text.isascii():
            # All ASCII (English names): fold the whole batch as one string,
            # lowercased and stripped of non-alphanumerics by C-level passes.
            data = text.lower().encode("ascii").translate(None, _NOT_ALNUM_NL)
            folded = data.decode("ascii").split("\n")
            if len(folded) == len(values):  # else a value held a newline: fold one by one
                empty = not data or b"\n\n" in data or data[:1] == b"\n" or data[-1:] == b"\n"
                return folded, empty
        # Memoised: generated names repeat a lot, so folding runs once per
        # distinct value and each row costs one C-level dict lookup (``map``
        # over ``dict.__getitem__``). The set of the batch's distinct values,
        # built anyway to find the misses, also answers the emptiness question.
        cache = self._folded
        distinct = set(values)
        missing = distinct.difference(cache)
        if missing:
            if len(cache) + len(missing) > 1_000_000:  # unique data: do not grow without bound
                cache.clear()
                missing = distinct
            for value in missing:
                cache[value] = ascii_fold(value)
                if not cache[value]:
                    self._unfoldable.add(value)
        empty = bool(self._unfoldable) and not distinct.isdisjoint(self._unfoldable)
        return list(map(cache.__getitem__, values)), empty

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        addresses = self._addresses(n, stream, inputs)
        return self._deduplicate(addresses, stream.state) if self.unique else addresses

    def _addresses(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> list[str]:
        folded = [self._fold(inputs[name]) for name in self.requires]
        parts = [values for values, _ in folded]
        domains = _pick(self.domains, stream.below(n, len(self.domains)))
        sep = self.separator
        if any(empty for _, empty in folded):
            # Some name has no ASCII letter at all: join the parts that do,
            # and stand in "user" when none does.
            return [
                (sep.join(filter(None, row)) or "user") + d
                for row, d in zip(zip(*parts, strict=True), domains, strict=True)
            ]
        if len(parts) == 2:  # the common first.last: one f-string (one allocation) per row
            return [f"{a}{sep}{b}{d}" for a, b, d in zip(parts[0], parts[1], domains, strict=True)]
        locals_ = parts[0] if len(parts) == 1 else list(map(sep.join, zip(*parts, strict=True)))
        return [a + d for a, d in zip(locals_, domains, strict=True)]

    @staticmethod
    def _deduplicate(addresses: list[str], state: dict[str, Any]) -> list[str]:
        """Number the second and later uses of an address: ``ali.kaya2@``, ``ali.kaya3@``.

        Uses no randomness, so the column stays reproducible; ``state`` keeps
        what the earlier batches used.
        """
        seen: set[str] = state.setdefault("seen", set())
        counts: dict[str, int] = state.setdefault("counts", {})
        out = []
        for address in addresses:
            if address in seen:
                local, _, domain = address.rpartition("@")
                number = counts.get(address, 1)
                while True:
                    number += 1
                    candidate = f"{local}{number}@{domain}"
                    if candidate not in seen:
                        break
                counts[address] = number
                address = candidate
            seen.add(address)
            out.append(address)
        return out


def _build_email(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    sources = argument(args, ctx, "from", list)
    if not sources:
        raise ValidationError("must name at least one column", field=ctx.field("from"))
    requires = []
    for i, name in enumerate(sources):
        if not isinstance(name, str):
            raise ValidationError("expected a column name", field=ctx.field(f"from[{i}]"))
        requires.append(column_reference(ctx, name, f"from[{i}]"))
    domains = argument(args, ctx, "domains", list, list(_DEFAULT_DOMAINS))
    if not domains:
        raise ValidationError("must not be empty", field=ctx.field("domains"))
    for i, domain in enumerate(domains):
        if not isinstance(domain, str) or not domain or "@" in domain or domain != domain.strip():
            raise ValidationError(
                "expected a domain such as example.com", field=ctx.field(f"domains[{i}]")
            )
    separator = argument(args, ctx, "separator", str, ".")
    return _Email(tuple(requires), domains, separator, argument(args, ctx, "unique", bool, False))


# --- ngram ---------------------------------------------------------------------


class _Ngram:
    requires: Sequence[str] = ()

    def __init__(self, model: Any, unique: bool, path: Path | None = None) -> None:
        self.model, self.unique = model, unique
        self.path = path  # the file the model was read from

    def seek(self, stream: ColumnStream, row: int) -> bool:
        if self.unique:
            return False  # distinct values need every earlier value
        stream.state["from"] = row
        return True

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        state = stream.state
        if "from" in state:
            # After a seek, each batch walks exactly its own rows: a served
            # window of 20 never walks the rest of its chunk.
            row = state["from"]
            n = min(n, stream.count - row)
            out = [v for batch in self.model.iter_from(stream.seed, row, n) for v in batch]
            state["from"] = row + len(out)
            return out
        if "batches" not in state:
            # One generation over the whole column, consumed batch by batch:
            # Model.iter_batches gives the same values whatever its batch size.
            state["batches"] = self.model.iter_batches(
                stream.count, stream.seed, unique=self.unique
            )
            state["current"], state["pos"] = [], 0
        # Slice what is needed out of the model's current batch, keeping a
        # position rather than copying the rest of the batch each time.
        current: list[str] = state["current"]
        pos: int = state["pos"]
        out = current[pos : pos + n]
        pos += len(out)
        while len(out) < n:
            current = next(state["batches"], [])
            if not current:
                break
            take = n - len(out)
            out.extend(current[:take])
            pos = min(take, len(current))
        state["current"], state["pos"] = current, pos
        return out


def resolve_model_path(spec: str, ctx: BuildContext) -> Path:
    """The file of the model ``spec`` names: a path, or a name resolved by the plugins.

    A name goes to the ``phony_resolve_model`` hook (locale packs, the client's
    cache): the core finds models through plugins, never by importing the client.
    """
    candidate = Path(spec).expanduser()
    if not candidate.is_absolute() and ctx.base_dir is not None:
        candidate = ctx.base_dir / candidate
    if candidate.is_file():
        return candidate
    if spec.endswith(".phony"):
        raise ValidationError(f"no such file: {candidate}", field=ctx.field("model"))

    name = spec
    if "/" not in spec.partition("@")[0] and ctx.locale:
        name = f"{ctx.locale}/{spec}"
    try:
        found = plugins.get_plugins().manager.hook.phony_resolve_model(spec=name)
    except RegistryError as exc:  # not in the cache, offline...: say which column asked
        raise type(exc)(f"{ctx.field('model')}: {exc}") from exc
    if found is None:
        raise ValidationError(f"model {name!r} not found", field=ctx.field("model"))
    return Path(found)


def _build_ngram(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    spec = argument(args, ctx, "model", str)
    unique = argument(args, ctx, "unique", bool, False)
    path = resolve_model_path(spec, ctx)
    from phony_registry.errors import ModelFormatError
    from phony_registry.format import load_model

    try:
        model = load_model(path)
    except ModelFormatError as exc:
        raise ValidationError(f"{path}: {exc}", field=ctx.field("model")) from exc
    return _Ngram(model, unique, Path(path))


BUILTIN_GENERATORS: tuple[GeneratorFactory, ...] = (
    GeneratorFactory(
        "ngram",
        "values from a .phony N-gram model, by path or by name (tr_TR/first_names)",
        _build_ngram,
        {
            "model": "model name or path to a .phony file",
            "unique": "no value twice (default false)",
        },
    ),
    GeneratorFactory(
        "template",
        'text composed from other columns: "{first_name} {last_name}"',
        _build_template,
        {"template": "format string naming other columns in braces"},
    ),
    GeneratorFactory(
        "email",
        "an address derived from other columns, ASCII-folded and lowercased",
        _build_email,
        {
            "from": "columns forming the local part, in order",
            "domains": "domains drawn uniformly (default example.com/.net/.org)",
            "separator": 'between the parts (default ".")',
            "unique": "number repeats: ali.kaya2@... (default false; remembers every address)",
        },
    ),
    GeneratorFactory(
        "sequence",
        "consecutive integers: 1, 2, 3...",
        _build_sequence,
        {
            "start": "first value (default 1)",
            "step": "increment (default 1)",
            "format": 'Python format string, e.g. "INV-{:06d}"',
        },
    ),
    GeneratorFactory(
        "integer",
        "uniform integers in [min, max]",
        _build_integer,
        {"min": "smallest value (default 0)", "max": "largest value"},
    ),
    GeneratorFactory(
        "number",
        "uniform decimal numbers in [min, max] with fixed decimals",
        _build_number,
        {
            "min": "smallest value (default 0)",
            "max": "largest value",
            "decimals": "digits after the point (default 2)",
        },
    ),
    GeneratorFactory(
        "choice",
        "one of a list of values, optionally weighted",
        _build_choice,
        {"values": "the values", "weights": "relative weights, one per value (default equal)"},
    ),
    GeneratorFactory(
        "date",
        "uniform dates (or datetimes) in [start, end]",
        _build_date,
        {
            "start": "first date, e.g. 1950-01-01",
            "end": "last date",
            "format": "strftime pattern (default ISO 8601)",
        },
    ),
)
