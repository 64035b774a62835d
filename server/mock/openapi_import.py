"""Collections from an OpenAPI 3 document: ``phony mock start --openapi spec.yaml``.

Each collection path (``/pets`` whose GET answers an array of a schema, or
else each object schema under ``components.schemas``) becomes a collection
whose columns are the schema's properties, as a phony schema document:

- ``string`` with ``enum`` -> ``choice``; with ``pattern`` -> ``pattern``
  (strings matching the regex); ``format`` ``date``/``date-time`` ->
  ``date``, ``uuid`` -> ``uuid``, ``email``/``uri``/``hostname``/``ipv4``
  -> a pattern of that shape; ``minLength``/``maxLength`` bound a plain
  string (lowercase letters);
- a property named like a model of the locale (``first_name``,
  ``lastName``, ``city``, ``street``, ``company``...) -> that model
  (``ngram``), realistic values from ``--locale`` (en_US by default);
- ``integer``/``number`` -> uniform in ``minimum``..``maximum`` (exclusive
  bounds honoured), ``enum`` of numbers -> ``choice``; ``boolean`` ->
  ``choice`` of ``true``/``false`` (served as strings);
- the ``id`` property is the mock's own (records are numbered 1..count).

Anything else (nested objects, arrays, ``oneOf``, a regex with a lookaround
or back-reference) is refused with one error naming the property.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from phony_registry._fs import read_capped
from phony_registry.errors import UsageError, ValidationError
from phony_server.mock.words import plural

__all__ = ["MAX_SPEC", "openapi_collections", "openapi_schema", "read_spec"]

#: Largest OpenAPI document read (bytes).
MAX_SPEC = 4 << 20

#: Property names (snake case, lowercase) that take a locale's model.
_ROLES = {
    "first_name": "first_names",
    "firstname": "first_names",
    "given_name": "first_names",
    "last_name": "last_names",
    "lastname": "last_names",
    "surname": "last_names",
    "family_name": "last_names",
    "city": "cities",
    "town": "cities",
    "street": "streets",
    "street_name": "streets",
    "company": "companies",
    "company_name": "companies",
}
_FORMAT_PATTERNS = {
    "email": r"[a-z]{3,10}\.[a-z]{3,10}@example\.(com|org|net)",
    "uri": r"https://example\.(com|org|net)/[a-z]{3,10}(/[a-z0-9]{1,8}){0,2}",
    "url": r"https://example\.(com|org|net)/[a-z]{3,10}(/[a-z0-9]{1,8}){0,2}",
    "hostname": r"[a-z]{3,10}\.example\.(com|org|net)",
    "ipv4": r"10\.(1?[0-9]{1,2})\.(1?[0-9]{1,2})\.(1?[0-9]{1,2})",
}


def read_spec(path: str | Path) -> dict[str, Any]:
    """The OpenAPI document at ``path`` (YAML or JSON), capped; a UsageError if unreadable."""
    file = Path(path).expanduser()
    data = read_capped(file, MAX_SPEC, f"--openapi {path}")
    text = data.decode("utf-8", "replace")
    try:
        if file.suffix.lower() == ".json" or text.lstrip().startswith("{"):
            doc = json.loads(text)
        else:
            import yaml  # type: ignore[import-untyped]  # no stubs in the dev extra

            doc = yaml.safe_load(text)
    except Exception as exc:  # json's and yaml's own error trees: one line either way
        raise UsageError(f"--openapi {path}: not JSON or YAML: {str(exc)[:200]}") from None
    version = doc.get("openapi") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith("3."):
        raise UsageError(f"--openapi {path}: not an OpenAPI 3 document (no openapi: 3.x)")
    found: dict[str, Any] = doc
    return found


def _schemas(doc: Mapping[str, Any]) -> dict[str, Any]:
    components = doc.get("components")
    schemas = components.get("schemas") if isinstance(components, dict) else None
    return schemas if isinstance(schemas, dict) else {}


def _ref_name(node: Any) -> str | None:
    ref = node.get("$ref") if isinstance(node, dict) else None
    prefix = "#/components/schemas/"
    return ref[len(prefix) :] if isinstance(ref, str) and ref.startswith(prefix) else None


def openapi_collections(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(collection, schema name)`` pairs the document describes."""
    schemas = _schemas(doc)
    found: dict[str, str] = {}
    paths = doc.get("paths") if isinstance(doc.get("paths"), dict) else {}
    for path, item in (paths or {}).items():
        segments = [s for s in str(path).split("/") if s]
        if len(segments) != 1 or "{" in segments[0] or not isinstance(item, dict):
            continue
        answer = (((item.get("get") or {}).get("responses") or {}).get("200") or {}).get("content")
        media = (answer or {}).get("application/json") or {}
        schema = media.get("schema") if isinstance(media, dict) else None
        if isinstance(schema, dict) and schema.get("type") == "array":
            name = _ref_name(schema.get("items"))
            if name in schemas:
                found[segments[0].lower()] = name
    if not found:
        for name, schema in schemas.items():
            if isinstance(schema, dict) and schema.get("type", "object") == "object":
                found[plural(_snake(name))] = name
    if not found:
        raise UsageError("--openapi: no collection in this document (no object schema)")
    return sorted(found.items())


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).replace("-", "_").lower()


