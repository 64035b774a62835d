"""Checking a written record against its collection's fields: 422s that name the field.

POST and PUT give every field, PATCH some; each value must have its
field's JSON type (an integer, a number, a string of at most
:data:`MAX_STRING` characters), one of a ``choice`` column's values, an ISO
date for a ``date`` column, an address for an ``email`` column, and for a
reference field the id of a live record of the collection it refers to.
The ``id`` is the mock's to assign.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from phony_server.mock.records import Collection, Field

__all__ = ["Invalid", "MAX_STRING", "validate_record"]  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks

#: Longest string value a write may store.
MAX_STRING = 10_000


class Invalid(Exception):
    """A written value that breaks its field's rule; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


def validate_record(
    collection: Collection,
    body: Any,
    *,
    partial: bool,
    record_id: int | None,
    exists: Callable[[str, int], bool],
) -> dict[str, Any]:
    """The fields of ``body`` checked, in the collection's order; Invalid for the first bad one.

    ``exists(collection, id)`` says whether a referenced record is there.
    """
    if not isinstance(body, dict):
        raise Invalid("expected a JSON object", "")
    for key in body:
        if key == "id":
            # 5.0 and true compare equal to 5 and 1: the type is checked first.
            if not isinstance(body[key], int) or isinstance(body[key], bool):
                raise Invalid("expected an integer, or leave it out", "id")
            if body[key] != record_id or record_id is None:
                raise Invalid("assigned by the mock; leave it out", "id")
        elif collection.field(key) is None:
            known = ", ".join(f.name for f in collection.fields if f.name != "id")
            raise Invalid(f"unknown field (fields: {known})", key[:60])
    clean: dict[str, Any] = {}
    for f in collection.fields:
        if f.name == "id":
            continue
        if f.name not in body:
            if partial:
                continue
            raise Invalid("is required", f.name)
        clean[f.name] = _check_value(f, body[f.name], exists)
    return clean


def _check_value(f: Field, value: Any, exists: Callable[[str, int], bool]) -> Any:
    if f.kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid("expected an integer", f.name)
        if not -(2**63) <= value < 2**63:
            raise Invalid("out of the 64-bit integer range", f.name)
    elif f.kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise Invalid("expected a number", f.name)
        if not math.isfinite(value):
            raise Invalid("expected a finite number", f.name)
    else:
        if not isinstance(value, str):
            raise Invalid("expected a string", f.name)
        if len(value) > MAX_STRING:
            raise Invalid(f"longer than {MAX_STRING} characters", f.name)
        if f.column_type == "email" and ("@" not in value or value.startswith("@")):
            raise Invalid("expected an email address", f.name)
        if f.format is not None:
            _check_date(value, f.format, f.name)
    if f.choices is not None and value not in f.choices:
        raise Invalid("expected one of " + ", ".join(map(str, f.choices[:20])), f.name)
    if f.references is not None and not exists(f.references, value):
        raise Invalid(f"no {f.references} with id {value}", f.name)
    return value


def _check_date(value: str, fmt: str, field: str) -> None:
    import datetime as dt

    try:
        if fmt == "date":
            if len(value) != 10:
                raise ValueError
            dt.date.fromisoformat(value)
        else:
            if len(value) <= 10:  # a date alone is not a date-time
                raise ValueError
            dt.datetime.fromisoformat(value)
    except ValueError:
        what = "an ISO date (1990-01-31)" if fmt == "date" else "an ISO datetime"
        raise Invalid(f"expected {what}", field) from None
