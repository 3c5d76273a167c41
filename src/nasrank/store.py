"""Append-only SQLite store of evaluation records.

One row per (space, canonical architecture, evaluator fingerprint): an evaluation done once is
never redone, which is what makes long jobs resumable. Only the driver process writes; workers
return :class:`~nasrank.records.EvalRecord` objects to it (records and
:func:`~nasrank.records.fingerprint` live in :mod:`nasrank.records`, re-exported here; the store
imports nothing from training). Every record is committed as soon as it arrives
(SQLite WAL journal), so killing the driver loses at most the evaluations still in flight.

A store has an identity: ``PRAGMA application_id`` is :data:`APPLICATION_ID` and
``PRAGMA user_version`` the schema version. It is checked before anything is written, so a
zero-byte file, a file that is not SQLite or another application's database is refused and left
byte for byte as it was; a store written by nasrank before the identity existed (application id
0, a ``meta`` table with ``schema_version`` 1 and a ``records`` table) is adopted (stamped) when
it is opened for writing. A new store is created only inside an existing directory.

Jobs that must not run twice at the same time (a search run, a benchmark build) take a
:class:`StoreLock`: a POSIX byte-range lock on the sidecar file ``<store>.nasrank-lock``. The
operating system releases it when the process ends, however it ends, so a killed job can be
resumed at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import gzip
import hashlib
import json
import os
import secrets
import socket
import sqlite3
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._validate import output_file
from .exceptions import AlreadyRunningError, ConfigError
from .records import EvalRecord, fingerprint, json_safe

try:  # POSIX only; elsewhere jobs are not coordinated (see StoreLock)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "EvalRecord",  # defined in nasrank.records (as is fingerprint), re-exported here
    "ResultStore",
    "read_records",
    "RECORDS_FORMAT",
    "StoreLock",
    "fingerprint",
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "SEARCH_STATUSES",
    "LOCK_SUFFIX",
]

#: ``PRAGMA application_id`` of a nasrank results store: the ASCII bytes ``NASR``.
APPLICATION_ID = 0x4E415352
#: Schema version, kept in ``PRAGMA user_version`` (and, for older readers, in the meta table).
SCHEMA_VERSION = 1
#: Values of a search run's ``status``: ``running`` (in progress, or killed), ``done`` (budget
#: spent), ``interrupted`` (stopped by Ctrl-C / SIGINT) and ``failed`` (stopped by an error).
#: Re-running an unfinished run resumes it.
SEARCH_STATUSES = ("running", "done", "interrupted", "failed")
#: Suffix of the sidecar file that holds the job locks of a store (``runs.db.nasrank-lock``).
LOCK_SUFFIX = ".nasrank-lock"

_SQLITE_MAGIC = b"SQLite format 3\x00"
#: First line of a records file written by :meth:`ResultStore.export_records`.
RECORDS_FORMAT = {"format": "nasrank-records", "version": 1}
_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(EvalRecord))

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


def _check_status(status: str) -> None:
    if status not in SEARCH_STATUSES:
        raise ConfigError(f"search run status must be one of {', '.join(SEARCH_STATUSES)}, got {status!r}")


def _uri(path: Path, mode: str) -> str:
    """An SQLite URI for ``path`` (absolute, percent-encoded) opened in ``mode`` (``ro``/``rw``)."""
    return f"file:{urllib.parse.quote(os.path.abspath(path))}?mode={mode}"


@dataclass(frozen=True)
class _Identity:
    """What the header and the schema of an SQLite database say about its owner."""

    application_id: int
    user_version: int
    tables: tuple[str, ...]
    meta_version: str | None  # meta.schema_version of a nasrank store, if there is one


def _read_identity(con: sqlite3.Connection) -> _Identity:
    """Read (never write) the identity of the database behind ``con``."""
    app = int(con.execute("PRAGMA application_id").fetchone()[0])
    user_version = int(con.execute("PRAGMA user_version").fetchone()[0])
    tables = tuple(sorted(
        r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
    ))
    meta_version = None
    if "meta" in tables:
        try:
            row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError:  # another application's table called meta
            row = None
        meta_version = None if row is None else str(row[0])
    return _Identity(app, user_version, tables, meta_version)


def _check_identity(ident: _Identity, path: Path, fix: str) -> str:
    """``"ours"`` (a stamped store) or ``"legacy"`` (an unstamped one); any other file raises."""
    meta_v = int(ident.meta_version) if ident.meta_version is not None and ident.meta_version.isdigit() else None
    if ident.application_id == APPLICATION_ID:
        kind, version = "ours", max(ident.user_version, meta_v or 0)
    elif ident.application_id == 0 and {"meta", "records"} <= set(ident.tables) and meta_v is not None:
        kind, version = "legacy", meta_v
    else:
        shown = ", ".join(ident.tables[:8]) + (", ..." if len(ident.tables) > 8 else "")
        what = f"it has tables {shown}" if ident.tables else "it is an SQLite database without tables"
        if ident.application_id != 0:
            what = f"it belongs to another application (application_id {ident.application_id:#x}); " + (
                f"tables {shown}" if ident.tables else "no tables")
        raise ConfigError(f"{str(path)!r} is not a nasrank results store ({what}); {fix}")
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"store {str(path)!r} has schema version {version}, this nasrank reads {SCHEMA_VERSION}; "
            f"upgrade nasrank, or {fix}"
        )
    return kind


def _inspect(path: Path, fix: str) -> str:
    """Check an existing file's identity without changing it or leaving files next to it.

    A zero-byte or non-SQLite file is refused from its first bytes, before SQLite sees it. A
    WAL-mode database without ``-wal``/``-shm`` files is fully checkpointed: it is read as
    ``immutable`` so that SQLite does not create (and, read-only, leave) those files.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError as exc:
        raise ConfigError(f"cannot read results store {str(path)!r} ({exc.strerror}); {fix}") from None
    if not head:
        raise ConfigError(f"{str(path)!r} is an empty file (0 bytes), not a nasrank results store; {fix}")
    if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
        raise ConfigError(f"{str(path)!r} is not a nasrank results store (not an SQLite database); {fix}")
    wal = head[18] == 2
    side = any(os.path.exists(f"{path}{s}") for s in ("-wal", "-shm"))
    uri = _uri(path, "ro") + ("&immutable=1" if wal and not side else "")
    try:
        con = sqlite3.connect(uri, uri=True, timeout=30.0)
        try:
            ident = _read_identity(con)
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"cannot read {str(path)!r} as a nasrank results store ({exc}); {fix}") from None
    return _check_identity(ident, path, fix)


