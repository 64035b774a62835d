"""Database URLs and connections for phony sync.

People write ``postgresql://user@host:5432/db`` or ``sqlite:///relative.db``;
phony picks the driver (psycopg 3) and opens the source read-only, so a sync
can never write to it. SQLAlchemy and psycopg come with the ``[sync]`` extra
and are imported here, when a sync command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from phony_registry.errors import DatabaseError, UsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

__all__ = ["as_stored", "connect", "redact", "require_sync_extra", "sqlite_path"]

_INSTALL = "phony sync needs SQLAlchemy and psycopg: pip install 'phony[sync]'"
_FORMS = "postgresql://user@host:port/db, sqlite:///relative.db or sqlite:////absolute.db"


def require_sync_extra() -> None:
    """Raise a one-line UsageError naming the extra when SQLAlchemy is missing."""
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        raise UsageError(_INSTALL) from None


def _parse(url: str) -> URL:
    require_sync_extra()
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseError(f"not a database URL: {redact(url)!r} (expected {_FORMS})") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise DatabaseError(f"{parsed.drivername}: phony sync talks to PostgreSQL via psycopg")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise UsageError(_INSTALL) from None
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.drivername != "sqlite":
            raise DatabaseError(f"{parsed.drivername}: phony sync talks to SQLite via sqlite3")
        if not parsed.database or parsed.database == ":memory:":
            raise DatabaseError(f"{url}: give SQLite a file (sqlite:///relative.db)")
        return parsed
    raise DatabaseError(
        f"{parsed.drivername}: phony sync fills PostgreSQL and SQLite databases ({_FORMS})"
    )


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; None for other databases."""
    parsed = _parse(url)
    return Path(parsed.database or "") if parsed.get_backend_name() == "sqlite" else None


def redact(url: str) -> str:
    """``url`` without its password, for messages and plans."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url


def connect(url: str, *, read_only: bool) -> Engine:
    """An engine for ``url`` after checking that the database answers.

    ``read_only`` opens SQLite files in read-only mode and PostgreSQL
    sessions with ``default_transaction_read_only``: the source of a sync is
    never written. Raises :class:`DatabaseError` with one line for a bad URL,
    a missing SQLite file or a server that cannot be reached.
    """
    parsed = _parse(url)
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if read_only:
            if not path.is_file():
                raise DatabaseError(f"{redact(url)}: no such SQLite database file")
            parsed = parsed.set(database=f"file:{path.resolve()}?mode=ro", query={"uri": "true"})
        elif not path.parent.is_dir():
            raise DatabaseError(f"{redact(url)}: folder {path.parent} does not exist")
    else:
        connect_args["connect_timeout"] = 10
        if read_only:
            connect_args["options"] = "-c default_transaction_read_only=on"
    engine = create_engine(parsed, connect_args=connect_args, poolclass=_null_pool())
    # SQLite answers SELECT 1 without reading the file: its schema is read to
    # find a file that is not a database ("file is not a database").
    probe = (
        "SELECT count(*) FROM sqlite_master"
        if parsed.get_backend_name() == "sqlite"
        else "SELECT 1"
    )
    try:
        with engine.connect() as conn:
            conn.execute(text(probe))
    except DBAPIError as exc:
        engine.dispose()
        raise DatabaseError(f"cannot use {redact(url)}: {first_line(exc.orig)}") from exc
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseError(f"cannot use {redact(url)}: {first_line(exc)}") from exc
    return engine


def as_stored(column: Any, dialect: str) -> Any:
    """``column`` for a SELECT that reads its values as the database stores them.

    SQLite keeps any value in a column declared JSON (the type is only a
    name), and SQLAlchemy's JSON type would parse each one as it is read,
    failing on the first text that is not JSON: such a column is read as it
    is, for the caller to parse. Other columns are read as their type says.
    """
    import sqlalchemy as sa

    if dialect == "sqlite" and isinstance(column.type, sa.JSON):
        return sa.type_coerce(column, sa.Text()).label(column.name)
    return column


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


def first_line(exc: BaseException | None) -> str:
    """The first non-empty line of an exception's message (drivers write several)."""
    for line in str(exc).splitlines():
        if line.strip():
            # libpq: 'connection to server at "h", port 5432 failed: FATAL:  database "x"
            # does not exist': the server's reason is the part worth a line.
            return line.partition("FATAL:")[2].strip() or line.strip()
    return type(exc).__name__
