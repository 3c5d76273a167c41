"""Zero-cost proxy tables: every canonical architecture of a finite space scored once.

A proxy-assisted search (G-RS, G-REA, ...) scores many candidates per query; on a finite space
such as NAS-Bench-201 scoring the whole space once, under one fixed protocol, makes every later
search a table lookup. :func:`build_proxy_table` does that (resumable, parallel through an
:class:`~nasrank.execution.Executor`, a progress bar); :class:`ProxyTable` reads the result.

**Protocol** (:class:`ProxyProtocol`): the network is ``space.build(arch, **space_config)`` (default:
the space's ``"standard"`` configuration, e.g. NB201 C=16, N=5) with ``torch.manual_seed(seed)``
before it is built; the data is one draw of :meth:`ImageDataset.proxy_batch
<nasrank.data.ImageDataset.proxy_batch>` from the dataset's training part, and each proxy reads
the first ``batch_size`` images of it (default: the proxy's published batch size, e.g. 128 for
gradsign and nwot, 64 for snip; proxies sharing a size share one :func:`compute_proxies` call).
:class:`~nasrank.search.ProxyScorer` with the same protocol gives the same values.

**One row per isomorphism class**, scored on the class's canonical representative
(``space.canonical``). Members of a class compute the same function family, but under one seed
their initial weights differ (weights are drawn in module order, and a dead edge's operation
shifts the draw), so their proxy values differ by the draw; every member is given the
representative's value, here and in :class:`~nasrank.search.ProxyScorer`.

**Format** (a directory, no pickled objects):

* ``proxy_table.json`` — ``format``, ``format_version``, ``protocol`` (the resolved protocol),
  ``proxies`` (column order), ``higher_is_better`` per proxy, ``cells`` (rows), ``space_size``,
  ``threads``, ``seconds_total``, ``device`` / ``device_name`` (where most rows were scored) and
  ``devices`` (rows per device; tables written before devices were recorded lack these keys),
  ``nasrank_version``, ``build_command``, ``created``;
* ``scores.npz`` — ``arch`` (R,) the canonical representative's string (``space.to_str``),
  ``scores`` (R, P) float64 (NaN where a proxy is undefined), ``seconds`` (R, P) float32 (each
  proxy's seconds as :func:`compute_proxies(details=True) <nasrank.compute_proxies>` reports
  them: a pass shared by several proxies is counted once).

While a build runs, rows are appended to ``partial.jsonl`` (first line: the protocol); a re-run
with the same protocol resumes from it, and it is removed once the table is written. The JSON is
written last, so a reader never sees a half-written table.

**Device.** Networks are built (and initialised) on the CPU under the seed, then moved to the
scoring device with the minibatch; the proxies' random draws come from CPU generators. The
device is therefore not part of the protocol: a table started on a CPU can be finished on a GPU
(rows agree up to floating-point rounding), and each row records the device that scored it.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import atomic_write, check_int
from ..exceptions import BenchmarkDataError, ConfigError

__all__ = ["ProxyProtocol", "ProxyTable", "build_proxy_table", "score_protocol_cells",
           "list_proxy_tables", "load_proxy_table", "TABLE_FORMAT"]

TABLE_FORMAT = "nasrank-proxy-table"
TABLE_FORMAT_VERSION = 1
META_FILE = "proxy_table.json"
ARRAYS_FILE = "scores.npz"
PARTIAL_FILE = "partial.jsonl"
_SHIPPED = Path(__file__).resolve().parent / "tables"


@dataclass(frozen=True)
class ProxyProtocol:
    """What fixes a proxy table's values (see the module docstring).

    Attributes:
        space: Registered space name (must be enumerable).
        proxies: Proxy names (:func:`~nasrank.estimators.zero_cost.list_proxies`).
        dataset: Dataset whose training part gives the minibatch.
        seed: Seed of the minibatch draw and of the initial weights.
        batch_sizes: Per-proxy minibatch size; a proxy left out uses its published size
            (data-free proxies: 1).
        space_config: ``space.build`` keyword arguments; ``None`` = the space's
            ``default_config("standard")``.

    Example:
        >>> p = ProxyProtocol("nb201", ("gradsign", "snip", "synflow"), dataset="digits")
        >>> r = p.resolved()
        >>> r["batch_sizes"], r["space_config"]
        ({'gradsign': 128, 'snip': 64, 'synflow': 1}, {'C': 16, 'N': 5})
    """

    space: str = "nb201"
    proxies: tuple[str, ...] = ("gradsign",)
    dataset: str = "cifar10"
    seed: int = 0
    batch_sizes: Mapping[str, int] = field(default_factory=dict)
    space_config: Mapping[str, Any] | None = None

    def resolved(self) -> dict[str, Any]:
        """The protocol as plain JSON with every default filled in (validates the names)."""
        from ..estimators.zero_cost import proxy_info
        from ..spaces import SPACES

        names = [self.proxies] if isinstance(self.proxies, str) else list(self.proxies)
        if not names:
            raise ConfigError("a proxy table needs at least one proxy (e.g. --proxies gradsign,nwot)")
        infos = [proxy_info(n) for n in names]  # unknown names raise UnknownNameError
        names = [i["name"] for i in infos]
        if len(set(names)) != len(names):
            raise ConfigError(f"proxy names repeat: {names}")
        unknown = set(self.batch_sizes) - set(names)
        if unknown:
            raise ConfigError(f"batch sizes given for proxies not in the table: {sorted(unknown)}")
        sizes = {i["name"]: check_int(f"batch size of {i['name']}", self.batch_sizes.get(i["name"],
                                                                                          i["batch_size"] or 1), 1)
                 for i in infos}
        space = SPACES.get(self.space)()
        cfg = dict(space.default_config("standard") if self.space_config is None else self.space_config)
        return {"space": space.name, "space_config": cfg, "dataset": self.dataset,
                "seed": check_int("seed", self.seed, 0), "proxies": names, "batch_sizes": sizes}


# --- scoring (worker side) ---------------------------------------------------------------------
_BATCHES: dict[Any, Any] = {}


def _protocol_batch(protocol: Mapping[str, Any], data_dir: str | None) -> tuple[Any, Any, int, int]:
    from ..data import DataSpec

    size = max(protocol["batch_sizes"].values())
    key = (protocol["dataset"], data_dir, protocol["seed"], size)
    if key not in _BATCHES:
        train = DataSpec(protocol["dataset"], root=data_dir, test_size=0).load()[0]
        x, y = train.proxy_batch(size, protocol["seed"])
        _BATCHES[key] = (x, y, train.num_classes, train.image_shape[0])
    return _BATCHES[key]


def score_protocol_cells(protocol: Mapping[str, Any], archs: Sequence[Sequence[int]],
                         data_dir: str | None = None, space: Any = None,
                         batch: tuple[Any, Any, int, int] | None = None,
                         device: Any = "cpu") -> list[dict[str, Any]]:
    """Score ``archs`` under a resolved protocol (:meth:`ProxyProtocol.resolved`).

    Args:
        protocol: The resolved protocol.
        archs: Architectures of ``protocol["space"]``.
        data_dir: Dataset root (default ``$NASRANK_DATA``).
        space: The space object (default: a fresh instance of ``protocol["space"]``).
        batch: ``(x, y, num_classes, in_channels)`` to use instead of drawing the protocol's
            minibatch from ``protocol["dataset"]`` (it must be at least as large as the
            largest batch size).
        device: Where the networks are scored: ``"cpu"`` (default), ``"auto"`` (the device an
            executor assigned to this worker, else the first GPU, else the CPU), ``"cuda"``,
            ``"cuda:N"`` or ``"mps"`` (:func:`~nasrank.execution.resolve_device`). Networks
            are built on the CPU under the seed and then moved, so every device starts from the
            same weights.

    Returns:
        One record per architecture: ``arch`` (string), ``scores`` and ``seconds`` (per proxy;
        NaN scores as ``None``), ``device`` and ``device_name`` (where it was scored), and
        ``error`` when building or scoring the network raised (its scores are then NaN: a
        failure, an out-of-memory error included, is a recorded outcome, not the end of the
        build).

    Example:
        >>> p = ProxyProtocol("nb201", ("synflow",), dataset="digits", space_config={"C": 2, "N": 1}).resolved()
        >>> [r["scores"]["synflow"] > 0 for r in score_protocol_cells(p, [(3, 3, 3, 3, 3, 3)])]
        [True]
    """
    import torch

    from ..estimators.zero_cost import compute_proxies
    from ..execution import device_info, is_out_of_memory, release_memory, resolve_device
    from ..spaces import SPACES

    dev = resolve_device(device)
    where = device_info(dev)
    space = SPACES.get(protocol["space"])() if space is None else space
    x, y, num_classes, in_ch = _protocol_batch(protocol, data_dir) if batch is None else batch
    x, y = x.to(dev), y.to(dev)  # once per call, not once per network
    groups: dict[int, list[str]] = {}
    for name in protocol["proxies"]:
        groups.setdefault(protocol["batch_sizes"][name], []).append(name)
    out = []
    for arch in archs:
        rec: dict[str, Any] = {"arch": space.to_str(arch), "scores": {}, "seconds": {}, **where}
        net = None
        try:
            torch.manual_seed(protocol["seed"])
            cfg = dict(protocol["space_config"])
            cfg.setdefault("in_channels", in_ch)
            net = space.build(tuple(arch), num_classes=num_classes, **cfg).to(dev)
            for size, group in sorted(groups.items()):
                res = compute_proxies(net, (x[:size], y[:size]), group, seed=protocol["seed"], device=dev,
                                      details=True)
                for n, r in res.items():
                    rec["scores"][n] = None if not math.isfinite(r.value) else float(r.value)
                    rec["seconds"][n] = round(float(r.seconds), 5)
        except Exception as exc:  # noqa: BLE001 - recorded, not raised
            rec["scores"] = {n: None for n in protocol["proxies"]}
            rec["seconds"] = {n: 0.0 for n in protocol["proxies"]}
            rec["error"] = f"{type(exc).__name__}: {exc}"
            if is_out_of_memory(exc):
                msg = " ".join(rec["error"].split())[:300]
                rec["error"] = f"out of memory on {where['device']}: {msg}"
        if "error" in rec and rec["error"].startswith("out of memory"):
            net = None  # here, once the traceback (and the tensors its frames hold) is gone
            release_memory(dev)
        out.append(rec)
    return out


def _score_chunk(args: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Worker side of :func:`build_proxy_table`: ``(protocol, archs, data_dir[, device])``.

    The device travels as given (e.g. ``"auto"``) and is resolved here, in the worker, so that
    a pool whose workers were assigned devices spreads the cells over them."""
    protocol, archs, data_dir = args[:3]
    device = args[3] if len(args) > 3 else "cpu"
    return score_protocol_cells(protocol, archs, data_dir, device=device)


