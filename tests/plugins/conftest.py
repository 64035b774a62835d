"""tests/plugins/acme is a plugin distribution with its own tests, installed by the tests here."""

from __future__ import annotations

from pathlib import Path

collect_ignore = ["acme"]


def plugin_env(tmp_path: Path, name: str, files: dict[str, str]) -> dict[str, str]:
    """The environment that makes ``name`` the one plugin loaded: its module ``files`` (paths
    relative to a folder put on PYTHONPATH) beside an installed-looking distribution."""
    site = tmp_path / "site"
    module = name.replace("-", "_")
    dist_info = site / f"{module}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[phony]\n{name} = {module}\n")
    for relative, text in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
    return {"PYTHONPATH": str(site), "PHONY_LOAD_PLUGINS": name}
