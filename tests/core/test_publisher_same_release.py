"""A published version never changes, its metadata included (``same_release``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from phony_registry.errors import AlreadyExists
from phony_registry.manifest import Manifest
from phony_registry.publisher import same_release
from phony_registry.signing import PrivateKey

DIGEST = "sha256:" + "ab" * 32


def _manifest(**changes: object) -> Manifest:
    fields: dict[str, object] = {
        "digest": DIGEST, "size": 100, "format_version": 2, "kind": "first_name",
        "locale": "tr_TR", "license": "MIT", "description": "Turkish first names",
        "created": datetime(2026, 1, 1, tzinfo=UTC),
    }  # fmt: skip
    fields.update(changes)
    return Manifest.model("alice/names", "1.0.0", **fields)  # type: ignore[arg-type]


def test_the_same_release_signed_again_later_is_the_same() -> None:
    stored = _manifest().signed(PrivateKey.generate())
    again = _manifest(created=datetime(2026, 6, 1, tzinfo=UTC)).signed(PrivateKey.generate())
    assert same_release(stored, again) is True


def test_other_bytes_are_another_release() -> None:
    assert same_release(_manifest(), _manifest(digest="sha256:" + "cd" * 32)) is False
    assert same_release(_manifest(), _manifest(size=101)) is False


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"description": "CHANGED"}, "description differs"),
        ({"description": "CHANGED", "license": "GPL-3.0"}, "description, license differ"),
        ({"license": None}, "license differs"),
        ({"kind": "last_name", "locale": "de_DE"}, "kind, locale differ"),
        ({"format_version": 3}, "format_version differs"),
    ],
    ids=["description", "description-and-license", "license-dropped", "kind-locale", "format"],
)
def test_the_same_bytes_with_other_metadata_are_refused(
    changes: dict[str, object], fields: str
) -> None:
    with pytest.raises(AlreadyExists) as info:
        same_release(_manifest(), _manifest(**changes))
    assert str(info.value) == (
        "alice/names@1.0.0 is already published with the same content but other metadata "
        f"({fields}); a published version never changes: publish a new version"
    )


def test_an_unknown_field_counts_too() -> None:
    stored = _manifest()
    extra = Manifest.from_dict({**stored.to_dict(signatures=False), "homepage": "https://x"})
    with pytest.raises(AlreadyExists, match=r"\(homepage differs\)"):
        same_release(stored, extra)
