"""List queries: json-server's pagination, sorting and filter parameters over lazy records.

Both generations of json-server's parameters are understood:

- pages: ``_page`` with ``_limit`` (v0: the answer is an array), or
  ``_per_page`` (v1: the answer is v1's envelope ``{first, prev, next, last,
  pages, items, data}``, page 1 when ``_page`` is not given), or a slice
  ``_start``/``_end`` (``_start``/``_limit``); ``X-Total-Count`` and
  ``Link`` headers come with every list;
- sorting: ``_sort=a,b&_order=asc,desc`` (v0) or ``_sort=a,-b`` (v1);
- filters: ``field=value`` (repeat it for "any of"), ``field_ne``,
  ``field_like`` (case-insensitive substring; ``^`` and ``$`` anchor it),
  ``field_gte``/``_lte``/``_gt``/``_lt``, the v1 forms ``field:gte=`` (also
  ``:eq``, ``:ne``, ``:contains``, ``:startsWith``, ``:endsWith``), and ``q``
  for a case-insensitive search of every field.

Cost, honestly: a page without filters or sorting is computed directly
(row *i* from the seed), whatever the page number. A filter, a sort or
``q`` has to look at every record, generating them in order (hundreds of
thousands of records per second); the mock refuses one over a collection
larger than its scan limit (``--scan-limit``, default 1,000,000) with a 400
that says so, rather than hold a request for minutes.
"""

from __future__ import annotations

import heapq
import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlencode

from phony_server.mock.records import Collection, Field
from phony_server.mock.state import Layer, Overlay

__all__ = [
    "BadQuery",
    "ListQuery",
    "Page",
    "envelope",
    "matching",
    "parse_list_query",
    "run_list",
    "scans",
]

_OPS = {"ne", "like", "gte", "lte", "gt", "lt"}
_V1_OPS = {
    "eq": "eq", "ne": "ne", "lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte",
    "contains": "like", "startsWith": "starts", "endsWith": "ends",
}  # fmt: skip
#: Longest value a filter may compare with.
MAX_FILTER_VALUE = 256


class BadQuery(Exception):
    """A query parameter the mock cannot honour: a 400 naming the parameter."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


@dataclass
class ListQuery:
    """A parsed list request."""

    start: int = 0
    stop: int | None = None
    page: int | None = None
    per_page: int | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    filters: list[tuple[str, str, list[str]]] = field(default_factory=list)  # field, op, values
    q: str | None = None
    embed: list[str] = field(default_factory=list)
    expand: list[str] = field(default_factory=list)
    #: ``_per_page`` was given: answer with json-server v1's envelope, not an array.
    envelope: bool = False

    @property
    def scans(self) -> bool:
        """Whether answering needs every record (filters, sort or search)."""
        return bool(self.sort or self.filters or self.q)


@dataclass
class Page:
    """The records of a list answer and its headers' figures."""

    records: list[dict[str, Any]]
    total: int
    links: dict[str, str] = field(default_factory=dict)
    #: The records as a JSON array already (a plain page of unwritten records), else None.
    encoded: str | None = None


#: Parameters that never make a list look at every record.
_DIRECT = frozenset({"_page", "_limit", "_per_page", "_start", "_end", "_expand"})


def scans(params: list[tuple[str, str]]) -> bool:
    """Whether a list request may look at every record (a filter, sort, search or embed)."""
    return any(name not in _DIRECT for name, _ in params)


def _int(name: str, text: str, low: int) -> int:
    """An integer parameter: ASCII digits, maybe after a minus (int() alone also reads
    ``1_0``, `` 2``, ``+2`` and other scripts' digits, which no client means)."""
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        raise BadQuery(name, f"expected an integer, got {text[:40]!r}")
    try:
        value = int(text)
    except ValueError:  # more digits than int() reads
        raise BadQuery(name, f"expected an integer, got {text[:40]!r}") from None
    if value < low:
        raise BadQuery(name, f"must be >= {low}")
    return value


