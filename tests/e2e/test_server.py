"""A registry server under uvicorn on 127.0.0.1, driven by the `phony` CLI in subprocesses."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import httpx
import pytest

from tests.e2e.conftest import RegistryProcess, race_publishes, start_registry

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]
SAMPLE = Path(__file__).parents[2] / "examples" / "tr_first_names.txt"


def _train(run_phony: Run, out: Path, *extra: str) -> Path:
    run_phony(
        "train",
        str(SAMPLE),
        "--locale",
        "tr_TR",
        "--order",
        "3",
        "-o",
        str(out),
        *extra,
        check=True,
    )
    return out


def _token(run_phony: Run, storage: Path, *args: str) -> str:
    result = run_phony("registry", "token", "create", "--storage", str(storage), *args, check=True)
    assert "not shown again" in result.stderr
    return result.stdout.strip()


def _one_error_line(result: CompletedProcess[str]) -> str:
    """The one ``error:`` line a failed command ends with (notes may come before it)."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines, "no error message"
    assert lines[-1].startswith("error: "), result.stderr
    assert sum(line.startswith("error:") for line in lines) == 1, result.stderr
    return lines[-1]


def test_publish_pull_yank_search_as_a_user(
    tmp_path: Path, run_phony: Run, registry_server: RegistryProcess
) -> None:
    storage = Path(registry_server.args[1])
    url = registry_server.url
    names = _train(run_phony, tmp_path / "names.phony")
    token = _token(run_phony, storage, "--namespace", "alice", "--expires", "90d")
    assert token.startswith("phony_")

    login = run_phony("login", "--registry", url, input=token + "\n", check=True)
    assert "namespaces alice" in login.stdout
    credentials = Path(os.environ["PHONY_CONFIG_DIR"]) / "credentials.toml"
    assert credentials.stat().st_mode & 0o777 == 0o600

    push = run_phony(
        "models", "push", str(names), "alice/turkish-names@1.0.0", "--registry", url,
        "--description", "Turkish first names", "--license", "CC0-1.0", check=True,
    )  # fmt: skip
    assert push.stdout.startswith("published alice/turkish-names@1.0.0 sha256:")
    again = run_phony(
        "models", "push", str(names), "alice/turkish-names@1.0.0", "--registry", url,
        "--description", "Turkish first names", "--license", "CC0-1.0",
    )  # fmt: skip
    assert again.returncode == 0
    assert "already published (same content)" in again.stdout
    # The same bytes with other metadata: a published version never changes.
    changed = run_phony(
        "models", "push", str(names), "alice/turkish-names@1.0.0", "--registry", url
    )
    assert changed.returncode == 8
    assert "other metadata (description, license differ)" in _one_error_line(changed)

    pull = run_phony("models", "pull", "alice/turkish-names@^1", "--registry", url, check=True)
    assert "alice/turkish-names@1.0.0" in pull.stdout
    generated = run_phony(
        "generate", "alice/turkish-names", "--count", "5", "--seed", "7", check=True
    )
    assert len(generated.stdout.split()) == 5

    found = json.loads(
        run_phony("models", "search", "turkish", "--json", "--registry", url, check=True).stdout
    )
    assert [(m["name"], m["latest"], m["license"]) for m in found] == [
        ("alice/turkish-names", "1.0.0", "CC0-1.0")
    ]

    run_phony("models", "yank", "alice/turkish-names@1.0.0", "--registry", url, check=True)
    info = httpx.get(f"{url}/v1/models/alice/turkish-names").json()
    assert info["latest"] is None
    assert info["versions"][0]["yanked"] is True
    unyank = run_phony(
        "models", "yank", "alice/turkish-names@1.0.0", "--undo", "--registry", url, check=True
    )
    assert unyank.stdout.startswith("unyanked")

    # The token never shows up anywhere a user or an operator looks.
    log = registry_server.stop()
    for text in (login.stdout, login.stderr, push.stdout, push.stderr, pull.stderr, log):
        assert token not in text
        assert token.split("_", 2)[2] not in text


