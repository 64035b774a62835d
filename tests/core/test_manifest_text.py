"""A registry refuses a new manifest whose text holds a control character.

Descriptions, licences, locales, kinds (and any field a newer publisher
adds) are shown on terminals and web pages: one line of printable text. A
manifest already stored stays readable; only publishing a new one is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phony_registry.digests import digest_bytes
from phony_registry.errors import InvalidManifest
from phony_registry.manifest import Manifest, check_new_manifest
from phony_registry.publisher import Publisher
from phony_registry.signing import PrivateKey
from phony_registry.storage import LocalStorage

BLOB = b"not parsed by the publisher"


def _fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "schema": 1, "type": "model", "name": "alice/names", "version": "1.0.0",
        "digest": digest_bytes(BLOB), "size": len(BLOB), "format_version": 2,
        "kind": "first_name", "locale": "tr_TR", "license": "MIT",
        "description": "Turkish first names", "created": "2026-11-25T00:00:00Z",
    }  # fmt: skip
    fields.update(changes)
    return fields


HOSTILE = [
    pytest.param({"description": "two\nlines"}, "description", "\\n", id="newline"),
    pytest.param({"description": "red \x1b[31m"}, "description", "\\x1b", id="esc"),
    pytest.param({"license": "MIT\x07"}, "license", "\\x07", id="bel-licence"),
    pytest.param({"locale": "tr_TR\r"}, "locale", "\\r", id="cr-locale"),
    pytest.param({"kind": "first\u202ename"}, "kind", "\\u202e", id="bidi-kind"),
    pytest.param({"kind": "x\u2067y"}, "kind", "\\u2067", id="isolate-kind"),
    pytest.param({"description": "nel\x85"}, "description", "\\x85", id="c1"),
    pytest.param({"description": "tab\there"}, "description", "\\t", id="tab"),
    pytest.param({"homepage": "https://x\x1b]8;;"}, "homepage", "\\x1b", id="unknown-field"),
    pytest.param({"attribution": ["ok", "bad\x00"]}, "attribution[1]", "\\x00", id="nested"),
]


@pytest.mark.parametrize(("changes", "field", "shown"), HOSTILE)
def test_a_new_manifest_with_a_control_character_is_refused_naming_the_field(
    changes: dict[str, Any], field: str, shown: str
) -> None:
    manifest = Manifest.from_dict(_fields(**changes))  # reading it keeps working
    with pytest.raises(InvalidManifest) as info:
        check_new_manifest(manifest)
    assert info.value.field == field
    assert str(info.value) == (
        f"{field}: holds a control character ({shown}); it must be printable text on one line"
    )
    assert "\n" not in str(info.value)


def test_ordinary_unicode_is_publishable() -> None:
    manifest = Manifest.from_dict(
        _fields(description="Türkçe isimler — 名前 🙂", license="CC-BY-4.0", kind="şehir")
    )
    assert check_new_manifest(manifest) is manifest


def test_the_publisher_refuses_it_and_writes_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "registry")
    publisher = Publisher(storage, PrivateKey.generate())
    publisher.store_blob(digest_bytes(BLOB), BLOB)
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    manifest = Manifest.from_dict(_fields(description="forged\nsigned by: x")).signed(
        PrivateKey.generate()
    )
    with pytest.raises(InvalidManifest, match=r"^description: holds a control character \(\\n\)"):
        publisher.publish(manifest)
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert after == before
    assert publisher.snapshot() is None


def test_a_stored_manifest_with_controls_still_reads() -> None:
    stored = Manifest.from_dict(_fields(description="old\x1b[0m")).signed(PrivateKey.generate())
    again = Manifest.from_bytes(stored.to_bytes())
    assert again.description == "old\x1b[0m"
