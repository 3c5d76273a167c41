"""Test helper: read a results store from outside the process that writes it."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def count_records(db: Path) -> int:
    """Rows in the store's ``records`` table, read-only (0 while the file or table is missing
    or locked by the writer)."""
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0
