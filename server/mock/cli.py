"""``phony mock start | export | deploy``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import click

from phony_registry._fs import write_atomic
from phony_registry.errors import UsageError

__all__ = ["mock"]


def _schema_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every mock subcommand shares: what to serve."""
    options = [
        click.argument("schemas", metavar="SCHEMA...", nargs=-1),
        click.option(
            "--openapi",
            metavar="SPEC",
            type=click.Path(exists=True, dir_okay=False),
            help="An OpenAPI 3 document (YAML or JSON): a collection per schema it lists.",
        ),
        click.option(
            "--seed",
            type=click.IntRange(0, 2**128 - 1),
            default=0,
            show_default=True,
            help="Seed: the same seed gives the same records on every run.",
        ),
        click.option(
            "-n",
            "--count",
            type=click.IntRange(min=0),
            default=1000,
            show_default=True,
            help="Records per collection (at most 2**63 - 1: ids stop there).",
        ),
        click.option(
            "--locale",
            metavar="LOCALE[,FALLBACK...]",
            help="Locale of the schemas' models (en_US); needed by ready schemas.",
        ),
        click.option(
            "--state",
            default="memory",
            show_default=True,
            metavar="memory|sqlite:PATH",
            help="Where writes are kept: in memory (gone at exit) or in a SQLite file.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _serving_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``start`` and ``deploy`` share: how the mock is served."""
    command = click.option("--read-only", is_flag=True, help="Refuse writes (405).")(command)
    return click.option(
        "--workers",
        default=1,
        show_default=True,
        type=click.IntRange(1, 64),
        help="Server processes (each serves the same records).",
    )(command)


def _config(
    schemas: tuple[str, ...],
    seed: int,
    count: int,
    locale: str | None,
    state: str,
    openapi: str | None = None,
    **extra: Any,
) -> Any:
    from phony_server.mock.config import MockConfig
    from phony_server.mock.sources import schema_sources

    sources = schema_sources(schemas, locale=locale, count=None, openapi=openapi)
    return MockConfig(sources=sources, seed=seed, count=count, state=state, **extra)


@click.group()
def mock() -> None:
    """A mock REST API over schemas: deterministic records, writes in an overlay.

    SCHEMA is a ready schema (person, address, company; with --locale), a TOML
    schema file, or a folder of them; NAME=SCHEMA names its collection.
    """


@mock.command()
@_schema_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=3000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@_serving_options
@click.option("--delay", metavar="SPEC", help="Latency: 120ms, 50-300ms or lognormal:80ms:0.6.")
@click.option("--faults", metavar="SPEC", help="Faults by probability: 500:0.05,reset:0.01.")
@click.option(
    "--scan-limit",
    default=1_000_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Largest collection a filter, sort or search may scan.",
)
@click.option(
    "--warm",
    is_flag=True,
    help="Index the whole collections in the background at start, so that every page "
    "is fast from its first request (without it, the first visit to a 65,536-record "
    "chunk costs tens of milliseconds, whatever the chunk).",
)
@click.option(
    "--cache-mb",
    default=16,
    show_default=True,
    type=click.IntRange(min=0),
    help="MiB of served records kept per worker, so that pages near recent ones are "
    "sliced rather than made again (0: none).",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="How much the server logs (uvicorn's levels).",
)
def start(
    schemas: tuple[str, ...],
    seed: int,
    count: int,
    locale: str | None,
    state: str,
    openapi: str | None,
    host: str,
    port: int,
    workers: int,
    read_only: bool,
    delay: str | None,
    faults: str | None,
    scan_limit: int,
    warm: bool,
    cache_mb: int,
    log_level: str,
) -> None:
    """Serve the schemas over HTTP until Ctrl-C or SIGTERM."""
    import uvicorn  # missing: one line naming the extra, as for every optional package

    from phony_server.mock.app import MockApp
    from phony_server.mock.config import CONFIG_ENV

    config = _config(
        schemas, seed, count, locale, state, openapi,
        read_only=read_only, delay=delay, faults=faults, scan_limit=scan_limit, warm=warm,
        cache_mb=cache_mb,
    )  # fmt: skip
    shared_dir = None
    if workers > 1 and config.state == "memory":
        import tempfile

        # Workers are processes: a memory overlay would be one per worker.
        shared_dir = tempfile.mkdtemp(prefix="phony-mock-")
        config.state = f"sqlite:{Path(shared_dir) / 'state.db'}"
    # Every schema, model and option is checked before listening; with workers,
    # each builds (and warms) its own app, so this one only checks.
    app = MockApp(config, warm=workers == 1)
    from phony_server.cli._common import ensure_can_listen

    port = ensure_can_listen(host, port)  # a port in use: one line, as registry serve says it
    for name, collection in app.collections.items():
        click.echo(f"phony mock: /{name} ({collection.count:,} records)", err=True)
    click.echo(
        f"phony mock: http://{host}:{port} (seed {seed}, writes in {config.state}"
        f"{', read-only' if read_only else ''}); Ctrl-C stops",
        err=True,
    )
    try:
        if workers == 1:
            uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on")
        else:
            os.environ[CONFIG_ENV] = config.to_json()
            uvicorn.run(
                "phony_server.mock:app_from_env",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level=log_level,
                lifespan="on",
            )
    finally:
        if shared_dir is not None:
            import shutil

            shutil.rmtree(shared_dir, ignore_errors=True)


@mock.command()
@_schema_options
@click.option(
    "-f",
    "--format",
    "format_name",
    default="json-server",
    show_default=True,
    type=click.Choice(["json-server"]),
    help="What to write: json-server's db.json.",
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (atomically), not stdout.")
def export(
    schemas: tuple[str, ...],
    seed: int,
    count: int,
    locale: str | None,
    state: str,
    openapi: str | None,
    format_name: str,
    output: str | None,
) -> None:
    """Write the records the mock serves (writes included) as json-server's db.json."""
    from phony_server.mock.app import build_collections
    from phony_server.mock.query import ListQuery, matching
    from phony_server.mock.state import open_overlay

    config = _config(schemas, seed, count, locale, state, openapi)
    collections = build_collections(config)
    overlay = open_overlay(
        config.state,
        {n: c.next_id for n, c in collections.items()},
        config.seed,
        steps={n: c.id_step for n, c in collections.items()},
    )
    encode = json.JSONEncoder(ensure_ascii=False).encode

    def write(stream: BinaryIO) -> None:
        parts = ["{"]
        for n, (name, collection) in enumerate(collections.items()):
            parts.append(f"{',' if n else ''}\n  {encode(name)}: [")
            first = True
            for record in matching(collection, overlay, ListQuery(), scan_limit=collection.count):
                parts.append(("\n    " if first else ",\n    ") + encode(record))
                first = False
                if len(parts) >= 4096:
                    stream.write("".join(parts).encode("utf-8"))
                    parts.clear()
            parts.append("\n  ]" if not first else "]")
        parts.append("\n}\n")
        stream.write("".join(parts).encode("utf-8"))

    if output is None or output == "-":
        write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    from phony_registry._fs import open_output

    with open_output(output) as stream:
        write(stream)
    click.echo(f"phony mock: wrote {output}", err=True)


@mock.command()
@_schema_options
@click.option(
    "-o",
    "--output",
    "folder",
    default="phony-mock",
    show_default=True,
    metavar="DIR",
    help="Folder to write the configuration, schemas and Containerfile into.",
)
@click.option(
    "--port",
    default=3000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port the deployed mock listens on.",
)
@_serving_options
def deploy(
    schemas: tuple[str, ...],
    seed: int,
    count: int,
    locale: str | None,
    state: str,
    openapi: str | None,
    folder: str,
    port: int,
    workers: int,
    read_only: bool,
) -> None:
    """Write what running the mock elsewhere takes: its configuration, the schemas,
    the ASGI factory command line and a Containerfile."""
    from phony_server.mock.app import build_collections
    from phony_server.mock.sources import OPENAPI_PREFIX, CollectionSource

    config = _config(schemas, seed, count, locale, state, openapi, read_only=read_only)
    build_collections(config)  # fails now, with one line, rather than in the container
    out = Path(folder)
    (out / "schemas").mkdir(parents=True, exist_ok=True)
    sources = []
    for source in config.sources:
        schema = source.schema
        if Path(schema).is_file():
            schema = f"schemas/{_copy_schema(Path(schema), out / 'schemas')}"
        elif schema.startswith(OPENAPI_PREFIX):
            import shutil

            # The OpenAPI document goes with the schemas (one copy for its collections).
            document, _, name = schema.removeprefix(OPENAPI_PREFIX).rpartition("#")
            shutil.copyfile(document, out / "schemas" / Path(document).name)
            schema = f"{OPENAPI_PREFIX}schemas/{Path(document).name}#{name}"
        sources.append(CollectionSource(source.name, schema, source.locale, source.count))
    config.sources = sources
    if workers > 1 and config.state == "memory":
        config.state = "sqlite:/data/mock-state.db"
    document = json.dumps(json.loads(config.to_json()), indent=2) + "\n"
    write_atomic(out / "mock.json", document.encode())
    command = (
        f"PHONY_MOCK_CONFIG=mock.json uvicorn --factory phony_server.mock:app_from_env "
        f"--host 0.0.0.0 --port {port} --workers {workers}"
    )
    run = (
        "#!/bin/sh\n# Run the mock with any ASGI host; this is uvicorn.\n"
        f'cd "$(dirname "$0")"\nexec env {command}\n'
    )
    write_atomic(out / "run.sh", run.encode(), mode=0o755)
    containerfile = (
        "# Build: podman build -t phony-mock . (or docker build -f Containerfile .)\n"
        "FROM python:3.11-slim\n"
        "# The phony distribution with its server extra (a wheel of this version,\n"
        "# or a path or URL pip understands).\n"
        'ARG PHONY="phony[server]"\n'
        'RUN pip install --no-cache-dir "$PHONY"\n'
        "WORKDIR /mock\n"
        "COPY . /mock\n"
        "RUN mkdir -p /data\n"
        "ENV PHONY_MOCK_CONFIG=/mock/mock.json\n"
        f"EXPOSE {port}\n"
        'CMD ["uvicorn", "--factory", "phony_server.mock:app_from_env", '
        f'"--host", "0.0.0.0", "--port", "{port}", "--workers", "{workers}"]\n'
    )
    write_atomic(out / "Containerfile", containerfile.encode())
    click.echo(f"phony mock: wrote {out}/mock.json, run.sh, Containerfile and schemas/", err=True)
    click.echo(f"run it here:  cd {out} && {command}")


def _copy_schema(path: Path, folder: Path) -> str:
    """Copy a schema file and the model files it names by relative path; its new name."""
    import shutil

    from phony_registry.schema import read_schema_file

    target = folder / path.name
    shutil.copyfile(path, target)
    columns = read_schema_file(path).get("columns")
    if isinstance(columns, dict):
        for spec in columns.values():
            model = spec.get("model") if isinstance(spec, dict) else None
            if isinstance(model, str) and not Path(model).is_absolute():
                source = path.parent / model
                target_model = (folder / model).resolve()
                if not target_model.is_relative_to(folder.resolve()):
                    raise UsageError(
                        f"{path}: model {model!r} lies outside the schema's folder; "
                        "give it as an absolute path or move it beside the schema to deploy"
                    )
                if source.is_file():
                    target_model.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target_model)
    return path.name