def test_refusals_are_one_clear_line(
    tmp_path: Path, run_phony: Run, registry_server: RegistryProcess
) -> None:
    storage = Path(registry_server.args[1])
    url = registry_server.url
    names = _train(run_phony, tmp_path / "names.phony")
    other = _train(run_phony, tmp_path / "other.phony", "--name", "other")

    no_token = run_phony("models", "push", str(names), "alice/names@1.0.0", "--registry", url)
    assert "phony login" in _one_error_line(no_token)
    assert no_token.stderr.count("\n") == 1  # nothing before the error, not even a new key
    assert not (Path(os.environ["PHONY_CONFIG_DIR"]) / "keys").exists()

    bob = _token(run_phony, storage, "--namespace", "bob")
    wrong = run_phony(
        "models",
        "push",
        str(names),
        "alice/names@1.0.0",
        "--registry",
        url,
        env={"PHONY_TOKEN": bob},
    )
    assert "may write bob, not alice" in _one_error_line(wrong)

    alice = _token(run_phony, storage, "--namespace", "alice")
    env = {"PHONY_TOKEN": alice}
    run_phony(
        "models", "push", str(names), "alice/names@1.0.0", "--registry", url, env=env, check=True
    )
    taken = run_phony("models", "push", str(other), "alice/names@1.0.0", "--registry", url, env=env)
    assert "already published with other content" in _one_error_line(taken)
    assert taken.returncode == 8

    token_id = alice.split("_")[1]
    run_phony("registry", "token", "revoke", token_id, "--storage", str(storage), check=True)
    revoked = run_phony(
        "models", "push", str(other), "alice/names@2.0.0", "--registry", url, env=env
    )
    assert "revoked" in _one_error_line(revoked)
    versions = httpx.get(f"{url}/v1/models/alice/names").json()["versions"]
    assert [v["version"] for v in versions] == ["1.0.0"]


def test_server_restart_keeps_key_and_content(tmp_path: Path, run_phony: Run) -> None:
    storage = tmp_path / "data"
    names = _train(run_phony, tmp_path / "names.phony")
    token = _token(run_phony, storage, "--namespace", "alice")
    first = start_registry("--storage", str(storage))
    try:
        key = httpx.get(f"{first.url}/keys/registry.pub.pem").text
        run_phony(
            "models", "push", str(names), "alice/names@1.0.0", "--registry", first.url,
            env={"PHONY_TOKEN": token}, check=True,
        )  # fmt: skip
    finally:
        first.stop()
    second = start_registry("--storage", str(storage))
    try:
        assert httpx.get(f"{second.url}/keys/registry.pub.pem").text == key
        # The client pinned the key on first use; a pull through the new process verifies.
        pull = run_phony(
            "models", "pull", "alice/names@1.0.0", "--registry", second.url, "--refresh"
        )
        assert pull.returncode == 0, pull.stderr
    finally:
        second.stop()


def test_the_storage_is_a_static_registry(
    tmp_path: Path, run_phony: Run, registry_server: RegistryProcess
) -> None:
    storage = Path(registry_server.args[1])
    names = _train(run_phony, tmp_path / "names.phony")
    token = _token(run_phony, storage, "--namespace", "alice")
    run_phony(
        "models", "push", str(names), "alice/names@1.0.0", "--registry", registry_server.url,
        env={"PHONY_TOKEN": token}, check=True,
    )  # fmt: skip
    registry_server.stop()
    # With the server stopped, the public tree it wrote is pulled from directly.
    pull = run_phony("models", "pull", "alice/names@1.0.0", "--registry", str(storage / "public"))
    assert pull.returncode == 0, pull.stderr
    assert {p.name for p in storage.iterdir()} == {"public", "private"}
    assert not any("token" in p.name for p in (storage / "public").rglob("*"))


def test_serve_on_an_unusable_storage_fails_cleanly(tmp_path: Path, run_phony: Run) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run_phony("registry", "serve", "--storage", str(blocker / "data"), "--port", "1")
    _one_error_line(result)


def test_yank_works_on_a_folder_registry_too(tmp_path: Path, run_phony: Run) -> None:
    folder = tmp_path / "team-registry"
    names = _train(run_phony, tmp_path / "names.phony")
    run_phony(
        "models", "push", str(names), "alice/names@1.0.0", "--registry", str(folder), check=True
    )
    yank = run_phony("models", "yank", "alice/names@1.0.0", "--registry", str(folder), check=True)
    assert yank.stdout.startswith("yanked alice/names@1.0.0")
    skipped = run_phony("models", "pull", "alice/names@^1", "--registry", str(folder))
    assert "(yanked)" in _one_error_line(skipped)
    run_phony(
        "models", "yank", "alice/names@1.0.0", "--undo", "--registry", str(folder), check=True
    )
    run_phony("models", "pull", "alice/names@^1", "--registry", str(folder), check=True)
    search = run_phony("models", "search", "names", "--registry", str(folder))
    assert "not a registry server" in _one_error_line(search)


