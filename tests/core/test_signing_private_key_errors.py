"""An unusable private key file is named in one line, in phony's words (no library URL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from phony_registry.errors import ConfigError
from phony_registry.signing import PrivateKey, load_private_key


def _encrypted(key: PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key._key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )


_KEY = PrivateKey.generate()
CASES = {
    "truncated": (_KEY.to_pem()[:60], "it is not PEM text, or it is damaged or truncated"),
    "cut-at-the-end": (_KEY.to_pem()[:-20], "it is not PEM text, or it is damaged or truncated"),
    "garbage": (b"\x00\xffnot a key at all\n", "it is not PEM text, or it is damaged or truncated"),
    "empty": (b"", "it is not PEM text, or it is damaged or truncated"),
    "a-public-key": (_KEY.public_key.to_pem(), "it holds no private key (a public key?)"),
    "encrypted": (_encrypted(_KEY), "it is encrypted; phony reads unencrypted PKCS#8 keys"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_an_unusable_key_file_is_named(tmp_path: Path, case: str) -> None:
    data, reason = CASES[case]
    path = tmp_path / "bad.pem"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as info:
        load_private_key(path)
    assert str(info.value) == f"cannot use private key {path}: {reason}"


def test_a_good_key_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "good.pem"
    path.write_bytes(_KEY.to_pem())
    assert load_private_key(path).keyid == _KEY.keyid
