"""Append-only SQLite store of evaluation records.

One row per (space, canonical architecture, evaluator fingerprint): an evaluation done once is
never redone, which is what makes long jobs resumable. Only the driver process writes; workers
return :class:`EvalRecord` objects to it. Every record is committed as soon as it arrives
(SQLite WAL journal), so killing the driver loses at most the evaluations still in flight.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import ConfigError

__all__ = ["EvalRecord", "ResultStore", "fingerprint"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    space TEXT NOT NULL,
    arch_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    arch TEXT NOT NULL,
    status TEXT NOT NULL,
    metrics TEXT NOT NULL,
    curve TEXT,
    cost REAL NOT NULL,
    error TEXT,
    info TEXT NOT NULL,
    created REAL NOT NULL,
    UNIQUE (space, arch_key, fingerprint)
);
CREATE INDEX IF NOT EXISTS records_fp ON records (fingerprint);
CREATE TABLE IF NOT EXISTS search_runs (
    run_id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    state TEXT,
    spent REAL NOT NULL DEFAULT 0,
    steps INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS search_steps (
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
);
"""

_STATUSES = ("ok", "diverged", "error")


def fingerprint(config: Mapping[str, Any]) -> str:
    """Stable 16-hex-digit hash of a JSON-serialisable evaluator configuration.

    Key order does not matter; any change of a value changes the fingerprint.

    Example:
        >>> fingerprint({"epochs": 5, "lr": 0.1}) == fingerprint({"lr": 0.1, "epochs": 5})
        True
        >>> fingerprint({"epochs": 5}) == fingerprint({"epochs": 6})
        False
    """
    try:
        text = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"evaluator configuration is not JSON-serialisable: {exc}") from None
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _clean(v: Any) -> Any:
    """JSON-safe copy: non-finite floats become ``None``."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Mapping):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and callable(v.item):  # numpy scalar
        return _clean(v.item())
    return v


@dataclass(frozen=True)
class EvalRecord:
    """The outcome of evaluating one architecture with one evaluator configuration.

    Attributes:
        space: Search-space name.
        arch: The evaluated architecture as the space's string.
        arch_key: Canonical (isomorphism-invariant) key of the architecture.
        fingerprint: Hash of the evaluator configuration (see :func:`fingerprint`).
        status: ``"ok"``, ``"diverged"`` (NaN/inf loss, a recorded outcome) or ``"error"``.
        metrics: Scalar results (``None`` for NaN).
        curve: ``LearningCurve.to_dict()`` of a training run, if any.
        cost: Seconds the evaluation cost (training time for training evaluators).
        error: One-line error description when ``status == "error"``.
        info: Free-form extra information (seed, worker, ...).
        created: Unix time the record was made.

    Example:
        >>> r = EvalRecord("nb201", "a", "k", "fp", "ok", {"acc": float("nan")}, cost=1.0)
        >>> r.metrics
        {'acc': None}
    """

    space: str
    arch: str
    arch_key: str
    fingerprint: str
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    curve: dict[str, Any] | None = None
    cost: float = 0.0
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ConfigError(f"record status must be one of {', '.join(_STATUSES)}, got {self.status!r}")
        object.__setattr__(self, "metrics", _clean(dict(self.metrics)))
        object.__setattr__(self, "info", _clean(dict(self.info)))
        if self.curve is not None:
            object.__setattr__(self, "curve", _clean(dict(self.curve)))
        object.__setattr__(self, "cost", float(self.cost))

    @property
    def key(self) -> tuple[str, str, str]:
        """``(space, arch_key, fingerprint)`` — the record's identity in the store."""
        return (self.space, self.arch_key, self.fingerprint)

    def learning_curve(self) -> Any:
        """The record's :class:`~nasrank.training.LearningCurve` (``None`` if it has none)."""
        if self.curve is None:
            return None
        from .training import LearningCurve

        return LearningCurve.from_dict(self.curve)


