"""Locale packs a plugin ships: built from value files by ``phony locale build``.

A plugin's locale pack is a static registry folder inside its Python
package (see ``phony_register_locales``). It is built from a ``pack.toml``
that lists the pack's models (each trained from a file of values, one per
line, or a CSV column) and its ready schemas::

    locale = "xx_XX"
    version = "1.0.0"
    description = "Xanadu names"
    license = "CC0-1.0"
    created = 2026-01-01T00:00:00Z       # optional: fixed, for reproducible manifests

    [models.first_names]
    values = "data/first_names.txt"      # relative to pack.toml
    kind = "first_name"                  # optional: the model's kind
    order = 3                            # optional: chosen by cross-validation otherwise
    description = "Xanadu first names"  # optional
    source = "where the values come from, with their licence"  # optional: kept in the model

    [schemas.person]
    path = "schemas/person.toml"         # optional: this locale's own ready schema

:func:`build_pack` trains each model, then writes the folder through the
core publisher (:class:`~phony_registry.publisher.Publisher`: blobs, signed
manifests, index files and a signed snapshot), signed with the plugin's own
key, whose public half it puts in the folder. It builds into a fresh folder
beside the target and swaps it in only when complete, so a failed build
leaves the previous pack as it was. Schemas are checked (their bare model
names must be models of the pack) and copied to ``schemas/`` in the folder.

Model and schema names become paths in the folder (``manifests/xx_XX/NAME/``,
``schemas/NAME.toml``), so both follow the rules of a model name's segment
(:func:`~phony_registry.names.parse_name`: lowercase letters, digits, ``-``
and ``_``, no ``/`` nor ``..``), checked when ``pack.toml`` is read and again
before the build writes anything; every file is then written through the
folder's storage, which refuses a key that would leave the folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from phony_registry import layout
from phony_registry._fs import read_toml
from phony_registry.digests import digest_bytes
from phony_registry.errors import InvalidName, UsageError, ValidationError
from phony_registry.format import dump_model, load_model
from phony_registry.manifest import Manifest, PackMember, format_time
from phony_registry.names import is_locale, normalize_locale, parse_name
from phony_registry.ngram import read_values, train
from phony_registry.publisher import Publisher
from phony_registry.schema import read_schema_columns
from phony_registry.signing import PublicKey
from phony_registry.storage import LocalStorage
from phony_registry.versions import parse_version

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "BuiltPack",
    "ModelRecipe",
    "PACK_EXPIRY",
    "PackSpec",
    "build_pack",
    "read_pack_spec",
]

#: How long a shipped pack's snapshot stays valid: it is re-signed on each release of
#: the plugin, and an installed plugin must keep working for years.
PACK_EXPIRY = timedelta(days=3650)

_TOP = {"locale", "version", "description", "license", "created", "models", "schemas"}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_MODEL = {"values", "column", "kind", "order", "smoothing", "description", "license", "source"}


@dataclass(frozen=True)
class ModelRecipe:
    """One model of the pack: where its values are and how to train it."""

    name: str
    values: Path
    column: str | None = None
    kind: str | None = None
    order: int | None = None
    smoothing: str | None = None
    description: str = ""
    license: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class PackSpec:
    """A parsed ``pack.toml``."""

    locale: str
    version: str
    models: tuple[ModelRecipe, ...]
    schemas: Mapping[str, Path] = field(default_factory=dict)
    description: str = ""
    license: str | None = None
    created: datetime | None = None


@dataclass(frozen=True)
class BuiltPack:
    """What :func:`build_pack` wrote."""

    locale: str
    version: str
    folder: Path
    keyid: str
    #: model name -> (digest, size, values trained on)
    models: Mapping[str, tuple[str, int, int]]
    schemas: tuple[str, ...]


def _quoted(name: str) -> str:
    """``name`` as a TOML key: bare when it can be, quoted otherwise (``schemas."../x"``)."""
    return name if name and _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _check_name(table: str, name: str, locale: str) -> str:
    """A model or schema name of the pack: one segment of a model name (no ``..``, no ``/``).

    Both become file names in the built folder (``manifests/xx_XX/NAME/...``,
    ``schemas/NAME.toml``), so both follow :func:`~phony_registry.names.parse_name`.
    """
    try:
        parse_name(f"{locale}/{name}")
    except InvalidName as exc:
        raise InvalidName(exc.reason, field=f"{table}.{_quoted(name)}") from None
    return name


def _get(table: Mapping[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    value = table.get(key, default)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise ValidationError(f"expected {kind.__name__}", field=f"{where}{key}")
    return value


def read_pack_spec(path: str | os.PathLike[str]) -> PackSpec:
    """Read and check ``pack.toml``; paths in it are relative to its folder."""

    path = Path(path)
    data = read_toml(path, "pack", missing=UsageError)
    base = path.parent
    for key in data:
        if key not in _TOP:
            raise ValidationError(f"unknown key (expected: {', '.join(sorted(_TOP))})", key)
    locale = _get(data, "locale", str, "")
    if not locale or not is_locale(locale):
        raise ValidationError("expected a locale such as de_DE", field="locale")
    version = _get(data, "version", str, "")
    if version is None:
        raise ValidationError("is required (a semantic version such as 1.0.0)", field="version")
    parse_version(version)
    created = data.get("created")
    if created is not None and not isinstance(created, datetime):
        raise ValidationError("expected a TOML date-time (2026-01-01T00:00:00Z)", "created")
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    raw_models = data.get("models")
    if not isinstance(raw_models, Mapping) or not raw_models:
        raise ValidationError("a pack needs at least one [models.NAME] table", field="models")
    models = []
    for name, table in raw_models.items():
        _check_name("models", name, locale)
        where = f"models.{name}."
        if not isinstance(table, Mapping):
            raise ValidationError("expected a table", field=where[:-1])
        for key in table:
            if key not in _MODEL:
                raise ValidationError(
                    f"unknown key (expected: {', '.join(sorted(_MODEL))})", field=where + key
                )
        values = _get(table, "values", str, where)
        if values is None:
            raise ValidationError("is required (a file of values)", field=where + "values")
        order = _get(table, "order", int, where)
        if order is not None and not 1 <= order <= 8:
            raise ValidationError("expected 1 to 8", field=where + "order")
        models.append(
            ModelRecipe(
                name=str(name),
                values=base / values,
                column=_get(table, "column", str, where),
                kind=_get(table, "kind", str, where),
                order=order,
                smoothing=_get(table, "smoothing", str, where),
                description=_get(table, "description", str, where, ""),
                license=_get(table, "license", str, where),
                source=_get(table, "source", str, where),
            )
        )
    schemas: dict[str, Path] = {}
    raw_schemas = data.get("schemas", {})
    if not isinstance(raw_schemas, Mapping):
        raise ValidationError("expected [schemas.NAME] tables", field="schemas")
    for name, table in raw_schemas.items():
        _check_name("schemas", name, locale)
        schema_path = (
            _get(table, "path", str, f"schemas.{name}.") if isinstance(table, Mapping) else None
        )
        if schema_path is None:
            raise ValidationError("is required (a schema file)", field=f"schemas.{name}.path")
        schemas[str(name)] = base / schema_path
    return PackSpec(
        locale=normalize_locale(locale),
        version=version,
        models=tuple(models),
        schemas=schemas,
        description=_get(data, "description", str, "", ""),
        license=_get(data, "license", str, ""),
        created=created,
    )


def _train(recipe: ModelRecipe, spec: PackSpec) -> tuple[bytes, int]:

    if not recipe.values.is_file():
        raise UsageError(f"models.{recipe.name}.values: no such file: {recipe.values}")
    values = read_values(recipe.values, column=recipe.column)
    model = train(
        values,
        name=f"{spec.locale}/{recipe.name}",
        order=recipe.order,
        locale=spec.locale,
        kind=recipe.kind,
        license=recipe.license or spec.license,
        source=recipe.source or recipe.values.name,
        description=recipe.description,
        created=format_time(spec.created or datetime(1970, 1, 1, tzinfo=UTC)),
        smoothing=recipe.smoothing,
    )
    return dump_model(model), len(values)


def _check_schema(name: str, path: Path, spec: PackSpec) -> None:
    """A pack's schema must parse, and its bare model names must be models of the pack."""

    if not path.is_file():
        raise UsageError(f"schemas.{name}.path: no such file: {path}")
    columns = read_schema_columns(path)
    known = {m.name for m in spec.models}
    for column, table in columns.items():
        if not isinstance(table, Mapping) or table.get("type") != "ngram":
            continue
        model = table.get("model")
        bare = isinstance(model, str) and "/" not in model and not model.endswith(".phony")
        if bare and str(model).partition("@")[0] not in known:
            raise ValidationError(
                f"{path}: model {model!r} is not a model of the {spec.locale} pack "
                f"(models: {', '.join(sorted(known))})",
                field=f"columns.{column}.model",
            )


