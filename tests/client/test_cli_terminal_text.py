"""Text a publisher or a registry controls reaches the terminal with every control visible.

A description holding ``\\n``, ``\\r``, BEL, ESC or a bidi override could
forge lines such as ``signed by:`` or ``digest:`` in ``phony models info``,
or rewrite the line ``phony models search`` shows. Each is printed as an
escape (``\\n``, ``\\x07``, ``\\u202e``) by one helper, and ``phony models
push`` refuses such a description or licence up front.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from registry_sim import RegistrySim

from phony_client import _net
from phony_client.cli import main
from phony_registry.digests import digest_bytes
from phony_registry.format import load_model
from phony_registry.manifest import Manifest

EVIL = "evil\x1b[31mRED\x1b[0m\x07 bell\nsecond line\rCR"
SHOWN = "evil\\x1b[31mRED\\x1b[0m\\x07 bell\\nsecond line\\rCR"
FORGED = "ok\nsigned by:      0000000000000000\u202egnp.exe\u2028x\x9bC\x7f"
FORGED_SHOWN = "ok\\nsigned by:      0000000000000000\\u202egnp.exe\\u2028x\\x9bC\\x7f"
#: What may never reach a terminal raw (a line break only as the end of a line).
RAW = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (EVIL, SHOWN),
        (FORGED, FORGED_SHOWN),
        ("tab\there\x00nul", "tab\\there\\x00nul"),
        ("\u202a\u202b\u202c\u202d\u202e", "\\u202a\\u202b\\u202c\\u202d\\u202e"),
        ("\u2066\u2067\u2068\u2069\u2029", "\\u2066\\u2067\\u2068\\u2069\\u2029"),
        ("\x80\x85\x9f", "\\x80\\x85\\x9f"),
        ("Türkçe isimler ş ğ — 名前 🙂", "Türkçe isimler ş ğ — 名前 🙂"),
        (None, "None"),
        (42, "42"),
    ],
    ids=["ansi", "forged-line", "c0", "bidi-embeddings", "isolates", "c1", "plain-unicode",
         "none", "int"],
)  # fmt: skip
def test_printable(text: object, shown: str) -> None:
    assert _net.printable(text) == shown
    assert RAW.search(_net.printable(text)) is None


def _evil_manifest(sim: RegistrySim, model: bytes, name: str = "alice/ansi") -> Manifest:
    manifest = Manifest.model(
        name,
        "1.0.0",
        digest=digest_bytes(model),
        size=len(model),
        format_version=load_model(model).format_version,
        kind="first\x1b[2Kname",
        locale="tr_TR",
        license="MIT\nsigned by:      trusted",
        description=EVIL,
    )
    return sim.add_manifest(manifest, model)


def _lines(out: str) -> list[str]:
    assert RAW.search(out) is None, repr(out)
    return out.splitlines()


def test_models_info_escapes_what_the_publisher_wrote(
    sim: RegistrySim, model_v2: bytes, capsys: Any
) -> None:
    _evil_manifest(sim, model_v2)
    for args in (["--registry", sim.location], None):
        if args is None:  # from the cache, after a pull
            assert main(["models", "pull", "alice/ansi@1.0.0", "--registry", sim.location]) == 0
            capsys.readouterr()
            args = []
        assert main(["models", "info", "alice/ansi@1.0.0", *args]) == 0
        lines = _lines(capsys.readouterr().out)
        assert f"description:    {SHOWN}" in lines
        assert "license:        MIT\\nsigned by:      trusted" in lines
        assert "kind:           first\\x1b[2Kname" in lines
        assert [line for line in lines if line.startswith("signed by:")] == [
            next(line for line in lines if line.startswith("signed by:"))
        ]
        assert sum(line.startswith("license:") for line in lines) == 1


class _HostileRegistry:
    """A registry server answering with publisher-controlled (or hostile) text."""

    def __init__(self) -> None:
        self.models = [
            {"name": "alice/ansi", "latest": "1.0.0", "yanked": False, "description": EVIL},
            {"name": "alice/x\u202e", "latest": "1.0.0\n", "yanked": True, "description": FORGED},
        ]

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if "gone" in path:
            detail = "no model\nerror: forged \x1b[31mline"
            return httpx.Response(404, json={"error": "not_found", "detail": detail})
        if path == "/v1/models":
            return httpx.Response(200, json={"query": "", "models": self.models})
        if path.endswith("/yank"):
            return httpx.Response(200, json={"name": "alice/ansi\x1b[2K", "version": "1.0.0\r"})
        if path == "/v1/whoami":
            return httpx.Response(
                200, json={"id": "abc\x1b]0;title\x07", "namespaces": ["al\nice"]}
            )
        if path == "/v1/keys":
            return httpx.Response(200, json={"keyid": "\x1b[31m" + "0" * 64, "added": ["x\ry"]})
        return httpx.Response(
            404, json={"error": "not_found", "detail": "no model\nerror: forged \x1b[31mline"}
        )


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> _HostileRegistry:
    from phony_client import remote
    from phony_client.cli import models_remote

    registry = _HostileRegistry()
    real = remote.RegistryClient

    class Client(real):  # type: ignore[misc, valid-type]
        def __init__(self, url: str, **kwargs: Any) -> None:
            kwargs["transport"] = httpx.MockTransport(registry.handler)
            super().__init__(url, **kwargs)

    monkeypatch.setattr(remote, "RegistryClient", Client)
    monkeypatch.setattr(models_remote, "RegistryClient", Client)
    monkeypatch.setenv("PHONY_TOKEN", "phony_0123456789abcdef_" + "a" * 43)
    return registry


URL = "http://registry.test"


def test_models_search_escapes_names_and_descriptions(
    hostile: _HostileRegistry, capsys: Any
) -> None:
    assert main(["models", "search", "--registry", URL]) == 0
    out = capsys.readouterr().out
    lines = _lines(out)
    assert len(lines) == 2
    assert lines[0] == f"alice/ansi     1.0.0  {SHOWN}"
    assert lines[1] == f"alice/x\\u202e  1.0.0\\n (yanked)  {FORGED_SHOWN}"
    # JSON keeps the data as it is (escaped by JSON itself).
    assert main(["models", "search", "--json", "--registry", URL]) == 0
    assert json.loads(capsys.readouterr().out)[0]["description"] == EVIL


def test_yank_login_and_errors_escape_what_the_server_said(
    hostile: _HostileRegistry, capsys: Any
) -> None:
    assert main(["models", "yank", "alice/ansi@1.0.0", "--registry", URL]) == 0
    assert _lines(capsys.readouterr().out) == ["yanked alice/ansi\\x1b[2K@1.0.0\\r"]

    import io
    import sys

    sys_stdin = sys.stdin
    try:
        sys.stdin = io.StringIO("phony_0123456789abcdef_" + "a" * 43 + "\n")
        assert main(["login", "--registry", URL]) == 0
    finally:
        sys.stdin = sys_stdin
    out, err = capsys.readouterr()
    assert _lines(out) == [
        f"logged in to {URL} with token abc\\x1b]0;title\\x07: namespaces al\\nice"
    ]
    assert "publisher key \\x1b[31m00000000000: registered for x\\ry" in _lines(err)

    assert main(["models", "yank", "alice/gone@1.0.0", "--registry", URL]) == 8
    err = capsys.readouterr().err
    assert _lines(err) == [err.rstrip("\n")]
    assert "no model\\nerror: forged \\x1b[31mline" in err


@pytest.mark.parametrize(
    ("option", "value", "shown"),
    [
        ("--description", EVIL, "\\x1b"),
        ("--description", "two\nlines", "\\n"),
        ("--description", "right-to-left \u202eoverride", "\\u202e"),
        ("--license", "MIT\r", "\\r"),
        ("--license", "MIT\x07", "\\x07"),
    ],
    ids=["ansi", "newline", "bidi", "cr-licence", "bel-licence"],
)
def test_push_refuses_control_characters_up_front(
    tmp_path: Path, model_v2: bytes, capsys: Any, option: str, value: str, shown: str
) -> None:
    model = tmp_path / "names.phony"
    model.write_bytes(model_v2)
    registry = tmp_path / "reg"
    code = main(["models", "push", str(model), "alice/ansi@1.0.0", "--registry", str(registry),
                 option, value])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 3, err
    assert out == ""
    field = option.removeprefix("--")
    assert _lines(err) == [
        f"error: {field}: holds a control character ({shown}); it must be printable text on "
        "one line"
    ]
    assert not registry.exists()


def test_push_keeps_ordinary_unicode(tmp_path: Path, model_v2: bytes, capsys: Any) -> None:
    model = tmp_path / "names.phony"
    model.write_bytes(model_v2)
    registry = str(tmp_path / "reg")
    text = "Türkçe isimler — 名前 🙂"
    assert main(["models", "push", str(model), "alice/u@1.0.0", "--registry", registry,
                 "--description", text]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["models", "info", "alice/u@1.0.0", "--registry", registry]) == 0
    assert f"description:    {text}" in capsys.readouterr().out.splitlines()
