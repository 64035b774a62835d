"""Canonical JSON: the exact bytes that are hashed and signed.

Objects are serialised with sorted keys, no insignificant whitespace
(``","`` and ``":"`` separators), UTF-8 without ``\\u`` escapes for
non-ASCII text, and no floats (their text form is not portable; every number
phony signs is an integer). A signature covers the canonical JSON of the
object without its ``signatures`` member.

Reading goes the other way through :func:`loads_object`, the one strict
reader of untrusted JSON. Before it builds a single Python object it checks
the document against :class:`JsonLimits` (how many values, how deep, how
long a string), because the object graph, not the text, is what costs
memory: ``[],`` is three bytes of text and some 64 bytes of Python objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phony_registry.errors import ModelFormatError, PhonyError, ValidationError

__all__ = [
    "DOCUMENT_LIMITS",
    "JsonLimits",
    "canonical_json",
    "check_structure",
    "json_kind",
    "loads_object",
    "signing_bytes",
]


def _check(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return
    if isinstance(value, float):
        raise ValidationError("floats are not allowed in signed JSON", field=path or None)
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError("object keys must be strings", field=path or None)
            _check(item, f"{path}.{key}" if path else key)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise ValidationError(f"{type(value).__name__} is not JSON", field=path or None)


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` canonically (see the module docstring)."""
    _check(value, "")
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def signing_bytes(obj: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: canonical JSON of ``obj`` minus ``signatures``."""
    return canonical_json({k: v for k, v in obj.items() if k != "signatures"})


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key[:80]!r}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        # Two readers could each pick a different value; refuse the ambiguity.
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def json_kind(value: object) -> str:
    """How an error message names the JSON type of ``value`` ("an array", "null"...)."""
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class JsonLimits:
    """Structural limits of one JSON document, checked before it is parsed.

    Parsed JSON costs at most about 100 bytes of Python objects per value
    plus four bytes per character of its strings, so ``max_values`` bounds
    the memory a document can take whatever its text looks like.
    """

    #: Containers, object keys and scalars, counted as every ``[``, ``{``,
    #: ``,`` and ``:`` outside strings, plus one.
    max_values: int = 1_000_000
    #: Arrays and objects nested in one another.
    max_depth: int = 64
    #: Bytes of the longest string as written (escapes included); None: any.
    max_string: int | None = 1 << 20


#: The limits of manifests, snapshots, index lines and API bodies.
DOCUMENT_LIMITS = JsonLimits()

# A JSON string with its escapes, matched whole so that what is inside is skipped.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
# A string, or a bracket: what the nesting scan steps through.
_NESTING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_STRUCTURE = (b"[", b"{", b",", b":")
_QUOTE, _OPENERS = ord('"'), (ord("["), ord("{"))
# An escaped UTF-16 surrogate (paired or not: the parsed text tells which).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def check_structure(data: bytes, limits: JsonLimits = DOCUMENT_LIMITS) -> str | None:
    """Why the JSON text ``data`` breaks ``limits``, or None if it keeps them.

    Everything runs at C speed on the bytes (``bytes.count``, one regex pass
    over the strings), without parsing or copying: the structural bytes are
    counted, then the ones inside strings taken off, and only a document
    within the value limit is stepped through bracket by bracket for its
    depth. A document that breaks a limit costs a scan of its text, never
    more.
    """
    opens = data.count(b"[") + data.count(b"{")
    values = sum(data.count(char) for char in _STRUCTURE) + 1
    strings = limits.max_string is not None and len(data) > limits.max_string
    if values > limits.max_values or strings:
        for match in _STRING.finditer(data):
            start, end = match.span()
            length = end - start - 2
            if limits.max_string is not None and length > limits.max_string:
                return f"a string of {length} bytes is over the {limits.max_string} byte limit"
            if length and values > limits.max_values:
                inside = sum(data.count(char, start, end) for char in _STRUCTURE)
                values -= inside
                opens -= data.count(b"[", start, end) + data.count(b"{", start, end)
        if values > limits.max_values:
            return f"more than {limits.max_values} values"
    if opens <= limits.max_depth:
        return None
    depth = 0
    for match in _NESTING.finditer(data):
        first = data[match.start()]
        if first == _QUOTE:
            continue
        if first in _OPENERS:
            depth += 1
            if depth > limits.max_depth:
                return f"nested too deeply (over {limits.max_depth} levels)"
        else:
            depth -= 1
    return None


def _shown(text: str) -> str:
    return text[:40].encode("ascii", "backslashreplace").decode("ascii")


def _lone_surrogate(value: Any) -> str | None:
    """The field path (``meta.name``, ``a[3]``) of a string or key holding a lone surrogate."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return path
        elif isinstance(item, dict):
            for key, member in item.items():
                where = f"{path}.{key}" if path else key
                if _LONE_SURROGATE.search(key):
                    return _shown(where)
                pending.append((where, member))
        elif isinstance(item, list):
            pending.extend((f"{path}[{i}]", member) for i, member in enumerate(item))
    return None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_object(
    data: bytes,
    what: str = "document",
    *,
    error: type[PhonyError] = ValidationError,
    limits: JsonLimits = DOCUMENT_LIMITS,
) -> dict[str, Any]:
    """Parse strict UTF-8 JSON that must be an object, or raise ``error`` saying why.

    ``what`` names the document at the start of the message (``""`` for none).

    Every reader of untrusted JSON (manifests, snapshots, index lines, model
    files, uploads) goes through here, so all of them refuse duplicate keys,
    ``NaN``, strings that are not Unicode text (a lone surrogate such as
    ``"\\ud800"``, which cannot be printed or encoded) and documents beyond
    ``limits`` (checked before anything is built), with one of phony's own
    errors.
    """
    prefix = f"{what}: " if what else ""
    problem = check_structure(data, limits)
    if problem is not None:
        raise error(f"{prefix}JSON over the reader's limits: {problem}")
    try:
        value = json.loads(
            data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except UnicodeDecodeError as exc:
        raise error(f"{prefix}not UTF-8 JSON (bad byte at offset {exc.start})") from exc
    except RecursionError as exc:
        raise error(f"{prefix}invalid JSON (nested too deeply)") from exc
    except ValueError as exc:
        raise error(f"{prefix}invalid JSON ({exc})") from exc
    if _SURROGATE_ESCAPE.search(data) and (where := _lone_surrogate(value)) is not None:
        reason = "must be Unicode text (it holds a lone surrogate such as \\ud800)"
        refusal = error(f"{prefix}{where or 'the document'}: {reason}")
        if isinstance(refusal, (ValidationError, ModelFormatError)):
            refusal.field, refusal.reason = where or None, reason  # as the field checks do
        raise refusal
    if not isinstance(value, dict):
        raise error(f"{prefix}the JSON document is {json_kind(value)}, not an object")
    return value
