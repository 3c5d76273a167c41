"""Zero-Cost-PT: perturbation-based zero-cost operation scoring (Xiang et al., seed 004 §4).

Two stages:

1. **Proposal** (N iterations): start from the untrained supernet with fresh architecture
   parameters, discretise its edges one decision at a time in the chosen edge order; the op kept
   on an edge is ``argmin_o S(A - (e, o))`` (Zero-Cost-PT) — the op whose removal lowers the
   proxy ``S`` most — or ``argmax_o S(A + (e, o))`` (Zero-Cost-DISC). Each decision step draws a
   fresh random minibatch from the first half of the training set. In the DARTS space three
   topology steps per cell type follow (each node keeps 2 input edges: repeatedly delete the
   edge whose removal gives the highest score).
2. **Validation** (V minibatches): every distinct proposal is built as a freshly initialised
   stand-alone network and scored end to end with the same proxy summed over the first V
   training minibatches; the best total wins.

Edge orders and the number of perturbations evaluated per proposal (seed 004 Tab. 5, with
``|O|`` candidates and ``|E|`` edges per cell type):

========================  ==========================  =============================================
order                     perturbations               edge chosen next
========================  ==========================  =============================================
``fixed``                 ``|O||E|``                  first undecided (input to output)
``random``                ``|O||E|``                  uniform among the undecided
``global-op-iter``        ``|O||E|(|E|+1)/2``         the edge of the best (edge, op) over all
                                                      undecided edges, re-evaluated every step
``global-edge-iter``      ``|O||E|(|E|+1)/2``         the edge with the best mean score, likewise
``global-op-once``        ``2|O||E| - |O|``           edges sorted once by their best op score
``global-edge-once``      ``2|O||E| - |O|``           edges sorted once by their mean score
========================  ==========================  =============================================

In the "once" orders the first edge reuses the initial evaluation; the released code never
sorts the edges it evaluated (it pops them in reverse insertion order, reference §3.3) — the
paper's sorted order is followed here.

Work that cannot change a score is not repeated: removing ``none`` (never executed) leaves the
supernet unchanged, so ``S(A - (e, none)) = S(A)`` is computed once per step and reused for
every edge; such reuses are counted as evaluations.

The search runs on any space whose :meth:`~nasrank.spaces.SearchSpace.supernet` exists: it uses
the :class:`~nasrank.oneshot.Supernet` protocol (weight-matrix forward, topology nodes,
architecture of the decisions) and the :class:`~nasrank.nn.SoftmaxAlpha` parameterisation
(``softmax(alpha)`` with the projection state ``A``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

import numpy as np
import torch

from .._validate import check_int as _check_int
from ..data import ImageDataset
from ..exceptions import ConfigError
from ..nn.supernet import SoftmaxAlpha
from ..spaces import SPACES
from ..spaces.base import Arch, SearchSpace
from ._protocols import Supernet
from ._proxy import INACTIVE_RELUS, check_relu_hooks, naswot_score, proxy_sign, supernet_score
from ._scoring import perturbation_values

__all__ = ["ZeroCostPT", "ZeroCostPTResult", "ORDERS", "MODES", "expected_perturbations",
           "propose", "validation_score"]

ORDERS = ("fixed", "random", "global-op-iter", "global-op-once", "global-edge-iter",
          "global-edge-once")
MODES = ("perturb", "discretize")

Batch = tuple[torch.Tensor, torch.Tensor]
Scorer = Callable[[np.ndarray, Batch], float]


def expected_perturbations(order: str, num_ops: int, num_edges: int) -> int:
    """Perturbations evaluated per proposal for one cell type (seed 004 Tab. 5).

    Example:
        >>> [expected_perturbations(o, 5, 6) for o in ORDERS]
        [30, 30, 105, 55, 105, 55]
    """
    if order in ("fixed", "random"):
        return num_ops * num_edges
    if order in ("global-op-iter", "global-edge-iter"):
        return num_ops * num_edges * (num_edges + 1) // 2
    if order in ("global-op-once", "global-edge-once"):
        return 2 * num_ops * num_edges - num_ops
    raise ConfigError(f"unknown edge order {order!r}; valid: {', '.join(ORDERS)}")


def _best(values: np.ndarray, allowed: np.ndarray | None = None) -> int:
    """Index of the largest value, NaN treated as worst; if all are NaN, the first index that
    ``allowed`` permits (a candidate of the edge), else 0."""
    v = np.where(np.isnan(values), -np.inf, values)
    if allowed is not None and not np.isfinite(v).any() and not np.isposinf(v).any():
        ok = np.flatnonzero(np.asarray(allowed, dtype=bool))
        if ok.size:
            return int(ok[0])
    return int(np.argmax(v))


class _Evaluator:
    """Orients and counts the (edge, op) scores of the current state ``A`` on one batch."""

    def __init__(self, supernet: Supernet, param: SoftmaxAlpha, score: Scorer, mode: str,
                 sign: float) -> None:
        self.param, self.score, self.mode, self.sign = param, score, mode, sign
        self.count = 0
        self.none = supernet.ops.index("none") if "none" in supernet.ops else None
        mask_of = getattr(supernet, "candidate_mask", None)
        self.mask = (np.asarray(mask_of(), dtype=bool) if mask_of is not None
                     else np.ones((param.num_edges, param.num_ops), dtype=bool))

    def preferences(self, edges: Sequence[int], batch: Batch) -> np.ndarray:
        """``pref[i, o]``: higher = keep op ``o`` on ``edges[i]`` (perturb: -S(A - (e, o)));
        NaN where ``o`` is no candidate of the edge (not scored)."""
        perturb = self.mode == "perturb"
        values = perturbation_values(self.param, edges, lambda w: self.score(w, batch), perturb,
                                     self.none, self.mask)
        self.count += int(self.mask[list(edges)].sum())
        return -self.sign * values if perturb else self.sign * values

    def cleaned(self, edges: Sequence[int], pref: np.ndarray) -> np.ndarray:
        """``pref`` with failed scores (NaN on a candidate) as ``-inf`` and non-candidates as
        NaN, for per-edge summaries that ignore the non-candidates."""
        cand = self.mask[list(edges)]
        return np.where(cand, np.where(np.isnan(pref), -np.inf, pref), np.nan)


def propose(
    supernet: Supernet,
    score: Scorer,
    next_batch: Callable[[], Batch],
    order: str = "random",
    mode: str = "perturb",
    rng: np.random.Generator | None = None,
    sign: float = 1.0,
    param: SoftmaxAlpha | None = None,
) -> tuple[Arch, int, int]:
    """One proposal iteration: decides every edge of the projection state ``param``.

    Args:
        supernet: A :class:`~nasrank.oneshot.Supernet`.
        score: ``score(weights, batch) -> S`` (e.g. :func:`supernet_score` bound to a proxy).
        next_batch: Returns a fresh minibatch (called once per decision step).
        order: Edge order, one of :data:`ORDERS`.
        mode: ``"perturb"`` (Zero-Cost-PT) or ``"discretize"`` (Zero-Cost-DISC).
        rng: Generator of the random edge order.
        sign: +1 if a higher ``S`` is better, else -1.
        param: The :class:`~nasrank.nn.SoftmaxAlpha` with fresh architecture parameters (no
            decided edges) whose projection state the proposal changes; default the
            supernet's own ``arch_param``.

    Returns:
        ``(architecture, perturbations evaluated, topology evaluations)``.

    Example:
        >>> import nasrank
        >>> net = nasrank.create_space("nb201").supernet(C=2, N=1)
        >>> param = SoftmaxAlpha(torch.zeros(net.num_edges, len(net.ops)))
        >>> param.reset(0)
        >>> batch = None  # the stand-in score below reads no data
        >>> fake = lambda w, b: float(w[:, 3].sum())  # prefers keeping nor_conv_3x3
        >>> propose(net, fake, lambda: batch, order="fixed", param=param)
        ((3, 3, 3, 3, 3, 3), 30, 0)
    """
    if order not in ORDERS:
        raise ConfigError(f"unknown edge order {order!r}; valid: {', '.join(ORDERS)}")
    if mode not in MODES:
        raise ConfigError(f"`mode` must be one of {MODES}, got {mode!r}")
    gen = rng if rng is not None else np.random.default_rng(0)
    p = param if param is not None else supernet.arch_param
    ev = _Evaluator(supernet, p, score, mode, sign)
    groups = [list(g) for g in supernet.edge_groups]
    once_order: dict[int, list[int]] = {}
    once_first: dict[int, tuple[int, np.ndarray]] = {}
    while any(p.undecided(g) for g in groups):
        for gi, group in enumerate(groups):
            remaining = p.undecided(group)
            if not remaining:
                continue
            if order in ("fixed", "random"):
                e = remaining[0] if order == "fixed" else remaining[int(gen.integers(len(remaining)))]
                pref = ev.preferences([e], next_batch())[0]
                p.decide(e, _best(pref, ev.mask[e]))
            elif order in ("global-op-iter", "global-edge-iter"):
                pref = ev.preferences(remaining, next_batch())
                if order == "global-op-iter":
                    flat = _best(pref.reshape(-1), ev.mask[remaining].reshape(-1))
                    i, o = divmod(flat, pref.shape[1])
                else:
                    i = _best(np.nanmean(ev.cleaned(remaining, pref), axis=1))
                    o = _best(pref[i], ev.mask[remaining[i]])
                p.decide(remaining[i], o)
            else:  # global-*-once
                if gi not in once_order:
                    pref = ev.preferences(remaining, next_batch())
                    clean = ev.cleaned(remaining, pref)
                    key = (np.nanmax(clean, axis=1) if order == "global-op-once"
                           else np.nanmean(clean, axis=1))
                    ranked = [remaining[i] for i in np.argsort(-key, kind="stable")]
                    once_order[gi] = ranked
                    first = ranked[0]
                    once_first[gi] = (first, pref[remaining.index(first)])
                e = once_order[gi].pop(0)
                if gi in once_first and once_first[gi][0] == e:
                    pref_e = once_first.pop(gi)[1]
                else:
                    pref_e = ev.preferences([e], next_batch())[0]
                p.decide(e, _best(pref_e, ev.mask[e]))
    perturbations = ev.count
    topo = 0
    nodes = supernet.topology_nodes(p.removed_edges_)
    keep_of = getattr(supernet, "topology_keep", None)
    keeps = list(keep_of()) if keep_of is not None else [2] * len(nodes)
    for cands, keep in zip(nodes, keeps, strict=True):
        cands = list(cands)
        while len(cands) > keep:
            batch = next_batch()
            base = p.weights()
            s = np.array([score(p.without_edge(e, base), batch) for e in cands]) * sign
            topo += len(cands)
            # delete the edge whose removal hurts least (highest remaining score)
            victim = cands[_best(s)]
            p.remove_edge(victim)
            cands.remove(victim)
    return supernet.arch_from_decisions(p.decided_, p.removed_edges_), perturbations, topo


def validation_score(
    net: torch.nn.Module, batches: Sequence[Batch] | Any, proxy: str = "nwot", seed: int = 0,
    relu_hooks: str = "relu",
) -> list[float]:
    """Per-minibatch proxy values of a stand-alone network (summed by Zero-Cost-PT).

    ``nwot`` is scored with eval-mode BatchNorm in one no-grad pass per batch (the reference);
    other proxies through :func:`~nasrank.compute_proxies`. ``relu_hooks="released"`` (``nwot``
    only) reads the released code's hook set: every convolution of the network (a ReLUConvBN
    block) counts twice, including those on nodes that are zero or cannot reach the output
    (every operation of the architecture runs, as in the canonical NB201 network); the
    candidates the architecture does not use do not exist there and are not counted.

    Example:
        >>> import nasrank
        >>> net = nasrank.create_space("nb201").build((3, 3, 0, 1, 3, 4), C=2, N=1)
        >>> b = (torch.randn(4, 3, 4, 4), torch.zeros(4, dtype=torch.long))
        >>> len(validation_score(net, [b, b]))
        2
    """
    from ..estimators.zero_cost import compute_proxies

    check_relu_hooks(relu_hooks, proxy)
    out = []
    for x, y in batches:
        if proxy == "nwot":
            out.append(naswot_score(net, x, relu_hooks=relu_hooks))
        else:
            out.append(float(compute_proxies(net, (x, y), [proxy], seed=seed)[proxy]))
    return out


@dataclass
class ZeroCostPTResult:
    """Outcome of one Zero-Cost-PT search.

    Attributes:
        arch: The selected architecture.
        arch_str: Its string form.
        proposals: The N proposed architectures, in order.
        validation: ``{arch string: summed validation score}`` of the distinct proposals.
        perturbations: Perturbations evaluated per proposal (seed 004 Tab. 5 counts).
        topology_evaluations: Topology-step evaluations per proposal (DARTS space).
        seconds_proposal: Wall time of the proposal stage.
        seconds_validation: Wall time of the validation stage.
        config: The search configuration (without the device, which does not change the result
            beyond floating-point rounding).
        device: Where the supernet and the validation networks ran (e.g. ``"cuda:0"``).
        device_name: That device's name (a GPU model, or the CPU's).
    """

    arch: Arch
    arch_str: str
    proposals: list[Arch]
    validation: dict[str, float]
    perturbations: list[int]
    topology_evaluations: list[int]
    seconds_proposal: float
    seconds_validation: float
    config: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    device_name: str = ""

    @property
    def seconds(self) -> float:
        """Total wall time."""
        return self.seconds_proposal + self.seconds_validation

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["arch"] = list(self.arch)
        d["proposals"] = [list(a) for a in self.proposals]
        return d




@cache
def _supernet_relu_hook_modes(space: str) -> tuple[str, ...]:
    """The NASWOT hook sets the supernet of ``space`` implements (its ``relu_hook_modes``)."""
    with torch.random.fork_rng(devices=[]):
        probe = SPACES.get(space)().supernet()
    return tuple(getattr(probe, "relu_hook_modes", ("relu",)))


class ZeroCostPT:
    """Zero-Cost-PT architecture search on an untrained supernet.

    Args:
        space: A registered space with a weight-sharing supernet (``nb201``, ``darts``).
        proxy: Any registered zero-cost proxy (default ``nwot``, the paper's best).
        order: Edge order, one of :data:`ORDERS` (default ``random``, the paper's default).
        proposals: N, number of proposal iterations.
        validation: V, minibatches summed in the validation stage (0: the most frequent
            proposal is returned).
        batch_size: Minibatch size of both stages (the authors' scripts: 256 on NB201, 64 on
            the DARTS space; the default here is 64).
        mode: ``"perturb"`` (Zero-Cost-PT) or ``"discretize"`` (Zero-Cost-DISC).
        inactive_relus: ``"skip"`` (paper) or ``"count"`` (released NB201 code); see
            :func:`~nasrank.oneshot.supernet_score`.
        supernet_config: Keyword arguments of ``space.supernet`` (defaults: the supernet's own,
            NB201 C=16, N=5; DARTS C=16, layers=8).
        network_config: Keyword arguments of the stand-alone networks of the validation stage
            (``space.derived_network``), on top of ``space.default_config("supernet")``
            (NB201: the benchmark network C=16, N=5; DARTS: C=16, layers=8, as searched).
        train_portion: Fraction of the training set (from its start) proposal batches come from.
        relu_hooks: NASWOT hook set: ``"relu"`` (default, every ReLU once) or ``"released"``, a
            bug-compatible mode reproducing the released NB201 code, whose hooks also read the
            ReLUConvBN blocks (in the proposal stage it implies ``inactive_relus="count"``; in
            the validation stage every convolution counts twice); see
            :func:`~nasrank.oneshot.supernet_score` and :func:`validation_score`. ``nwot`` on
            the NB201 space only (other spaces' released code would need their own rules: a
            ConfigError).
        device: Where the supernet, the minibatches and the stand-alone validation networks
            live: ``"cpu"`` (default), ``"auto"`` (the first GPU if any, else the CPU),
            ``"cuda"``, ``"cuda:N"`` or ``"mps"``. Networks are built on the CPU under the seed
            and then moved, so the device changes results only by floating-point rounding; it
            is not part of :meth:`config`, and the result records it.

    Example:
        >>> zc = ZeroCostPT("nb201", order="global-op-iter", proposals=10, validation=100)
        >>> zc.config()["order"]
        'global-op-iter'

        A search (minutes for these settings on CPU with CIFAR-10; seconds on ``digits`` with a
        small supernet)::

            from nasrank.data import load_dataset
            res = zc.search(load_dataset("cifar10"), seed=0)
            print(res.arch_str, res.seconds)
    """

    def __init__(
        self,
        space: str = "nb201",
        proxy: str = "nwot",
        order: str = "random",
        proposals: int = 10,
        validation: int = 100,
        batch_size: int = 64,
        mode: str = "perturb",
        inactive_relus: str = "skip",
        supernet_config: dict[str, Any] | None = None,
        network_config: dict[str, Any] | None = None,
        train_portion: float = 0.5,
        relu_hooks: str = "relu",
        device: Any = "cpu",
    ) -> None:
        self.space = space
        self.proxy = proxy
        self.order = order
        self.proposals = proposals
        self.validation = validation
        self.batch_size = batch_size
        self.mode = mode
        self.inactive_relus = inactive_relus
        self.supernet_config = supernet_config
        self.network_config = network_config
        self.train_portion = train_portion
        self.relu_hooks = relu_hooks
        self.device = device

    def _space(self) -> SearchSpace:
        space = SPACES.get(self.space)()
        if not space.has_supernet:
            with_one = [n for n in SPACES.list() if SPACES.get(n)().has_supernet]
            raise ConfigError(f"Zero-Cost-PT needs a space with a weight-sharing supernet; "
                              f"{self.space!r} has none (spaces with one: {', '.join(with_one)})")
        return space

    def _device(self) -> torch.device:
        from ..execution import resolve_device

        return resolve_device(self.device)

    def _check(self) -> None:
        self._space()
        self._device()  # an unknown or absent device: a one-line ConfigError
        proxy_sign(self.proxy)  # unknown proxies raise UnknownNameError
        if self.order not in ORDERS:
            raise ConfigError(f"unknown edge order {self.order!r}; valid: {', '.join(ORDERS)}")
        if self.mode not in MODES:
            raise ConfigError(f"`mode` must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.inactive_relus not in INACTIVE_RELUS:
            raise ConfigError(f"`inactive_relus` must be one of {INACTIVE_RELUS}, "
                              f"got {self.inactive_relus!r}")
        check_relu_hooks(self.relu_hooks, self.proxy)
        if self.relu_hooks != "relu":  # does this space's supernet implement the hook set?
            modes = _supernet_relu_hook_modes(self.space)
            if self.relu_hooks not in modes:
                raise ConfigError(
                    f"`relu_hooks={self.relu_hooks!r}` (the released Zero-Cost-PT code's NASWOT "
                    f"hook set) is implemented for the NAS-Bench-201 supernet only; the "
                    f"{self.space!r} supernet would need its own rules (use relu_hooks='relu')")
        _check_int("proposals", self.proposals, 1)
        _check_int("validation", self.validation, 0)
        _check_int("batch_size", self.batch_size, 2)
        if not 0.0 < float(self.train_portion) <= 1.0:
            raise ConfigError(f"`train_portion` must be in (0, 1], got {self.train_portion!r}")

    def config(self) -> dict[str, Any]:
        """The constructor arguments as a dict (all but ``device``)."""
        return {k: getattr(self, k) for k in (
            "space", "proxy", "order", "proposals", "validation", "batch_size", "mode",
            "inactive_relus", "supernet_config", "network_config", "train_portion",
            "relu_hooks")}

    # --- pieces, usable one at a time (resumable drivers call these) ------------------------
    def build_supernet(self, data: ImageDataset, seed: int) -> Supernet:
        """The untrained supernet of a search with ``seed`` (weights depend on the seed only),
        on the search's device."""
        cfg = dict(self.supernet_config or {})
        cfg.setdefault("num_classes", data.num_classes)
        cfg.setdefault("in_channels", data.image_shape[0])
        space = self._space()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = space.supernet(**cfg)
        return net.to(self._device()).eval()

    def propose_one(self, supernet: Supernet, data: ImageDataset, seed: int, index: int
                    ) -> tuple[Arch, int, int]:
        """Proposal ``index`` of the search with ``seed`` (independent of the other proposals:
        its architecture parameters, edge order and minibatches come from ``(seed, index)``).
        The proposal's projection state is a fresh :class:`~nasrank.nn.SoftmaxAlpha`; the
        supernet is not modified. Minibatches are made on the supernet's device."""
        self._check()
        gen = np.random.default_rng([seed, index])
        param = SoftmaxAlpha(torch.zeros(supernet.num_edges, len(supernet.ops)))
        param.reset(gen)
        pool = max(self.batch_size, int(len(data) * float(self.train_portion)))
        pool = min(pool, len(data))
        size = min(self.batch_size, pool)

        first = next(iter(supernet.parameters()), None)
        where = first.device if first is not None else None

        def next_batch() -> Batch:
            idx = np.sort(gen.choice(pool, size=size, replace=False))
            return data.batch(torch.from_numpy(idx), device=where)

        def score(w: np.ndarray, batch: Batch) -> float:
            return supernet_score(supernet, w, batch, self.proxy, self.inactive_relus, seed=seed,
                                  relu_hooks=self.relu_hooks)

        return propose(supernet, score, next_batch, self.order, self.mode, gen,
                       proxy_sign(self.proxy), param)

    def validation_batch(self, data: ImageDataset, v: int, device: Any = None) -> Batch:
        """Validation minibatch ``v``: training images ``v*B .. (v+1)*B - 1`` (cycling), on
        ``device`` (default: where the data are)."""
        idx = (torch.arange(self.batch_size) + v * self.batch_size) % len(data)
        return data.batch(idx, device=device)

    def build_network(self, arch: Arch, data: ImageDataset, seed: int) -> torch.nn.Module:
        """A freshly initialised stand-alone network of ``arch`` (init seeded by seed and arch):
        ``space.derived_network`` with ``space.default_config("supernet")`` updated by
        ``network_config``.

        (NB201's is the supernet code path with one-hot weights and affine BatchNorm: the same
        function and parameter set as the benchmark network ``space.build``.) Built on the CPU
        and moved to the search's device.
        """
        space = self._space()
        key = int.from_bytes(space.to_str(arch).encode()[-6:], "little")
        cfg = {**space.default_config("supernet"), **(self.network_config or {})}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed((seed * 1_000_003 + key) % (2**63))
            net = space.derived_network(arch, num_classes=data.num_classes,
                                        in_channels=data.image_shape[0], **cfg)
        return net.to(self._device()).eval()

    def search(
        self,
        data: ImageDataset,
        seed: int = 0,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> ZeroCostPTResult:
        """Run the whole search.

        Args:
            data: Training set (proposal batches from its first ``train_portion``; validation
                batches from its start).
            seed: Seed of the supernet weights, architecture parameters, orders and batches.
            progress: Optional ``progress(stage, done, total)`` callback.

        Returns:
            A :class:`ZeroCostPTResult`.
        """
        from ..execution import device_info

        self._check()
        _check_int("seed", seed, 0)
        space = self._space()
        dev = self._device()
        t0 = time.perf_counter()
        data = data.to(dev)  # once: minibatches are then gathered and normalised on the device
        supernet = self.build_supernet(data, seed)
        archs, perts, topos = [], [], []
        for i in range(self.proposals):
            a, p, t = self.propose_one(supernet, data, seed, i)
            archs.append(a)
            perts.append(p)
            topos.append(t)
            if progress:
                progress("proposal", i + 1, self.proposals)
        t1 = time.perf_counter()
        unique = list(dict.fromkeys(archs))
        totals: dict[str, float] = {}
        if self.validation > 0 and len(unique) > 1:
            sign = proxy_sign(self.proxy)
            done = 0
            for a in unique:
                net = self.build_network(a, data, seed)
                vals = validation_score(
                    net, (self.validation_batch(data, v, dev) for v in range(self.validation)),
                    self.proxy, seed, self.relu_hooks)
                totals[space.to_str(a)] = float(np.sum(vals))
                done += 1
                if progress:
                    progress("validation", done, len(unique))
            scores = np.array([sign * totals[space.to_str(a)] for a in unique])
            best = unique[_best(np.where(np.isfinite(scores), scores, np.nan))]
        else:  # no validation: the most frequent proposal (the first of the ties)
            best = max(unique, key=archs.count)
        t2 = time.perf_counter()
        return ZeroCostPTResult(
            arch=best, arch_str=space.to_str(best), proposals=archs, validation=totals,
            perturbations=perts, topology_evaluations=topos, seconds_proposal=t1 - t0,
            seconds_validation=t2 - t1, config=self.config(), **device_info(dev),
        )

