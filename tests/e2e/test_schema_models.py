"""A user's schema file naming official models works offline from a fresh cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def test_schema_file_installs_the_official_models_it_names(tmp_path: Path, run_phony: Any) -> None:
    schema = tmp_path / "people.toml"
    schema.write_text(
        'locale = "tr_TR"\n\n'
        '[columns.first]\ntype = "ngram"\nmodel = "first_names"\n\n'
        '[columns.last]\ntype = "ngram"\nmodel = "tr_TR/last_names"\n\n'
        '[columns.full]\ntype = "template"\ntemplate = "{first} {last}"\n',
        encoding="utf-8",
    )
    args = ("generate", "--schema", str(schema), "--count", "5", "--seed", "1", "--format", "csv")
    first = run_phony(*args, env={"PHONY_OFFLINE": "1"}, check=True)
    assert "installed tr_TR/last_names@1.0.0 from the bundled official index" in first.stderr
    assert "installed tr_TR/first_names@1.0.0" in first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "first,last,full"
    assert len(lines) == 6
    for line in lines[1:]:
        given, family, full = line.split(",")
        assert full == f"{given} {family}"
    # Installed once: the second run is served by the cache, with the same table.
    again = run_phony(*args, env={"PHONY_OFFLINE": "1"}, check=True)
    assert "installed" not in again.stderr
    assert again.stdout == first.stdout