def test_a_changed_registry_key_is_refused_loudly(tmp_path: Path, run_phony: Run) -> None:
    storage = tmp_path / "data"
    names = _train(run_phony, tmp_path / "names.phony")
    token = _token(run_phony, storage, "--namespace", "alice")
    server = start_registry("--storage", str(storage))
    try:
        run_phony(
            "models", "push", str(names), "alice/names@1.0.0", "--registry", server.url,
            env={"PHONY_TOKEN": token}, check=True,
        )  # fmt: skip
        run_phony("models", "pull", "alice/names@1.0.0", "--registry", server.url, check=True)
    finally:
        server.stop()
    # Starting with another key than the published one is refused...
    other = tmp_path / "other.pem"
    started = run_phony("registry", "serve", "--storage", str(storage), "--key-file", str(other))
    assert "clients pinned" in _one_error_line(started)
    # ...and a deliberate rotation is caught by every client that pinned the old key.
    (storage / "public" / "keys" / "registry.pub.pem").unlink()
    (storage / "private" / "registry-key.pem").unlink()
    port = int(server.url.rsplit(":", 1)[1])
    rotated = start_registry("--storage", str(storage), port=port)
    try:
        pull = run_phony(
            "models", "pull", "alice/names@1.0.0", "--registry", rotated.url, "--refresh"
        )
        assert "now signs with key" in _one_error_line(pull)
        assert pull.returncode == 7  # an integrity error
    finally:
        rotated.stop()


def test_an_upload_cut_off_midway_stores_nothing(
    run_phony: Run, registry_server: RegistryProcess
) -> None:
    import socket

    storage = Path(registry_server.args[1])
    token = _token(run_phony, storage, "--namespace", "alice")
    port = int(registry_server.url.rsplit(":", 1)[1])
    digest = "sha256:" + "ab" * 32
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            (
                f"PUT /v1/blobs/{digest} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: 1000000\r\n\r\n"
            ).encode()
            + b"\x1f\x8b"
            + b"x" * 5000
        )
    assert httpx.get(f"{registry_server.url}/v1/health").status_code == 200
    assert httpx.head(f"{registry_server.url}/v1/blobs/{digest}").status_code == 404
    assert not (storage / "public" / "blobs").exists()
    log = registry_server.stop()
    assert "Traceback" not in log
    assert token not in log


def test_two_servers_on_one_folder_race_publishes(tmp_path: Path, run_phony: Run) -> None:
    storage = tmp_path / "shared"
    token = _token(run_phony, storage, "--namespace", "alice")
    first = start_registry("--storage", str(storage))
    second = start_registry("--storage", str(storage))
    try:
        race_publishes([first.url, second.url], token, rounds=8)
    finally:
        first.stop()
        second.stop()


def test_login_takes_a_configured_registry_name(
    tmp_path: Path, run_phony: Run, registry_server: RegistryProcess
) -> None:
    storage = Path(registry_server.args[1])
    config = Path(os.environ["PHONY_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        f'default_registry = "team"\n\n[registries.team]\nurl = "{registry_server.url}"\n'
    )
    token = _token(run_phony, storage, "--namespace", "alice")

    by_name = run_phony("login", "--registry", "team", input=token + "\n", check=True)
    assert f"logged in to {registry_server.url}" in by_name.stdout
    by_default = run_phony("login", "--no-register-key", input=token + "\n", check=True)
    assert f"logged in to {registry_server.url}" in by_default.stdout

    names = _train(run_phony, tmp_path / "names.phony")
    run_phony("models", "push", str(names), "alice/names@1.0.0", "--registry", "team", check=True)

    folder = run_phony("login", "--registry", str(tmp_path), input=token + "\n")
    assert "is not a registry server URL" in _one_error_line(folder)


def test_a_large_upload_with_a_bad_token_is_told_unauthorized(
    tmp_path: Path, registry_server: RegistryProcess
) -> None:
    """The server refuses before reading the body: the client must report that answer,
    not the connection reset it meets while still sending 30 MB."""
    from phony_client._net import RetryPolicy
    from phony_client.remote import RegistryClient
    from phony_registry.errors import Unauthorized

    blob = tmp_path / "big.bin"
    blob.write_bytes(os.urandom(30 << 20))
    digest = "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest()
    bad = "phony_0123456789abcdef_" + "a" * 43
    retry = RetryPolicy(sleep=lambda _: None)
    client = RegistryClient(registry_server.url, token=bad, retry=retry)
    with client, pytest.raises(Unauthorized, match="unknown token"):
        client.upload_blob(digest, blob, progress=False)