def openapi_schema(doc: Mapping[str, Any], schema_name: str, *, locale: str) -> dict[str, Any]:
    """The phony schema document for ``components.schemas.<schema_name>``."""
    schemas = _schemas(doc)
    where = f"components.schemas.{schema_name}"
    schema = schemas.get(schema_name)
    seen = {schema_name}
    while isinstance(schema, dict) and (target := _ref_name(schema)) is not None:
        if target in seen:
            raise ValidationError("a $ref loop", field=where)
        seen.add(target)
        schema = schemas.get(target)
    if not isinstance(schema, dict) or not isinstance(schema.get("properties", {}), dict):
        raise ValidationError("expected an object schema with properties", field=where)
    columns: dict[str, Any] = {}
    for prop, spec in (schema.get("properties") or {}).items():
        if prop == "id":
            continue  # the mock numbers records itself
        field = f"{where}.properties.{prop}"
        target = _ref_name(spec)
        if target is not None:
            spec = schemas.get(target)
        if not isinstance(spec, dict):
            raise ValidationError("expected a schema", field=field)
        columns[str(prop)] = _column(str(prop), spec, field)
    if not columns:
        raise ValidationError("no property to generate", field=where)
    return {"description": f"{schema_name} from an OpenAPI document", "locale": locale,
            "columns": columns}  # fmt: skip


def _column(name: str, spec: Mapping[str, Any], field: str) -> dict[str, Any]:
    kind = spec.get("type")
    if isinstance(kind, list):  # 3.1: ["string", "null"]
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else kind
    enum = spec.get("enum")
    if enum is not None:
        values = [v for v in enum if v is not None] if isinstance(enum, list) else []
        if not values or not all(isinstance(v, str | int | float) for v in values):
            raise ValidationError("enum: expected a list of strings or numbers", field=field)
        return {"type": "choice", "values": [str(v) for v in values]}
    if kind == "string":
        return _string(name, spec, field)
    if kind in ("integer", "number"):
        return _number(kind, spec, field)
    if kind == "boolean":
        return {"type": "choice", "values": ["true", "false"]}
    what = kind if isinstance(kind, str) else "a schema without one type (oneOf, anyOf...)"
    raise ValidationError(f"{what} is not supported by phony mock --openapi", field=field)


def _string(name: str, spec: Mapping[str, Any], field: str) -> dict[str, Any]:
    from phony_server.mock.pattern import compile_pattern

    fmt = spec.get("format")
    pattern = spec.get("pattern")
    if isinstance(pattern, str):
        try:
            compile_pattern(pattern)
        except ValueError as exc:
            raise ValidationError(f"pattern {pattern[:80]!r}: {exc}", field=field) from None
        return {"type": "pattern", "regex": pattern}
    if fmt == "date":
        return {"type": "date", "start": "1970-01-01", "end": "2030-12-31"}
    if fmt == "date-time":
        # RFC 3339 wants an offset: UTC, written Z.
        return {"type": "date", "start": "2000-01-01T00:00:00", "end": "2030-12-31T23:59:59",
                "format": "%Y-%m-%dT%H:%M:%SZ"}  # fmt: skip
    if fmt == "uuid":
        return {"type": "uuid"}
    if isinstance(fmt, str) and fmt in _FORMAT_PATTERNS:
        return {"type": "pattern", "regex": _FORMAT_PATTERNS[fmt]}
    role = _role(_snake(name))
    low, high = spec.get("minLength", 0), spec.get("maxLength")
    if role is not None and not low and high is None:
        return {"type": "ngram", "model": role}
    if not isinstance(low, int) or (high is not None and not isinstance(high, int)):
        raise ValidationError("minLength and maxLength: expected integers", field=field)
    if high is not None and high < low:
        raise ValidationError("maxLength is below minLength", field=field)
    low = max(low, 1) if high != 0 else 0
    high = high if high is not None else max(low, 12)
    high = min(high, max(low, 64))
    return {"type": "pattern", "regex": f"[a-z]{{{low},{high}}}"}


def _role(name: str) -> str | None:
    """The model a property name asks for: ``city``, ``lastName``, ``owner_first_name``..."""
    words = name.split("_")
    for i in range(len(words)):
        role = _ROLES.get("_".join(words[i:]))
        if role is not None:
            return role
    return None


def _number(kind: str, spec: Mapping[str, Any], field: str) -> dict[str, Any]:
    low, high = spec.get("minimum"), spec.get("maximum")
    for key, bound in (("minimum", low), ("maximum", high)):
        if bound is not None and (not isinstance(bound, int | float) or isinstance(bound, bool)):
            raise ValidationError(f"{key}: expected a number", field=field)
    exclusive_low, exclusive_high = spec.get("exclusiveMinimum"), spec.get("exclusiveMaximum")
    step = 1 if kind == "integer" else 0.01
    if isinstance(exclusive_low, int | float) and not isinstance(exclusive_low, bool):
        low = exclusive_low + step  # 3.1: a number
    elif exclusive_low is True and low is not None:
        low = low + step  # 3.0: a flag on minimum
    if isinstance(exclusive_high, int | float) and not isinstance(exclusive_high, bool):
        high = exclusive_high - step
    elif exclusive_high is True and high is not None:
        high = high - step
    low = 0 if low is None else low
    high = (low + 1000) if high is None else high
    if high < low:
        raise ValidationError("maximum is below minimum", field=field)
    if kind == "integer":
        import math

        return {"type": "integer", "min": math.ceil(low), "max": math.floor(high)}
    return {"type": "number", "min": float(low), "max": float(high), "decimals": 2}
