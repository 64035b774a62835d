"""Converting a ``.phony`` document to any format version, newer or older.

Upgrades are the single steps of :mod:`phony_registry.migrate` (which the
reader applies); the steps back need the whole reader (version 2 -> 1 goes
through the model), so they live here, above both :mod:`phony_registry.format`
and :mod:`phony_registry.migrate`. ``phony migrate --to`` and
``--format-version`` of pull and install use :func:`derive`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phony_registry.errors import ModelFormatError
from phony_registry.format import (
    document_to_model,
    document_version,
    dump_document,
    load_document,
    load_model,
)
from phony_registry.migrate import MIGRATIONS, losses, model_to_v1, v3_to_v2
from phony_registry.model import NEWEST_FORMAT_VERSION

__all__ = ["DOWNGRADES", "convert", "derive", "v2_to_v1"]


def v2_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 2 -> 1: the original layout (:func:`model_to_v1`); see :func:`losses`."""
    return model_to_v1(document_to_model(doc))


#: version -> function turning a document of that version into the previous one.
DOWNGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {3: v3_to_v2, 2: v2_to_v1}


def convert(doc: dict[str, Any], version: int) -> dict[str, Any]:
    """``doc`` in format ``version``, one single step at a time up or down.

    The result is validated by reading it back (a model phony writes, phony
    reads); :class:`ModelFormatError` if a step cannot hold the model.
    """
    if not 1 <= version <= NEWEST_FORMAT_VERSION:
        raise ModelFormatError(
            f"no format version {version}: this phony writes versions 1 to {NEWEST_FORMAT_VERSION}"
        )
    current = document_version(doc)
    document_to_model(doc)  # the input is valid before anything is derived from it
    while current != version:
        step = MIGRATIONS[current] if current < version else DOWNGRADES[current]
        doc = step(doc)
        current = document_version(doc)
    document_to_model(doc)
    return doc


def derive(data: bytes, version: int) -> tuple[bytes, list[str]]:
    """The ``.phony`` bytes of the model in ``data`` written in format ``version``.

    Deterministic (sorted keys, fixed gzip header): the same input bytes give
    the same output bytes, so the derived digest can be checked by anyone
    who repeats it. Returns the bytes and :func:`losses`. The output is read
    back through phony's own reader (its limits included) before it is returned.
    """
    doc = load_document(data)
    model = document_to_model(doc)
    out = dump_document(convert(doc, version))
    load_model(out)
    return out, losses(model, version)
