"""A label-free ensemble of scorers: each member's score as a quantile of a fixed reference sample.

Rank aggregation over the candidates of one call (:mod:`nasrank.evaluation.ensembles`) would make
a candidate's score depend on which other candidates were scored with it. :class:`EnsembleScorer`
instead places each member's value against a fixed *reference* sample of architectures (scored
once), so a score depends on the architecture alone: a call with one architecture gives the same
value as a call with a thousand.

Quantile of a value ``v`` against a member's reference values ``r_1..r_n`` (empirical CDF with
mid-ties): ``(#{r_i < v} + #{r_i == v} / 2) / n``, where a NaN reference value counts as below
every number (NaN = worst, as in :func:`~nasrank.evaluation.rank_table`) and a NaN ``v`` has
quantile 0. The ensemble's score is

* ``"mean"``: the mean of the members' quantiles (in ``[0, 1]``);
* ``"log"``: ``sum over members of log(max(q, 1 / (2 n)))`` (AZ-NAS-like: rewards being good on
  every member; at most 0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._validate import check_int
from ..exceptions import ConfigError
from ._scorers import Arch, Scorer

__all__ = ["EnsembleScorer", "CombinerScorer", "ensemble_scorer", "ENSEMBLE_MODES", "reference_quantiles"]

#: The combination modes of :class:`EnsembleScorer`.
ENSEMBLE_MODES: tuple[str, ...] = ("mean", "log")
#: Spec prefixes of :func:`ensemble_scorer` and the mode each selects.
_PREFIXES = {"ensemble": "mean", "ensemble-log": "log"}


def reference_quantiles(values: Sequence[float] | np.ndarray,
                        reference: Sequence[float] | np.ndarray) -> np.ndarray:
    """Empirical-CDF quantiles of ``values`` against ``reference`` (mid-ties; NaN = worst).

    Example:
        >>> reference_quantiles([0.0, 2.0, 5.0, float("nan")], [1.0, 2.0, 3.0, float("nan")]).tolist()
        [0.25, 0.625, 1.0, 0.0]
    """
    v = np.asarray(values, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if r.ndim != 1 or r.size == 0:
        raise ConfigError("the reference needs at least one value")
    nan_ref = int(np.isnan(r).sum())
    finite = np.sort(r[~np.isnan(r)])
    below = np.searchsorted(finite, v, side="left")
    upto = np.searchsorted(finite, v, side="right")
    q = (nan_ref + below + 0.5 * (upto - below)) / r.size
    return np.where(np.isnan(v), 0.0, q)


class EnsembleScorer(Scorer):
    """Combines several member scorers label-free through quantiles against a reference sample.

    The reference architectures are scored by every member once, lazily on the first call (their
    cost lands in each member's ``cost_``). ``cost_`` is the sum of the members' ``cost_``.

    Args:
        members: The member scorers (each higher = better; NaN allowed).
        reference: Reference architectures (e.g. 100 space samples drawn with a seed; see
            :func:`ensemble_scorer`).
        mode: ``"mean"`` (mean quantile) or ``"log"`` (sum of log quantiles, clipped at
            ``1 / (2 n_ref)``); see the module docstring.

    Attributes:
        reference_values_: Per member, its scores of the reference (after the first call).

    Example:
        >>> from nasrank.search import TableScorer
        >>> archs = [(i,) for i in range(5)]
        >>> a = TableScorer(archs, [0.0, 1.0, 2.0, 3.0, 4.0], name="a")
        >>> b = TableScorer(archs, [4.0, 3.0, 2.0, 1.0, 0.0], name="b")
        >>> ens = EnsembleScorer([a, b], reference=archs[1:])
        >>> ens([(0,), (4,)]).tolist(), ens([(4,)]).tolist()
        ([0.5, 0.5], [0.5])
        >>> ens.config()["reference"]
        4
    """

    def __init__(self, members: Sequence[Scorer], reference: Sequence[Arch], mode: str = "mean") -> None:
        members = list(members)
        if not members or not all(isinstance(m, Scorer) for m in members):
            raise ConfigError("`members` must be a non-empty sequence of Scorer objects")
        if mode not in ENSEMBLE_MODES:
            raise ConfigError(f"`mode` must be one of {list(ENSEMBLE_MODES)}, got {mode!r}")
        reference = [tuple(a) for a in reference]
        if not reference:
            raise ConfigError("`reference` must hold at least one architecture")
        self.members = members
        self.reference = reference
        self.mode = mode
        self.reference_values_: list[np.ndarray] | None = None

    @property
    def cost_(self) -> float:  # type: ignore[override]
        """Seconds spent by all members (reference scoring included)."""
        return float(sum(float(getattr(m, "cost_", 0.0)) for m in self.members))

    @staticmethod
    def _scores(member: Scorer, archs: Sequence[Arch]) -> np.ndarray:
        v = np.asarray(member(archs), dtype=np.float64).reshape(-1)
        if v.shape != (len(archs),):
            raise ConfigError(f"member {member.config()} returned {v.size} scores for {len(archs)} architectures")
        return v

    def _reference_values(self) -> list[np.ndarray]:
        if self.reference_values_ is None:
            self.reference_values_ = [self._scores(m, self.reference) for m in self.members]
        return self.reference_values_

    def quantiles(self, archs: Sequence[Arch]) -> np.ndarray:
        """Each member's quantile of each architecture, shape ``(len(archs), len(members))``.

        Example:
            >>> from nasrank.search import TableScorer
            >>> a = TableScorer([(0,), (1,)], [0.0, 1.0])
            >>> EnsembleScorer([a], [(0,), (1,)]).quantiles([(1,)]).tolist()
            [[0.75]]
        """
        refs = self._reference_values()
        out = np.empty((len(archs), len(self.members)))
        if len(archs):
            for j, (m, r) in enumerate(zip(self.members, refs, strict=True)):
                out[:, j] = reference_quantiles(self._scores(m, archs), r)
        return out

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        q = self.quantiles(archs)
        if self.mode == "mean":
            return q.mean(axis=1)
        floor = 1.0 / (2 * len(self.reference))
        return np.log(np.maximum(q, floor)).sum(axis=1)

    def config(self) -> dict[str, Any]:
        return {"kind": "ensemble", "mode": self.mode, "members": [m.config() for m in self.members],
                "reference": len(self.reference)}


def _parse_spec(spec: str) -> tuple[str, list[str]]:
    text = str(spec).strip()
    head, sep, tail = text.partition(":")
    prefix = head.strip().lower().replace("_", "-")
    if not sep or prefix not in _PREFIXES:
        raise ConfigError(f"an ensemble spec looks like 'ensemble:nwot,synflow' or 'ensemble-log:nwot,synflow', "
                          f"got {spec!r}")
    names = [n.strip() for n in tail.split(",")]
    if any(not n for n in names):
        raise ConfigError(f"empty member name in ensemble spec {spec!r} (names are separated by single commas)")
    if len(names) < 2:
        raise ConfigError(f"an ensemble needs at least 2 members, got {names} in {spec!r}")
    lowered = [n.lower() for n in names]
    dups = sorted({n for n in lowered if lowered.count(n) > 1})
    if dups:
        raise ConfigError(f"ensemble members repeat: {', '.join(dups)} in {spec!r}")
    return _PREFIXES[prefix], names


def _draw_reference(space: Any, size: int, seed: int) -> list[Arch]:
    """``size`` sampled architectures of distinct classes; fewer when a small space (e.g. a
    benchmark's 40 cells) has no more (1,000 draws in a row without a new class end the draw)."""
    rng = np.random.default_rng(seed)
    keys: set[Any] = set()
    out: list[Arch] = []
    misses = 0
    while len(out) < size and misses < 1000:
        a = tuple(space.sample(rng))
        k = space.canonical_key(a)
        if k in keys:
            misses += 1
            continue
        keys.add(k)
        out.append(a)
        misses = 0
    if len(out) < 2:
        raise ConfigError(f"could not draw 2 distinct reference architectures from the space (found {len(out)})")
    return out


def ensemble_scorer(spec: str, make_member: Callable[[str], Scorer], space: Any, seed: int = 0,
                    reference_size: int = 100) -> EnsembleScorer:
    """An :class:`EnsembleScorer` from a spec such as ``"ensemble:nwot,synflow,gradsign"``.

    ``ensemble:`` selects mode ``"mean"``, ``ensemble-log:`` mode ``"log"``; the member names
    (at least 2, no repeats) are passed one by one to ``make_member``. The reference is
    ``reference_size`` architectures of distinct canonical keys drawn with ``space.sample(rng)``,
    ``rng = numpy.random.default_rng(seed)``.

    Args:
        spec: The ensemble spec.
        make_member: Name -> member :class:`Scorer` (e.g. a :class:`ProxyScorer` factory).
        space: The search space object (``sample``, ``canonical_key``).
        seed: Seed of the reference draw.
        reference_size: Number of reference architectures (>= 1; fewer if the space has fewer
            classes).

    Raises:
        ConfigError: for a malformed spec, fewer than 2 or repeated names, a bad size or seed,
            a space too small for the reference, or a ``make_member`` that returns no Scorer.

    Example:
        >>> from nasrank.search import TableScorer
        >>> from nasrank.spaces import SPACES
        >>> space = SPACES.get("nb201")()
        >>> make = lambda name: TableScorer(list(space.all_archs()), [float(sum(a)) for a in space.all_archs()],
        ...                                 name=name)
        >>> ens = ensemble_scorer("ensemble-log:a,b", make, space, reference_size=20)
        >>> ens.config()["mode"], ens.config()["reference"], [m["name"] for m in ens.config()["members"]]
        ('log', 20, ['a', 'b'])
    """
    mode, names = _parse_spec(spec)
    size = check_int("reference_size", reference_size, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    members = []
    for n in names:
        m = make_member(n)
        if not isinstance(m, Scorer):
            raise ConfigError(f"make_member({n!r}) must return a Scorer, got {type(m).__name__}")
        members.append(m)
    return EnsembleScorer(members, _draw_reference(space, size, seed), mode=mode)


class CombinerScorer(Scorer):
    """A few-label combiner as a search scorer: member scorers' values through a fitted
    :class:`~nasrank.evaluation.FewLabelCombiner`.

    Fit it on k architectures whose accuracy you paid for (:meth:`fit`), then hand it to a
    proxy-assisted strategy (``create_strategy("g-rea", space, scorer=...)``) like any scorer.
    ``cost_`` is the members' seconds (the labels' cost is yours to count).

    Args:
        members: Proxy name -> member :class:`Scorer` (each higher = better).
        combiner: A fitted :class:`~nasrank.evaluation.FewLabelCombiner` over those names.
        encode: Optional ``arch -> feature vector`` (e.g. ``space.encode``) when the combiner was
            fitted with an encoding.

    Example:
        >>> from nasrank.search import TableScorer
        >>> archs = [(i,) for i in range(40)]
        >>> a = TableScorer(archs, [float(i % 7) for i in range(40)], name="a")
        >>> b = TableScorer(archs, [float(i) for i in range(40)], name="b")
        >>> acc = [0.5 + 0.01 * i for i in range(40)]              # follows b, not a
        >>> s = CombinerScorer.fit({"a": a, "b": b}, archs[:20], acc[:20], model="ridge")
        >>> bool(s([(39,)])[0] > s([(21,)])[0])
        True
    """

    def __init__(self, members: Mapping[str, Scorer], combiner: Any, encode: Callable[[Arch], Any] | None = None
                 ) -> None:
        if not members or not all(isinstance(m, Scorer) for m in members.values()):
            raise ConfigError("`members` must map proxy names to Scorer objects")
        if not hasattr(combiner, "model_"):
            raise ConfigError("the combiner is not fitted: use CombinerScorer.fit or fit it first")
        self.members = dict(members)
        self.combiner = combiner
        self.encode = encode
        self.labels_: int | None = None

    @classmethod
    def fit(cls, members: Mapping[str, Scorer], archs: Sequence[Arch], labels: Sequence[float],
            model: str = "gbm", seed: int = 0, encode: Callable[[Arch], Any] | None = None) -> CombinerScorer:
        """Score ``archs`` with every member, fit a ``model`` combiner on ``labels`` (higher =
        better, e.g. validation accuracy), and return the scorer."""
        from ..evaluation import FewLabelCombiner

        archs = [tuple(a) for a in archs]
        table = {n: np.asarray(m(archs), dtype=np.float64) for n, m in members.items()}
        enc = None if encode is None else np.stack([np.asarray(encode(a), dtype=np.float64) for a in archs])
        comb = FewLabelCombiner(model=model, seed=seed).fit(table, labels, encoding=enc)
        out = cls(members, comb, encode)
        out.labels_ = len(archs)
        return out

    @property
    def cost_(self) -> float:  # type: ignore[override]
        """Seconds spent by the members."""
        return float(sum(float(getattr(m, "cost_", 0.0)) for m in self.members.values()))

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        archs = [tuple(a) for a in archs]
        if not archs:
            return np.empty(0)
        table = {n: np.asarray(m(archs), dtype=np.float64) for n, m in self.members.items()}
        enc = None if self.encode is None else np.stack([np.asarray(self.encode(a), dtype=np.float64)
                                                         for a in archs])
        return np.asarray(self.combiner.predict(table, encoding=enc), dtype=np.float64)

    def config(self) -> dict[str, Any]:
        return {"kind": "combiner", "model": self.combiner.model, "members": {n: m.config() for n, m in
                                                                             self.members.items()},
                "labels": self.labels_, "encoding": self.encode is not None}
