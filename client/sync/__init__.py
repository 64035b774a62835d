"""``phony sync``: fill a database with fake data fitted to another database's columns.

- :func:`make_plan` reads a source database (read-only) and writes a
  :class:`Plan`: per column, what generates it and why, with ``.phony``
  models trained on the text columns (privacy guard on);
- :func:`sync` fills a target database from a plan, in foreign-key order,
  one transaction per table, through COPY on PostgreSQL;
- :func:`make_report` compares the target with the source and checks every
  constraint of the target.

SQLAlchemy and psycopg (the ``[sync]`` extra) are imported when these run.
"""

from __future__ import annotations

from phony_client.sync.introspect import make_plan
from phony_client.sync.plan import Plan, dump_plan, load_plan
from phony_client.sync.report import Report, make_report
from phony_client.sync.run import SyncOptions, SyncResult, sync

__all__ = [
    "Plan",
    "Report",
    "SyncOptions",
    "SyncResult",
    "dump_plan",
    "load_plan",
    "make_plan",
    "make_report",
    "sync",
]
