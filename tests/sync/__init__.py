"""Tests of phony sync against real SQLite files and a PostgreSQL server they start."""