def parse_list_query(
    params: list[tuple[str, str]], collection: Collection, *, max_page: int
) -> ListQuery:
    """Read the query parameters of a list request; BadQuery for anything wrong."""
    query = ListQuery()
    limit: int | None = None
    end: int | None = None
    sort_fields: list[str] = []
    orders: list[str] = []
    grouped: dict[tuple[str, str], list[str]] = {}
    for name, value in params:
        if name == "_page":
            query.page = _int(name, value, 1)
        elif name in ("_limit", "_per_page"):
            limit = _int(name, value, 1 if name == "_per_page" else 0)
            query.envelope = query.envelope or name == "_per_page"
            if limit > max_page:
                raise BadQuery(name, f"at most {max_page} records per page")
        elif name == "_start":
            query.start = _int(name, value, 0)
        elif name == "_end":
            end = _int(name, value, 0)
        elif name == "_sort":
            sort_fields.extend(part.strip() for part in value.split(",") if part.strip())
        elif name == "_order":
            orders.extend(part.strip().lower() for part in value.split(","))
        elif name == "q":
            if len(value) > MAX_FILTER_VALUE:
                raise BadQuery(name, f"longer than {MAX_FILTER_VALUE} characters")
            query.q = value.casefold()
        elif name == "_embed":
            query.embed.extend(p for p in value.split(",") if p)
        elif name == "_expand":
            query.expand.extend(p for p in value.split(",") if p)
        elif name.startswith("_"):
            continue  # json-server ignores parameters it does not know; so do we
        else:
            key, op = _filter_key(name, collection)
            if len(value) > MAX_FILTER_VALUE:
                raise BadQuery(name, f"longer than {MAX_FILTER_VALUE} characters")
            grouped.setdefault((key, op), []).append(value)
    for i, raw in enumerate(sort_fields):
        descending = raw.startswith("-")
        name = raw[1:] if descending else raw
        if collection.field(name) is None:
            raise BadQuery("_sort", _unknown(name, collection))
        if i < len(orders):
            if orders[i] not in ("asc", "desc"):
                raise BadQuery("_order", "expected asc or desc")
            descending = orders[i] == "desc"
        query.sort.append((name, descending))
    # A field named again decides nothing its first mention did not (and each is work
    # per record); a relation named again would be fetched again.
    kept: dict[str, bool] = {}
    for name, descending in query.sort:
        kept.setdefault(name, descending)
    query.sort = list(kept.items())
    query.embed = list(dict.fromkeys(query.embed))
    query.expand = list(dict.fromkeys(query.expand))
    query.filters = [(k, op, values) for (k, op), values in grouped.items()]
    for (key, op), values in grouped.items():
        kind = collection.field(key).kind  # type: ignore[union-attr]
        if kind != "string" and op in ("eq", "ne", "gte", "lte", "gt", "lt"):
            for value in values:
                if _number(value) is None:
                    raise BadQuery(f"{key}", f"expected a number, got {value[:40]!r}")
    if query.envelope and query.page is None:
        query.page = 1
    if query.page is not None:
        query.per_page = 10 if limit is None else limit
        query.start = (query.page - 1) * query.per_page
        query.stop = query.start + query.per_page
    elif end is not None:
        query.stop = end
        if end - query.start > max_page:
            raise BadQuery("_end", f"at most {max_page} records per request")
    elif limit is not None:
        query.stop = query.start + limit
    else:
        query.stop = query.start + max_page
    return query


_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _number(text: str) -> int | float | None:
    """A filter's number: an int when written as one (compared exactly, however large),
    else a finite float; None for anything else (``nan``, ``inf``, ``1_0``, ``0x10``)."""
    if _NUMBER.fullmatch(text) is None:
        return None
    if text.lstrip("+-").isdigit():
        try:
            return int(text)
        except ValueError:  # more digits than int() reads
            return None
    number = float(text)
    return number if math.isfinite(number) else None


def _unknown(name: str, collection: Collection) -> str:
    known = ", ".join(f.name for f in collection.fields)
    return f"unknown field {name[:60]!r} (fields: {known})"


def _filter_key(name: str, collection: Collection) -> tuple[str, str]:
    if collection.field(name) is not None:
        return name, "eq"
    key, colon, op = name.partition(":")
    if colon:
        if op not in _V1_OPS:
            raise BadQuery(name, f"unknown operator (operators: {', '.join(_V1_OPS)})")
        if collection.field(key) is None:
            raise BadQuery(name, _unknown(key, collection))
        return key, _V1_OPS[op]
    key, _, op = name.rpartition("_")
    if op in _OPS and collection.field(key) is not None:
        return key, op
    raise BadQuery(name, _unknown(name, collection))


