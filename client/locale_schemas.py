"""Ready schemas per locale: ``phony generate --locale tr_TR --schema person``.

The ready schemas are TOML files shipped with the official index
(``registry-index/schemas/<name>.toml``, in the format of
:mod:`phony_registry.schema`). Their ``ngram`` columns name models by role
(``first_names``, ``cities``); :func:`load_locale_schema` picks, for each
role, the first locale of the ``--locale`` chain whose pack has the model,
installs it from the bundled official index when it is not in the cache
yet, and points the column at the file. A user's own schema file gets the
same treatment for its locale-less model names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phony_client.inline_schema import read_stdin_schema, with_columns
from phony_client.install import find_or_install
from phony_client.locales import Resolution, parse_locale_chain, resolve_models
from phony_registry._fs import not_a_file
from phony_registry.errors import UsageError, ValidationError
from phony_registry.names import is_locale, normalize_locale
from phony_registry.plugins import get_plugins
from phony_registry.schema import parse_schema, read_schema_file, schema_roles

__all__ = [
    "LocaleSchema",
    "load_locale_schema",
    "ready_schema_names",
    "ready_schema_path",
]

#: Finds the file of ``<locale>/<role>``, installing it if needed; None if no such model.
ModelFinder = Callable[[str, str], Path | None]


def ready_schema_names() -> list[str]:
    """Names of the ready schemas (``address``, ``company``, ``person``...).

    They are registered through the ``phony_register_schemas`` hook: phony's
    generic ones, and those plugins add (for every locale, or for one).
    """

    return sorted({source.name for source in get_plugins().schemas.values()})


def ready_schema_path(name: str, locale: str | None = None) -> Path:
    """The file of the ready schema ``name`` (``locale``'s own when a plugin has one).

    A usage error listing the ready schemas otherwise.
    """

    found = None if "/" in name or "\\" in name else get_plugins().schema(name, locale)
    if found is None:
        ready = ", ".join(ready_schema_names())
        raise UsageError(f"no schema file or ready schema {name!r} (ready schemas: {ready})")
    return found.path


@dataclass(frozen=True)
class LocaleSchema:
    """A schema ready to generate, and which locale served each of its columns."""

    schema: Any
    resolution: Resolution | None
    columns: Mapping[str, str]

    def report(self) -> list[str]:
        """With a fallback chain, one line per model column saying which locale served it.

        ``first_name <- tr_TR/first_names``; a single locale reports nothing
        (every column comes from it, or generation failed naming the model).
        """
        if self.resolution is None or len(self.resolution.chain) < 2:
            return []
        lines = []
        for column, role in self.columns.items():
            model = self.resolution.models[role]
            locale = self.resolution.served_by[role]
            first = self.resolution.chain[0]
            note = "" if locale == first else f" (fallback: {first} has no {role})"
            lines.append(f"column {column} <- {model}{note}")
        return lines


def load_locale_schema(
    spec: str,
    locale: str | None = None,
    *,
    find_model: ModelFinder | None = None,
    column_options: Sequence[str] = (),
) -> LocaleSchema:
    """Load a schema file, or the ready schema called ``spec``, for a locale chain.

    A mistake in a ready schema a plugin ships says which schema and plugin
    (``... (in the ready schema 'orders' of plugin phony-orders 1.0)``): the
    user wrote none of it. See :func:`_load_locale_schema`.
    """
    try:
        return _load_locale_schema(
            spec, locale, find_model=find_model, column_options=column_options
        )
    except ValidationError as exc:
        owner = _ready_schema_plugin(spec, locale)
        if owner is None:
            raise
        where = f"in the ready schema {spec!r} of plugin {owner}"
        raise type(exc)(f"{exc.reason} ({where})", field=exc.field) from exc


def _ready_schema_plugin(spec: str, locale: str | None) -> str | None:
    """The third-party plugin the ready schema ``spec`` comes from (as messages name it), if any."""
    if spec in ("-", "") or "/" in spec or "\\" in spec or Path(spec).expanduser().is_file():
        return None
    plugins = get_plugins()
    first = (locale or "").split(",")[0].strip()
    for key in ([f"{_normal_locale(first)}/{spec}"] if is_locale(first) else []) + [spec]:
        name = plugins.provider("schemas", key)
        if name:
            dist = plugins.origins.get(name, ("", ""))[0]
            return None if dist.lower() == "phony" else plugins.label(name)
    return None


def _load_locale_schema(
    spec: str,
    locale: str | None = None,
    *,
    find_model: ModelFinder | None = None,
    column_options: Sequence[str] = (),
) -> LocaleSchema:
    """Load a schema file, or the ready schema called ``spec``, for a locale chain.

    ``locale`` is ``tr_TR`` or a chain ``tr_TR,en_US``; ``find_model`` returns
    the file of ``<locale>/<role>`` or None (by default: the cache, then the
    bundled official index, installing from it). ``spec`` ``-`` reads the
    schema from stdin, ``""`` starts from no column; ``column_options`` are
    ``--column NAME=TYPE:KEY=VALUE`` options added to it
    (:mod:`phony_client.inline_schema`); paths are then relative to the
    current folder.
    """

    path = Path(spec).expanduser()
    ready = spec not in ("-", "") and not path.is_file()
    if spec in ("-", ""):
        path = Path.cwd() / "<stdin>"
    elif ready:
        if spec.endswith(".toml") or "/" in spec:
            raise UsageError(not_a_file(spec, "schema"))
        first = (locale or "").split(",")[0].strip()
        path = ready_schema_path(spec, _normal_locale(first) if first else None)
    data = read_stdin_schema() if spec == "-" else read_schema_file(path) if spec else {}
    data = with_columns(data, column_options)
    chain_text = locale or data.get("locale")
    finder = find_model or _default_finder()
    data = _official_models_installed(data, finder)
    if not chain_text:
        # A ready schema's bare model names are its locale's models; one that
        # names none (a plugin's schema of its own generators) needs no locale.
        if ready and schema_roles(data):
            raise UsageError(
                f"the ready schema {spec!r} needs a locale: --locale tr_TR (or a chain tr_TR,en_US)"
            )
        return LocaleSchema(parse_schema(data, base_dir=path.parent), None, {})
    if not isinstance(chain_text, str):
        raise ValidationError("expected a locale name such as tr_TR", field="locale")
    if not isinstance(data.get("columns"), Mapping):  # parse_schema says what is missing
        return LocaleSchema(parse_schema(data, base_dir=path.parent), None, {})
    chain = parse_locale_chain(chain_text)
    roles = schema_roles(data)
    files: dict[tuple[str, str], Path] = {}

    def has_model(loc: str, role: str) -> bool:
        found = finder(loc, role)
        if found is not None:
            files[(loc, role)] = found
        return found is not None

    resolution = resolve_models(dict.fromkeys(roles.values()), chain, has_model)
    columns = {name: dict(spec) for name, spec in data["columns"].items()}
    for column, role in roles.items():
        columns[column]["model"] = str(files[(resolution.served_by[role], role)])
    data = {**data, "columns": columns, "locale": chain[0]}
    schema = parse_schema(data, base_dir=path.parent, locale=chain[0])
    return LocaleSchema(schema, resolution, roles)


def _normal_locale(text: str) -> str | None:

    return normalize_locale(text) if is_locale(text) else None


def _official_models_installed(data: dict[str, Any], finder: ModelFinder) -> dict[str, Any]:
    """Point ``ngram`` columns naming an official model (``tr_TR/last_names``) at its file.

    Such a model is found, or installed from the registries in order (by
    default the bundled official index, offline), as the ready schemas'
    models are; names of other kinds are left for the ngram generator.
    """

    columns = data.get("columns")
    if not isinstance(columns, Mapping):
        return data
    changed: dict[str, Any] = {}
    for column, spec in columns.items():
        if not isinstance(spec, Mapping) or spec.get("type") != "ngram":
            continue
        model = spec.get("model")
        if not isinstance(model, str) or "@" in model or model.count("/") != 1:
            continue
        locale, role = model.split("/")
        if not is_locale(locale) or Path(model).expanduser().exists():
            continue
        found = finder(normalize_locale(locale), role)
        if found is not None:
            changed[str(column)] = {**spec, "model": str(found)}
    if not changed:
        return data
    return {**data, "columns": {**columns, **changed}}


def _default_finder() -> ModelFinder:

    return find_or_install
