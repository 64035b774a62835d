"""Token lifetimes: a duration past the limit is refused before anything is
written, and a stored record whose expiry no date can hold never breaks
``token list`` or the server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from phony_registry.errors import UsageError
from phony_server.storage import open_folder
from phony_server.tokens import MAX_DURATION_DAYS, TokenStore, format_expiry, parse_duration


@pytest.mark.parametrize(
    "text",
    [
        "999999999d",
        "100000y",
        "9999999999999999999999d",
        "1000000000000000000000000000000s",
        f"{MAX_DURATION_DAYS + 1}d",
        "9" * 5000 + "s",
    ],
    ids=["days", "years", "overflow", "seconds", "one-day-over", "5000-digits"],
)
def test_token_create_refuses_a_duration_past_the_limit(
    run_phony: Any, tmp_path: Path, text: str
) -> None:
    result = run_phony(
        "registry", "token", "create", "--storage", "data", "--namespace", "z",
        "--expires", text, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    shown = text[:40]
    assert (
        result.stderr == f"error: --expires {shown}: at most {MAX_DURATION_DAYS} days (100 years)\n"
    )
    assert result.stdout == ""
    assert not (tmp_path / "data").exists()  # nothing written, not even the storage


def test_the_longest_duration_is_accepted(run_phony: Any, tmp_path: Path) -> None:
    created = run_phony(
        "registry", "token", "create", "--storage", "data", "--namespace", "z",
        "--expires", f"{MAX_DURATION_DAYS}d", cwd=tmp_path, check=True,
    )  # fmt: skip
    assert created.stdout.startswith("phony_")
    listed = run_phony("registry", "token", "list", "--storage", "data", cwd=tmp_path, check=True)
    assert " z  expires 21" in listed.stdout  # a date a century ahead


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1y", 365 * 86400), ("2w", 14 * 86400), (f"{MAX_DURATION_DAYS}d", MAX_DURATION_DAYS * 86400)],
)
def test_parse_duration_up_to_the_limit(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0d", "000h", "٣d", "3", "d", "-1d", "1.5d"])
def test_parse_duration_refuses_what_is_not_one(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--expires .*: not a duration"):
        parse_duration(text)


def test_create_refuses_an_expiry_past_the_limit_in_the_library(tmp_path: Path) -> None:
    private = open_folder(tmp_path / "data").private
    with pytest.raises(UsageError, match="100 years"):
        TokenStore(private).create(["z"], expires_in=MAX_DURATION_DAYS * 86400 + 1)
    assert list(private.list("tokens/")) == []


def _store_far_future_tokens(root: Path) -> tuple[str, str]:
    """A usable token, and one record whose expiry is past year 9999, as old phony wrote."""
    private = open_folder(root).private
    tokens = TokenStore(private)
    token, _ = tokens.create(["alice"], now=1000)
    far, record = tokens.create(["z"], now=2000)
    data = json.loads(private.read_bytes(f"tokens/{record.id}.json"))
    data["expires"] = 86401796074650
    info = private.stat(f"tokens/{record.id}.json")
    assert info is not None
    private.write(f"tokens/{record.id}.json", json.dumps(data).encode(), if_match=info.etag)
    return token, far


def test_token_list_shows_an_expiry_no_date_can_hold(run_phony: Any, tmp_path: Path) -> None:
    _store_far_future_tokens(tmp_path / "data")
    listed = run_phony("registry", "token", "list", "--storage", "data", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("alice  expires never")
    assert lines[1].endswith("z  expires 86401796074650 (far future)")
    as_json = run_phony(
        "registry", "token", "list", "--storage", "data", "--json", cwd=tmp_path, check=True
    )
    assert [r["expires"] for r in json.loads(as_json.stdout)] == [None, 86401796074650]


def test_a_far_future_token_still_authenticates(tmp_path: Path) -> None:
    _, far = _store_far_future_tokens(tmp_path / "data")
    record = TokenStore(open_folder(tmp_path / "data").private).authenticate(far)
    assert record.expires == 86401796074650


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [
        (None, "never"),
        (0, "1970-01-01 00:00 UTC"),
        (86401796074650, "86401796074650 (far future)"),
        (10**30, f"{10**30} (far future)"),
        (-(10**20), f"{-(10**20)} (far past)"),
    ],
)
def test_format_expiry(stamp: int | None, shown: str) -> None:
    assert format_expiry(stamp) == shown


@pytest.mark.parametrize(
    "body", [b"{not json", b"[]", b'{"id": "x"}'], ids=["text", "list", "fields"]
)
def test_a_damaged_token_record_is_valid_for_nothing_and_listed_as_damaged(
    run_phony: Any, tmp_path: Path, body: bytes
) -> None:
    from phony_registry.errors import Unauthorized

    good, damaged = _store_far_future_tokens(tmp_path / "data")
    private = open_folder(tmp_path / "data").private
    store = TokenStore(private)
    damaged_id = damaged.split("_")[1]
    info = private.stat(f"tokens/{damaged_id}.json")
    assert info is not None
    private.write(f"tokens/{damaged_id}.json", body, if_match=info.etag)
    with pytest.raises(Unauthorized, match="unknown token"):
        store.authenticate(damaged)
    assert store.authenticate(good).namespaces == ["alice"]
    listed = run_phony("registry", "token", "list", "--storage", "data", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 1
    assert listed.stderr == (
        f"phony: the record of token {damaged_id} is damaged, so that token is valid for "
        f"nothing: remove private/tokens/{damaged_id}.json from the storage\n"
    )
