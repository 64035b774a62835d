"""The integer arrays of a ``.phony`` document: base64 of little-endian integers.

Both the reader and writer (:mod:`phony_registry.format`) and the
migrations (:mod:`phony_registry.migrate`) speak this encoding, so it lives
below both of them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from phony_registry.canonical import json_kind
from phony_registry.errors import ModelFormatError

__all__ = ["decode_array", "encode_array"]


def decode_array(text: object, dtype: str, path: str) -> np.ndarray[Any, Any]:
    """Decode a base64 little-endian integer array field (``dtype`` like ``<u4``)."""
    if not isinstance(text, str):
        raise ModelFormatError(f"must be a base64 string, not {json_kind(text)}", field=path)
    try:
        # a2b_base64 takes the str itself (ASCII only, else ValueError):
        # encoding it first would copy a megabyte field for nothing.
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ModelFormatError("is not valid base64", field=path) from exc
    size = np.dtype(dtype).itemsize
    if len(raw) % size:
        raise ModelFormatError(f"holds {len(raw)} bytes, not a multiple of {size}", field=path)
    return np.frombuffer(raw, dtype=dtype).astype(dtype[1:], copy=False)


def encode_array(array: np.ndarray[Any, Any], dtype: str) -> str:
    """Base64 of ``array`` as little-endian integers of ``dtype`` (``<u4``, ``<u8``)."""
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")