# --- matching ---------------------------------------------------------------------


def _starts(needle: str, value: str) -> bool:
    return value.startswith(needle)


def _ends(needle: str, value: str) -> bool:
    return value.endswith(needle)


def _contains(needle: str, value: str) -> bool:
    return needle in value


def _matcher(f: Field, op: str, values: list[str]) -> Callable[[Any], bool]:
    numeric = f.kind != "string"
    if op in ("like", "starts", "ends"):
        tests: list[Callable[[str], bool]] = []
        for value in values:
            needle = value.casefold()
            if op == "starts" or (op == "like" and needle.startswith("^")):
                needle = needle.removeprefix("^")
                if needle.endswith("$") and op == "like":
                    exact = needle[:-1]
                    tests.append(partial(operator.eq, exact))
                else:
                    tests.append(partial(_starts, needle))
            elif op == "ends" or (op == "like" and needle.endswith("$")):
                needle = needle.removesuffix("$")
                tests.append(partial(_ends, needle))
            else:
                tests.append(partial(_contains, needle))
        return lambda v: v is not None and any(t(str(v).casefold()) for t in tests)
    wanted: list[Any] = [_number(v) for v in values] if numeric else list(values)
    if op == "eq":
        pool = set(wanted)
        return lambda v: v in pool
    if op == "ne":
        pool = set(wanted)
        return lambda v: v not in pool
    bound = wanted[-1]
    if op == "gte":
        return lambda v: v is not None and v >= bound
    if op == "lte":
        return lambda v: v is not None and v <= bound
    if op == "gt":
        return lambda v: v is not None and v > bound
    return lambda v: v is not None and v < bound


def _predicate(query: ListQuery, collection: Collection) -> Callable[[dict[str, Any]], bool]:
    checks = [
        (name, _matcher(collection.field(name), op, values))  # type: ignore[arg-type]
        for name, op, values in query.filters
    ]
    q = query.q

    def accept(record: dict[str, Any]) -> bool:
        for name, check in checks:
            if not check(record.get(name)):
                return False
        if q is not None:
            return any(q in str(v).casefold() for v in record.values() if v is not None)
        return True

    return accept


# --- answering --------------------------------------------------------------------


def _all_records(collection: Collection, layer: Layer, scan_limit: int) -> Iterator[dict[str, Any]]:
    """Every live record in id order, the overlay applied (generated, then created)."""
    if collection.count > scan_limit:
        raise BadQuery(
            "filter",
            f"filtering, sorting and search look at every record, and {collection.name} has "
            f"{collection.count:,} (more than the scan limit, {scan_limit:,}; --scan-limit)",
        )
    overrides = layer.records
    for batch in collection.scan():
        if overrides:
            for record in batch:
                rid = record["id"]
                if rid in overrides:
                    changed = overrides[rid]
                    if changed is not None:
                        yield changed
                else:
                    yield record
        else:
            yield from batch
    # get, not []: a delete in another thread may forget a created record between our
    # reading its id and its record (a scan runs off the event loop; so does _dependent).
    for rid in layer.created:
        created = overrides.get(rid)
        if created is not None:
            yield created


def _sort_key(query: ListQuery) -> Callable[[dict[str, Any]], Any]:
    def key(record: dict[str, Any]) -> Any:
        parts = []
        for name, descending in query.sort:
            value = record.get(name)
            parts.append(_Ordered(value, descending))
        return parts

    return key


class _Ordered:
    """A sort key part: None last, descending flips the comparison."""

    __slots__ = ("descending", "value")

    def __init__(self, value: Any, descending: bool) -> None:
        self.value, self.descending = value, descending

    def __lt__(self, other: _Ordered) -> bool:
        a, b = self.value, other.value
        if a is None or b is None:
            return b is None and a is not None
        if a == b:
            return False
        try:
            less = bool(a < b)
        except TypeError:
            less = str(a) < str(b)
        return not less if self.descending else less

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ordered) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


