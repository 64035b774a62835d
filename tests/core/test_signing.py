"""Ed25519 keys, key ids, PEM files and signatures over canonical JSON."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from phony_registry.canonical import canonical_json, signing_bytes
from phony_registry.errors import ConfigError, SignatureError, ValidationError
from phony_registry.signing import (
    OFFICIAL_REGISTRY_KEY,
    PrivateKey,
    PublicKey,
    add_signature,
    load_private_key,
    official_key,
    save_private_key,
    verify_signed,
)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert (
        canonical_json({"b": 1, "a": ["ş", True, None]}) == '{"a":["ş",true,null],"b":1}'.encode()
    )
    with pytest.raises(ValidationError, match="floats"):
        canonical_json({"x": 1.5})
    assert signing_bytes({"a": 1, "signatures": [1]}) == b'{"a":1}'


def test_official_key_matches_the_committed_trust_root() -> None:
    key = official_key()
    assert key.to_base64() == OFFICIAL_REGISTRY_KEY
    assert PublicKey.from_pem(key.to_pem()) == key
    assert len(key.keyid) == 64


def test_sign_and_verify_round_trip() -> None:
    key = PrivateKey.generate()
    signed = add_signature({"name": "alice/names", "n": 1}, key)
    assert verify_signed(signed, [key.public_key]) == [key.keyid]
    # Signing twice with one key replaces its signature rather than piling up.
    assert len(add_signature(signed, key)["signatures"]) == 1


def test_tampered_content_fails_with_a_clear_error() -> None:
    key = PrivateKey.generate()
    signed = add_signature({"n": 1}, key)
    with pytest.raises(SignatureError, match="does not match its content"):
        verify_signed({**signed, "n": 2}, [key.public_key])


def test_untrusted_signer_is_named() -> None:
    key, other = PrivateKey.generate(), PrivateKey.generate()
    signed = add_signature({"n": 1}, key)
    with pytest.raises(SignatureError, match=key.keyid[:16]):
        verify_signed(signed, [other.public_key])


def test_garbage_and_missing_signatures_are_refused() -> None:
    key = PrivateKey.generate()
    with pytest.raises(SignatureError, match="no valid signature"):
        verify_signed({"n": 1}, [key.public_key])
    garbage = {"n": 1, "signatures": [{"keyid": key.keyid, "sig": "!!notbase64"}]}
    with pytest.raises(SignatureError):
        verify_signed(garbage, [key.public_key])
    swapped = {
        "n": 1,
        "signatures": [{"keyid": key.keyid, "sig": base64.b64encode(b"x" * 64).decode()}],
    }
    with pytest.raises(SignatureError):
        verify_signed(swapped, [key.public_key])


def test_private_key_file_is_0600_and_never_overwritten(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    path = save_private_key(tmp_path / "keys" / "me.pem", key)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_private_key(path).keyid == key.keyid
    with pytest.raises(ConfigError, match="already exists"):
        save_private_key(path, PrivateKey.generate())
    assert load_private_key(path).keyid == key.keyid
    assert "PRIVATE" not in repr(key)
    assert key.keyid[:16] in repr(key)


def test_bad_key_material_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SignatureError):
        PublicKey.from_base64("not base64!")
    with pytest.raises(SignatureError, match="32 bytes"):
        PublicKey.from_base64(base64.b64encode(b"short").decode())
    (tmp_path / "bad.pem").write_text("nope")
    with pytest.raises(ConfigError):
        load_private_key(tmp_path / "bad.pem")
    with pytest.raises(ConfigError, match="cannot read"):
        load_private_key(tmp_path / "missing.pem")
    assert PublicKey.parse(official_key().to_pem().decode()) == official_key()


def _pem(kind: str, der: bytes) -> bytes:
    return (
        f"-----BEGIN {kind}-----\n".encode()
        + base64.encodebytes(der)
        + f"-----END {kind}-----\n".encode()
    )


#: SubjectPublicKeyInfo / PKCS#8 structures of an algorithm (OID 1.2.3.4) nobody implements.
_ALGORITHM = b"\x30\x05\x06\x03\x2a\x03\x04"
_PUBLIC = b"\x30\x2a" + _ALGORITHM + b"\x03\x21\x00" + b"\x11" * 32
_PRIVATE = b"\x30\x2e\x02\x01\x00" + _ALGORITHM + b"\x04\x22\x04\x20" + b"\x11" * 32


def test_keys_of_an_unsupported_algorithm_are_our_errors() -> None:
    """cryptography raises UnsupportedAlgorithm (not ValueError) for these: it must not escape."""
    with pytest.raises(SignatureError, match="not an Ed25519 key"):
        PublicKey.from_pem(_pem("PUBLIC KEY", _PUBLIC))
    with pytest.raises(SignatureError, match="not an Ed25519 key"):
        PublicKey.parse(_pem("PUBLIC KEY", _PUBLIC).decode())
    with pytest.raises(ConfigError, match="not an Ed25519 key"):
        PrivateKey.from_pem(_pem("PRIVATE KEY", _PRIVATE))


def test_a_pem_with_non_ascii_text_is_refused() -> None:
    with pytest.raises(SignatureError, match="non-ASCII"):
        PublicKey.parse("-----BEGIN PUBLIC KEY-----\u00e9")
