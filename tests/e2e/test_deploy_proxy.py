"""The reverse proxy configurations of docs/deploy.md pass the proxies' own checks.

The files are read from the page itself (its ``file=`` blocks), so the guide
cannot drift into a configuration nginx or Caddy would refuse. Each check
runs where the proxy is installed (``scripts/test`` installs ``nginx-light``)
and is skipped, saying why, where it is not.
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DEPLOY = Path(__file__).parents[2] / "docs" / "deploy.md"
_BLOCK = re.compile(r"^```[\w+-]*[ \t]+file=([\w./-]+)[^\n]*\n(.*?)^```", re.M | re.S)


def _file(name: str) -> str:
    blocks = dict(_BLOCK.findall(DEPLOY.read_text(encoding="utf-8")))
    assert name in blocks, f"docs/deploy.md has no `file={name}` block"
    return blocks[name]


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key for models.example.com (nginx -t opens them)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "models.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_the_nginx_configuration_sets_the_limits_the_guide_promises() -> None:
    config = _file("phony-registry.nginx.conf")
    for directive in (
        "client_header_timeout 15s;",
        "client_body_timeout 30s;",
        "client_max_body_size 64m;",
        "proxy_set_header Host models.example.com;",
        "proxy_request_buffering on;",
        "proxy_pass http://phony;",
    ):
        assert directive in config
    assert "$host" not in config  # never the client's Host
    assert "$http_host" not in config


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if nginx is None:
        pytest.skip("nginx is not installed (scripts/test installs nginx-light)")
    cert, key = _self_signed(tmp_path)
    config = (
        _file("phony-registry.nginx.conf")
        .replace("/etc/ssl/phony/fullchain.pem", str(cert))
        .replace("/etc/ssl/phony/privkey.pem", str(key))
    )
    path = tmp_path / "nginx.conf"
    path.write_text(config)
    (tmp_path / "logs").mkdir()
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-e", str(tmp_path / "logs" / "error.log"),
         "-c", str(path), "-g", f"pid {tmp_path / 'nginx.pid'};"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_caddy_accepts_the_caddyfile(tmp_path: Path) -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (Debian's caddy package; optional)")
    path = tmp_path / "Caddyfile"
    path.write_text(_file("Caddyfile"))
    result = subprocess.run(
        [caddy, "validate", "--config", str(path), "--adapter", "caddyfile"],
        capture_output=True, text=True, timeout=60, check=False,
        env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
