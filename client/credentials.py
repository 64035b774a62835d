"""Registry tokens on the user's machine: one file, readable by its owner only.

``phony login`` stores a token per registry URL in ``credentials.toml`` in the
config dir (``PHONY_CONFIG_DIR``, else the platform's user config dir), written
with mode 0600 through a temporary file and an atomic rename. ``PHONY_TOKEN``
overrides the file (for CI). Tokens are never printed or logged: error
messages name the registry and the file, never the token.

A token is checked where it enters (``PHONY_TOKEN``, ``phony login``, the
credentials file) against the alphabet registries issue it in (letters,
digits, ``-`` and ``_``): a token holding a line break, a control character or
a non-ASCII letter (a pasted line too many, a wrong variable) would otherwise
reach the HTTP library, whose error quotes the whole header, the secret
included.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from phony_client.config import config_dir
from phony_registry._fs import loads_toml, read_toml_text
from phony_registry.errors import ConfigError, Unauthorized, UsageError

__all__ = [
    "CREDENTIALS_FILE",
    "MAX_TOKEN",
    "check_token",
    "credentials_path",
    "forget_token",
    "normalize_url",
    "store_token",
    "stored_urls",
    "token_for",
]

CREDENTIALS_FILE = "credentials.toml"
#: The longest token accepted (a phony token is 66 characters).
MAX_TOKEN = 1024
#: The alphabet of a token: ``phony_<16 hex>_<43 of base64url>``, as the server issues them.
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def check_token(token: str, source: str) -> str:
    """``token`` if it is one word of a token's alphabet, else :class:`Unauthorized`.

    ``source`` says where it came from (``PHONY_TOKEN``, a file). The message
    describes what is wrong without quoting any of the token.
    """
    if _TOKEN.fullmatch(token) is not None and len(token) <= MAX_TOKEN:
        return token
    if len(token) > MAX_TOKEN:
        what = f"it is longer than {MAX_TOKEN} characters"
    elif any(c in "\r\n" for c in token):
        what = "it holds a line break (more than the token was pasted?)"
    elif any(c.isspace() for c in token):
        what = "it holds a space"
    elif not token.isascii():
        what = "it holds a non-ASCII character"
    elif not token.isprintable():
        what = "it holds a control character"
    else:
        what = "it holds a character no token has"
    raise Unauthorized(
        f"malformed token ({source}): {what}; a registry token is one word of letters, "
        "digits, '-' and '_' (as `phony registry token create` printed it)"
    )


def credentials_path() -> Path:
    """Where tokens are stored."""
    return config_dir() / CREDENTIALS_FILE


def normalize_url(url: str) -> str:
    """The key a registry's token is stored under: scheme and host lowercased, no trailing /."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{url!r} is not an http(s) registry URL")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def _load(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = loads_toml(read_toml_text(path))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        # Never quote the file's content: it holds tokens.
        raise ConfigError(f"cannot read {path}: {type(exc).__name__}") from None
    registries = data.get("registries", {})
    if not isinstance(registries, dict):
        raise ConfigError(f"{path}: [registries] must be a table")
    return {k: v for k, v in registries.items() if isinstance(v, dict)}


def _save(path: Path, registries: dict[str, dict[str, str]]) -> None:
    import tomli_w

    from phony_registry._fs import write_atomic

    data = tomli_w.dumps({"registries": registries}).encode("utf-8")
    try:
        write_atomic(path, data, mode=0o600)  # a secret: 0600 from the start
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def token_for(url: str) -> str | None:
    """The token to send to ``url``: ``PHONY_TOKEN``, else the stored one, else None.

    Raises :class:`Unauthorized` for a malformed one, naming where it came from.
    """
    override = os.environ.get("PHONY_TOKEN", "").strip()
    if override:
        return check_token(override, "PHONY_TOKEN")
    path = credentials_path()
    key = normalize_url(url)
    token = _load(path).get(key, {}).get("token")
    if not isinstance(token, str) or not token:
        return None
    return check_token(token, f"credentials file {path}, for {key}")


def store_token(url: str, token: str, source: str = "given to store") -> Path:
    """Remember ``token`` for ``url`` (replacing any earlier one); returns the file.

    ``source`` names where the token came from, for the error of a malformed one.
    """
    token = check_token(token.strip(), source)
    path = credentials_path()
    registries = _load(path)
    registries[normalize_url(url)] = {"token": token}
    _save(path, registries)
    return path


def forget_token(url: str) -> bool:
    """Remove the stored token of ``url``; True if there was one."""
    path = credentials_path()
    registries = _load(path)
    if registries.pop(normalize_url(url), None) is None:
        return False
    _save(path, registries)
    return True


def stored_urls() -> list[str]:
    """The registry URLs that have a stored token (``phony logout --all``)."""
    return sorted(_load(credentials_path()))
