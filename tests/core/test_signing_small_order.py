"""Public keys of small order (and non-canonical encodings) are refused wherever a key is read.

Under a key of small order a forged signature verifies: for the identity
point ``01 00...00``, the 64 bytes ``01 00...00`` verify for every document.
These tables are shared with the entry-point tests (server, CLI, config).
"""

from __future__ import annotations

import base64

import pytest

from phony_registry.errors import SignatureError
from phony_registry.signing import PrivateKey, PublicKey, official_key, verify_signed

#: The eight points P with 8·P = identity, in their canonical encodings (libsodium's list).
SMALL_ORDER = {
    "identity": "01" + "00" * 31,
    "order-2": "ec" + "ff" * 30 + "7f",
    "order-4": "00" * 32,
    "order-4-neg": "00" * 31 + "80",
    "order-8-a": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "order-8-a-neg": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "order-8-b": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "order-8-b-neg": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
}
#: Encodings that are not canonical: y = p + 1 (the identity again), x = 0 with its sign bit.
NON_CANONICAL = {
    "y-is-p-plus-1": "ee" + "ff" * 30 + "7f",
    "negative-zero": "01" + "00" * 30 + "80",
}
REFUSED = {**SMALL_ORDER, **NON_CANONICAL}
REFUSED_B64 = {name: base64.b64encode(bytes.fromhex(h)).decode() for name, h in REFUSED.items()}
#: The one line a refusal says, by kind.
WHY = dict.fromkeys(SMALL_ORDER, "small order") | dict.fromkeys(
    NON_CANONICAL, "not a canonical encoding"
)

#: The SubjectPublicKeyInfo prefix of an Ed25519 key (RFC 8410).
_SPKI = bytes.fromhex("302a300506032b6570032100")


def pem_of(raw: bytes) -> str:
    """A PEM public key holding ``raw``, whatever point it is."""
    body = base64.encodebytes(_SPKI + raw).decode()
    return f"-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n"


@pytest.mark.parametrize("name", list(REFUSED), ids=list(REFUSED))
def test_every_parser_refuses_the_key(name: str) -> None:
    raw = bytes.fromhex(REFUSED[name])
    text = REFUSED_B64[name]
    for parse in (
        lambda: PublicKey(raw),
        lambda: PublicKey.from_base64(text),
        lambda: PublicKey.parse(text),
        lambda: PublicKey.parse(pem_of(raw)),
        lambda: PublicKey.from_pem(pem_of(raw).encode()),
    ):
        with pytest.raises(SignatureError) as info:
            parse()
        message = str(info.value)
        assert message.startswith(f"public key {text} is refused: "), message
        assert WHY[name] in message
        assert "\n" not in message


def test_bytes_off_the_curve_are_refused() -> None:
    # y = 2 has no x on the curve.
    with pytest.raises(SignatureError, match="not a point of the Ed25519 curve"):
        PublicKey(bytes([2]) + bytes(31))


def test_the_forgery_is_real_for_the_raw_library_and_impossible_here() -> None:
    """What the check stops: cryptography verifies the forged signature for any document."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    identity = bytes.fromhex(SMALL_ORDER["identity"])
    forged = identity + bytes(32)
    Ed25519PublicKey.from_public_bytes(identity).verify(forged, b"any document at all")
    with pytest.raises(SignatureError, match="small order"):
        PublicKey(identity)


def test_normal_keys_still_work() -> None:
    for _ in range(50):
        key = PrivateKey.generate()
        public = PublicKey.parse(key.public_key.to_base64())
        assert PublicKey.parse(public.to_pem().decode()) == public
        document = {"name": "alice/names"}
        from phony_registry.signing import add_signature

        assert verify_signed(add_signature(document, key), [public]) == [key.keyid]
    assert PublicKey.parse(official_key().to_base64()) == official_key()