# --- the table ---------------------------------------------------------------------------------
class ProxyTable:
    """A proxy table read from disk (see the module docstring for the format).

    Scores are looked up by canonical key, so every member of an isomorphism class gets its
    class's score. Use :meth:`scores_of` for a column over given architectures, :meth:`expand`
    for the whole space.

    Attributes:
        path: The table's directory.
        meta: ``proxy_table.json`` as a dict.
        protocol: The resolved protocol.
        proxies: Column names.
        archs: The rows' canonical architectures (tuples).
        scores: ``(rows, proxies)`` float64.
        seconds: ``(rows, proxies)`` float32.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        meta_path = self.path / META_FILE
        if not meta_path.is_file():
            hint = (" (a build is under way or was interrupted: re-run it to finish)"
                    if (self.path / PARTIAL_FILE).exists() else "")
            raise BenchmarkDataError(f"no proxy table at {self.path}: {META_FILE} is missing{hint}")
        try:
            self.meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise BenchmarkDataError(f"{meta_path} is not readable JSON ({exc})") from None
        if self.meta.get("format") != TABLE_FORMAT:
            raise BenchmarkDataError(f"{meta_path} is not a nasrank proxy table (format {self.meta.get('format')!r})")
        if int(self.meta.get("format_version", 0)) > TABLE_FORMAT_VERSION:
            raise BenchmarkDataError(
                f"{meta_path} has format version {self.meta['format_version']}; this nasrank reads "
                f"<= {TABLE_FORMAT_VERSION}: upgrade nasrank")
        try:
            with np.load(self.path / ARRAYS_FILE, allow_pickle=False) as z:
                arch = z["arch"]
                self.scores = np.asarray(z["scores"], dtype=np.float64)
                self.seconds = np.asarray(z["seconds"], dtype=np.float32)
        except (OSError, KeyError, ValueError) as exc:
            raise BenchmarkDataError(f"{self.path / ARRAYS_FILE} is missing or damaged ({exc})") from None
        self.protocol = self.meta["protocol"]
        self.proxies = list(self.meta["proxies"])
        from ..spaces import SPACES

        self.space = SPACES.get(self.protocol["space"])()
        self.archs = [self.space.from_str(str(s)) for s in arch]
        if self.scores.shape != (len(self.archs), len(self.proxies)):
            raise BenchmarkDataError(f"{self.path / ARRAYS_FILE}: scores shape {self.scores.shape} does not "
                                     f"match {len(self.archs)} rows x {len(self.proxies)} proxies")
        self._row = {self.space.canonical_key(a): i for i, a in enumerate(self.archs)}

    @property
    def name(self) -> str:
        """``<space>-<dataset>`` (e.g. ``nb201-cifar10``)."""
        return f"{self.protocol['space']}-{self.protocol['dataset']}"

    def __repr__(self) -> str:
        return f"ProxyTable({self.name}, {len(self.archs)} cells, proxies={self.proxies})"

    def _col(self, proxy: str) -> int:
        from ..estimators.zero_cost import proxy_info

        if proxy not in self.proxies:
            try:
                proxy = proxy_info(proxy)["name"]  # aliases
            except Exception:  # noqa: BLE001
                pass
        if proxy not in self.proxies:
            raise ConfigError(f"the proxy table {self.name} has no {proxy!r}; it has {', '.join(self.proxies)}")
        return self.proxies.index(proxy)

    def higher_is_better(self, proxy: str) -> bool:
        return bool(self.meta["higher_is_better"][self.proxies[self._col(proxy)]])

    def rows_of(self, archs: Iterable[Sequence[int]]) -> np.ndarray:
        """Row index of each architecture's class."""
        try:
            return np.array([self._row[self.space.canonical_key(a)] for a in archs], dtype=np.int64)
        except KeyError as exc:
            raise ConfigError(f"architecture {exc.args[0]} is not in the proxy table {self.name}") from None

    def holds(self, archs: Iterable[Sequence[int]]) -> np.ndarray:
        """Whether the table has a row for each architecture's class (bool array)."""
        return np.array([self.space.canonical_key(a) in self._row for a in archs], dtype=bool)

    def scores_of(self, archs: Iterable[Sequence[int]], proxy: str, missing: str = "raise") -> np.ndarray:
        """``proxy``'s value for each architecture (NaN where undefined).

        ``missing="raise"`` (default) makes an architecture the table does not hold a
        :class:`~nasrank.exceptions.ConfigError`; ``missing="nan"`` gives it NaN.
        """
        col = self._col(proxy)
        if missing == "raise":
            return self.scores[self.rows_of(archs), col]
        if missing != "nan":
            raise ConfigError(f"`missing` must be 'raise' or 'nan', got {missing!r}")
        archs = list(archs)
        held = self.holds(archs)
        out = np.full(len(archs), np.nan)
        if held.any():
            out[held] = self.scores[self.rows_of([a for a, h in zip(archs, held, strict=True) if h]), col]
        return out

    def seconds_of(self, archs: Iterable[Sequence[int]], proxy: str) -> np.ndarray:
        """Seconds the proxy took on each architecture's class when the table was built."""
        return self.seconds[self.rows_of(archs), self._col(proxy)].astype(np.float64)

    def expand(self, proxy: str) -> tuple[list[tuple[int, ...]], np.ndarray]:
        """Every architecture of the space (``space.all_archs()`` order) and its score; only for a
        table of the whole space."""
        if not self.meta.get("complete"):
            raise ConfigError(f"the proxy table at {self.path} scores {len(self.archs)} chosen cells, not "
                              "the whole space: use scores_of() on its cells")
        archs = list(self.space.all_archs())
        return archs, self.scores_of(archs, proxy)


