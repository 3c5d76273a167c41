"""Learning curves that nasrank did not train: read them from a CSV, JSON or JSON Lines file.

:func:`load_curves` turns a file of per-epoch logs (another benchmark's, or your own training
runs') into a :class:`CurveSet` — ids, :class:`~nasrank.training.LearningCurve` objects and the
true final values — ready for :func:`~nasrank.evaluation.correlation_table`;
:func:`correlate_curves` scores such a set with the correlation harness (``nasrank correlate
--curves FILE``). The format follows the file extension:

* ``.csv`` — long form, one row per architecture per epoch::

      arch,epoch,train_loss,val_acc,test_acc
      a,1,2.1,0.31,0.88
      a,2,1.6,0.45,0.88
      b,1,2.3,0.25,0.80
      b,2,1.9,0.33,0.80

  An id column (``arch`` or ``id``), an ``epoch`` column (consecutive integers from 1, or from
  0), at least one per-epoch column (:data:`PER_EPOCH_RECORDS`) and the final-value columns: the
  target (``test_acc`` by default) and any others, each holding one value per architecture
  (repeated on every row, or on some rows only with the others empty). Rows may come in any
  order.
* ``.json`` — a list of objects, one per architecture, per-epoch records as lists::

      [{"arch": "a", "train_loss": [2.1, 1.6], "val_acc": [0.31, 0.45], "test_acc": 0.88}, ...]

* ``.jsonl`` / ``.ndjson`` — one such object per line.

Missing values — an empty cell, ``nan``, ``na``, ``null``, ``none`` (CSV) or ``null`` / ``NaN``
(JSON) — are NaN and follow nasrank's NaN rule: an estimator that reads one gives NaN and the
architecture is dropped (and counted) for that estimator and budget. A curve with a NaN value
is flagged ``diverged`` like a run nasrank trained; it may also stop early (fewer epochs than
the others), while a healthy curve must have every epoch. Values are used as given: accuracies
may be fractions or percentages (a rank correlation does not care), but keep one scale per file.
Every problem with the file is a one-line :class:`~nasrank.exceptions.BenchmarkDataError` naming
the file, the line and the fix.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "curves.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("arch,epoch,train_loss,test_acc\\na,1,2.0,0.9\\na,2,1.5,0.9\\nb,1,2.5,0.7\\nb,2,,0.7\\n")
    >>> data = load_curves(path)
    >>> data.ids, data.targets.tolist(), data.records, data.epochs
    (('a', 'b'), [0.9, 0.7], ('train_loss',), 2)
    >>> data.curves[1].train_loss.tolist(), data.curves[1].diverged
    ([2.5, nan], True)
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import input_file
from ..estimators import EstimatorSpec, parse_estimators
from ..exceptions import BenchmarkDataError, ConfigError
from ..records import LearningCurve
from .correlate import DEFAULT_ESTIMATORS, CorrelationRow, correlation_table

__all__ = [
    "CurveSet",
    "PER_EPOCH_RECORDS",
    "CURVE_FILE_FORMATS",
    "load_curves",
    "correlate_curves",
    "missing_record",
]

#: Per-epoch records a curves file may give (the per-epoch arrays of a ``LearningCurve``).
PER_EPOCH_RECORDS: tuple[str, ...] = (
    "train_loss", "train_acc", "val_loss", "val_acc", "epoch_time", "lr", "sog", "sogn",
)
#: File extensions :func:`load_curves` reads, and their format.
CURVE_FILE_FORMATS: dict[str, str] = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}

_ID_KEYS = ("arch", "id")
_EPOCH_KEY = "epoch"
_MISSING = frozenset({"", "nan", "na", "n/a", "null", "none"})
_RECORDS_TEXT = ", ".join(PER_EPOCH_RECORDS)
_JSON_EXAMPLE = '{"arch": "a", "train_loss": [2.1, 1.6], "val_acc": [0.31, 0.45], "test_acc": 0.88}'


@dataclass(frozen=True, eq=False)
class CurveSet:
    """Learning curves read from a file, with the true final value of each architecture.

    Attributes:
        ids: Architecture ids as given in the file (strings), in file order.
        curves: One :class:`~nasrank.training.LearningCurve` per id (``meta["id"]`` is the id).
            A record the file does not give is ``None``, except ``train_loss``, which a
            ``LearningCurve`` always has: it is all-NaN then (see :attr:`records`).
        targets: The target value per id (float array, NaN where the file has none).
        target: Name of the target column.
        records: The per-epoch records the file gives, in :data:`PER_EPOCH_RECORDS` order.
        path: The file read.

    Example:
        >>> from nasrank.training import LearningCurve
        >>> s = CurveSet(("a",), (LearningCurve(train_loss=[1.0]),), np.array([0.9]), "test_acc",
        ...              ("train_loss",), "x.csv")
        >>> len(s), s.epochs
        (1, 1)
    """

    ids: tuple[str, ...]
    curves: tuple[LearningCurve, ...]
    targets: np.ndarray
    target: str
    records: tuple[str, ...]
    path: str

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def epochs(self) -> int:
        """The number of epochs of the longest curve (``T_end`` of the correlation harness)."""
        return max((c.epochs for c in self.curves), default=0)

    @property
    def n_diverged(self) -> int:
        """How many curves have a NaN/inf value (flagged ``diverged``)."""
        return sum(c.diverged for c in self.curves)


@dataclass
class _Record:
    """One architecture as parsed from the file, before the cross-checks."""

    id: str
    where: str  # "line 3" / "item 2 (line 5)": where the architecture starts in the file
    series: dict[str, list[float]]
    finals: dict[str, Any]  # final-value column -> (value, where it was read)


def _fail(label: str, where: str | None, msg: str) -> BenchmarkDataError:
    return BenchmarkDataError(f"{label}{', ' + where if where else ''}: {msg}")


# --- CSV ------------------------------------------------------------------------------------------
def _cell(text: str) -> float | None:
    """A CSV cell as a float (NaN for a missing value), ``None`` if it is not a number."""
    try:
        return float(text)  # also reads surrounding blanks, nan and inf
    except ValueError:
        return math.nan if text.strip().lower() in _MISSING else None


def _read_csv(path: Path, label: str) -> list[_Record]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [(i, row) for i, row in enumerate(csv.reader(f), start=1)
                if row and (row[0].strip() or any(c.strip() for c in row))]  # skip blank lines
    if not rows:
        raise _fail(label, None, "the file is empty; expected a header row such as "
                    "arch,epoch,train_loss,val_acc,test_acc and one row per architecture per epoch")
    head_line, header = rows[0]
    cols = [c.strip() for c in header]
    for j, c in enumerate(cols):
        if not c:
            raise _fail(label, f"line {head_line}", f"column {j + 1} of the header has no name; name every column")
        if cols.index(c) != j:
            raise _fail(label, f"line {head_line}", f"column {c!r} appears twice in the header; keep one")
    ids = [k for k in _ID_KEYS if k in cols]
    if not ids:
        raise _fail(label, f"line {head_line}", "no architecture id column; name it 'arch' (or 'id')")
    if len(ids) > 1:
        raise _fail(label, f"line {head_line}", "has both an 'arch' and an 'id' column; keep one as the architecture id")
    if _EPOCH_KEY not in cols:
        raise _fail(label, f"line {head_line}", "no 'epoch' column; a CSV curves file has one row per "
                    "architecture per epoch (arch,epoch,train_loss,...), or use the .json format")
    records = [c for c in cols if c in PER_EPOCH_RECORDS]
    if not records:
        raise _fail(label, f"line {head_line}", f"no per-epoch column; give at least one of {_RECORDS_TEXT}")
    id_j, ep_j = cols.index(ids[0]), cols.index(_EPOCH_KEY)
    rec_j = [(r, cols.index(r)) for r in records]
    fin_j = [(c, j) for j, c in enumerate(cols) if c not in records and j not in (id_j, ep_j)]
    if len(rows) == 1:
        raise _fail(label, None, "the file has a header but no data rows; add one row per architecture per epoch")

    # per architecture: (its first line, {epoch: (line, values)}, {final column: (text, line)})
    archs: dict[str, tuple[int, dict[int, tuple[int, list[float]]], dict[str, tuple[str, int]]]] = {}
    n_cols = len(cols)
    for ln, row in rows[1:]:  # the hot loop: `where` strings are made only for an error
        if len(row) != n_cols:
            raise _fail(label, f"line {ln}", f"{len(row)} cells but the header has {n_cols} columns; "
                        "give every row one cell per column (an empty cell for a missing value)")
        arch = row[id_j].strip()
        if not arch:
            raise _fail(label, f"line {ln}", f"the {ids[0]!r} cell is empty; give every row its architecture id")
        try:
            epoch = int(row[ep_j])
        except ValueError:
            ep = _cell(row[ep_j])
            if ep is None or not math.isfinite(ep) or ep != int(ep):
                raise _fail(label, f"line {ln}", f"epoch is {row[ep_j].strip()!r}, not a whole number; number "
                            "the epochs 1, 2, 3, ...") from None
            epoch = int(ep)
        values = [_cell(row[j]) for _, j in rec_j]
        if None in values:
            r, j = rec_j[values.index(None)]
            raise _fail(label, f"line {ln}", f"{r} is {row[j].strip()!r}, not a number; use a number "
                        "(an empty cell for a missing value)")
        state = archs.get(arch)
        if state is None:
            state = archs[arch] = (ln, {}, {})
        seen, fin = state[1], state[2]
        if epoch in seen:
            raise _fail(label, f"line {ln}", f"duplicate row: architecture {arch!r} has epoch {epoch} already on "
                        f"line {seen[epoch][0]}; give each (architecture, epoch) pair one row")
        seen[epoch] = (ln, values)  # type: ignore[assignment]  # None was ruled out above
        for c, j in fin_j:
            text = row[j]
            prev = fin.get(c)
            if prev is not None and prev[0] == text:
                continue
            text = text.strip()
            if text.lower() in _MISSING:
                continue
            if prev is None:
                fin[c] = (text, ln)
            elif not _same(prev[0], text):
                raise _fail(label, f"line {ln}", f"column {c!r} is {text!r} here but {prev[0]!r} on line "
                            f"{prev[1]} for architecture {arch!r}; per-epoch columns must be among "
                            f"{_RECORDS_TEXT}, and any other column (a final value such as test_acc) must hold "
                            "one value per architecture; rename or drop it")

    by_id = {arch: state[1] for arch, state in archs.items()}
    base = min(min(e) for e in by_id.values())
    if base not in (0, 1):
        arch = min(by_id, key=lambda a: min(by_id[a]))
        raise _fail(label, f"line {by_id[arch][base][0]}", f"epochs start at {base}; number them from 1 (or from 0)")
    out = []
    for arch, eps in by_id.items():
        order = sorted(eps)
        expected = base
        for e in order:
            if e != expected:
                what = (f"starts at epoch {e}, not {base}" if expected == base
                        else f"jumps from epoch {expected - 1} to {e}")
                raise _fail(label, f"line {eps[e][0]}", f"architecture {arch!r} {what}; give it one row for every "
                            f"epoch from {base} (empty cells for missing values)")
            expected += 1
        first_line, _, finals = archs[arch]
        series = {r: [eps[e][1][k] for e in order] for k, r in enumerate(records)}
        fin_vals: dict[str, Any] = {c: (math.nan, f"line {first_line}") for c, _ in fin_j}
        for c, (text, ln) in finals.items():
            v = _cell(text)
            fin_vals[c] = (text if v is None else v, f"line {ln}")
        out.append(_Record(arch, f"line {first_line}", series, fin_vals))
    return out


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    x, y = _cell(a), _cell(b)
    return a == b if x is None or y is None else x == y


# --- JSON / JSON Lines ----------------------------------------------------------------------------
def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _json_items(text: str, label: str) -> list[tuple[int, Any]]:
    """The items of a top-level JSON list with the line each starts on."""
    dec = json.JSONDecoder()
    counted = [0, 1]  # position and line reached so far: lines are counted once, not per item

    def line(pos: int) -> int:
        counted[1] += text.count("\n", counted[0], pos)
        counted[0] = pos
        return counted[1]

    def skip(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    def bad(exc: json.JSONDecodeError) -> BenchmarkDataError:
        return _fail(label, f"line {exc.lineno}", f"invalid JSON at column {exc.colno} ({exc.msg}); "
                     f"expected a list of objects like [{_JSON_EXAMPLE}, ...]")

    pos = skip(0)
    if not text.startswith("[", pos):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise bad(exc) from None
        raise _fail(label, None, f"the top level is a JSON {_json_type(value)}, not a list; expected a list of "
                    f"objects like [{_JSON_EXAMPLE}, ...] (for one object per line use .jsonl)")
    items = []
    pos = skip(pos + 1)
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            try:
                value, end = dec.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise bad(exc) from None
            items.append((line(pos), value))
            pos = skip(end)
            if text.startswith(",", pos):
                pos = skip(pos + 1)
                continue
            if text.startswith("]", pos):
                pos += 1
                break
            raise _fail(label, f"line {_line_of(text, pos)}", "invalid JSON: expected ',' or ']' after an item")
    if skip(pos) != len(text):
        raise _fail(label, f"line {_line_of(text, skip(pos))}", "invalid JSON: extra text after the list")
    return items


def _json_type(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def _read_json(path: Path, label: str, lines: bool) -> list[_Record]:
    text = path.read_text(encoding="utf-8-sig")
    if not text.strip():
        fmt = "one JSON object per line" if lines else "a JSON list of objects"
        raise _fail(label, None, f"the file is empty; expected {fmt} like {_JSON_EXAMPLE}")
    items: list[tuple[str, Any]] = []
    if lines:
        for ln, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append((f"line {ln}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise _fail(label, f"line {ln}", f"invalid JSON at column {exc.colno} ({exc.msg}); expected one "
                            f"object per line like {_JSON_EXAMPLE}") from None
    else:
        items = [(f"item {k} on line {ln}", v) for k, (ln, v) in enumerate(_json_items(text, label), start=1)]
    return [_json_record(obj, where, label) for where, obj in items]


def _json_record(obj: Any, where: str, label: str) -> _Record:
    if not isinstance(obj, dict):
        raise _fail(label, where, f"a JSON {_json_type(obj)}, not an object; give one object per architecture "
                    f"like {_JSON_EXAMPLE}")
    keys = [k for k in _ID_KEYS if k in obj]
    if not keys:
        raise _fail(label, where, "no 'arch' key; give every object its architecture id as \"arch\" (or \"id\")")
    if len(keys) > 1:
        raise _fail(label, where, "has both an 'arch' and an 'id' key; keep one as the architecture id")
    arch = obj[keys[0]]
    if isinstance(arch, bool) or not isinstance(arch, (str, int)) or not str(arch).strip():
        raise _fail(label, where, f"the architecture id {arch!r} must be a non-empty string (or an integer)")
    arch = str(arch).strip()
    series: dict[str, list[float]] = {}
    finals: dict[str, Any] = {}
    for key, value in obj.items():
        if key == keys[0]:
            continue
        if isinstance(value, list):
            if key not in PER_EPOCH_RECORDS:
                raise _fail(label, where, f"unknown per-epoch record {key!r} of architecture {arch!r}; the "
                            f"per-epoch lists must be among {_RECORDS_TEXT}")
            vals = []
            for k, v in enumerate(value):
                if v is None:
                    vals.append(math.nan)
                elif isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise _fail(label, where, f"{key}[{k}] of architecture {arch!r} is {v!r}, not a number; use "
                                "numbers (null for a missing value)")
                else:
                    vals.append(float(v))
            series[key] = vals
        elif key in PER_EPOCH_RECORDS:
            raise _fail(label, where, f"{key} of architecture {arch!r} is a JSON {_json_type(value)}; give a "
                        "list with one value per epoch")
        else:
            finals[key] = (value, where)
    if not series:
        raise _fail(label, where, f"architecture {arch!r} has no per-epoch record; give at least one list among "
                    f"{_RECORDS_TEXT}")
    lengths = {k: len(v) for k, v in series.items()}
    if len(set(lengths.values())) > 1:
        text = ", ".join(f"{n} {k}" for k, n in lengths.items())
        raise _fail(label, where, f"architecture {arch!r} has ragged records ({text} values); give every record "
                    "one value per epoch (null for a missing value)")
    if not next(iter(lengths.values())):
        raise _fail(label, where, f"architecture {arch!r} has no epochs (empty lists); give one value per epoch")
    return _Record(arch, where, series, finals)


# --- common checks --------------------------------------------------------------------------------
def _build(records: list[_Record], label: str, target: str, path: str) -> CurveSet:
    if not records:
        raise _fail(label, None, "the file has no architectures; give one entry per architecture")
    seen: dict[str, str] = {}
    for rec in records:
        if rec.id in seen:
            raise _fail(label, rec.where, f"duplicate architecture id {rec.id!r} (also at {seen[rec.id]}); give "
                        "each architecture once")
        seen[rec.id] = rec.where
    first = records[0]
    names = [r for r in PER_EPOCH_RECORDS if r in first.series]
    for rec in records[1:]:
        have = [r for r in PER_EPOCH_RECORDS if r in rec.series]
        if have != names:
            raise _fail(label, rec.where, f"architecture {rec.id!r} has the records {', '.join(have)} but "
                        f"{first.id!r} ({first.where}) has {', '.join(names)}; give every architecture the same "
                        "per-epoch records (null for missing values)")
    if not any(target in rec.finals for rec in records):
        columns = sorted({c for rec in records for c in rec.finals})
        avail = f"its final-value columns are {', '.join(columns)}" if columns else "it has no final-value column"
        raise ConfigError(f"{label} has no target column {target!r} ({avail}); add one value per architecture "
                          "or choose the target (--target COLUMN / target=)")
    y = np.full(len(records), math.nan)
    for i, rec in enumerate(records):
        if target not in rec.finals:
            raise _fail(label, rec.where, f"architecture {rec.id!r} has no {target!r}; give each architecture its "
                        "target value (null if unknown)")
        value, where = rec.finals[target]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(label, where, f"{target} of architecture {rec.id!r} is {value!r}, not a number; give a "
                        "number (empty/null if unknown)")
        y[i] = float(value)
    if not np.isfinite(y).any():
        raise _fail(label, None, f"no architecture has a finite {target!r} value; give the final value of each "
                    "architecture")
    n_epochs = [len(next(iter(rec.series.values()))) for rec in records]
    t_end = max(n_epochs)
    curves = []
    for rec, n in zip(records, n_epochs, strict=True):
        diverged = any(not np.all(np.isfinite(v)) for v in rec.series.values())
        if n < t_end and not diverged:
            raise _fail(label, rec.where, f"architecture {rec.id!r} has {_epochs(n)} but others have {t_end}; give "
                        "every architecture the same epochs (a run that diverged may stop early after a NaN "
                        "or empty value)")
        kw: dict[str, Any] = {r: np.asarray(v, dtype=np.float64) for r, v in rec.series.items()}
        kw.setdefault("train_loss", np.full(n, math.nan))
        curves.append(LearningCurve(**kw, diverged=diverged, meta={"id": rec.id}))
    y.setflags(write=False)
    return CurveSet(tuple(r.id for r in records), tuple(curves), y, target, tuple(names), path)


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def load_curves(path: str | os.PathLike, target: str = "test_acc") -> CurveSet:
    """Read learning curves and their final values from a ``.csv``, ``.json`` or ``.jsonl`` file.

    See the module documentation for the three formats.

    Args:
        path: The file; the extension chooses the format (:data:`CURVE_FILE_FORMATS`).
        target: The final-value column (CSV) or key (JSON) to correlate with, e.g. ``test_acc``.

    Returns:
        A :class:`CurveSet`.

    Raises:
        BenchmarkDataError: if the file is missing, a directory, or malformed (the message names
            the line and the fix).
        ConfigError: for an unsupported extension, or a target the file does not have.

    Example:
        >>> load_curves("no-such-runs.csv")
        Traceback (most recent call last):
        ...
        nasrank.exceptions.BenchmarkDataError: curves file 'no-such-runs.csv' does not exist
    """
    if not isinstance(target, str) or not target.strip():
        raise ConfigError(f"`target` must be a column name such as test_acc, got {target!r}")
    target = target.strip()
    if target in PER_EPOCH_RECORDS or target in _ID_KEYS or target == _EPOCH_KEY:
        what = "a per-epoch record" if target in PER_EPOCH_RECORDS else "the id/epoch column"
        raise ConfigError(f"target {target!r} is {what}; the target is one final value per architecture, "
                          "e.g. test_acc")
    p = input_file(path, "curves file")
    suffix = p.suffix.lower()
    fmt = CURVE_FILE_FORMATS.get(suffix)
    if fmt is None:
        raise ConfigError(f"unsupported curves file extension {suffix or '(none)'!r} of {str(path)!r}; use "
                          ".csv, .json, .jsonl or .ndjson")
    label = f"curves file {str(path)!r}"
    try:
        records = _read_csv(p, label) if fmt == "csv" else _read_json(p, label, lines=fmt == "jsonl")
    except BenchmarkDataError:  # an OSError too: do not wrap our own messages below
        raise
    except UnicodeDecodeError as exc:
        raise _fail(label, None, f"not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    except csv.Error as exc:
        raise _fail(label, None, f"malformed CSV ({exc}); check the quoting") from None
    except OSError as exc:
        raise _fail(label, None, f"cannot read it ({exc.strerror or exc}); check its permissions") from None
    return _build(records, label, target, str(path))


# --- scoring --------------------------------------------------------------------------------------
def missing_record(data: CurveSet, spec: EstimatorSpec) -> str | None:
    """The record estimator ``spec`` reads that ``data`` lacks (``None``: it has all it needs).

    ``"minibatch_loss"`` for ``tl-mini`` (a curves file gives per-epoch records only).

    Example:
        >>> from nasrank.estimators import EstimatorSpec
        >>> from nasrank.records import LearningCurve
        >>> data = CurveSet(("a", "b", "c"), (LearningCurve(train_loss=[1.0]),) * 3, np.zeros(3), "acc",
        ...                 ("train_loss",), "x.csv")
        >>> missing_record(data, EstimatorSpec.parse("tse")), missing_record(data, EstimatorSpec.parse("sovl"))
        (None, 'val_loss')
    """
    if spec.name == "tl-mini":
        return "minibatch_loss"
    est = spec.create()
    name = getattr(est, "field", None)
    return name if name is not None and name not in data.records else None


def correlate_curves(
    data: CurveSet,
    estimators: str | Sequence[str | EstimatorSpec] | None = None,
    epochs: str | int | Sequence[int] | None = None,
    **kwargs: Any,
) -> list[CorrelationRow]:
    """:func:`~nasrank.evaluation.correlation_table` of a :class:`CurveSet` with its targets.

    Unlike a direct ``correlation_table(data.curves, data.targets, ...)``, an estimator that reads
    a record the file does not give is an error (instead of all-NaN rows from the NaN-filled
    ``train_loss`` of a file without one).

    Args:
        data: Curves from :func:`load_curves`.
        estimators: Specs as for ``correlation_table``; ``None`` = those of
            :data:`~nasrank.evaluation.DEFAULT_ESTIMATORS` whose records the file gives.
        epochs: Budgets (see :func:`~nasrank.evaluation.parse_epochs`).
        **kwargs: Passed on (``metric``, ``n_boot``, ``seed``, ``fit_size``, ...).

    Raises:
        ConfigError: if an estimator needs a record the file lacks (or, with the defaults, if
            none is usable), and as ``correlation_table``.

    Example:
        >>> from nasrank.training import LearningCurve
        >>> curves = tuple(LearningCurve(train_loss=[2.0, 2.0 - q]) for q in (0.1, 0.5, 0.9))
        >>> data = CurveSet(("a", "b", "c"), curves, np.array([0.6, 0.7, 0.8]), "test_acc",
        ...                 ("train_loss",), "x.csv")
        >>> [(r.estimator, r.epochs, r.value) for r in correlate_curves(data, epochs=[2], n_boot=10)]
        [('tse', 2, 1.0), ('tse-e', 2, 1.0), ('tse-ema', 2, 1.0), ('tse-ema:gamma=0.1', 2, 1.0)]
    """
    if not isinstance(data, CurveSet):
        raise ConfigError(f"`data` must be a CurveSet from load_curves, got {type(data).__name__}")
    label = f"curves file {data.path!r}"
    if estimators is None:
        specs = [s for s in parse_estimators(DEFAULT_ESTIMATORS) if missing_record(data, s) is None]
        if not specs:
            raise ConfigError(f"none of the default estimators can score {label} (it gives "
                              f"{', '.join(data.records)}); give estimators that read those records")
    else:
        specs = parse_estimators(estimators)
        for s in specs:
            miss = missing_record(data, s)
            if miss == "minibatch_loss":
                raise ConfigError(f"estimator {s.label!r} needs per-minibatch losses, which a curves file does "
                                  "not give; choose another estimator")
            if miss is not None:
                raise ConfigError(f"estimator {s.label!r} reads {miss}, which {label} does not give (it has "
                                  f"{', '.join(data.records)}); add a {miss} record or choose other estimators")
    return correlation_table(data.curves, data.targets, specs, epochs, **kwargs)
