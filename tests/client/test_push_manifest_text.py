"""``phony models push`` refuses control characters in every text of the manifest, up front.

The description and licence given on the command line were checked before;
the kind and locale come from the model's own metadata and went out as they
were. Each is refused with one line naming the field, before anything is
created in a folder or sent to a server.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import pytest

from phony_client.cli import main


def _model(tmp_path: Path, **meta: str) -> Path:
    from phony_registry.format import dump_model
    from phony_registry.ngram import train

    fields = {"locale": "tr_TR", "kind": "first_name", "license": "MIT", **meta}
    model = train(["ali", "veli", "deli", "selim", "kerim"], name="names", order=2, **fields)
    path = tmp_path / "names.phony"
    path.write_bytes(dump_model(model))
    return path


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


HOSTILE = [
    pytest.param({"kind": "first\x1b[2Kname"}, "kind", "\\x1b", id="esc-kind"),
    pytest.param({"locale": "tr\nTR"}, "locale", "\\n", id="newline-locale"),
    pytest.param({"kind": "x\u202ey"}, "kind", "\\u202e", id="bidi-kind"),
]


@pytest.mark.parametrize(("meta", "field", "shown"), HOSTILE)
def test_push_to_a_folder_refuses_the_models_own_text(
    tmp_path: Path, capsys: Any, meta: dict[str, str], field: str, shown: str
) -> None:
    model = _model(tmp_path, **meta)
    registry = tmp_path / "reg"
    code = main(["models", "push", str(model), "alice/names@1.0.0", "--registry", str(registry)])
    out, err = capsys.readouterr()
    assert code == 3, err
    assert out == ""
    assert err.splitlines() == [
        f"error: {field}: holds a control character ({shown}); it must be printable text on "
        "one line (from the model's metadata)"
    ]
    assert not registry.exists()


@pytest.mark.parametrize(("meta", "field", "shown"), HOSTILE)
def test_push_to_a_server_refuses_before_any_request(
    tmp_path: Path,
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
    meta: dict[str, str],
    field: str,
    shown: str,
) -> None:
    model = _model(tmp_path, **meta)
    monkeypatch.setenv("PHONY_TOKEN", "phony_0123456789abcdef_" + "a" * 43)
    # Nothing listens there: a request would end in a connection error, not exit 3.
    url = f"http://127.0.0.1:{_closed_port()}"
    code = main(["models", "push", str(model), "alice/names@1.0.0", "--registry", url])
    out, err = capsys.readouterr()
    assert code == 3, err
    assert re.fullmatch(
        rf"error: {field}: holds a control character \({re.escape(shown)}\); it must be "
        r"printable text on one line \(from the model's metadata\)\n",
        err,
    ), err
    assert "phony_0123456789abcdef" not in out + err