class ResultStore:
    """Append-only SQLite store of :class:`EvalRecord` objects.

    Args:
        path: Database file (created with its parent directory if missing); ``":memory:"`` for a
            throw-away store.

    Example:
        >>> store = ResultStore(":memory:")
        >>> store.add(EvalRecord("nb201", "a", "k", "fp", "ok", {"acc": 0.9}, cost=2.0))
        True
        >>> store.add(EvalRecord("nb201", "a", "k", "fp", "ok", {"acc": 0.1}, cost=2.0))  # kept: first
        False
        >>> store.get("nb201", "k", "fp").metrics["acc"], len(store)
        (0.9, 1)
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            p = Path(self.path).expanduser()
            if p.exists() and p.is_dir():
                raise ConfigError(f"store path {self.path!r} is a directory; give a file name such as runs.db")
            p.parent.mkdir(parents=True, exist_ok=True)
            self.path = str(p)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.path!r} is not a nasrank results store ({exc})") from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise ConfigError(
                f"store {self.path!r} has schema version {row[0]}, this nasrank reads {SCHEMA_VERSION}"
            )

    # --- writing ---------------------------------------------------------------------------
    def add(self, record: EvalRecord) -> bool:
        """Append ``record``; returns ``False`` (and keeps the stored one) if its key exists.

        Records with ``status="error"`` are provisional: a later record with the same key
        replaces an error record (so failed evaluations are retried), never an ``ok`` /
        ``diverged`` one.
        """
        if not isinstance(record, EvalRecord):
            raise ConfigError(f"ResultStore.add needs an EvalRecord, got {type(record).__name__}")
        cur = self._db.execute(
            "INSERT OR IGNORE INTO records (space, arch_key, fingerprint, arch, status, metrics, curve,"
            " cost, error, info, created) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (space, arch_key, fingerprint) DO UPDATE SET arch=excluded.arch,"
            " status=excluded.status, metrics=excluded.metrics, curve=excluded.curve, cost=excluded.cost,"
            " error=excluded.error, info=excluded.info, created=excluded.created"
            " WHERE records.status='error'",
            (
                record.space, record.arch_key, record.fingerprint, record.arch, record.status,
                json.dumps(record.metrics, allow_nan=False),
                None if record.curve is None else json.dumps(record.curve, allow_nan=False),
                record.cost, record.error, json.dumps(record.info, allow_nan=False), record.created,
            ),
        )
        return cur.rowcount == 1

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value under ``key`` (overwrites)."""
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(_clean(value))))

    def get_meta(self, key: str, default: Any = None) -> Any:
        """The value stored with :meth:`set_meta`, or ``default``."""
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    # --- reading ---------------------------------------------------------------------------
    _COLS = "space, arch, arch_key, fingerprint, status, metrics, curve, cost, error, info, created"

    @staticmethod
    def _record(row: tuple) -> EvalRecord:
        space, arch, key, fp, status, metrics, curve, cost, error, info, created = row
        return EvalRecord(
            space=space, arch=arch, arch_key=key, fingerprint=fp, status=status,
            metrics=json.loads(metrics), curve=None if curve is None else json.loads(curve),
            cost=cost, error=error, info=json.loads(info), created=created,
        )

    def get(self, space: str, arch_key: str, fingerprint: str) -> EvalRecord | None:
        """The record with this key, or ``None``."""
        row = self._db.execute(
            f"SELECT {self._COLS} FROM records WHERE space=? AND arch_key=? AND fingerprint=?",
            (space, arch_key, fingerprint),
        ).fetchone()
        return None if row is None else self._record(row)

    def __contains__(self, key: tuple[str, str, str]) -> bool:
        return self._db.execute(
            "SELECT 1 FROM records WHERE space=? AND arch_key=? AND fingerprint=?", tuple(key)
        ).fetchone() is not None

    def keys(self, fingerprint: str | None = None, include_errors: bool = True) -> set[tuple[str, str, str]]:
        """Keys of the stored records (optionally of one fingerprint / without error records)."""
        where, args = [], []
        if fingerprint is not None:
            where.append("fingerprint=?")
            args.append(fingerprint)
        if not include_errors:
            where.append("status!='error'")
        q = "SELECT space, arch_key, fingerprint FROM records" + (" WHERE " + " AND ".join(where) if where else "")
        return {tuple(r) for r in self._db.execute(q, args)}

    def records(self, fingerprint: str | None = None, space: str | None = None) -> Iterator[EvalRecord]:
        """Stored records in insertion order, optionally filtered."""
        where, args = [], []
        if fingerprint is not None:
            where.append("fingerprint=?")
            args.append(fingerprint)
        if space is not None:
            where.append("space=?")
            args.append(space)
        q = f"SELECT {self._COLS} FROM records" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        for row in self._db.execute(q, args).fetchall():
            yield self._record(row)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    # --- search runs (written by nasrank.search's driver) ------------------------------------
    def search_run(self, run_id: str) -> dict[str, Any] | None:
        """A search run's row: ``config``, ``state``, ``spent``, ``steps``, ``status`` (or ``None``)."""
        row = self._db.execute(
            "SELECT run_id, config, state, spent, steps, status, created, updated FROM search_runs WHERE run_id=?",
            (run_id,),
        ).fetchone()
        return None if row is None else self._run_row(row)

    @staticmethod
    def _run_row(row: tuple) -> dict[str, Any]:
        rid, config, state, spent, steps, status, created, updated = row
        return {"run_id": rid, "config": json.loads(config), "state": None if state is None else json.loads(state),
                "spent": spent, "steps": steps, "status": status, "created": created, "updated": updated}

    def search_runs(self) -> list[dict[str, Any]]:
        """Every search run (without its state), oldest first."""
        rows = self._db.execute(
            "SELECT run_id, config, NULL, spent, steps, status, created, updated FROM search_runs ORDER BY created, run_id"
        ).fetchall()
        return [self._run_row(r) for r in rows]

    def start_search_run(self, run_id: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Create the run if it is new; return its row (an existing run is returned as stored)."""
        now = time.time()
        self._db.execute(
            "INSERT OR IGNORE INTO search_runs (run_id, config, state, spent, steps, status, created, updated)"
            " VALUES (?, ?, NULL, 0, 0, 'running', ?, ?)",
            (run_id, json.dumps(_clean(dict(config)), allow_nan=False), now, now),
        )
        row = self.search_run(run_id)
        assert row is not None
        return row

    def save_search_step(
        self, run_id: str, step: int | None, data: Mapping[str, Any] | None, state: Mapping[str, Any],
        spent: float, status: str = "running",
    ) -> None:
        """Atomically append trajectory step ``step`` (if given) and replace the run's state."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if step is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO search_steps (run_id, step, data) VALUES (?, ?, ?)",
                    (run_id, int(step), json.dumps(_clean(dict(data or {})), allow_nan=False)),
                )
            self._db.execute(
                "UPDATE search_runs SET state=?, spent=?, steps=(SELECT COUNT(*) FROM search_steps WHERE run_id=?),"
                " status=?, updated=? WHERE run_id=?",
                (json.dumps(_clean(dict(state)), allow_nan=False), float(spent), run_id, status, time.time(), run_id),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def search_steps(self, run_id: str) -> list[dict[str, Any]]:
        """The trajectory of a search run, in step order."""
        rows = self._db.execute(
            "SELECT data FROM search_steps WHERE run_id=? ORDER BY step", (run_id,)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResultStore({self.path!r})"
