"""Where the facade's fields come from: locale packs, their models and the ready schemas.

A field is a method of :class:`~phony_registry.facade.Phony`. Its names are
discovered from the locale packs installed with Python distributions (a
plugin's pack registered through ``phony_register_locales``, and the official
index bundled as ``phony_index``): each model of a pack is a field named in
the singular (``tr_TR/first_names`` -> ``first_name``, ``cities`` -> ``city``),
and each column of a ready schema (``person``, ``address``, ``company``)
whose models the locale chain has is a field too (``email``). The official
models of a locale in the local cache are named through the
``phony_list_models`` hook, and are fields of that locale too.

Models are found by name through the ``phony_resolve_model`` hook first
(plugin packs, the local cache filled by ``phony install``, whatever else a
plugin adds), then in the bundled official index, read with
:func:`phony_registry.builtins.model_in_folder` as a plugin's pack is. The
core never imports the client: the cache arrives through the hook.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phony_registry._fs import not_a_file
from phony_registry.errors import NotFound, OfflineError, UsageError
from phony_registry.names import (
    first_locale_with,
    is_locale,
    normalize_locale,
    parse_locale_chain,
)

if TYPE_CHECKING:
    from phony_registry.model import Model
    from phony_registry.schema import Schema

__all__ = [
    "Column",
    "bundled_root",
    "find_model",
    "load_model_file",
    "locale_chain",
    "locale_roles",
    "method_name",
    "ready_schema",
    "ready_schema_columns",
    "ready_schema_names",
    "resolve_role",
]

#: Ready schemas whose columns become fields, first one first when two share a column.
_SCHEMA_PREFERENCE = ("person",)


def bundled_root() -> Path:
    """The official static registry bundled with phony (the ``phony_index`` package)."""
    import phony_index

    return phony_index.ROOT


#: The locale of ``Phony()``, and of ``Phony(None)`` as of ``Faker(None)``.
DEFAULT_LOCALE = "en_US"


def locale_chain(locale: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"tr_TR"``, ``"tr-TR,en_US"`` or ``["tr_TR", "en_US"]`` -> canonical locales, in order.

    ``None`` is :data:`DEFAULT_LOCALE`, as Faker's ``None`` is its default locale.
    """
    if locale is None:
        locale = DEFAULT_LOCALE
    if isinstance(locale, bytes | bytearray) or not isinstance(locale, str | Iterable):
        raise UsageError(f"a locale is a string such as tr_TR, or a list of them, not {locale!r}")
    return tuple(parse_locale_chain(locale, example="'tr_TR' or ['tr_TR', 'en_US']"))


def method_name(role: str) -> str:
    """The field a model role is called by: its last plural word made singular.

    ``first_names`` -> ``first_name``, ``first_names_female`` -> ``first_name_female``,
    ``cities`` -> ``city``, ``companies`` -> ``company``, ``streets`` -> ``street``.
    """
    words = role.split("_")
    for i in range(len(words) - 1, -1, -1):
        word = words[i]
        if word.endswith("ies") and len(word) > 3:
            words[i] = word[:-3] + "y"
        elif word.endswith(("ses", "xes", "zes", "ches", "shes")):
            words[i] = word[:-2]
        elif word.endswith("s") and not word.endswith("ss") and len(word) > 1:
            words[i] = word[:-1]
        else:
            continue
        break
    return "_".join(words)


def _pack_folders(locale: str) -> list[Path]:
    """Static registry folders installed with Python distributions that hold ``locale``'s pack."""
    from phony_registry.plugins import get_plugins

    folders = []
    source = get_plugins().locale(locale)
    if source is not None:
        folders.append(source.path)
    folders.append(bundled_root())
    return folders


def locale_roles(locale: str) -> list[str]:
    """The model roles of ``locale`` (``first_names``...): its packs' and the cache's.

    Those of the pack in the installed folders (a plugin's, the bundled
    official index), then those the ``phony_list_models`` hook names (the
    official models of ``locale`` in the local cache, after ``phony
    install`` or ``phony models pull``) whose role is a Python identifier.
    """
    from phony_registry.layout import index_path, to_local
    from phony_registry.plugins import get_plugins

    roles: set[str] = set()
    for root in _pack_folders(locale):
        # index/<locale key>/<role>.jsonl: one index file per model of the pack.
        folder = to_local(root, index_path(f"{locale}/x")).parent
        if folder.is_dir():
            roles.update(p.stem for p in folder.glob("*.jsonl"))
    prefix = f"{locale}/"
    for names in get_plugins().manager.hook.phony_list_models(locale=locale):
        for name in names or ():
            role = name[len(prefix) :] if name.startswith(prefix) else ""
            if role.isidentifier() and not role.startswith("_"):
                roles.add(role)
    return sorted(roles)


def find_model(spec: str) -> Path | None:
    """The file of the model ``spec`` (``tr_TR/first_names``, ``alice/names@^1``), or ``None``.

    The ``phony_resolve_model`` hook first (plugin packs, the local cache),
    then, for an official name, the bundled official index. Integrity errors
    (a blob that does not match its digest) are raised, never skipped.
    """
    from phony_registry.plugins import get_plugins

    found: Path | None = None
    try:
        found = get_plugins().manager.hook.phony_resolve_model(spec=spec)
    except (NotFound, OfflineError):
        found = None
    if found is not None:
        return Path(found)
    locale = spec.partition("/")[0]
    if "/" in spec and is_locale(locale):
        official = normalize_locale(locale) + spec[len(locale) :]
        snapshot = (bundled_root() / "snapshot.json").stat()
        return _in_bundled_index(official, snapshot.st_mtime_ns, snapshot.st_size)
    return None