def list_proxy_tables() -> list[str]:
    """Names of the proxy tables shipped with nasrank (``<space>-<dataset>``).

    Tables live in ``nasrank/benchmarks/tables/<name>/``.

    Example:
        >>> all(isinstance(n, str) for n in list_proxy_tables())
        True
    """
    if not _SHIPPED.is_dir():
        return []
    return sorted(p.name for p in _SHIPPED.iterdir() if (p / META_FILE).is_file())


def load_proxy_table(name_or_path: str | os.PathLike) -> ProxyTable:
    """A shipped table by name (:func:`list_proxy_tables`) or a table directory."""
    p = Path(name_or_path)
    if (p / META_FILE).is_file() or (p / PARTIAL_FILE).exists():
        return ProxyTable(p)
    if isinstance(name_or_path, str) and (_SHIPPED / name_or_path / META_FILE).is_file():
        return ProxyTable(_SHIPPED / name_or_path)
    shipped = ", ".join(list_proxy_tables()) or "none"
    raise ConfigError(f"no proxy table {str(name_or_path)!r}: give a table directory or a shipped name ({shipped})")


# --- building ----------------------------------------------------------------------------------
def _read_partial(path: Path, protocol: dict[str, Any]) -> dict[str, dict[str, Any]]:
    lines = path.read_text().splitlines()
    if not lines:
        return {}
    try:
        head = json.loads(lines[0])
    except json.JSONDecodeError:
        raise BenchmarkDataError(f"{path} is damaged (its first line is not the protocol): remove it") from None
    if head.get("protocol") != protocol:
        raise ConfigError(f"{path.parent} holds a table of another protocol ({head.get('protocol')}); "
                          "choose another --out or remove it")
    done = {}
    for line in lines[1:]:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut by an interruption
            continue
        done[rec["arch"]] = rec
    return done


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield list(items[i:i + size])


