"""REINFORCE over the space's per-position choices, and its proxy-assisted variant G-REINFORCE."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validate import check_float
from ..exceptions import ConfigError
from ._assist import Assisted
from ._base import STRATEGIES, Arch, Query, Strategy, space_choices

__all__ = ["Reinforce", "AssistedReinforce"]


@STRATEGIES.register("reinforce")
class Reinforce(Strategy):
    """REINFORCE with a moving-average baseline, as in NAS-Bench-201's ``reinforce.py``.

    The policy holds one softmax per position of the encoding over the values
    ``space.choices()`` declares for it (logits start at 0; a row is padded to the longest
    choice and the padding masked out); a sample is mapped onto the space by ``space.project``.
    Every told result updates the policy with Adam along ``(reward - baseline) * grad log
    pi(arch)``, where the baseline is an exponential moving average of the rewards
    (``momentum``). Failed (NaN) results are skipped. The candidates of a proposal are
    mutations of the policy's sample (proxy-assisted: G-REINFORCE, the scorer's best of
    ``pool_size`` of them; the evaluated cell's log-probability is reinforced).

    Args:
        space: A search space (with per-position ``choices()``) or its name.
        seed: Seed of the strategy's generator.
        lr: Adam learning rate (NB201's default 0.01 [UNCERTAIN: scripts also used 0.001]).
        momentum: Baseline EMA momentum (0.9).

    Example:
        >>> s = Reinforce("nb201", seed=0)
        >>> q = s.ask(); s.tell(q, 0.9); s.logits_.shape
        (6, 5)
    """

    name = "reinforce"

    def __init__(self, space: Any = "nb201", *, seed: int = 0, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(space, seed=seed)
        self.lr = check_float("lr", lr, minimum=0.0, exclusive_min=True)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
            raise ConfigError(f"`momentum` must be a number in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.choices_ = space_choices(self.space, self.name)
        width = max(len(c) for c in self.choices_)
        self.mask_ = np.array([[j < len(c) for j in range(width)] for c in self.choices_])
        self.index_ = [{v: j for j, v in enumerate(c)} for c in self.choices_]
        self.logits_ = np.zeros(self.mask_.shape)
        self.m_ = np.zeros_like(self.logits_)
        self.v_ = np.zeros_like(self.logits_)
        self.t_ = 0
        self.baseline_: float | None = None

    def _probs(self) -> np.ndarray:
        z = np.where(self.mask_, self.logits_, -np.inf)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def _policy_arch(self) -> Arch:
        p = self._probs()
        u = self.rng_.random(len(p))
        arch = tuple(c[min(int(np.searchsorted(np.cumsum(row), x, side="right")), len(c) - 1)]
                     for row, x, c in zip(p, u, self.choices_, strict=True))
        return self.space.project(arch, self.rng_)

    def _ask(self) -> Arch:
        arch = self._policy_arch()
        return self._propose(lambda: self._mutate(arch), default=arch)

    def _tell(self, query: Query, score: float) -> None:
        if math.isnan(score):
            return
        if self.baseline_ is None:
            self.baseline_ = score
        else:
            self.baseline_ = self.momentum * self.baseline_ + (1 - self.momentum) * score
        adv = score - self.baseline_
        grad = -self._probs()
        grad[np.arange(len(grad)), [ix[v] for ix, v in zip(self.index_, query.arch, strict=True)]] += 1.0
        g = -adv * grad  # gradient of the loss -(r - b) log pi
        self.t_ += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        self.m_ = b1 * self.m_ + (1 - b1) * g
        self.v_ = b2 * self.v_ + (1 - b2) * g * g
        mh = self.m_ / (1 - b1 ** self.t_)
        vh = self.v_ / (1 - b2 ** self.t_)
        self.logits_ = self.logits_ - self.lr * mh / (np.sqrt(vh) + eps)

    def _state(self) -> dict[str, Any]:
        return {"logits": self.logits_.tolist(), "m": self.m_.tolist(), "v": self.v_.tolist(), "t": self.t_,
                "baseline": self.baseline_}

    def _load_state(self, state: dict[str, Any]) -> None:
        logits = np.array(state["logits"], dtype=np.float64)
        if logits.shape != self.mask_.shape:
            raise ConfigError(f"saved REINFORCE policy has shape {logits.shape}, this space needs {self.mask_.shape}")
        self.logits_ = logits
        self.m_ = np.array(state["m"], dtype=np.float64)
        self.v_ = np.array(state["v"], dtype=np.float64)
        self.t_ = int(state["t"])
        self.baseline_ = None if state["baseline"] is None else float(state["baseline"])


#: G-REINFORCE (seed 003, Alg. 4): the proxy's best of ``pool_size`` mutations of the policy's cell.
AssistedReinforce = STRATEGIES.register("g-reinforce")(Assisted("g-reinforce", Reinforce, (
    "G-REINFORCE (seed 003, Alg. 4): the policy's cell is replaced by the proxy's best of "
    "``pool_size`` mutations of it; the evaluated cell's log-probability is reinforced."
)))
