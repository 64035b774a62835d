"""Tokens: shown once, stored as hashes, scoped, revocable, expiring; and the registry key."""

from __future__ import annotations

from pathlib import Path

import pytest

from phony_registry.errors import ConfigError, Forbidden, InvalidName, NotFound, Unauthorized
from phony_registry.signing import PrivateKey
from phony_server.keys import PublisherKeys, load_registry_key
from phony_server.storage import LocalStorage, RegistryStorage, open_folder
from phony_server.tokens import TokenStore, parse_duration


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    """A private area (where tokens and publisher records live)."""
    return LocalStorage(tmp_path / "store" / "private", private=True)


@pytest.fixture
def both(tmp_path: Path) -> RegistryStorage:
    return open_folder(tmp_path / "store")


def test_token_is_stored_only_as_a_hash(storage: LocalStorage) -> None:
    token, record = TokenStore(storage).create(["alice"])
    stored = b"".join(storage.root.joinpath(*k.split("/")).read_bytes() for k in storage.list(""))
    assert token.encode() not in stored
    assert token.split("_", 2)[2].encode() not in stored
    assert record.id in token
    assert TokenStore(storage).authenticate(token).namespaces == ["alice"]


@pytest.mark.parametrize(
    "token",
    [None, "", "phony_", "Bearer x", "phony_0123456789abcdef_short", "x" * 5000],
    ids=["none", "empty", "prefix", "junk", "short", "huge"],
)
def test_malformed_tokens_are_unauthorized(storage: LocalStorage, token: str | None) -> None:
    with pytest.raises(Unauthorized):
        TokenStore(storage).authenticate(token)


def test_a_guessed_secret_for_a_real_id_fails(storage: LocalStorage) -> None:
    token, _ = TokenStore(storage).create(["alice"])
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthorized, match="unknown token"):
        TokenStore(storage).authenticate(forged)


def test_revoke_and_expiry(storage: LocalStorage) -> None:
    tokens = TokenStore(storage)
    token, record = tokens.create(["alice"], expires_in=parse_duration("1h"), now=1000)
    assert tokens.authenticate(token, now=1000 + 3599).id == record.id
    with pytest.raises(Unauthorized, match="expired"):
        tokens.authenticate(token, now=1000 + 3600)
    other, other_record = tokens.create(["bob"])
    tokens.revoke(other_record.id)
    with pytest.raises(Unauthorized, match="revoked"):
        tokens.authenticate(other)
    with pytest.raises(NotFound):
        tokens.revoke("0000000000000000")
    assert [r.revoked for r in tokens.list()] == [False, True]


def test_scopes(storage: LocalStorage) -> None:
    tokens = TokenStore(storage)
    _, alice = tokens.create(["alice"])
    _, operator = tokens.create([], operator=True)
    tokens.authorize(alice, "alice", "publish")
    with pytest.raises(Forbidden, match="not bob"):
        tokens.authorize(alice, "bob", "publish")
    with pytest.raises(Forbidden, match="operator"):
        tokens.authorize(alice, None, "publish")
    tokens.authorize(operator, None, "publish")
    tokens.authorize(operator, "bob", "publish")


@pytest.mark.parametrize("namespace", ["tr_TR", "official", "Alice", "a/b", "-x", ""])
def test_token_namespaces_are_strict(storage: LocalStorage, namespace: str) -> None:
    with pytest.raises(InvalidName):
        TokenStore(storage).create([namespace])


@pytest.mark.parametrize(("text", "seconds"), [("90d", 90 * 86400), ("12h", 43200), ("30m", 1800)])
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_registry_key_is_created_once_and_shared(both: RegistryStorage) -> None:
    first = load_registry_key(both, None)
    again = load_registry_key(both, None)
    assert first.keyid == again.keyid
    assert b"PUBLIC KEY" in both.public.read_bytes("keys/registry.pub.pem")
    # The private half is in the private area, never in the public tree.
    assert b"PRIVATE KEY" in both.private.read_bytes("registry-key.pem")
    assert both.public.stat("registry-key.pem") is None


def test_key_file_is_created_0600(both: RegistryStorage, tmp_path: Path) -> None:
    path = tmp_path / "keys" / "registry.pem"
    key = load_registry_key(both, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_registry_key(both, path).keyid == key.keyid
    assert list(both.private.list("")) == []


def test_another_key_than_the_published_one_is_refused(
    both: RegistryStorage, tmp_path: Path
) -> None:
    load_registry_key(both, None)
    other = tmp_path / "other.pem"
    other.write_bytes(PrivateKey.generate().to_pem())
    other.chmod(0o600)
    with pytest.raises(ConfigError, match="clients pinned"):
        load_registry_key(both, other)


def test_publisher_keys_per_namespace(storage: LocalStorage) -> None:
    keys = PublisherKeys(storage)
    key = PrivateKey.generate().public_key
    assert keys.register("alice", key, "t1") is True
    assert keys.register("alice", key, "t1") is False
    assert [k.keyid for k in keys.list("alice")] == [key.keyid]
    assert keys.list("bob") == []
    assert keys.list(None) == []
