"""SQLite adapter of the RunStore port (the only package that imports aiosqlite)."""

from engine.adapters.store.sqlite.store import SqliteRunStore

__all__ = ["SqliteRunStore"]