def _create(path: Path) -> None:
    """Create a new, stamped, empty store at ``path`` unless a file appears there meanwhile.

    The store is built under a temporary name in the same directory and hard-linked into place,
    so no other process ever sees a half-made (zero-byte) store, and two processes creating the
    same store at once both end up opening the one that won.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.executescript(
                f"BEGIN; PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version={SCHEMA_VERSION};"
                f"{_SCHEMA} INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}'); COMMIT;"
            )
            con.execute("PRAGMA journal_mode=WAL")
        finally:
            con.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: the caller opens (and checks) that one
        except OSError:  # no hard links on this file system
            if not path.exists():
                os.replace(tmp, path)
    finally:
        for f in (tmp, f"{tmp}-wal", f"{tmp}-shm", f"{tmp}-journal"):
            if os.path.exists(f):
                os.unlink(f)


class ResultStore:
    """Append-only SQLite store of :class:`EvalRecord` objects.

    Args:
        path: Database file; ``":memory:"`` for a throw-away store. A missing file is created if
            its directory exists (directories are never created). An existing file must be a
            nasrank results store: anything else is refused before it is touched.
        read_only: Open for reading only (an SQLite ``mode=ro`` connection): the file must
            exist, nothing is created or stamped, and the writing methods raise.

    Example:
        >>> store = ResultStore(":memory:")
        >>> store.add(EvalRecord("nb201", "a", "k", "fp", "ok", {"acc": 0.9}, cost=2.0))
        True
        >>> store.add(EvalRecord("nb201", "a", "k", "fp", "ok", {"acc": 0.1}, cost=2.0))  # kept: first
        False
        >>> store.get("nb201", "k", "fp").metrics["acc"], len(store)
        (0.9, 1)

        Files that are not stores are refused and left as they were:

        >>> import os, tempfile
        >>> empty = os.path.join(tempfile.mkdtemp(), "empty.db")
        >>> open(empty, "wb").close()
        >>> ResultStore(empty)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: '...empty.db' is an empty file (0 bytes), not a nasrank results store; ...
        >>> os.path.getsize(empty), sorted(os.listdir(os.path.dirname(empty)))
        (0, ['empty.db'])
    """

    def __init__(self, path: str | os.PathLike, read_only: bool = False) -> None:
        self.path = os.fspath(path)
        self.read_only = bool(read_only)
        self._locks: list[StoreLock] = []
        self._tidy_on_close = False
        if self.path == ":memory:":
            if self.read_only:
                raise ConfigError("a ':memory:' store cannot be opened read-only (it is always empty); give a file")
            self._db = sqlite3.connect(":memory:", isolation_level=None)
            self._db.executescript(
                f"PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version={SCHEMA_VERSION}; {_SCHEMA}"
                f"INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');"
            )
            self._tables = {"meta", "records", "search_runs", "search_steps"}
            return
        p = Path(self.path).expanduser()
        if self.read_only:
            fix = "give the path of a store written by nasrank search --store"
            if p.is_dir():
                raise ConfigError(f"results store {self.path!r} is a directory; {fix}")
            if not p.exists():
                raise ConfigError(f"results store {self.path!r} does not exist (write one with nasrank search --store)")
        else:
            fix = "choose another --store path"
            output_file(p, "results store")  # not a directory, the directory exists, writable
            if p.is_dir():  # pragma: no cover  (output_file refuses directories)
                raise ConfigError(f"store path {self.path!r} is a directory; give a file name such as runs.db")
            if not p.exists():
                _create(p)
        self.path = str(p)
        _inspect(p, fix)
        # a read-only SQLite connection to a WAL database creates -wal/-shm files it cannot remove
        self._tidy_on_close = self.read_only and not any(os.path.exists(f"{p}{x}") for x in ("-wal", "-shm"))
        try:
            self._db = sqlite3.connect(_uri(p, "ro" if self.read_only else "rw"), uri=True,
                                       isolation_level=None, timeout=30.0)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"cannot open results store {self.path!r} ({exc}); {fix}") from None
        try:
            if self.read_only:
                ident = _read_identity(self._db)
                _check_identity(ident, p, fix)  # the same file as inspected (not replaced meanwhile)
                self._tables = set(ident.tables)
            else:
                self._open_for_writing(p, fix)
                self._tables = {"meta", "records", "search_runs", "search_steps"}
        except ConfigError:
            self._db.close()
            raise
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ConfigError(f"cannot open results store {self.path!r} ({exc}); {fix}") from None

    def _open_for_writing(self, path: Path, fix: str) -> None:
        """Check the identity, stamp a legacy store, then set the store up.

        Opening a complete, stamped store writes nothing, so it never waits for another process
        that is in the middle of writing.
        """
        db = self._db
        ident = _read_identity(db)
        if _check_identity(ident, path, fix) == "legacy":
            db.execute("BEGIN IMMEDIATE")
            try:  # re-check under the write lock, then stamp
                if _check_identity(_read_identity(db), path, fix) == "legacy":
                    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if not {"meta", "records", "search_runs", "search_steps"} <= set(ident.tables):
            db.executescript(_SCHEMA)  # tables a legacy store may lack
        if ident.meta_version is None:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _writable(self, what: str) -> None:
        if self.read_only:
            raise ConfigError(f"cannot {what}: store {self.path!r} is open read-only; open it with read_only=False")

    # --- writing ---------------------------------------------------------------------------
    def add(self, record: EvalRecord) -> bool:
        """Append ``record``; returns ``False`` (and keeps the stored one) if its key exists.

        Records with ``status="error"`` are provisional: a later record with the same key
        replaces an error record (so failed evaluations are retried), never an ``ok`` /
        ``diverged`` one.
        """
        if not isinstance(record, EvalRecord):
            raise ConfigError(f"ResultStore.add needs an EvalRecord, got {type(record).__name__}")
        self._writable("add a record")
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
        self._writable("set meta data")
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(json_safe(value))))

    def get_meta(self, key: str, default: Any = None) -> Any:
        """The value stored with :meth:`set_meta`, or ``default``."""
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def import_records(self, source: str | os.PathLike | Iterable[EvalRecord]) -> tuple[int, int]:
        """Add the records of a file written by :meth:`export_records` (or any iterable of
        records) in one transaction: all of them or, on any error, none.

        A record whose key is already stored is kept as stored, except that an ``ok`` or
        ``diverged`` record replaces a stored ``error`` one (as :meth:`add` does; an imported
        ``error`` record replaces nothing). So importing the same file twice adds nothing, and the
        stores of several machines merge by importing each one's export.

        Returns:
            ``(added, kept)``: records added, and records skipped because their key was stored.
        """
        self._writable("import records")
        records = list(read_records(source)) if isinstance(source, (str, os.PathLike)) else list(source)
        for r in records:
            if not isinstance(r, EvalRecord):
                raise ConfigError(f"import_records needs EvalRecord objects, got {type(r).__name__}")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            added = sum(self.add(r) for r in records if not (r.status == "error" and r.key in self))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return added, len(records) - added

    # --- reading ---------------------------------------------------------------------------
    def export_records(self, path: str | os.PathLike, *, fingerprint: str | None = None,
                       space: str | None = None, skip: Iterable[tuple[str, str, str]] = ()) -> int:
        """Write the stored evaluation records as JSON lines (gzip-compressed when ``path`` ends
        in ``.gz``), for :meth:`import_records` into another store: moving a run between
        machines, merging cluster nodes' stores, or keeping a long build's partial results in
        version control as plain data. Search-run progress is not exported.

        The file is written to a temporary name and renamed when complete, so an interrupted
        export leaves no partial file. Compressed output is byte-for-byte reproducible.

        Args:
            path: Output file (its directory must exist).
            fingerprint, space: Export only the records of this evaluator / space.
            skip: Keys ``(space, arch_key, fingerprint)`` not to export, e.g. those of an earlier
                export (``{r.key for r in read_records(old)}``): successive exports of a growing
                store then hold each record once.

        Returns:
            The number of records written.

        Example:
            >>> import os, tempfile
            >>> a, b = ResultStore(":memory:"), ResultStore(":memory:")
            >>> a.add(EvalRecord("nb201", "x", "k", "fp", "ok", {"acc": 0.9}, cost=2.0))
            True
            >>> path = os.path.join(tempfile.mkdtemp(), "records.jsonl.gz")
            >>> a.export_records(path), b.import_records(path), b.import_records(path)
            (1, (1, 0), (0, 1))
            >>> b.get("nb201", "k", "fp") == a.get("nb201", "k", "fp")
            True
        """
        out = output_file(path, "records file")
        skip = set(skip)
        rows = [r for r in self.records(fingerprint=fingerprint, space=space) if r.key not in skip]
        tmp = out.parent / f".{out.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            with open(tmp, "xb") as raw:  # a new file with the usual permissions (umask)
                gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if out.name.endswith(".gz") else None
                fh = gz if gz is not None else raw
                fh.write((json.dumps(RECORDS_FORMAT) + "\n").encode())
                for r in rows:
                    fh.write((json.dumps(dataclasses.asdict(r), allow_nan=False) + "\n").encode())
                if gz is not None:
                    gz.close()
            os.replace(tmp, out)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return len(rows)

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

    def counts(self) -> list[dict[str, Any]]:
        """Per (space, fingerprint), in first-stored order: the number of ``ok`` / ``diverged`` /
        ``error`` records and their summed cost in seconds (counted by SQLite; no record is read).

        Example:
            >>> st = ResultStore(":memory:")
            >>> for status in ("ok", "ok", "error"):
            ...     _ = st.add(EvalRecord("nb201", "a", status + str(len(st)), "fp", status, cost=1.5))
            >>> st.counts()
            [{'space': 'nb201', 'fingerprint': 'fp', 'ok': 2, 'diverged': 0, 'error': 1, 'cost_seconds': 4.5}]
        """
        rows = self._db.execute(
            "SELECT space, fingerprint, SUM(status='ok'), SUM(status='diverged'), SUM(status='error'), SUM(cost)"
            " FROM records GROUP BY space, fingerprint ORDER BY MIN(id)"
        ).fetchall()
        return [{"space": s, "fingerprint": fp, "ok": int(ok), "diverged": int(dv), "error": int(er),
                 "cost_seconds": float(c)} for s, fp, ok, dv, er, c in rows]

    # --- search runs (written by nasrank.search's driver) ------------------------------------
    def search_run(self, run_id: str) -> dict[str, Any] | None:
        """A search run's row: ``config``, ``state``, ``spent``, ``steps``, ``status`` (or ``None``).

        ``status`` is one of :data:`SEARCH_STATUSES`.
        """
        if "search_runs" not in self._tables:  # a read-only legacy store without search tables
            return None
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
        if "search_runs" not in self._tables:
            return []
        rows = self._db.execute(
            "SELECT run_id, config, NULL, spent, steps, status, created, updated FROM search_runs ORDER BY created, run_id"
        ).fetchall()
        return [self._run_row(r) for r in rows]

    def start_search_run(self, run_id: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Create the run if it is new, mark it ``running`` and return its row.

        An existing run keeps its configuration, state and steps (it is being resumed).
        """
        self._writable("start a search run")
        now = time.time()
        self._db.execute(
            "INSERT INTO search_runs (run_id, config, state, spent, steps, status, created, updated)"
            " VALUES (?, ?, NULL, 0, 0, 'running', ?, ?)"
            " ON CONFLICT (run_id) DO UPDATE SET status='running', updated=excluded.updated",
            (run_id, json.dumps(json_safe(dict(config)), allow_nan=False), now, now),
        )
        row = self.search_run(run_id)
        assert row is not None
        return row

    def save_search_step(
        self, run_id: str, step: int | None, data: Mapping[str, Any] | None, state: Mapping[str, Any],
        spent: float, status: str = "running",
    ) -> None:
        """Atomically append trajectory step ``step`` (if given) and replace the run's state."""
        self._writable("save a search step")
        _check_status(status)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if step is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO search_steps (run_id, step, data) VALUES (?, ?, ?)",
                    (run_id, int(step), json.dumps(json_safe(dict(data or {})), allow_nan=False)),
                )
            self._db.execute(
                "UPDATE search_runs SET state=?, spent=?, steps=(SELECT COUNT(*) FROM search_steps WHERE run_id=?),"
                " status=?, updated=? WHERE run_id=?",
                (json.dumps(json_safe(dict(state)), allow_nan=False), float(spent), run_id, status, time.time(), run_id),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def set_search_status(self, run_id: str, status: str) -> None:
        """Set a search run's ``status`` (one of :data:`SEARCH_STATUSES`); its steps stay.

        Example:
            >>> st = ResultStore(":memory:")
            >>> _ = st.start_search_run("r1", {"strategy": "random"})
            >>> st.set_search_status("r1", "interrupted")
            >>> st.search_run("r1")["status"]
            'interrupted'
        """
        self._writable("set a search run's status")
        _check_status(status)
        self._db.execute("UPDATE search_runs SET status=?, updated=? WHERE run_id=?", (status, time.time(), run_id))

    def search_steps(self, run_id: str) -> list[dict[str, Any]]:
        """The trajectory of a search run, in step order."""
        if "search_steps" not in self._tables:
            return []
        rows = self._db.execute(
            "SELECT data FROM search_steps WHERE run_id=? ORDER BY step", (run_id,)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    # --- coordination -----------------------------------------------------------------------
    @property
    def lock_path(self) -> str | None:
        """The sidecar lock file of this store (``None`` for ``":memory:"``).

        It sits next to the real file (symbolic links resolved), so every path to one store
        shares one lock file.
        """
        return None if self.path == ":memory:" else os.path.realpath(self.path) + LOCK_SUFFIX

    def lock(self, key: str, what: str = "this job",
             hint: str = "wait for it to finish, or use another store") -> StoreLock:
        """A :class:`StoreLock` on ``key`` (not yet acquired; use it as a context manager).

        Args:
            key: What is locked, e.g. ``"search:<run id>"``; different keys never conflict.
            what: The job, for the error message (``"search run 1a2b..."``).
            hint: The fix, for the error message.
        """
        self._writable("lock a job")
        return StoreLock(self, key, what, hint)

    def _del_meta(self, key: str) -> None:
        self._db.execute("DELETE FROM meta WHERE key=?", (key,))

    def close(self) -> None:
        """Release the locks taken through this store and close the database connection."""
        for lk in list(self._locks):
            lk.release()
        self._db.close()
        if (self._tidy_on_close and os.access(self.path, os.W_OK)
                and any(os.path.exists(f"{self.path}{x}") for x in ("-wal", "-shm"))):
            self._tidy_on_close = False
            # SQLite removes a WAL database's -wal/-shm files when the last read-write
            # connection closes (and only then: it checks for other connections under its locks)
            try:
                con = sqlite3.connect(_uri(Path(self.path), "rw"), uri=True, timeout=1.0)
                try:
                    con.execute("PRAGMA application_id").fetchone()
                finally:
                    con.close()
            except sqlite3.Error:
                pass  # someone else has it open: the files are theirs to remove

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResultStore({self.path!r})"


def read_records(path: str | os.PathLike) -> Iterator[EvalRecord]:
    """The records of a file written by :meth:`ResultStore.export_records` (plain or ``.gz``).

    The whole file is checked before the first record is returned: a file that is not a records
    file, or a line that is not a record, is a one-line :class:`~nasrank.exceptions.ConfigError`
    naming the file and line.
    """
    p = Path(os.fspath(path)).expanduser()
    if p.is_dir():
        raise ConfigError(f"records file {str(path)!r} is a directory; give a file written by nasrank store export")
    if not p.exists():
        raise ConfigError(f"records file {str(path)!r} does not exist (write one with nasrank store export)")
    with open(p, "rb") as fh:
        magic = fh.read(len(_SQLITE_MAGIC))
    if magic == _SQLITE_MAGIC:
        raise ConfigError(f"{str(path)!r} is an SQLite database (a results store?), not a records file; "
                          f"export its records first: nasrank store export {path} FILE.jsonl.gz")
    gz = magic[:2] == b"\x1f\x8b"
    try:
        with (gzip.open(p, "rt", encoding="utf-8") if gz else open(p, encoding="utf-8")) as fh:
            lines = fh.read().splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read records file {str(path)!r} ({exc}); "
                          "give a complete file written by nasrank store export") from None
    try:
        head = json.loads(lines[0]) if lines else None
    except ValueError:
        head = None
    if not isinstance(head, dict) or head.get("format") != RECORDS_FORMAT["format"]:
        raise ConfigError(f"{str(path)!r} is not a nasrank records file (its first line is not the "
                          f"{RECORDS_FORMAT['format']!r} header); give a file written by nasrank store export")
    if head.get("version") != RECORDS_FORMAT["version"]:
        raise ConfigError(f"records file {str(path)!r} has format version {head.get('version')!r}; this nasrank "
                          f"reads version {RECORDS_FORMAT['version']} (upgrade nasrank)")
    out = []
    for n, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            if not isinstance(d, dict) or set(d) - set(_RECORD_FIELDS):
                raise ValueError("unexpected fields" if isinstance(d, dict) else "not an object")
            out.append(EvalRecord(**d))
        except (ValueError, TypeError, ConfigError) as exc:
            raise ConfigError(f"line {n} of records file {str(path)!r} is not a record ({exc}); "
                              "the file is damaged: export it again") from None
    return iter(out)


# --- job locks ------------------------------------------------------------------------------
# POSIX record locks belong to a process and a file: closing *any* descriptor of the lock file
# drops all of the process's locks on it. So each lock file is opened once per process and
# closed only when the last lock on it is released.
_GUARD = threading.Lock()
_LOCK_FILES: dict[str, tuple[int, set[int]]] = {}  # real path -> (descriptor, locked offsets)


def _lock_offset(key: str) -> int:
    """The byte of the lock file that stands for ``key`` (60 bits of its hash)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:15], 16)


class StoreLock:
    """An exclusive lock on one job (``key``) of a results store, held across processes.

    It is a POSIX ``lockf`` byte-range lock, at an offset derived from ``key``, on the store's
    sidecar file :attr:`ResultStore.lock_path`. Different keys lock different bytes, so different
    jobs on one store run concurrently. The operating system drops the lock when the process
    ends, even on SIGKILL. The holder's pid is kept in the store's meta table for the message of
    the :class:`~nasrank.exceptions.AlreadyRunningError` that a second taker gets. A second taker
    in the same process is refused too. ``":memory:"`` stores (and platforms without ``fcntl``)
    have nothing to coordinate with: the lock always succeeds there.

    Example:
        >>> import os, tempfile
        >>> st = ResultStore(os.path.join(tempfile.mkdtemp(), "runs.db"))
        >>> with st.lock("search:1234", what="search run 1234"):
        ...     st.lock("search:1234", what="search run 1234").acquire()
        Traceback (most recent call last):
        ...
        nasrank.exceptions.AlreadyRunningError: search run 1234 is already running in this process on store runs.db; wait for it to finish, or use another store
        >>> with st.lock("search:1234"), st.lock("search:5678"):  # released above; other keys are free
        ...     pass
        >>> st.close()
    """

    def __init__(self, store: ResultStore, key: str, what: str = "this job",
                 hint: str = "wait for it to finish, or use another store") -> None:
        self.store = store
        self.key = str(key)
        self.what = what
        self.hint = hint
        self.held = False
        self._file: str | None = None
        self._offset = _lock_offset(self.key)

    def acquire(self) -> StoreLock:
        """Take the lock, or raise :class:`~nasrank.exceptions.AlreadyRunningError` at once."""
        if self.held:
            return self
        if self.store.lock_path is None or fcntl is None:
            self.held = True
            return self
        path = self.store.lock_path
        busy_here = False
        with _GUARD:
            if path in _LOCK_FILES:
                fd, offsets = _LOCK_FILES[path]
            else:
                try:
                    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
                except OSError as exc:
                    raise ConfigError(f"cannot create the lock file {path!r} ({exc.strerror}); "
                                      f"make its directory writable") from None
                offsets = set()
                _LOCK_FILES[path] = (fd, offsets)
            busy = busy_here = self._offset in offsets
            if not busy:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, self._offset, os.SEEK_SET)
                    offsets.add(self._offset)
                except OSError as exc:
                    if exc.errno not in (errno.EACCES, errno.EAGAIN):
                        raise ConfigError(f"cannot lock {path!r} ({exc.strerror}); "
                                          f"put the store on a local file system") from None
                    busy = True
            if not offsets:
                os.close(fd)
                del _LOCK_FILES[path]
        if busy:
            raise AlreadyRunningError(self._busy_message(busy_here))
        self._file = path
        self.held = True
        self.store._locks.append(self)
        try:
            self.store.set_meta(f"lock:{self.key}", {"pid": os.getpid(), "host": socket.gethostname(),
                                                     "since": time.time()})
        except BaseException:
            self.release()
            raise
        return self

    def _busy_message(self, this_process: bool) -> str:
        if this_process:
            where = "in this process"
        else:
            try:
                owner = self.store.get_meta(f"lock:{self.key}")
            except sqlite3.Error:
                owner = None
            if isinstance(owner, dict) and owner.get("pid") is not None:
                host = owner.get("host")
                on_host = f" on host {host}" if host and host != socket.gethostname() else ""
                where = f"in another process (pid {owner['pid']}{on_host})"
            else:
                where = "in another process"
        return f"{self.what} is already running {where} on store {Path(self.store.path).name}; {self.hint}"

    def release(self) -> None:
        """Give the lock back (a no-op when it is not held)."""
        if not self.held:
            return
        self.held = False
        if self in self.store._locks:
            self.store._locks.remove(self)
        if self._file is None:
            return
        try:  # forget the holder while still holding the lock: the next holder writes its own
            self.store._del_meta(f"lock:{self.key}")
        except (sqlite3.Error, ValueError):
            pass  # the pid is only for messages; a stale one is overwritten by the next holder
        with _GUARD:
            fd, offsets = _LOCK_FILES[self._file]
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, self._offset, os.SEEK_SET)
            offsets.discard(self._offset)
            if not offsets:
                os.close(fd)
                del _LOCK_FILES[self._file]
        self._file = None

    def __enter__(self) -> StoreLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"StoreLock({self.store.path!r}, {self.key!r}, held={self.held})"