def build_pack(
    spec: PackSpec, output: str | os.PathLike[str], key: Any, *, replace: bool = True
) -> BuiltPack:
    """Train ``spec``'s models and write the pack into the folder ``output``, signed with ``key``.

    ``key`` is the plugin's :class:`~phony_registry.signing.PrivateKey`. A
    folder already at ``output`` is replaced once the new one is complete
    (only with ``replace``); one signed by another key is refused, so a
    pack's key does not change by accident.
    """

    target = Path(output)
    existing_key = layout.to_local(target, layout.registry_key_path())
    if target.exists():
        if not replace:
            raise UsageError(f"{target} already exists")
        if existing_key.is_file():
            old = PublicKey.from_pem(existing_key.read_bytes())
            if old.keyid != key.public_key.keyid:
                raise UsageError(
                    f"{target} is signed by key {old.short_id}, not by the key given "
                    f"({key.public_key.short_id}); give the plugin's own key, or remove "
                    "the folder to change keys on purpose"
                )
        elif any(target.iterdir()):
            raise UsageError(
                f"{target} is not empty and holds no locale pack; refusing to replace it"
            )
    # Names become paths in the folder: check them before anything is written.
    for recipe in spec.models:
        _check_name("models", recipe.name, spec.locale)
    for name, path in spec.schemas.items():
        _check_name("schemas", name, spec.locale)
        _check_schema(name, path, spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        storage = LocalStorage(staging)
        publisher = Publisher(storage, key, expires_in=PACK_EXPIRY)
        storage.create(layout.registry_key_path(), key.public_key.to_pem())
        members: list[PackMember] = []
        built: dict[str, tuple[str, int, int]] = {}
        for recipe in spec.models:
            blob, count = _train(recipe, spec)
            digest = digest_bytes(blob)
            model = load_model(blob)
            manifest = Manifest.model(
                f"{spec.locale}/{recipe.name}",
                spec.version,
                digest=digest,
                size=len(blob),
                format_version=model.format_version,
                kind=recipe.kind or "model",
                locale=spec.locale,
                license=recipe.license or spec.license,
                description=recipe.description,
                created=spec.created,
            ).signed(key)
            publisher.store_blob(digest, blob)
            publisher.publish(manifest)
            members.append(PackMember(manifest.name, spec.version, digest))
            built[recipe.name] = (digest, len(blob), count)
        pack = Manifest.pack(
            spec.locale,
            spec.version,
            members,
            locale=spec.locale,
            license=spec.license,
            description=spec.description
            or f"{spec.locale} locale pack: {', '.join(m.name for m in spec.models)}",
            created=spec.created,
        ).signed(key)
        publisher.publish(pack)
        for name, path in sorted(spec.schemas.items()):
            # Through the storage, as every other file: a key that would leave the folder
            # is refused there too.
            storage.create(f"schemas/{name}.toml", path)
        # The publisher's journal and lock files: nothing is in flight once the build is done.
        for leftover in (staging / ".journal", staging / ".locks"):
            shutil.rmtree(leftover, ignore_errors=True)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuiltPack(
        spec.locale, spec.version, target, key.public_key.keyid, built, tuple(sorted(spec.schemas))
    )


def _swap_in(staging: Path, target: Path) -> None:
    """Put the complete ``staging`` folder at ``target``, replacing what was there."""
    # mkdtemp made it private; a package's data is world-readable, like the rest of it.
    staging.chmod(0o755)
    if not target.exists():
        staging.rename(target)
        return
    old = target.with_name(f".{target.name}-old-{os.getpid()}")
    target.rename(old)
    try:
        staging.rename(target)
    except OSError:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)
