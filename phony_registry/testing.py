"""A testing kit for plugin authors: run a plugin through phony exactly as the CLI does.

A plugin's tests need no set-up beyond importing its module::

    import phony_acme
    from phony_registry.testing import PluginTester

    def test_iban() -> None:
        values = PluginTester(phony_acme).check_generator("acme_iban", {"bank_code": "37040044"})
        assert all(v.startswith("DE") for v in values)

:class:`PluginTester` loads phony's built-ins plus the plugin (and nothing
else installed, whatever ``PHONY_LOAD_PLUGINS`` says), fails at once if the
plugin does not load, and runs generators and formats through the schema
engine and the output writers the command line uses, with the plugin's
faults attributed as in a real run. ``check_generator`` checks determinism
(the same seed, any batch size, a table read from the middle);
``check_format`` writes a table of awkward values and checks it with the
author's parser. :func:`run_phony` runs the ``phony`` command line in a
subprocess with only the named plugins loaded.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from phony_registry.plugins import Plugins, load_plugins, using
from phony_registry.schema import DEFAULT_BATCH_SIZE, generate_table, parse_schema

__all__ = ["PluginTester", "SAMPLE_TABLE", "run_phony"]  # noqa: RUF022 - plain sorted()

#: Awkward values for a format: quotes, separators, markup, non-ASCII, empty, long.
SAMPLE_TABLE: dict[str, list[str]] = {
    "name": ["Ayşe", 'O"Brien', "a,b;c", "<tag> & 'x'", "", "Zoë " * 20, "tab\there", "日本"],
    "number": ["1", "-2", "3.50", "0", "007", "1e3", "", "42"],
}


class PluginTester:
    """phony's own plugins plus ``module`` (a plugin), loaded as phony loads plugins.

    ``name`` is the plugin's name in messages (default: the module's name).
    Construction raises :class:`AssertionError` if the plugin fails to load.
    """

    def __init__(self, module: object, name: str | None = None) -> None:
        self.name = name or getattr(module, "__name__", "plugin").replace("_", "-")
        # Only phony's own plugins and this one: not the installed copy of it,
        # nor anything else the environment happens to hold.
        saved = os.environ.get("PHONY_LOAD_PLUGINS")
        os.environ["PHONY_LOAD_PLUGINS"] = ""
        try:
            self.plugins: Plugins = load_plugins({self.name: module})
        finally:
            if saved is None:
                del os.environ["PHONY_LOAD_PLUGINS"]
            else:
                os.environ["PHONY_LOAD_PLUGINS"] = saved
        if self.plugins.failures:
            raise AssertionError(f"plugins failed to load: {self.plugins.failures}")
        if self.name not in self.plugins.plugins:
            raise AssertionError(f"{self.name} registered nothing")

    @property
    def registered(self) -> dict[str, list[str]]:
        """What the plugin registered, by kind: ``{"generators": ["acme_iban"], ...}``."""
        return self.plugins.plugins[self.name].registered

    @contextlib.contextmanager
    def active(self) -> Iterator[Plugins]:
        """Make this plugin set phony's process-wide one inside the block."""
        with using(self.plugins) as plugins:
            yield plugins

    # -- generators ----------------------------------------------------------------------------

    def schema(
        self,
        columns: Mapping[str, Mapping[str, Any]],
        *,
        locale: str | None = None,
        base_dir: Path | None = None,
    ) -> Any:
        """A parsed schema (``{"iban": {"type": "acme_iban"}}``), built with this plugin set."""

        with self.active():
            return parse_schema({"columns": dict(columns)}, base_dir=base_dir, locale=locale)

    def generate(
        self,
        type: str,
        args: Mapping[str, Any] | None = None,
        *,
        count: int = 100,
        seed: int = 1,
        batch_size: int | None = None,
        start: int = 0,
        locale: str | None = None,
    ) -> list[str]:
        """``count`` values of one column of ``type``, as ``phony generate --column`` makes them."""

        schema = self.schema({"value": {"type": type, **(args or {})}}, locale=locale)
        values: list[str] = []
        with self.active():
            for batch in generate_table(
                schema, count, seed, batch_size=batch_size or DEFAULT_BATCH_SIZE, start=start
            ):
                values.extend(batch[0])
        return values

    def check_generator(
        self,
        type: str,
        args: Mapping[str, Any] | None = None,
        *,
        count: int = 200,
        seed: int = 1,
        valid: Callable[[str], bool] | None = None,
        locale: str | None = None,
    ) -> list[str]:
        """Generate ``count`` values and check what phony promises of a generator; returns them.

        The values are strings, one per row; the same for the same seed, for
        batch sizes of 1, 7 and ``count``, and for a table read from its
        middle (row ``count // 2`` on); another seed gives other values (for
        a column with more than one possible value). ``valid`` checks each
        value (an IBAN's check digits).
        """
        values = self.generate(type, args, count=count, seed=seed, locale=locale)
        assert len(values) == count, f"{type}: {len(values)} values for {count} rows"
        bad = [v for v in values if not isinstance(v, str)]
        assert not bad, f"{type}: values must be strings, got {bad[:3]!r}"
        for size in (1, 7, count):
            again = self.generate(
                type, args, count=count, seed=seed, batch_size=size, locale=locale
            )
            assert again == values, f"{type}: batch size {size} changes the values"
        half = count // 2
        tail = self.generate(type, args, count=count, seed=seed, start=half, locale=locale)
        assert tail == values[half:], f"{type}: rows from {half} on differ when read from there"
        if len(set(values)) > 1:
            other = self.generate(type, args, count=count, seed=seed + 1, locale=locale)
            assert other != values, f"{type}: seed {seed + 1} gives the values of seed {seed}"
        if valid is not None:
            wrong = [v for v in values if not valid(v)]
            assert not wrong, f"{type}: invalid values {wrong[:5]!r}"
        return values

    # -- commands ------------------------------------------------------------------------------

    def run_command(self, *args: str, input: str | None = None) -> Any:
        """Run ``phony ARGS`` against the commands the plugin adds; a ``click.testing.Result``.

        The commands are registered on a fresh group as the command line
        registers them (a fault inside one is the plugin's
        :class:`~phony_registry.errors.PluginFault`, in ``result.exception``).
        """
        import click
        from click.testing import CliRunner

        group = click.Group("phony")
        self.plugins.register_commands(group)
        assert not self.plugins.failures, f"phony_register_commands failed: {self.plugins.failures}"
        with self.active():
            return CliRunner().invoke(group, list(args), input=input)

    # -- formats -------------------------------------------------------------------------------

    def write(
        self,
        format_name: str,
        columns: Mapping[str, Sequence[str]],
        *,
        options: Mapping[str, str] | None = None,
        batch_size: int | None = None,
    ) -> bytes:
        """The bytes ``format_name`` writes for a table (column name -> values), in batches."""
        names = list(columns)
        rows = len(next(iter(columns.values()), []))
        size = batch_size or max(rows, 1)
        out = io.BytesIO()
        with self.active() as plugins:
            writer = plugins.format(format_name).open(out, names, dict(options or {}))
            for begin in range(0, rows, size):
                writer.write([list(columns[n][begin : begin + size]) for n in names])
            writer.close()
        return out.getvalue()

    def check_format(
        self,
        format_name: str,
        parse: Callable[[bytes], Sequence[Mapping[str, str]]],
        *,
        table: Mapping[str, Sequence[str]] | None = None,
        options: Mapping[str, str] | None = None,
        same_bytes: bool = True,
    ) -> bytes:
        """Write ``table`` (default :data:`SAMPLE_TABLE`) and check it with ``parse``; returns it.

        ``parse(data)`` returns the rows as mappings of column name to text.
        The rows must come back as written, whatever the batch size (and,
        with ``same_bytes``, as the same bytes: a file format with a
        transaction counter, SQLite, passes False), and an empty table must
        parse to no rows.
        """
        table = table or SAMPLE_TABLE
        names = list(table)
        expected = [dict(zip(names, row, strict=True)) for row in zip(*table.values(), strict=True)]
        data = self.write(format_name, table, options=options)
        got = [dict(row) for row in parse(data)]
        assert got == expected, f"{format_name}: parsed back {got[:3]!r}, expected {expected[:3]!r}"
        for size in (1, 3):
            again = self.write(format_name, table, options=options, batch_size=size)
            if same_bytes:
                assert again == data, f"{format_name}: batch size {size} changes the output"
            rows = [dict(row) for row in parse(again)]
            assert rows == expected, f"{format_name}: batch size {size} changes the rows"
        empty = self.write(format_name, {name: [] for name in names}, options=options)
        assert list(parse(empty)) == [], f"{format_name}: an empty table parses to rows"
        return data


def run_phony(
    *args: str,
    plugins: str = "",
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``phony ARGS`` in a subprocess with only ``plugins`` loaded (``PHONY_LOAD_PLUGINS``)."""
    environment = {**os.environ, "PHONY_LOAD_PLUGINS": plugins, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "phony_client", *args],
        capture_output=True,
        text=True,
        env=environment,
        input=input,
        cwd=cwd,
        check=False,
        timeout=300,
    )
