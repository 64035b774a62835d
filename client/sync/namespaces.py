"""The schemas (namespaces) of a database, as phony sync names their tables.

A table of the default schema (PostgreSQL's ``public``, or the first schema
of the ``search_path`` that exists) is keyed by its name, ``customers``; a
table of another schema by ``schema.table``, ``sales.orders``: the key of a
plan, of the progress lines and of the report. SQLite has one schema, the
default. The system schemas (``pg_catalog``, ``information_schema``,
``pg_toast*``, ``pg_temp*``) hold no table of the application, and neither
do the tables an extension creates (PostGIS's ``spatial_ref_sys``,
``topology.topology``): ``CREATE EXTENSION`` makes them, as pg_dump leaves
them to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from phony_client.sync.plan import table_key
from phony_registry.errors import UsageError

__all__ = ["Namespaces"]


class Namespaces:
    """The schemas of the database an SQLAlchemy ``inspector`` reads."""

    def __init__(self, inspector: Any) -> None:
        self.inspector = inspector
        self.postgresql = inspector.dialect.name == "postgresql"
        self.default: str | None = inspector.default_schema_name if self.postgresql else None
        self._search_path: list[str] | None = None
        self._tables: dict[str | None, set[str]] = {}
        self._members: set[tuple[str, str]] | None = None

    def user_schemas(self) -> list[str]:
        """Every schema but the system's, by name (PostgreSQL; SQLite: none)."""
        if not self.postgresql:
            return []
        return [
            name
            for name in self.inspector.get_schema_names()
            if name != "information_schema" and not name.startswith("pg_")
        ]

    def chosen(self, only: Sequence[str] = (), excluded: Sequence[str] = ()) -> list[str | None]:
        """The schemas to plan: the default one (None) first, then the others by name;
        only those of ``only`` when given, none of ``excluded`` (pg_dump's ``--schema``
        and ``--exclude-schema``). A name the database lacks is a UsageError."""
        if not self.postgresql:
            if only or excluded:
                raise UsageError("--schema and --exclude-schema choose among PostgreSQL schemas")
            return [None]
        found = self.user_schemas()
        for option, names in (("--schema", only), ("--exclude-schema", excluded)):
            unknown = [name for name in names if name not in found]
            if unknown:
                raise UsageError(
                    f"{option}: no schema {unknown[0]!r} in the source "
                    f"(schemas: {', '.join(found)})"
                )
        kept = [name for name in found if (not only or name in only) and name not in excluded]
        named = [None if name == self.default else name for name in kept]
        return sorted(named, key=lambda name: (name is not None, name or ""))

    def listing(self, schema: str | None) -> str | None:
        """What to pass SQLAlchemy to list the tables of ``schema`` (None: the default).

        The default schema goes by its name: asked for none, PostgreSQL lists
        every table the ``search_path`` makes visible, those of the schemas
        after the first included.
        """
        return schema if schema is not None else self.default

    def table_names(self, schema: str | None) -> set[str]:
        """The tables of ``schema`` (None: the default), read once."""
        if schema not in self._tables:
            self._tables[schema] = set(self.inspector.get_table_names(schema=self.listing(schema)))
        return self._tables[schema]

    def tables(self) -> dict[str, tuple[str | None, str]]:
        """Every table of the user schemas but extensions' by its key: (schema, name), None
        for the default."""
        found: dict[str, tuple[str | None, str]] = {
            name: (None, name)
            for name in sorted(self.table_names(None))
            if not self.of_extension(None, name)
        }
        for schema in self.user_schemas():
            if schema != self.default:
                for name in sorted(self.table_names(schema)):
                    if not self.of_extension(schema, name):
                        found[table_key(schema, name)] = (schema, name)
        return found

    def referred(self, fk: dict[str, Any]) -> tuple[str | None, str]:
        """(schema, name) of the table a reflected foreign key names, None for the default.

        PostgreSQL spells no schema for a table the ``search_path`` makes
        visible: the first schema of the path holding a table of that name.
        """
        name = str(fk["referred_table"])
        schema = fk.get("referred_schema")
        if schema is None and self.postgresql and name not in self.table_names(None):
            schema = next((s for s in self.search_path() if name in self.table_names(s)), None)
        return (None if schema in (None, self.default) else str(schema)), name

    def referred_key(self, fk: dict[str, Any]) -> str:
        """The plan's key of the table a reflected foreign key names."""
        return table_key(*self.referred(fk))

    def of_extension(self, schema: str | None, name: str) -> bool:
        """Whether ``schema.name`` is a table an extension made (PostgreSQL)."""
        if not self.postgresql:
            return False
        if self._members is None:
            import sqlalchemy as sa

            query = sa.text(
                "SELECT n.nspname, c.relname FROM pg_depend d"
                " JOIN pg_class c ON c.oid = d.objid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE d.classid = 'pg_class'::regclass"
                " AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'"
            )
            with self.inspector.bind.connect() as conn:  # an Engine's inspector
                self._members = {(str(s), str(n)) for s, n in conn.execute(query)}
        return (schema or str(self.default), name) in self._members

    def search_path(self) -> list[str]:
        """The schemas of the ``search_path`` that exist, in order (PostgreSQL)."""
        if self._search_path is None:
            import sqlalchemy as sa

            with self.inspector.bind.connect() as conn:  # an Engine's inspector
                path = conn.execute(sa.text("SELECT current_schemas(false)")).scalar()
            self._search_path = [str(s) for s in path or []]
        return self._search_path

    def parents_first(self, schemas: Sequence[str | None]) -> list[tuple[str | None, str]]:
        """(schema, table) of ``schemas``' tables: each schema after the schemas its
        tables' foreign keys name (a cycle of schemas broken where it is met),
        otherwise in the order given; within a schema, SQLAlchemy's order
        (parents first), as phony always listed a schema's tables. Tables of
        extensions are left out."""
        listed = {
            schema: [
                name
                for name, _ in self.inspector.get_sorted_table_and_fkc_names(
                    schema=self.listing(schema)
                )
                if name and not self.of_extension(schema, name)
            ]
            for schema in schemas
        }
        parents: dict[str | None, list[str | None]] = {schema: [] for schema in schemas}
        for schema, names in listed.items():
            for name in names:
                for fk in self.inspector.get_foreign_keys(name, schema=schema):
                    parent, _ = self.referred(fk)
                    if parent in listed and parent != schema and parent not in parents[schema]:
                        parents[schema].append(parent)
        ordered: list[str | None] = []
        seen: set[str | None] = set()

        def visit(schema: str | None) -> None:
            if schema in seen:
                return
            seen.add(schema)
            for parent in parents[schema]:
                visit(parent)
            ordered.append(schema)

        for schema in schemas:
            visit(schema)
        return [(schema, name) for schema in ordered for name in listed[schema]]
