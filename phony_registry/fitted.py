"""Column types fitted to real data: ``histogram``, ``reference`` and ``uuid``.

``phony sync plan`` measures a database's columns and writes these into its
plan, but they are ordinary schema column types, registered by
:mod:`phony_registry.builtins` through the ``phony_register_generators`` hook
like the others, so the same plan or schema fills a file, a database or the
mock API with the same values::

    [columns.price]
    type = "histogram"                   # numbers between measured quantiles
    quantiles = [0.5, 3.2, 9.99, 24.5, 310]
    decimals = 2

    [columns.born]
    type = "histogram"
    quantiles = ["1950-01-01", "1979-06-02", "2004-12-31"]

    [columns.customer_id]
    type = "reference"                   # keys of another table's rows
    table = "customers"
    rows = 1000                          # rows of that table
    fanout = [[0, 310], [1, 420], [2, 150], [7, 3], [40, 1]]  # [children, parents having them]

Determinism: as in :mod:`phony_registry.columns`, each row draws a fixed
number of raw values from the column's stream with integer arithmetic, so a
column depends on the seed and its row numbers only, whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from phony_registry.errors import GenerationError, ValidationError
from phony_registry.generators import (
    BuildContext,
    ColumnGenerator,
    ColumnStream,
    GeneratorFactory,
    argument,
    iso_moment,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["FITTED_GENERATORS", "fanout_parents", "quantile_draws"]

_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()
#: Date ranges up to this many days format through a table of every day's string.
_DAY_TABLE_LIMIT = 200_000


def quantile_draws(stream_raw: npt.NDArray[np.uint64], points: Sequence[int]) -> npt.NDArray[Any]:
    """Integers distributed as the quantile ``points`` say, two raw draws per value.

    ``points`` are ``k + 1`` sorted integers cutting the distribution into
    ``k`` equally likely buckets; a value is uniform inside its bucket (both
    ends included). ``stream_raw`` holds two raw words per value.
    """
    import numpy as np

    q = np.asarray(points, dtype=np.int64)
    buckets = max(len(q) - 1, 1)
    pairs = stream_raw.reshape(-1, 2)
    which = (((pairs[:, 0] >> np.uint64(32)) * np.uint64(buckets)) >> np.uint64(32)).astype(np.intp)
    low = q[np.minimum(which, len(q) - 1)]
    high = q[np.minimum(which + 1, len(q) - 1)]
    span = (high - low + 1).astype(np.uint64)
    out: npt.NDArray[Any] = low + (pairs[:, 1] % span).astype(np.int64)
    return out


class _TwoWordsPerRow:
    """A column that draws exactly two raw values per row, so it seeks by arithmetic."""

    requires: Sequence[str] = ()

    def seek(self, stream: ColumnStream, row: int) -> bool:
        stream.advance(2 * row)  # random access (SeekableGenerator)
        return True


class _Histogram(_TwoWordsPerRow):
    def __init__(self, points: list[int], decimals: int, unit: str | None) -> None:
        self.points, self.decimals, self.unit = points, decimals, unit
        self._days: Any = None

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        import numpy as np

        drawn = quantile_draws(stream.raw(2 * n), self.points)
        if self.unit == "D" and self.points[-1] - self.points[0] <= _DAY_TABLE_LIMIT:
            # Dates: a take from the strings of every day in range, built once.
            if self._days is None:
                first = np.datetime64(self.points[0], "D")
                every = first + np.arange(self.points[-1] - self.points[0] + 1)
                self._days = np.asarray(np.datetime_as_string(every, unit="D"), dtype=object)
            days: list[str] = self._days.take(drawn - self.points[0]).tolist()
            return days
        if self.unit is not None:
            unit: Any = self.unit  # "D" or "s"; numpy's stubs want a literal
            moments: Any = drawn.astype(f"datetime64[{unit}]")
            text: list[str] = np.datetime_as_string(moments, unit=unit).tolist()
            return [t.replace("T", " ") for t in text] if self.unit == "s" else text
        if not self.decimals:
            return list(map(str, drawn.tolist()))
        # Whole and fractional parts in numpy, one f-string per value.
        scale = np.int64(10**self.decimals)
        negative = drawn < 0
        magnitude = np.abs(drawn)
        whole, frac = np.divmod(magnitude, scale)
        pattern = f"{{}}{{}}.{{:0{self.decimals}d}}"
        signs = np.where(negative, "-", "").tolist()
        return list(map(pattern.format, signs, whole.tolist(), frac.tolist()))


def _point(value: Any, decimals: int, ctx: BuildContext, key: str) -> tuple[int, str | None]:
    """One quantile as an integer: scaled by 10**decimals, or days / seconds since 1970."""
    import datetime as dt
    from decimal import Decimal, InvalidOperation

    if isinstance(value, bool):
        raise ValidationError("expected a number or a date, got a boolean", field=ctx.field(key))
    if isinstance(value, int | float):
        try:
            scaled = Decimal(str(value)) * (Decimal(10) ** decimals)
        except InvalidOperation as exc:
            raise ValidationError("not a finite number", field=ctx.field(key)) from exc
        if not scaled.is_finite():  # TOML's nan and inf convert without a signal
            raise ValidationError("not a finite number", field=ctx.field(key))
        return int(scaled.to_integral_value("ROUND_HALF_EVEN")), None
    if isinstance(value, str):
        value = iso_moment(value, ctx, key, "a number, date or datetime")
    if isinstance(value, dt.datetime):
        naive = value.replace(tzinfo=None)
        return int((naive - dt.datetime(1970, 1, 1)).total_seconds()), "s"
    if isinstance(value, dt.date):
        return value.toordinal() - _EPOCH_ORDINAL, "D"
    raise ValidationError("expected a number or a date", field=ctx.field(key))


def _build_histogram(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    raw = argument(args, ctx, "quantiles", list)
    if not raw:
        raise ValidationError("needs at least one value", field=ctx.field("quantiles"))
    decimals = argument(args, ctx, "decimals", int, 0)
    if not 0 <= decimals <= 12:
        raise ValidationError("must be between 0 and 12", field=ctx.field("decimals"))
    parsed = [_point(v, decimals, ctx, f"quantiles[{i}]") for i, v in enumerate(raw)]
    units = {unit for _, unit in parsed}
    if len(units) > 1:
        unit = "s" if "s" in units else None
        if None in units:
            raise ValidationError("mixes numbers and dates", field=ctx.field("quantiles"))
        parsed = [(p * 86_400 if u == "D" else p, "s") for p, u in parsed]
    points = [p for p, _ in parsed]
    if points != sorted(points):
        raise ValidationError("must be in increasing order", field=ctx.field("quantiles"))
    if points[-1] - points[0] >= 2**62:
        raise ValidationError("range too wide", field=ctx.field("quantiles"))
    unit = parsed[0][1]
    if unit is not None and decimals:
        raise ValidationError("dates take no decimals", field=ctx.field("decimals"))
    return _Histogram(points, decimals, unit)


# --- reference ------------------------------------------------------------------


def fanout_parents(
    seed: int, parents: int, children: int, fanout: Sequence[Sequence[int]] | None
) -> npt.NDArray[np.int64]:
    """For each of ``children`` rows, the index of its parent row among ``parents``.

    ``fanout`` is the measured frequency table of children per parent,
    ``[[children, parents], ...]`` (uniform parents when ``None``). Parent
    *k* of a random order gets the count at ``(k + 1/2) / parents`` of that
    table sorted: a stratified sample whose spread does not depend on the
    seed (skewed fan-outs, a few customers with most orders, stay as
    skewed). The counts are scaled to ``children``, and the
    children shuffled, so that two references of one table (an order item's
    order and product) are independent. Depends on the arguments only.
    """
    import numpy as np

    bits = np.random.PCG64(seed)
    order = np.argsort(np.asarray(bits.random_raw(parents), dtype=np.uint64), kind="stable")
    if not fanout or children == 0:
        raw = np.asarray(bits.random_raw(children), dtype=np.uint64)
        picks = ((raw >> np.uint64(32)) * np.uint64(parents)) >> np.uint64(32)
        return order[picks.astype(np.intp)].astype(np.int64)
    table = sorted((int(c), int(p)) for c, p in fanout)
    measured = np.repeat(
        np.asarray([c for c, _ in table], dtype=np.float64),
        np.asarray([p for _, p in table], dtype=np.int64),
    )
    positions = (np.arange(parents, dtype=np.float64) + 0.5) / parents
    counts = measured[np.minimum((positions * measured.size).astype(np.intp), measured.size - 1)]
    total = counts.sum()
    if total <= 0:
        counts[:] = 1.0
        total = float(parents)
    # Boundaries of each parent's run of children, scaled to the child count.
    ends = np.floor(np.cumsum(counts) * (children / total)).astype(np.int64)
    ends[-1] = children
    index = np.searchsorted(ends, np.arange(children, dtype=np.int64), side="right")
    shuffle = np.argsort(np.asarray(bits.random_raw(children), dtype=np.uint64), kind="stable")
    return order[index[shuffle]].astype(np.int64)


class _Reference:
    requires: Sequence[str] = ()

    def __init__(
        self,
        rows: int,
        start: int,
        step: int,
        fanout: list[list[int]] | None,
        unique: bool,
        where: tuple[str, str] = ("", ""),
    ) -> None:
        self.rows, self.start, self.step = rows, start, step
        self.fanout, self.unique = fanout, unique
        #: The column's field and the referenced table, for the error of a unique run dry.
        self.where = where

    def seek(self, stream: ColumnStream, row: int) -> bool:
        return True  # the parents of every row come from the seed; stream.offset picks them

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        import numpy as np

        if "parents" not in stream.state:
            if self.unique and stream.count > self.rows:
                field, table = self.where
                raise GenerationError(
                    f"{field}: unique = true gives each of the {self.rows} rows of {table} at "
                    f"most once, fewer than the {stream.count} rows asked for: ask for at most "
                    f"{self.rows}, or raise rows"
                )
            if self.unique:
                # One child per parent at most: the first ``count`` of a shuffle.
                raw = np.asarray(np.random.PCG64(stream.seed).random_raw(self.rows), np.uint64)
                stream.state["parents"] = np.argsort(raw, kind="stable")[: stream.count]
            else:
                stream.state["parents"] = fanout_parents(
                    stream.seed, self.rows, stream.count, self.fanout
                )
        rows = stream.state["parents"][stream.offset : stream.offset + n]
        return list(map(str, (rows * self.step + self.start).tolist()))


def _build_reference(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    table = argument(args, ctx, "table", str)
    argument(args, ctx, "column", str, "id")
    argument(args, ctx, "via", str, None)
    rows = argument(args, ctx, "rows", int)
    if rows < 1:
        raise ValidationError("must be >= 1 (the referenced table has no rows)", ctx.field("rows"))
    fanout = argument(args, ctx, "fanout", list, None)
    if fanout is not None:
        pairs_ok = fanout and all(
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in pair)
            for pair in fanout
        )
        if not pairs_ok or not sum(p for _, p in fanout):
            raise ValidationError(
                "expected [[children, parents], ...]: whole numbers >= 0, some parents",
                field=ctx.field("fanout"),
            )
    start, step = argument(args, ctx, "start", int, 1), argument(args, ctx, "step", int, 1)
    for key, value in (("start", start), ("step", step)):
        if not -(2**63) <= value < 2**63:
            raise ValidationError("must be a 64-bit integer", field=ctx.field(key))
    if not -(2**63) <= start + (rows - 1) * step < 2**63:
        raise ValidationError(
            "the last key, start + (rows - 1) * step, is past the 64-bit integers",
            field=ctx.field("rows"),
        )
    return _Reference(
        rows,
        start,
        step,
        fanout,
        argument(args, ctx, "unique", bool, False),
        (ctx.field(), table),
    )


# --- uuid -----------------------------------------------------------------------


class _Uuid(_TwoWordsPerRow):
    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> Sequence[str]:
        pairs = stream.raw(2 * n).reshape(-1, 2).tolist()
        out = []
        for hi, lo in pairs:
            value = (hi << 64) | lo
            value = (value & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
            value = (value & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
            h = f"{value:032x}"
            out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
        return out


def _build_uuid(args: Mapping[str, Any], ctx: BuildContext) -> ColumnGenerator:
    return _Uuid()


FITTED_GENERATORS: tuple[GeneratorFactory, ...] = (
    GeneratorFactory(
        "histogram",
        "numbers or dates distributed as measured quantiles say",
        _build_histogram,
        {
            "quantiles": "increasing numbers or ISO dates cutting equally likely buckets",
            "decimals": "digits after the point (default 0)",
        },
    ),
    GeneratorFactory(
        "reference",
        "keys of another table's rows (a foreign key), with a measured fan-out",
        _build_reference,
        {
            "table": "the referenced table",
            "column": "the referenced column (default id)",
            "rows": "rows of the referenced table",
            "start": "key of its first row (default 1)",
            "step": "difference between consecutive keys (default 1)",
            "fanout": "[[children, parents], ...]: how many parents have how many children "
            "(default uniform)",
            "unique": "each parent at most once: a one-to-one key (default false)",
            "via": "phony sync: copy column from the parent row this foreign-key column picks",
        },
    ),
    GeneratorFactory("uuid", "random version 4 UUIDs", _build_uuid, {}),
)
