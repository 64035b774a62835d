"""Canonical JSON: the exact bytes that are hashed and signed.

Objects are serialised with sorted keys, no insignificant whitespace
(``","`` and ``":"`` separators), UTF-8 without ``\\u`` escapes for
non-ASCII text, and no floats (their text form is not portable; every number
phony signs is an integer). A signature covers the canonical JSON of the
object without its ``signatures`` member.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from phony_registry.errors import PhonyError, ValidationError

__all__ = [
    "canonical_json",
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


def loads_object(
    data: bytes, what: str = "document", *, error: type[PhonyError] = ValidationError
) -> dict[str, Any]:
    """Parse strict UTF-8 JSON that must be an object, or raise ``error`` saying why.

    ``what`` names the document at the start of the message (``""`` for none).

    Every reader of untrusted JSON (manifests, snapshots, index lines, model
    files, uploads) goes through here, so all of them refuse duplicate keys
    and survive any nesting depth with one of phony's own errors.
    """
    prefix = f"{what}: " if what else ""
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError as exc:
        raise error(f"{prefix}not UTF-8 JSON (bad byte at offset {exc.start})") from None
    except RecursionError:
        raise error(f"{prefix}invalid JSON (nested too deeply)") from None
    except ValueError as exc:
        raise error(f"{prefix}invalid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise error(f"{prefix}the JSON document is {json_kind(value)}, not an object")
    return value
