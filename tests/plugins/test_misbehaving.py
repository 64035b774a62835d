"""Plugins that misbehave in ways other than raising, run as a user runs phony.

Each plugin is a module in a folder on PYTHONPATH with an installed-looking
distribution, loaded alone through ``PHONY_LOAD_PLUGINS``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

Run = Callable[..., subprocess.CompletedProcess[str]]

CHATTY = """
from phony_registry.generators import GeneratorFactory
from phony_registry.hookspecs import hookimpl
from phony_registry.outputs import OutputFormat

print("chatty: imported")


class Constant:
    requires = ()

    def generate(self, n, stream, inputs):
        print("chatty: generating", n)
        return ["v"] * n


class Writer:
    def __init__(self, stream, names, options):
        print("chatty: opening")
        self.stream = stream

    def write(self, columns):
        print("chatty: writing")
        self.stream.write("".join(f"{v}\\n" for v in columns[0]).encode())

    def close(self):
        print("chatty: closing")


@hookimpl
def phony_register_generators(register):
    print("chatty: registering")
    register(GeneratorFactory(name="chatty", description="v", build=lambda a, c: Constant()))


@hookimpl
def phony_register_formats(register):
    register(OutputFormat(name="lines", extension="txt", description="lines", open=Writer))
"""


def _site(tmp_path: Path, name: str, source: str) -> dict[str, str]:
    """The environment that makes ``name`` (a module with ``source``) the one plugin loaded."""
    site = tmp_path / "site"
    module = name.replace("-", "_")
    dist_info = site / f"{module}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[phony]\n{name} = {module}\n")
    (site / f"{module}.py").write_text(source)
    return {"PYTHONPATH": str(site), "PHONY_LOAD_PLUGINS": name}


@pytest.mark.parametrize("jobs", ["1", "2"], ids=["one-process", "jobs-2"])
def test_a_plugin_printing_never_mixes_into_the_data_on_stdout(
    run_phony: Run, tmp_path: Path, jobs: str
) -> None:
    env = _site(tmp_path, "phony-chatty", CHATTY)
    result = run_phony(
        "generate", "--column", "x=chatty", "--column", "y=choice:values=['a']", "-n", "3",
        "--seed", "1", "--format", "csv", "--jobs", jobs, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "x,y\nv,a\nv,a\nv,a\n"
    assert "chatty: generating" in result.stderr  # moved, not lost
    loading = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert loading == [
        "warning: plugin phony-chatty 1.0 wrote to stdout while loading, which holds phony's "
        "output: moved to stderr: chatty: imported / chatty: registering"
    ]
    assert "Traceback" not in result.stderr


def test_a_plugin_format_printing_leaves_only_its_rows_on_stdout(
    run_phony: Run, tmp_path: Path
) -> None:
    env = _site(tmp_path, "phony-chatty", CHATTY)
    result = run_phony(
        "generate", "--column", "x=choice:values=['a']", "-n", "2", "--format", "lines", env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a\na\n"
    assert "chatty: writing" in result.stderr