def build_proxy_table(
    protocol: ProxyProtocol,
    out: str | os.PathLike,
    archs: Iterable[Sequence[int]] | None = None,
    data_dir: str | os.PathLike | None = None,
    executor: Any = None,
    chunk: int = 8,
    limit: int | None = None,
    progress: bool = True,
    device: Any = "cpu",
) -> ProxyTable | None:
    """Score every canonical architecture of ``protocol.space`` (or of ``archs``) and write the
    table to ``out``.

    Resumable: rows are appended to ``out/partial.jsonl`` as they finish, and a re-run with the
    same protocol scores only the rest (a different protocol in ``out`` is an error). With a
    process or Ray executor the cells run in parallel, ``chunk`` per task.

    Args:
        protocol: What to score and how.
        out: Table directory (created).
        archs: Score only these architectures (one row per isomorphism class; any space, e.g.
            sampled DARTS cells); default: the whole space, which must be enumerable.
        data_dir: Dataset root (default ``$NASRANK_DATA``).
        executor: An :class:`~nasrank.execution.Executor` (default: serial, in this process).
        chunk: Architectures per task.
        limit: Stop after this many rows in total (a partial build; re-run without it to finish).
        progress: A progress bar with ETA on stderr.
        device: Where the cells are scored (see :func:`score_protocol_cells`); checked here
            before any work, resolved again in each worker (``"auto"`` there is the device the
            executor assigned to it, e.g. ``ProcessExecutor(devices="auto")`` spreads workers
            over the GPUs). Not part of the protocol: a table resumed on another device goes
            on; each row and the metadata record where they were scored.

    Returns:
        The finished :class:`ProxyTable`, or ``None`` when ``limit`` stopped the build early.

    Example:
        >>> import tempfile
        >>> p = ProxyProtocol("nb201", ("synflow", "params"), dataset="digits", space_config={"C": 2, "N": 1})
        >>> cells = [(3, 3, 3, 3, 3, 3), (1, 3, 0, 2, 4, 3), (3, 1, 0, 3, 2, 4)]
        >>> t = build_proxy_table(p, tempfile.mkdtemp() + "/t", archs=cells, progress=False)
        >>> len(t.archs), t.proxies, t.scores_of([(3, 3, 3, 3, 3, 3)], "params") > 0
        (3, ['synflow', 'params'], array([ True]))
    """
    from ..estimators.zero_cost import proxy_info
    from ..execution import SerialExecutor, resolve_device, stream
    from ..spaces import SPACES

    resolved = protocol.resolved()
    chunk = check_int("chunk", chunk, 1)
    resolve_device(device)  # an unknown or absent device fails here, before anything is written
    device_arg = str(device) if device is not None else "auto"
    space = SPACES.get(resolved["space"])()
    if archs is None:
        try:
            members = list(space.all_archs())
        except NotImplementedError:
            raise ConfigError(f"space {space.name!r} is not enumerable: give the architectures to score "
                              "(--arch-file)") from None
    else:
        members = [space.validate(a) for a in archs]
        if not members:
            raise ConfigError("no architectures to score (the architecture list is empty)")
    reps: dict[Any, tuple[int, ...]] = {}
    for a in members:
        reps.setdefault(space.canonical_key(a), space.canonical(a))
    cells = list(reps.values())
    data_root = None if data_dir is None else os.fspath(data_dir)
    _protocol_batch(resolved, data_root)  # a missing dataset fails here, before anything is written

    out_dir = Path(out)
    if (out_dir / META_FILE).is_file():
        table = ProxyTable(out_dir)
        if table.protocol != resolved:
            raise ConfigError(f"{out_dir} already holds a table of another protocol; choose another --out")
        if archs is not None and any(space.canonical_key(a) not in table._row for a in cells):
            raise ConfigError(f"{out_dir} already holds a finished table of other cells; choose another --out")
        return table
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / PARTIAL_FILE
    done = _read_partial(partial, resolved) if partial.exists() else {}
    todo = [a for a in cells if space.to_str(a) not in done]
    if limit is not None:
        todo = todo[: max(0, check_int("limit", limit, 0) - len(done))]
    own = executor is None
    ex = SerialExecutor() if own else executor
    data_arg = data_root
    try:
        with open(partial, "a") as fh, _Bar(progress, len(cells), len(done)) as advance:
            if fh.tell() == 0:
                fh.write(json.dumps({"protocol": resolved}) + "\n")
                fh.flush()
            tasks = ((resolved, c, data_arg, device_arg) for c in _chunks(todo, chunk))
            for _, fut in stream(ex, _score_chunk, tasks):
                for rec in fut.result():
                    fh.write(json.dumps(rec) + "\n")
                    done[rec["arch"]] = rec
                    advance(1)
                fh.flush()
    finally:
        if own:
            ex.shutdown()
    if len(done) < len(cells):
        return None
    names = resolved["proxies"]
    rows = [done[space.to_str(a)] for a in cells]
    scores = np.array([[np.nan if r["scores"][n] is None else r["scores"][n] for n in names] for r in rows],
                      dtype=np.float64)
    seconds = np.array([[r["seconds"][n] for n in names] for r in rows], dtype=np.float32)
    arch = np.array([r["arch"] for r in rows])

    def write_arrays(f: Any) -> None:
        np.savez_compressed(f, arch=arch, scores=scores, seconds=seconds)

    atomic_write(out_dir / ARRAYS_FILE, write_arrays)
    from ._builder import _nasrank_version

    meta = {
        "format": TABLE_FORMAT, "format_version": TABLE_FORMAT_VERSION, "name": f"{space.name}-{resolved['dataset']}",
        "protocol": resolved, "proxies": names,
        "higher_is_better": {n: bool(proxy_info(n)["higher_is_better"]) for n in names},
        "cells": len(rows), "complete": archs is None, "space_size": space.size,
        "errors": sum("error" in r for r in rows),
        "seconds_total": round(float(seconds.sum()), 1),
        **_devices_of(rows),
        "threads": _threads(), "nasrank_version": _nasrank_version(),
        "build_command": shlex.join(["nasrank", *sys.argv[1:]]) if Path(sys.argv[0]).name == "nasrank" else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write(out_dir / META_FILE, lambda f: f.write(json.dumps(meta, indent=2).encode() + b"\n"))
    partial.unlink()
    return ProxyTable(out_dir)


def _devices_of(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``device`` / ``device_name`` (the one that scored most rows) and ``devices`` (rows per
    device, most first) for the metadata; rows scored before devices were recorded count as
    ``"unknown"``."""
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (str(r.get("device", "unknown")), str(r.get("device_name", "unknown")))
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    devices = [{"device": d, "device_name": n, "cells": c} for (d, n), c in ranked]
    first = devices[0] if devices else {"device": "unknown", "device_name": "unknown"}
    return {"device": first["device"], "device_name": first["device_name"], "devices": devices}


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())


class _Bar:
    """A rich progress bar over table rows (plain log lines when stderr is not a terminal)."""

    def __init__(self, enabled: bool, total: int, completed: int) -> None:
        self.enabled, self.total, self.completed = enabled, total, completed
        self._p: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda n: None
        t0, start = time.perf_counter(), self.completed
        if not sys.stderr.isatty():
            def log(n: int) -> None:
                self.completed += n
                if self.completed % 50 == 0 or self.completed == self.total:
                    el = time.perf_counter() - t0
                    eta = el / max(self.completed - start, 1) * (self.total - self.completed)
                    print(f"[{self.completed}/{self.total}] elapsed={el:.0f}s eta={eta:.0f}s",
                          file=sys.stderr, flush=True)
            return log
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._p = Progress(TextColumn("[bold]scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           TextColumn("eta"), TimeRemainingColumn(), console=Console(file=sys.stderr))
        self._p.start()
        task = self._p.add_task("score", total=self.total, completed=self.completed)
        return lambda n: self._p.update(task, advance=n)

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.stop()