@lru_cache(maxsize=256)
def _in_bundled_index(spec: str, mtime_ns: int, size: int) -> Path | None:
    """``spec`` read from the bundled index through the verified reader, once per process.

    The bundled index is part of the installed package: what verified stays
    true while its signed snapshot is the same file (the verified read costs
    a few milliseconds, which a per-test ``phony`` fixture would pay each time).
    """
    from phony_registry.builtins import model_in_folder

    try:
        return model_in_folder(bundled_root(), spec)
    except NotFound:
        return None


def resolve_role(chain: Sequence[str], role: str) -> tuple[str, Path]:
    """``(locale, file)`` of the first locale of ``chain`` whose pack has the model ``role``."""
    found: dict[str, Path] = {}

    def has(locale: str) -> bool:
        path = find_model(f"{locale}/{role}")
        if path is not None:
            found[locale] = path
        return path is not None

    locale = first_locale_with(chain, role, has, example="Phony([{first!r}, {other!r}])")
    return locale, found[locale]


@lru_cache(maxsize=64)
def _load(path: str, mtime_ns: int, size: int) -> Model:
    from phony_registry.format import load_model

    return load_model(path)


def load_model_file(path: Path) -> Model:
    """The model in ``path``, loaded once per process while the file stays the same."""
    stat = path.stat()
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


# --- ready schemas -----------------------------------------------------------


def _schema_file(name: str, locale: str | None = None) -> Path | None:
    """The file of the ready schema ``name``: ``locale``'s own when a plugin has one.

    Ready schemas are registered through the ``phony_register_schemas`` hook
    (phony's generic ones, and those plugins add), exactly as for ``phony
    generate --schema``, so a record here is the row the command line writes.
    """
    from phony_registry.plugins import get_plugins

    found = get_plugins().schema(name, locale)
    return None if found is None else found.path


def ready_schema_names() -> list[str]:
    """Names of the ready schemas, the preferred ones first, then alphabetically."""
    from phony_registry.plugins import get_plugins

    names = sorted({source.name for source in get_plugins().schemas.values()})
    first = [n for n in _SCHEMA_PREFERENCE if n in names]
    return first + [n for n in names if n not in first]


def _read_toml(path: Path) -> dict[str, Any]:
    from phony_registry._fs import read_toml

    return read_toml(path, "schema")


@lru_cache(maxsize=64)
def _ready_document(path: Path) -> Mapping[str, Any]:
    return _read_toml(path)


def _ready_path(name: str, locale: str | None = None) -> Path:
    path = _schema_file(name, locale)
    if path is None:
        ready = ", ".join(sorted(ready_schema_names()))
        raise UsageError(f"no schema file or ready schema {name!r} (ready schemas: {ready})")
    return path


@dataclass(frozen=True)
class Column:
    """A visible column of a ready schema, and the model roles that schema needs."""

    schema: str
    column: str
    roles: tuple[str, ...]


def ready_schema_columns() -> list[Column]:
    """Every visible column of every ready schema, in :func:`ready_schema_names` order."""
    from phony_registry.schema import schema_roles

    found = []
    for name in ready_schema_names():
        data = _ready_document(_ready_path(name))
        roles = tuple(sorted(set(schema_roles(data).values())))
        for column, spec in data.get("columns", {}).items():
            if isinstance(spec, Mapping) and not spec.get("hidden", False):
                found.append(Column(name, str(column), roles))
    return found


def _schema_locale(chain: Sequence[str]) -> str | None:
    """The locale whose own ready schemas win: the first of the chain, as on the CLI."""
    from phony_registry.names import is_locale, normalize_locale

    first = chain[0] if chain else ""
    return normalize_locale(first) if first and is_locale(first) else None


def ready_schema(spec: str, chain: Sequence[str]) -> Schema:
    """The ready schema (or schema file) ``spec`` with its models taken from ``chain``.

    Bare role names (``first_names``) come from the first locale of the chain
    whose pack has them, official names (``tr_TR/last_names``) from wherever
    :func:`find_model` finds them: the same models as
    ``phony generate --schema SPEC --locale CHAIN``.
    """
    from phony_registry.schema import parse_schema, schema_roles

    path = Path(spec).expanduser()
    if path.is_file():
        data, base = _read_toml(path), path.parent
    elif spec.endswith(".toml") or "/" in spec or "\\" in spec:
        raise UsageError(not_a_file(spec, "schema"))
    elif spec in ready_schema_names():
        ready_path = _ready_path(spec, _schema_locale(chain))
        data, base = dict(_ready_document(ready_path)), ready_path.parent
    else:
        ready = ", ".join(sorted(ready_schema_names()))
        raise UsageError(f"no schema file or ready schema {spec!r} (ready schemas: {ready})")
    raw = data.get("columns")
    if not isinstance(raw, Mapping):
        return parse_schema(data, base_dir=base, locale=chain[0])  # which says what is wrong
    columns = {str(k): dict(v) if isinstance(v, Mapping) else v for k, v in raw.items()}
    for column, role in schema_roles(data).items():
        columns[column]["model"] = str(resolve_role(chain, role)[1])
    for column_spec in columns.values():
        if not isinstance(column_spec, dict) or column_spec.get("type") != "ngram":
            continue
        model = column_spec.get("model")
        # An official name (tr_TR/last_names) may be only in the bundled index.
        if not isinstance(model, str) or model.count("/") != 1 or "@" in model:
            continue
        if is_locale(model.partition("/")[0]) and not (base / model).exists():
            found = find_model(model)
            if found is not None:
                column_spec["model"] = str(found)
    document = {**data, "columns": columns, "locale": chain[0]}
    return parse_schema(document, base_dir=base, locale=chain[0])
