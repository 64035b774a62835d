"""``phony sync``: fill a database with fake data fitted to a real one.

    phony sync plan --source URL > phony-sync.toml
    phony sync --plan phony-sync.toml --target URL [--seed N] [--scale F] ...
    phony sync --source URL --target URL            # both steps
    phony sync SCHEMA.toml... --target URL          # tables from phony schemas
    phony sync report --source URL --target URL

SQLAlchemy and psycopg (``pip install 'phony[sync]'``) load when a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from phony_client.cli._output import echo_json, echo_table, plural
from phony_registry.errors import UsageError

__all__ = ["sync"]

_RUN = "run"
# phony_registry.ngram.SMOOTHINGS, spelled out: importing ngram imports NumPy.
_SMOOTHING = click.Choice(["none", "witten-bell", "kneser-ney", "modified-kneser-ney"])
# Repeated, not comma-separated as --tables: a schema's name may hold a comma.
_SCHEMA = click.option(
    "--schema",
    "only_schemas",
    multiple=True,
    metavar="NAME",
    help="PostgreSQL: plan only this schema (repeat for more) [default: every user schema].",
)
_EXCLUDE_SCHEMA = click.option(
    "--exclude-schema",
    "exclude_schemas",
    multiple=True,
    metavar="NAME",
    help="PostgreSQL: leave this schema out (repeat for more).",
)


class _SyncGroup(click.Group):
    """``phony sync [OPTIONS]`` without a subcommand runs ``phony sync run``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [_RUN, *args]
        return super().parse_args(ctx, args)


@click.group(cls=_SyncGroup)
def sync() -> None:
    """Fill a database with realistic fake data learned from another one's columns.

    \b
    phony sync plan --source URL > phony-sync.toml    read the source, write a plan
    phony sync --plan phony-sync.toml --target URL    fill the target from the plan
    phony sync --source URL --target URL              both steps at once
    phony sync SCHEMA.toml... --target URL            tables from phony schemas
    phony sync report --source URL --target URL       closeness and constraints

    URLs: postgresql://user@host:port/db, sqlite:///relative.db, sqlite:////absolute.db.
    The source is only ever read.
    """


@sync.command("plan")
@click.option("--source", required=True, metavar="URL", help="Database to learn from (read-only).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the plan to FILE [default: stdout].",
)
@click.option(
    "--models",
    "models_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the trained text models [default: phony-sync-models next to the plan].",
)
@click.option(
    "--order",
    type=click.IntRange(1, 12),
    help="N of the text models' N-grams [default: chosen as phony train does].",
)
@click.option(
    "--smoothing",
    type=_SMOOTHING,
    help="Smoothing of the text models [default: as phony train].",
)
@click.option(
    "--consistent",
    is_flag=True,
    help="A natural key copied across tables (an email on orders) gets the same "
    "fake value wherever it appears.",
)
@_SCHEMA
@_EXCLUDE_SCHEMA
def plan_command(
    source: str,
    output: Path | None,
    models_dir: Path | None,
    order: int | None,
    smoothing: str | None,
    consistent: bool,
    only_schemas: tuple[str, ...],
    exclude_schemas: tuple[str, ...],
) -> None:
    """Introspect the source and write a plan: what fills each column, and why.

    Text columns get .phony models trained with the privacy guard on: they
    never generate a value of the source. On PostgreSQL, every user schema
    is planned; tables outside the default one are named schema.table.
    """
    from phony_client.sync import dump_plan, make_plan

    base = output.parent if output is not None else Path.cwd()
    models = models_dir or base / "phony-sync-models"
    plan = make_plan(
        source,
        models,
        base,
        order=order,
        smoothing=smoothing,
        consistent=consistent,
        schemas=only_schemas,
        exclude_schemas=exclude_schemas,
    )
    text = dump_plan(plan)
    if output is None:
        click.echo(text, nl=False)
        return
    from phony_registry._fs import write_atomic

    write_atomic(output, text.encode())  # a new file: 0666 less the umask
    click.echo(f"wrote {output}: {plural(len(plan.tables), 'table')}, models in {models}", err=True)