def matching(
    collection: Collection, overlay: Overlay, query: ListQuery, scan_limit: int
) -> Iterator[dict[str, Any]]:
    """Every record ``query``'s filters accept, in id order (a scan)."""
    accept = _predicate(query, collection)
    layer = overlay.layers[collection.name]
    return (r for r in _all_records(collection, layer, scan_limit) if accept(r))


def _plain_page(
    collection: Collection, layer: Layer, start: int, stop: int
) -> tuple[list[dict[str, Any]], int]:
    """Records at positions ``start:stop`` with no filter: computed directly, no scan."""
    deleted_rows = [r for r in map(collection.row_of, layer.deleted) if r is not None]
    alive = collection.count - len(deleted_rows)
    total = alive + len(layer.created)
    records: list[dict[str, Any]] = []
    position = start
    if position < alive and stop > start:
        row = position
        for d in deleted_rows:
            if d > row:
                break
            row += 1
        gone = set(deleted_rows)
        while len(records) < stop - start and row < collection.count:
            need = stop - start - len(records)
            chunk = collection.rows(row, row + need)
            for i, record in enumerate(chunk):
                if row + i in gone:
                    continue
                changed = layer.records.get(record["id"])
                records.append(changed if changed is not None else record)
            row += len(chunk)
        position = alive
    if len(records) < stop - start and stop > alive:
        first = max(start, alive) - alive
        for rid in layer.created[first : first + (stop - start - len(records))]:
            created = layer.records.get(rid)  # gone meanwhile: see _all_records
            if created is not None:
                records.append(created)
    return records[: max(stop - start, 0)], total


def run_list(
    collection: Collection,
    overlay: Overlay,
    query: ListQuery,
    *,
    scan_limit: int,
    base_url: str,
    params: list[tuple[str, str]],
) -> Page:
    """Answer a list query: the page of records and the total count."""
    layer = overlay.layers[collection.name]
    stop = query.stop if query.stop is not None else query.start
    if not query.scans and not layer.records and not (query.embed or query.expand):
        # Nothing written: positions are rows, encoded column by column.
        total = collection.count
        links = _links(query, total, base_url, params)
        return Page([], total, links, collection.rows_json(query.start, stop))
    if not query.scans:
        records, total = _plain_page(collection, layer, query.start, stop)
    else:
        found = matching(collection, overlay, query, scan_limit)
        if query.sort:
            total = 0
            kept: list[tuple[Any, int, dict[str, Any]]] = []
            key = _sort_key(query)
            for total, record in enumerate(found, 1):
                kept.append((key(record), total, record))
                if len(kept) > 4 * max(stop, 1024):  # keep only what the page needs
                    kept = heapq.nsmallest(stop, kept)
            records = [r for _, _, r in heapq.nsmallest(stop, kept)][query.start : stop]
        else:
            records, total = [], 0
            for record in found:
                if query.start <= total < stop:
                    records.append(record)
                total += 1
    return Page(records, total, _links(query, total, base_url, params))


def envelope(query: ListQuery, page: Page, records: list[dict[str, Any]]) -> dict[str, Any]:
    """json-server v1's answer to ``_per_page``: page numbers, counts and the records.

    As in the ``Link`` header, ``prev`` past the end is the last page (not one
    no client can reach), and nothing is one empty page.
    """
    number, per_page = query.page or 1, query.per_page or 1
    pages = max(1, -(-page.total // per_page))
    return {
        "first": 1,
        "prev": min(number - 1, pages) if number > 1 else None,
        "next": number + 1 if number < pages else None,
        "last": pages,
        "pages": pages,
        "items": page.total,
        "data": records,
    }


def _links(
    query: ListQuery, total: int, base_url: str, params: list[tuple[str, str]]
) -> dict[str, str]:
    if query.page is None or not query.per_page:
        return {}
    last = max(1, -(-total // query.per_page))
    # The other parameters are encoded once; each link adds its own page.
    others = urlencode([(k, v) for k, v in params if k != "_page"])
    prefix = f"{base_url}?{others}&_page=" if others else f"{base_url}?_page="

    def url(page: int) -> str:
        return f"{prefix}{page}"

    links = {"first": url(1)}
    if query.page > 1:
        links["prev"] = url(min(query.page - 1, last))
    if query.page < last:
        links["next"] = url(query.page + 1)
    links["last"] = url(last)
    return links
