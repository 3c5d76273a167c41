"""Test helper: read a results store from outside the process that writes it."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def count_rows(db: Path, table: str = "records") -> int:
    """Rows of ``table`` in the store, read-only (0 while the file or table is missing or locked
    by the writer)."""
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def count_records(db: Path) -> int:
    """Evaluation records in the store (see :func:`count_rows`)."""
    return count_rows(db, "records")