@sync.command(_RUN)
@click.argument("schemas", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Plan file made by phony sync plan.",
)
@click.option("--source", metavar="URL", help="Make the plan from this database first.")
@click.option("--target", required=True, metavar="URL", help="Database to fill.")
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    help="Seed: the same plan and seed give the same rows [default: random, printed].",
)
@click.option(
    "--scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Multiply every table's row count (0.1: a tenth).",
)
@click.option(
    "--count",
    type=click.IntRange(0),
    default=1000,
    show_default=True,
    help="Rows per table of SCHEMA files.",
)
@click.option("--tables", metavar="A,B", help="Only these tables (comma-separated).")
@click.option(
    "--jobs",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Generate this many tables at once; the rows do not change.",
)
@click.option("--truncate", is_flag=True, help="Empty non-empty target tables first.")
@click.option("--append", is_flag=True, help="Add to non-empty target tables.")
@click.option("--dry-run", is_flag=True, help="Say what would be done; write nothing.")
@click.option(
    "--consistent",
    is_flag=True,
    help="With --source: natural keys copied across tables keep one fake value.",
)
@click.option("--order", type=click.IntRange(1, 12), help="With --source: as phony sync plan.")
@click.option("--smoothing", type=_SMOOTHING, help="With --source: as phony sync plan.")
@_SCHEMA
@_EXCLUDE_SCHEMA
def run_command(
    schemas: tuple[Path, ...],
    plan_path: Path | None,
    source: str | None,
    target: str,
    seed: int | None,
    scale: float,
    count: int,
    tables: str | None,
    jobs: int,
    truncate: bool,
    append: bool,
    dry_run: bool,
    consistent: bool,
    order: int | None,
    smoothing: str | None,
    only_schemas: tuple[str, ...],
    exclude_schemas: tuple[str, ...],
) -> None:
    """Fill the target database from a plan, a source database or schema files.

    --schema and --exclude-schema choose what --source plans; the tables of a
    plan are chosen by --tables (schema.table for a table of another schema).
    """
    import shutil

    from phony_client.sync import SyncOptions, load_plan, make_plan
    from phony_client.sync import sync as run_sync

    given = [bool(schemas), plan_path is not None, source is not None]
    if sum(given) != 1:
        raise UsageError("give one of: --plan FILE, --source URL, or SCHEMA.toml files")
    if truncate and append:
        raise UsageError("--truncate and --append exclude each other")
    if (only_schemas or exclude_schemas) and source is None:
        raise UsageError(
            "--schema and --exclude-schema choose what --source plans: "
            "choose a plan's tables with --tables"
        )
    if schemas:
        from phony_client.sync.schemas import plan_from_schemas

        plan = plan_from_schemas(list(schemas), count)
    elif plan_path is not None:
        plan = load_plan(plan_path)
    else:
        import tempfile

        workdir = Path(tempfile.mkdtemp(prefix="phony-sync-"))
        try:
            plan = make_plan(
                source or "",
                workdir / "models",
                workdir,
                consistent=consistent,
                order=order,
                smoothing=smoothing,
                schemas=only_schemas,
                exclude_schemas=exclude_schemas,
            )
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        plan.base_dir = workdir
    if seed is None:
        import secrets

        seed = secrets.randbits(63)
        click.echo(f"phony: seed {seed} (pass --seed {seed} to repeat this sync)", err=True)
    options = SyncOptions(
        seed=seed,
        scale=scale,
        tables=[t.strip() for t in tables.split(",") if t.strip()] if tables else None,
        mode="truncate" if truncate else "append" if append else "refuse",
        dry_run=dry_run,
        jobs=jobs,
    )

    def progress(table: str, done: int, total: int) -> None:
        click.echo(f"  {table}: {plural(done, 'row')}", err=True)

    try:
        result = run_sync(plan, target, options, progress=None if dry_run else progress)
    finally:
        if source is not None and plan.base_dir is not None:
            shutil.rmtree(plan.base_dir, ignore_errors=True)  # the models of a one-go plan
    if dry_run:
        rows = plural(sum(result.rows.values()), "row")
        click.echo(f"would fill {plural(len(result.rows), 'table')} ({rows}):")
        for unit in result.units:
            for name in unit:
                notes = []
                if name in result.created:
                    notes.append("create")
                late = [c for t, c in result.deferred if t == name]
                if late:
                    notes.append(f"second pass: {', '.join(late)}")
                if len(unit) > 1:
                    notes.append(f"one transaction with {', '.join(n for n in unit if n != name)}")
                suffix = f"  ({'; '.join(notes)})" if notes else ""
                click.echo(f"  {name}: {plural(result.rows[name], 'row')}{suffix}")
        return
    total = sum(result.loaded.values())
    rate = total / result.seconds if result.seconds else 0.0
    click.echo(
        f"filled {plural(len(result.loaded), 'table')}: {plural(total, 'row')} in "
        f"{result.seconds:.1f} s ({rate:,.0f} rows/s)",
        err=True,
    )


@sync.command("report")
@click.option("--source", required=True, metavar="URL", help="The database the plan learned from.")
@click.option("--target", required=True, metavar="URL", help="The filled database.")
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The plan, to know which columns are text.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def report_command(
    ctx: click.Context, source: str, target: str, plan_path: Path | None, as_json: bool
) -> None:
    """Compare the target with the source, column by column, and check its constraints.

    Exits with status 1 when a constraint is broken in the target.
    """
    from phony_client.sync import load_plan, make_report

    report = make_report(source, target, load_plan(plan_path) if plan_path else None)
    if as_json:
        echo_json(report.as_json())
    else:
        _print_report(report)
    if not report.ok:
        ctx.exit(1)


def _print_report(report: Any) -> None:
    echo_table(
        ["table", "source rows", "target rows"],
        [(t, f"{s:,}", f"{g:,}") for t, (s, g) in report.rows.items()],
    )
    click.echo()
    echo_table(
        ["table", "column", "kind", "measure", "value", "nulls src", "nulls tgt"],
        [
            (
                c.table,
                c.column,
                c.kind,
                c.measure,
                "-" if c.value is None else f"{c.value:.3f}",
                f"{c.null_source:.3f}",
                f"{c.null_target:.3f}",
            )
            for c in report.columns
        ],
    )
    click.echo()
    broken = [c for c in report.constraints if c.violations]
    click.echo(
        f"constraints: {len(report.constraints)} checked, "
        f"{'all hold' if not broken else f'{len(broken)} broken'}"
    )
    for c in broken:
        click.echo(
            f"  {c.table} {c.kind} ({', '.join(c.columns)}) {c.detail}: {c.violations} rows",
            err=False,
        )
    sys.stdout.flush()
