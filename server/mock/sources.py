"""Where a mock's collections come from: ready schemas, TOML schema files, folders of them.

``phony mock start person users=schemas/user.toml:50 schemas/`` gives one
collection per schema. A collection is named after its schema, in the plural
(``person`` -> ``people``, ``company`` -> ``companies``), or as ``NAME=SCHEMA``
says; a ``:COUNT`` suffix gives its number of records (else ``--count``).

Model names in a schema resolve as they do for ``phony generate``: a path,
or a name looked up through the ``phony_resolve_model`` hook (locale packs
of plugins, then the local cache); an official model (``en_US/first_names``,
or a role such as ``first_names`` in a ready schema under ``--locale``) not
found there is read from the official index bundled with phony, checking its
digest, with no network and nothing installed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phony_registry._fs import not_a_file
from phony_registry.errors import UsageError, ValidationError
from phony_registry.facade import find_model
from phony_registry.names import is_locale, normalize_locale, parse_locale_chain
from phony_registry.plugins import get_plugins
from phony_registry.schema import Schema, parse_schema, read_schema_file
from phony_server.mock.words import plural, singular

__all__ = [
    "CollectionSource",
    "load_source",
    "ready_schema_names",
    "schema_sources",
]

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
#: A collection's schema taken from an OpenAPI document: ``openapi:PATH#SCHEMA``.
OPENAPI_PREFIX = "openapi:"


@dataclass(frozen=True)
class CollectionSource:
    """One collection to serve: its name, schema file (or ready schema), locale and count."""

    name: str
    schema: str
    locale: str | None = None
    count: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The form kept in a mock's configuration."""
        return {
            "name": self.name,
            "schema": self.schema,
            "locale": self.locale,
            "count": self.count,
        }


def _collection_name(stem: str) -> str:
    """A schema's collection: ``person`` -> ``people``; ``users`` stays ``users``."""
    word = stem.lower()
    return word if singular(word) != word else plural(word)


def ready_schema_names() -> list[str]:
    """The ready schemas (``address``, ``company``, ``person``, and those plugins add).

    They come from the ``phony_register_schemas`` hook, as for ``phony generate``.
    """

    return sorted({source.name for source in get_plugins().schemas.values()})


def _ready_schema_path(name: str, locale: str | None) -> Path | None:
    """The file of the ready schema ``name`` for ``locale`` (its own, else the generic one)."""

    found = get_plugins().schema(name, locale)
    return None if found is None else Path(found.path)


def schema_sources(
    specs: tuple[str, ...] | list[str],
    *,
    locale: str | None,
    count: int | None,
    openapi: str | None = None,
) -> list[CollectionSource]:
    """The collections ``SCHEMA...`` arguments (and ``--openapi SPEC``) name.

    A UsageError for a bad one or a clash.
    """
    sources: list[CollectionSource] = []
    if openapi is not None:
        from phony_server.mock.openapi_import import openapi_collections, read_spec

        document = Path(openapi).expanduser().resolve()
        sources.extend(
            CollectionSource(name, f"{OPENAPI_PREFIX}{document}#{schema}", locale, count)
            for name, schema in openapi_collections(read_spec(document))
        )
    for spec in specs:
        name, sep, target = spec.partition("=")
        if not sep:
            name, target = "", spec
        own_count = count
        head, colon, tail = target.rpartition(":")
        if colon and tail.isdigit() and head:
            target, own_count = head, int(tail)
        path = Path(target).expanduser()
        if path.is_dir():
            if name:
                raise UsageError(f"{spec}: NAME=FOLDER is not allowed; a folder names each schema")
            files = sorted(path.glob("*.toml"))
            if not files:
                raise UsageError(f"{target}: no .toml schema in this folder")
            sources.extend(
                CollectionSource(_collection_name(f.stem), str(f.resolve()), locale, own_count)
                for f in files
            )
            continue
        if path.is_file():
            schema = str(path.resolve())
            stem = path.stem.lower()
        elif target.endswith(".toml") or "/" in target or "\\" in target:
            raise UsageError(not_a_file(target, "schema"))
        elif target in ready_schema_names():
            schema, stem = target, target
        else:
            ready = ", ".join(ready_schema_names())
            raise UsageError(f"no schema file or ready schema {target!r} (ready schemas: {ready})")
        sources.append(CollectionSource(name or _collection_name(stem), schema, locale, own_count))
    seen: set[str] = set()
    for source in sources:
        if not _NAME.fullmatch(source.name) or source.name.startswith("__"):
            raise UsageError(
                f"collection name {source.name!r}: use lowercase letters, digits, - and _ "
                "(name it with NAME=SCHEMA)"
            )
        if source.name in seen:
            raise UsageError(
                f"two schemas make the collection {source.name!r}: name one NAME=SCHEMA"
            )
        seen.add(source.name)
    if not sources:
        raise UsageError(
            "give at least one SCHEMA (a ready schema such as person, or a .toml file) "
            "or --openapi SPEC"
        )
    return sources


