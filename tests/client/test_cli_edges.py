"""Edges of the command line a new user runs into: each one clear line, and no lost data."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from phony_client.cli import main
from phony_registry.errors import exit_codes

NAMES = "\n".join(["ali", "veli", "ayse", "fatma", "mehmet", "zeynep", "emre", "elif"]) + "\n"
USAGE = 2
assert dict(exit_codes())[USAGE].startswith("usage")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _trained(tmp_path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> Path:
    """``m.phony``, trained at order 2 on NAMES with ``options``; the file is read back."""
    from phony_registry.format import load_model

    source = tmp_path / "names.txt"
    source.write_text(NAMES)
    out = tmp_path / "m.phony"
    code, _, err = _run(capsys, "train", str(source), "--order", "2", *options, "-o", str(out))
    assert code == 0, err
    load_model(out.read_bytes())
    return out


@pytest.fixture
def sqlite_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    from phony_registry.plugins import get_plugins

    monkeypatch.setenv("PHONY_LOAD_PLUGINS", "phony-format-sqlite")
    get_plugins.cache_clear()


@pytest.fixture
def model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    source = tmp_path / "names.txt"
    source.write_text(NAMES)
    target = tmp_path / "names.phony"
    assert main(["train", str(source), "--order", "3", "--kind", "name", "-o", str(target)]) == 0
    capsys.readouterr()
    return target


# -- training input -------------------------------------------------------------


def test_a_csv_quote_never_closed_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "people.csv"
    source.write_text('name,city\nali,izmir\n"veli,ankara\nayse,bursa\nfatma,van\n')
    code, _, err = _run(capsys, "train", str(source), "--column", "name", "-o", str(tmp_path / "m"))
    assert code == 5
    assert err == (
        f"error: {source} line 3: a quoted value runs over lines 3 to 5 (a quote never "
        "closed?); phony trains on one-line values\n"
    )
    assert not (tmp_path / "m").exists()


def test_a_quoted_line_break_is_refused_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "people.csv"
    source.write_text('name,city\nali,izmir\n"ve\nli",ankara\nayse,bursa\n')
    code, _, err = _run(capsys, "train", str(source), "--column", "name", "-o", str(tmp_path / "m"))
    assert code == 5
    assert "line 3: a quoted value runs over lines 3 to 4" in err


def test_a_value_too_long_names_the_line_not_the_value_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from phony_registry.model import MAX_VALUE_LENGTH

    source = tmp_path / "names.txt"
    source.write_text("ali\n\nveli\n" + "x" * (MAX_VALUE_LENGTH + 1) + "\n")
    code, _, err = _run(capsys, "train", str(source), "-o", str(tmp_path / "m"))
    assert code == 5
    assert err.startswith(f"error: {source} line 4: the value is {MAX_VALUE_LENGTH + 1} characters")


def test_train_refuses_a_model_phony_could_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real case (order 8 on 1.5 M values inflating past 64 MiB) takes a
    # minute to train; the same check against a lowered cap takes none.
    import phony_registry.format as fmt

    source = tmp_path / "names.txt"
    source.write_text(NAMES)
    out = tmp_path / "m.phony"
    monkeypatch.setattr(fmt, "DEFAULT_MAX_INFLATED", 1000)
    code, _, err = _run(capsys, "train", str(source), "--order", "3", "-o", str(out))
    assert code == 5
    assert err.startswith("error: the model would be too big to read: it inflates to ")
    assert "train with a lower --order (this one is 3) or on fewer values (8 now)" in err
    assert not out.exists()


def test_only_line_feeds_and_carriage_returns_end_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from phony_registry.format import load_model
    from phony_registry.model import MAX_VALUE_LENGTH

    # U+2028, NEL and form feed are characters of a value (as in a CSV
    # column), not line breaks: line numbers are the file's own.
    source = tmp_path / "names.txt"
    lines = ["Ali\u2028Veli", "Ayse\x85Fatma", "Zey\x0cnep"]
    source.write_text("\n".join(lines) + "\r\n" + "x" * (MAX_VALUE_LENGTH + 1) + "\n")
    code, _, err = _run(capsys, "train", str(source), "-o", str(tmp_path / "m"))
    assert code == 5
    assert err.startswith(f"error: {source} line 4: the value is {MAX_VALUE_LENGTH + 1} characters")
    source.write_text("\n".join(lines) + "\r\nEmre\rElif\n")
    out = tmp_path / "m.phony"
    assert _run(capsys, "train", str(source), "--order", "2", "-o", str(out))[0] == 0
    assert load_model(out.read_bytes()).training.values == 5


def test_train_reads_a_pipe_or_a_device_and_names_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    fifo = tmp_path / "names.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(NAMES,))
    writer.start()
    out = tmp_path / "m.phony"
    code, _, err = _run(capsys, "train", str(fifo), "--order", "2", "-o", str(out))
    writer.join()
    assert (code, err.count("\n")) == (0, 1), err
    assert out.exists()
    code, _, err = _run(capsys, "train", "/dev/null", "-o", str(tmp_path / "n.phony"))
    assert code == 5
    assert err == "error: nothing to train on: the input has no non-blank values\n"
    code, _, err = _run(capsys, "train", str(tmp_path), "-o", str(tmp_path / "n.phony"))
    assert code == USAGE
    assert err.startswith(f"error: invalid value for '[SOURCE]': File '{tmp_path}' is a directory")
    assert err.count("\n") == 1
    folder = tmp_path / "dir.phony"
    folder.mkdir()
    for command in ("info", "stats", "validate", "cat", "generate"):
        code, _, err = _run(capsys, command, str(folder))
        assert (code, err) == (USAGE, f"error: {folder} is a folder, not a model file\n")


def test_a_blank_name_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "names.txt"
    source.write_text(NAMES)
    out = tmp_path / "m.phony"
    code, _, err = _run(capsys, "train", str(source), "--name", "   ", "-o", str(out))
    assert (code, err) == (USAGE, "error: --name must not be blank\n")
    assert not out.exists()


def test_text_options_must_be_utf8_and_a_file_name_need_not_be(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from phony_registry.format import load_model

    source = tmp_path / os.fsdecode(b"caf\xe9.txt")  # a Latin-1 file name
    source.write_text(NAMES)
    out = tmp_path / "m.phony"
    for option in ("--name", "--description", "--locale", "--kind", "--source-description"):
        code, _, err = _run(capsys, "train", str(source), option, "x\udcff", "-o", str(out))
        assert (code, err) == (USAGE, f"error: {option} is not valid UTF-8 text\n"), option
    assert not out.exists()
    assert _run(capsys, "train", str(source), "--order", "2", "-o", str(out))[0] == 0
    meta = load_model(out.read_bytes()).meta
    assert (meta.name, meta.source) == ("caf\ufffd", "caf\ufffd.txt")


def test_a_creation_time_before_the_year_1000_is_written_readably(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from phony_registry.format import load_model

    out = _trained(tmp_path, capsys, "--created", "0999-06-01T00:00:00Z")
    assert load_model(out.read_bytes()).meta.created == "0999-06-01T00:00:00Z"


def test_exclude_originals_on_a_model_that_only_copies_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "one.txt"
    source.write_text("Mehmet\nMehmet\n")
    out = tmp_path / "m.phony"
    code, _, err = _run(capsys, "train", str(source), "--exclude-originals", "-o", str(out))
    assert code == 5
    assert err == (
        "error: every value this model generates is a training value, so with "
        "--exclude-originals it could generate none: train on more distinct values, "
        "or without --exclude-originals\n"
    )
    assert not out.exists()


def test_a_format_version_out_of_range_is_a_usage_error(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.phony"
    for argv in (
        ["migrate", str(model), "--to", "0", "-o", str(out)],
        ["cat", str(model), "--to", "99"],
    ):
        code, _, err = _run(capsys, *argv)
        assert code == USAGE, argv
        assert err.startswith("error: no format version ")
    assert not out.exists()


# -- output ----------------------------------------------------------------------


def test_txt_refuses_a_value_with_a_line_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from phony_registry.format import save_model
    from phony_registry.ngram import train

    # Values with line breaks can come from the Python API or a schema.
    path = tmp_path / "lines.phony"
    save_model(train(["a\nb", "a\nc"], name="lines", order=2), path)
    out = tmp_path / "out.txt"
    out.write_text("keep\n")
    code, _, err = _run(capsys, "generate", str(path), "-n", "5", "--seed", "1", "-o", str(out))
    assert code == 6
    assert err.startswith("error: the value for line 1 ('a\\n")
    assert "holds a line break, which the txt format cannot" in err
    assert out.read_text() == "keep\n"
    code, out_text, _ = _run(capsys, "generate", str(path), "-n", "5", "--seed", "1", "-f", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out_text)))
    assert len(rows) == 6
    assert all("\n" in row[0] for row in rows[1:])


def test_the_extension_picks_the_format(
    sqlite_plugin: None, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, check in (
        ("out.csv", lambda p: p.read_text().startswith("name\n")),
        ("out.jsonl", lambda p: p.read_text().startswith('{"name": ')),
        ("out.db", lambda p: sqlite3.connect(p).execute("select count(*) from data").fetchone()),
        ("out.unknown", lambda p: p.read_text().count("\n") == 3),
    ):
        target = tmp_path / name
        code, _, err = _run(
            capsys, "generate", str(model), "-n", "3", "--seed", "1", "-o", str(target)
        )
        assert code == 0, err
        assert check(target), name
    assert sqlite3.connect(tmp_path / "out.db").execute("select count(*) from data").fetchone() == (
        3,
    )
    # An explicit --format wins over the extension.
    target = tmp_path / "forced.csv"
    assert _run(capsys, "generate", str(model), "-n", "2", "-f", "jsonl", "-o", str(target))[0] == 0
    assert target.read_text().startswith("{")


def test_binary_output_is_refused_on_a_terminal(
    sqlite_plugin: None,
    model: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, err = _run(capsys, "generate", str(model), "-n", "2", "-f", "sqlite")
    assert code == USAGE
    assert out == ""
    assert err == (
        "error: sqlite output is binary and stdout is a terminal: write it to a file with "
        "-o FILE.db, or redirect stdout\n"
    )


# -- reading models by name ---------------------------------------------------------


def test_info_stats_validate_take_a_cached_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["install", "tr_TR"]) == 0
    capsys.readouterr()
    code, out, _ = _run(capsys, "info", "tr_TR/cities")
    assert code == 0
    assert "name:              tr_TR/cities\n" in out
    code, out, _ = _run(capsys, "validate", "tr_TR/cities", "tr_TR/streets")
    assert code == 0
    assert out == "tr_TR/cities: ok (format version 2)\ntr_TR/streets: ok (format version 2)\n"
    code, out, _ = _run(capsys, "stats", "tr_TR/cities", "--sample", "200")
    assert code == 0
    assert out.startswith("model:        tr_TR/cities (order ")


def test_stats_explains_its_figures(model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "stats", str(model), "--sample", "1000")
    assert code == 0
    assert "different values the model can spell in up to" in out
    assert "the rarest are almost never drawn, so --unique reaches fewer" in out
    assert "sample:       1,000 draws (seed 0) gave " in out
    assert "novelty:      unknown: pass --training FILE" in out


def test_stats_says_more_than_when_the_count_of_values_is_capped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "names.txt"
    source.write_text(NAMES + "abcdefghijklmnopqrstuvwxyz" * 2 + "\n")  # 52 letters long
    out = tmp_path / "m.phony"
    assert _run(capsys, "train", str(source), "--order", "1", "-o", str(out))[0] == 0
    code, text, _ = _run(capsys, "stats", str(out), "--sample", "100")
    assert code == 0
    assert "possible:     more than 4.61e+18 different values" in text


def test_info_says_why_a_model_has_no_selection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("ali\nali\n")
    two.write_text("ali\nveli\n")
    for source, options, why in (
        (one, [], "none (fewer than two distinct values: nothing to hold out)"),
        (two, ["--order", "2"], "none (order and smoothing given at training)"),
    ):
        out = tmp_path / "m.phony"
        assert _run(capsys, "train", str(source), *options, "-o", str(out))[0] == 0
        code, text, _ = _run(capsys, "info", str(out))
        assert code == 0
        assert f"selection: {why}" in " ".join(text.split()), text


def test_one_value_is_singular(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "one.txt"
    source.write_text("ali\n")
    code, _, err = _run(capsys, "train", str(source), "--order", "2", "-o", str(tmp_path / "o"))
    assert code == 0
    assert ", 1 value, " in err


# -- registries and configuration ------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("models", "pull", "alice/names"),
        ("login",),
        ("logout",),
        ("models", "yank", "alice/names@1.0.0"),
        ("models", "search", "names"),
    ],
    ids=["pull", "login", "logout", "yank", "search"],
)
def test_without_a_registry_commands_say_how_to_configure_one(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == USAGE
    assert err.count("\n") == 1
    assert "the bundled" in err
    assert "pass --registry URL|PATH (-r), set PHONY_REGISTRY, or set default_registry" in err


def test_a_file_is_not_a_registry(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = tmp_path / "names.txt"
    for argv in (
        ("models", "pull", "tr_TR/cities", "--registry", str(names)),
        ("models", "push", str(model), "alice/names@1.0.0", "-r", str(names)),
    ):
        code, _, err = _run(capsys, *argv)
        assert code == USAGE
        assert err == (
            f"error: {names} is a file, not a registry: a registry is a folder, a file:// or "
            "http(s):// URL, or a name from [registries] in config.toml\n"
        )
    assert names.read_text() == NAMES


def test_a_misspelled_config_key_warns_once_with_a_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from phony_client import config

    config._warned.clear()
    folder = Path(os.environ["PHONY_CONFIG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(
        'defualt_registry = "team"\n[registries.team]\nurl = "x"\nsigning_kye = "k"\n'
    )
    assert main(["models", "pull", "tr_TR/cities"]) == 0
    assert main(["models", "pull", "tr_TR/cities"]) == 0
    err = "".join(line for line in capsys.readouterr().err.splitlines(True) if "warning" in line)
    path = folder / "config.toml"
    assert sorted(err.splitlines()) == [
        f"warning: {path}: unknown key 'defualt_registry' "
        "(did you mean 'default_registry'?); it is ignored",
        f"warning: {path}: unknown key 'registries.team.signing_kye' "
        "(did you mean 'signing_key'?); it is ignored",
    ]


def test_logout_removes_the_stored_token(capsys: pytest.CaptureFixture[str]) -> None:
    from phony_client.credentials import store_token, token_for

    path = store_token("http://127.0.0.1:9/", "secret-token")
    assert token_for("http://127.0.0.1:9") == "secret-token"
    assert path.stat().st_mode & 0o777 == 0o600  # a secret, through the shared atomic write
    code, out, _ = _run(capsys, "logout", "-r", "http://127.0.0.1:9")
    assert code == 0
    assert out == "logged out of http://127.0.0.1:9: token removed\n"
    assert token_for("http://127.0.0.1:9") is None
    code, _, err = _run(capsys, "logout", "-r", "http://127.0.0.1:9")
    assert code == 0
    assert err == "no token stored for http://127.0.0.1:9\n"
    store_token("http://a.example", "1")
    store_token("http://b.example", "2")
    code, out, _ = _run(capsys, "logout", "--all")
    assert out.count("token removed") == 2


def test_a_port_in_use_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, _, err = _run(
            capsys, "registry", "serve", "--port", str(port), "--storage", str(tmp_path / "r")
        )
    assert code == 1
    assert err == (
        f"error: cannot listen on 127.0.0.1:{port}: the port is in use (by another server?); "
        "choose another with --port\n"
    )


def test_info_and_stats_escape_control_characters_of_a_model_s_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A model pulled from a registry carries its publisher's text: shown on a
    # terminal, a line break or an escape sequence could forge a line.
    from dataclasses import replace

    from phony_registry.format import dump_model, load_model

    out = _trained(tmp_path, capsys)
    model = load_model(out.read_bytes())
    model.meta = replace(model.meta, name="n\x1b[2Jx", description="a\ndigest: forged\x07")
    out.write_bytes(dump_model(model))
    code, text, _ = _run(capsys, "info", str(out))
    assert code == 0
    assert "description:       a\\ndigest: forged\\x07\n" in text
    assert "\x1b" not in text
    assert "\x07" not in text
    code, text, _ = _run(capsys, "stats", str(out), "--sample", "10")
    assert code == 0
    assert text.startswith("model:        n\\x1b[2Jx (order 2)")


def test_generate_refuses_to_write_over_the_model_it_reads(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = model.read_bytes()
    link = tmp_path / "again.phony"
    os.link(model, link)
    for target in (str(model), str(link), f"{tmp_path}/../{tmp_path.name}/names.phony"):
        code, _, err = _run(capsys, "generate", str(model), "-n", "3", "--seed", "1", "-o", target)
        assert (code, err) == (
            USAGE,
            f"error: -o {target} is the model being read: its values would replace the model\n",
        )
    assert model.read_bytes() == before
    out = tmp_path / "values.txt"
    assert _run(capsys, "generate", str(model), "-n", "3", "--seed", "1", "-o", str(out))[0] == 0


def test_generate_refuses_to_write_over_a_schema_or_a_model_the_schema_reads(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = tmp_path / "s.toml"
    schema.write_text(f'[columns.n]\ntype = "ngram"\nmodel = "{model}"\n')
    before = (model.read_bytes(), schema.read_bytes())
    for target, what in ((model, "model"), (schema, "schema")):
        code, _, err = _run(
            capsys, "generate", "--schema", str(schema), "-n", "3", "--seed", "1", "-o", str(target)
        )
        assert (code, err) == (
            USAGE,
            f"error: -o {target} is the {what} being read: its values would replace the {what}\n",
        )
    assert (model.read_bytes(), schema.read_bytes()) == before


def test_train_refuses_to_write_the_model_over_its_training_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "names.txt"
    source.write_text(NAMES)
    link = tmp_path / "same.txt"
    os.link(source, link)
    for target in (source, link):
        code, _, err = _run(capsys, "train", str(source), "--order", "2", "-o", str(target))
        assert (code, err) == (
            USAGE,
            f"error: -o {target} is the training input: the model would replace it\n",
        )
    assert source.read_text() == NAMES


def test_the_default_model_file_keeps_the_bytes_of_a_non_utf8_source_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / os.fsdecode(b"caf\xe9.txt")
    source.write_text(NAMES)
    assert _run(capsys, "train", str(source), "--order", "2")[0] == 0
    names = sorted(os.fsencode(p.name) for p in tmp_path.iterdir())
    assert names == [b"caf\xe9.phony", b"caf\xe9.txt"]


def test_train_from_a_database_writes_and_names_what_its_help_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as db:
        db.execute("create table customers (city text)")
        db.executemany("insert into customers values (?)", [(n,) for n in NAMES.split()])
    db.close()
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(
        capsys, "train", "--db", f"sqlite:///{database}", "--table", "customers",
        "--column", "city", "--order", "2",
    )  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "customers.city.phony").exists()
    code, out, _ = _run(capsys, "info", "customers.city.phony")
    assert "name:              customers.city" in out
    assert "source:            column city of table customers" in out
    code, out, _ = _run(capsys, "train", "--help")
    help_text = " ".join(out.split())
    assert "with --db, TABLE.COLUMN.phony" in help_text
    assert "with --db, TABLE.COLUMN]" in help_text
    assert "with --db, the column and its table]" in help_text