# --- loading ---------------------------------------------------------------------


def load_source(source: CollectionSource, *, base: Path | None = None) -> Schema:
    """Parse the schema of ``source`` with its models resolved (files, the hook, the bundled index).

    ``base`` is the folder relative schema paths start from (a deployed configuration's).
    A schema ``openapi:PATH#NAME`` is ``components.schemas.NAME`` of the OpenAPI
    document at PATH (:mod:`phony_server.mock.openapi_import`).
    """
    if source.schema.startswith(OPENAPI_PREFIX):
        return _load_openapi(source, base)
    ready = "/" not in source.schema and not source.schema.endswith(".toml")
    if ready:
        first = parse_locale_chain(source.locale)[0] if source.locale else None
        found = _ready_schema_path(source.schema, first)
        if found is None:
            names = ", ".join(ready_schema_names())
            raise UsageError(f"no ready schema {source.schema!r} (ready schemas: {names})")
        path = found
    else:
        path = Path(source.schema)
        if not path.is_absolute() and base is not None:
            path = base / path
    if not path.is_file():
        raise UsageError(not_a_file(source.schema, "schema"))
    data = read_schema_file(path)
    return _parse(data, source, path, ready=ready)


def _load_openapi(source: CollectionSource, base: Path | None) -> Schema:
    from phony_server.mock.openapi_import import openapi_schema, read_spec

    target, _, name = source.schema.removeprefix(OPENAPI_PREFIX).rpartition("#")
    path = Path(target)
    if not path.is_absolute() and base is not None:
        path = base / path
    data = openapi_schema(read_spec(path), name, locale=source.locale or "en_US")
    return _parse(data, source, path, ready=True)


def _parse(data: dict[str, Any], source: CollectionSource, path: Path, *, ready: bool) -> Schema:
    chain_text = source.locale or data.get("locale")
    if chain_text is not None and not isinstance(chain_text, str):
        raise ValidationError("expected a locale name such as tr_TR", field="locale")
    chain = parse_locale_chain(chain_text) if chain_text else []
    columns = data.get("columns")
    if isinstance(columns, Mapping):
        resolved: dict[str, Any] = {}
        for column, spec in columns.items():
            if not isinstance(spec, Mapping) or spec.get("type") != "ngram":
                continue
            model = spec.get("model")
            if not isinstance(model, str) or "@" in model or "\\" in model:
                continue
            if (path.parent / model).expanduser().is_file():
                continue
            found = _official_model(model, chain, ready=ready, schema=source.schema)
            if found is not None:
                resolved[str(column)] = {**spec, "model": str(found)}
        if resolved:
            data = {**data, "columns": {**columns, **resolved}}
    locale = chain[0] if chain else None
    if locale is not None:
        data = {**data, "locale": locale}
    return parse_schema(data, base_dir=path.parent, locale=locale)


def _official_model(model: str, chain: list[str], *, ready: bool, schema: str) -> Path | None:
    """The file of an official model a column names: ``en_US/cities``, or a role under a locale."""
    if model.count("/") == 1:
        locale, role = model.split("/")
        if not is_locale(locale):
            return None  # a community name: left to the ngram generator and the hook
        locales = [normalize_locale(locale)]
    elif "/" in model:
        return None
    else:
        if not chain:
            if ready:
                raise UsageError(
                    f"the ready schema {schema!r} needs a locale: --locale en_US "
                    "(or a chain tr_TR,en_US)"
                )
            return None
        locales, role = chain, model
    for locale in locales:
        found = find_model(f"{locale}/{role}")
        if found is not None:
            return found
    tried = ", ".join(f"{loc}/{role}" for loc in locales)
    raise UsageError(f"no model {tried} in the cache, a plugin's pack or the bundled index")
