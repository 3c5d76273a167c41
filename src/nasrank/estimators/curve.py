"""Learning-curve estimators: the TSE family (seeds 000/001) and the baselines they are compared with.

Every estimator is a small object with keyword parameters, a class attribute
``higher_is_better`` and two methods:

* ``compute(curve, epochs)`` — the raw value from the first ``epochs`` epochs of a
  :class:`~nasrank.training.LearningCurve` (``epochs`` is the budget T, 1-based);
* ``score(curve, epochs)`` — the same value signed so that higher = predicted better.

NaN policy: a NaN/inf anywhere in the values an estimator reads gives NaN (never a sentinel). A
curve flagged ``diverged`` that stopped before ``epochs`` also gives NaN; asking a healthy curve
for more epochs than it has raises :class:`~nasrank.exceptions.ConfigError`.

Example:
    >>> from nasrank.training import LearningCurve
    >>> curve = LearningCurve(train_loss=[2.0, 1.0, 0.5])
    >>> TSE().compute(curve, 2), TSE().score(curve, 2)
    (3.0, -3.0)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from .._validate import check_int as _check_int
from ..exceptions import ConfigError
from ..records import LearningCurve
from ._registries import ESTIMATORS

__all__ = [
    "CurveEstimator",
    "TSE",
    "TSEE",
    "TSEEMA",
    "SoVL",
    "SoVLE",
    "VAccES",
    "TLMini",
    "SoTAcc",
    "SoVAcc",
    "SoG",
    "SoGN",
    "GAMMA_PAPER",
    "GAMMA_RELEASED_CODE",
]

#: The decay the TSE paper recommends for TSE-EMA (seed 000, Sec. 4.1 / App. D).
GAMMA_PAPER = 0.999
#: The decay that makes TSE-EMA rank-equivalent to the authors' released code (reference §4.1).
GAMMA_RELEASED_CODE = 0.1


def _finite_or_nan(x: float) -> float:
    return float(x) if math.isfinite(x) else math.nan


class CurveEstimator(ABC):
    """Base class of estimators computed from a learning curve.

    Subclasses set ``name``, ``higher_is_better`` and ``field`` (the per-epoch record they read)
    and implement :meth:`_compute` on the first ``epochs`` entries of that record.

    Example:
        >>> from nasrank.training import LearningCurve
        >>> VAccES().score(LearningCurve(train_loss=[1.0], val_acc=[0.7]), 1)
        0.7
    """

    name: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = False
    field: ClassVar[str] = "train_loss"

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"

    def _values(self, curve: LearningCurve, epochs: int) -> np.ndarray | None:
        """The first ``epochs`` per-epoch values, or ``None`` when a diverged curve is too short."""
        if not isinstance(curve, LearningCurve):
            raise ConfigError(f"{self.name} needs a LearningCurve, got {type(curve).__name__}")
        epochs = _check_int("epochs", epochs, 1)
        arr = getattr(curve, self.field)
        if arr is None:
            raise ConfigError(
                f"{self.name} needs the curve's {self.field!r} record, which this curve lacks "
                f"({_HOW_TO_GET.get(self.field, 'record it during training')})"
            )
        if epochs > len(arr):
            if curve.diverged:
                return None
            raise ConfigError(
                f"{self.name} at epochs={epochs} needs {epochs} epochs but the curve has {len(arr)}"
            )
        return np.asarray(arr[:epochs], dtype=np.float64)

    def compute(self, curve: LearningCurve, epochs: int) -> float:
        """Raw estimator value from the first ``epochs`` epochs (NaN if the values are not finite)."""
        vals = self._values(curve, epochs)
        if vals is None or not np.all(np.isfinite(self._used(vals, int(epochs)))):
            return math.nan
        return _finite_or_nan(self._compute(vals, curve, int(epochs)))

    def _used(self, values: np.ndarray, epochs: int) -> np.ndarray:
        """The entries the estimator actually reads (NaN outside them does not matter)."""
        return values

    def score(self, curve: LearningCurve, epochs: int) -> float:
        """:meth:`compute` signed so that higher = predicted better (NaN stays NaN)."""
        v = self.compute(curve, epochs)
        return v if self.higher_is_better else -v

    @abstractmethod
    def _compute(self, values: np.ndarray, curve: LearningCurve, epochs: int) -> float:
        """Value from the (finite) first ``epochs`` entries of ``self.field``."""


_HOW_TO_GET = {
    "val_loss": "pass val_set to nasrank.training.train",
    "val_acc": "pass val_set to nasrank.training.train",
    "sog": "train with TrainConfig(track_gradients=True)",
    "sogn": "train with TrainConfig(track_gradients=True)",
    "train_acc": "train with nasrank.training.train",
}


class _Sum(CurveEstimator):
    def _compute(self, values: np.ndarray, curve: LearningCurve, epochs: int) -> float:
        return float(values.sum())


class _WindowSum(CurveEstimator):
    def __init__(self, E: int = 1) -> None:
        self.E = _check_int("E", E, 1)

    def _values(self, curve: LearningCurve, epochs: int) -> np.ndarray | None:
        epochs = _check_int("epochs", epochs, 1)
        if self.E > epochs:
            raise ConfigError(f"{self.name} window E={self.E} is larger than the budget epochs={epochs}")
        return super()._values(curve, epochs)

    def _used(self, values: np.ndarray, epochs: int) -> np.ndarray:
        return values[epochs - self.E :]

    def _compute(self, values: np.ndarray, curve: LearningCurve, epochs: int) -> float:
        return float(values[epochs - self.E :].sum())


@ESTIMATORS.register("tse")
class TSE(_Sum):
    """Training Speed Estimation (= SoTL): sum of the per-epoch training losses, epochs 1..T.

    Lower raw values are better.

    Example:
        >>> from nasrank.training import LearningCurve
        >>> TSE().compute(LearningCurve(train_loss=[2.0, 1.0, 0.5]), 3)
        3.5
    """

    name = "tse"


@ESTIMATORS.register("tse-e")
class TSEE(_WindowSum):
    """TSE-E: sum of the training losses of the last ``E`` epochs, T-E+1..T (``E=1``: epoch T only).

    Args:
        E: Window in epochs (paper default 1). ``E > T`` is an error.

    Example:
        >>> from nasrank.training import LearningCurve
        >>> TSEE(E=2).compute(LearningCurve(train_loss=[2.0, 1.0, 0.5]), 3)
        1.5
    """

    name = "tse-e"


@ESTIMATORS.register("tse-ema")
class TSEEMA(CurveEstimator):
    """TSE-EMA as the paper defines it: sum_{t=1..T} gamma^(T-t) * L_t.

    Args:
        gamma: Decay in [0, 1]. Default 0.999, the paper's recommendation. ``gamma=0.1``
            reproduces (up to a positive factor and a vanishing ``0.1^T L_1`` term, i.e. the same
            ranking) the authors' released code, whose recursion ``ema = 0.1*ema + 0.9*L_t`` puts
            weight 0.9 on the newest epoch. ``gamma=1`` is TSE; ``gamma=0`` is TSE-E with E=1.

    Example:
        >>> from nasrank.training import LearningCurve
        >>> TSEEMA(gamma=0.5).compute(LearningCurve(train_loss=[4.0, 2.0, 1.0]), 3)
        3.0
    """

    name = "tse-ema"

    def __init__(self, gamma: float = GAMMA_PAPER) -> None:
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0.0 <= float(gamma) <= 1.0:
            raise ConfigError(f"`gamma` must be a number in [0, 1], got {gamma!r}")
        self.gamma = float(gamma)

    def _used(self, values: np.ndarray, epochs: int) -> np.ndarray:
        return values if self.gamma > 0 else values[-1:]

    def _compute(self, values: np.ndarray, curve: LearningCurve, epochs: int) -> float:
        if self.gamma == 0:
            return float(values[-1])
        powers = np.arange(epochs - 1, -1, -1, dtype=np.float64)  # T-t for t = 1..T
        weights = np.power(self.gamma, powers)  # 0**0 == 1
        return float(np.dot(weights, values))


@ESTIMATORS.register("sovl")
class SoVL(_Sum):
    """Sum of the per-epoch validation losses, epochs 1..T (lower = better).

    Example:
        >>> from nasrank.training import LearningCurve
        >>> SoVL().compute(LearningCurve(train_loss=[9, 9], val_loss=[2.0, 1.5]), 2)
        3.5
    """

    name = "sovl"
    field = "val_loss"


@ESTIMATORS.register("sovl-e")
class SoVLE(_WindowSum):
    """Sum of the validation losses of the last ``E`` epochs (lower = better).

    Example:
        >>> from nasrank.training import LearningCurve
        >>> SoVLE().compute(LearningCurve(train_loss=[9, 9], val_loss=[2.0, 1.5]), 2)
        1.5
    """

    name = "sovl-e"
    field = "val_loss"


@ESTIMATORS.register("vacc-es")
class VAccES(CurveEstimator):
    """Early-stopped validation accuracy: the validation accuracy after epoch T (higher = better).

    Example:
        >>> from nasrank.training import LearningCurve
        >>> VAccES().compute(LearningCurve(train_loss=[9, 9], val_acc=[0.4, 0.6]), 1)
        0.4
    """

    name = "vacc-es"
    higher_is_better = True
    field = "val_acc"

    def _used(self, values: np.ndarray, epochs: int) -> np.ndarray:
        return values[-1:]

    def _compute(self, values: np.ndarray, curve: LearningCurve, epochs: int) -> float:
        return float(values[-1])


@ESTIMATORS.register("tl-mini")
class TLMini(CurveEstimator):
    """Minibatch training loss (TLmini): the loss of one minibatch of epoch T (lower = better).

    The paper compares TSE with the training loss of single minibatches; this returns the loss of
    minibatch ``step`` (0-based, negative counts from the end; default the last) of epoch T.

    Args:
        step: Index of the minibatch within epoch T.

    Example:
        >>> from nasrank.training import LearningCurve
        >>> c = LearningCurve(train_loss=[2.5, 1.5], minibatch_loss=[3, 2, 2, 1], steps_per_epoch=2)
        >>> TLMini().compute(c, 2), TLMini(step=0).compute(c, 1)
        (1.0, 3.0)
    """

    name = "tl-mini"

    def __init__(self, step: int = -1) -> None:
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise ConfigError(f"`step` must be an int, got {step!r}")
        self.step = int(step)

    def _compute(self, values: np.ndarray, curve: LearningCurve, epochs: int) -> float:
        mb = curve.minibatch_losses(epochs)
        if not -len(mb) <= self.step < len(mb):
            raise ConfigError(f"tl-mini step={self.step} is outside the {len(mb)} minibatches of an epoch")
        return float(mb[self.step])

    def compute(self, curve: LearningCurve, epochs: int) -> float:  # noqa: D102 - see base
        vals = self._values(curve, epochs)
        if vals is None:
            return math.nan
        return _finite_or_nan(self._compute(vals, curve, int(epochs)))


class _OptionalWindowSum(CurveEstimator):
    def __init__(self, E: int | None = None) -> None:
        self.E = None if E is None else _check_int("E", E, 1)

    def _used(self, values: np.ndarray, epochs: int) -> np.ndarray:
        return values if self.E is None else values[max(0, epochs - self.E) :]

    def _compute(self, values: np.ndarray, curve: LearningCurve, epochs: int) -> float:
        if self.E is not None:
            if self.E > epochs:
                raise ConfigError(f"{self.name} window E={self.E} is larger than the budget epochs={epochs}")
            values = values[epochs - self.E :]
        return float(values.sum())


@ESTIMATORS.register("sotacc")
class SoTAcc(_OptionalWindowSum):
    """Sum of the per-epoch training accuracies, epochs 1..T or the last ``E`` (higher = better).

    Args:
        E: Optional window (SoTAcc-E); ``None`` sums all T epochs.

    Example:
        >>> from nasrank.training import LearningCurve
        >>> SoTAcc().compute(LearningCurve(train_loss=[9, 9], train_acc=[0.25, 0.5]), 2)
        0.75
    """

    name = "sotacc"
    higher_is_better = True
    field = "train_acc"


@ESTIMATORS.register("sovacc")
class SoVAcc(_OptionalWindowSum):
    """Sum of the per-epoch validation accuracies, epochs 1..T or the last ``E`` (higher = better).

    Example:
        >>> from nasrank.training import LearningCurve
        >>> SoVAcc(E=1).compute(LearningCurve(train_loss=[9, 9], val_acc=[0.25, 0.5]), 2)
        0.5
    """

    name = "sovacc"
    higher_is_better = True
    field = "val_acc"


@ESTIMATORS.register("sog")
class SoG(CurveEstimator):
    """Sum of Gradients (seed 002, §4.2.4): || sum_steps g_step ||_1 after epoch T (higher = better).

    Gradients are accumulated element-wise over every training step up to the end of epoch T
    and the absolute values of the accumulated vector are summed into a scalar (the sign-sensitive
    accumulation rewards consistent gradient directions; with plain SGD it is proportional to the
    distance travelled from initialisation). Needs ``TrainConfig(track_gradients=True)``.

    Example:
        >>> from nasrank.training import LearningCurve
        >>> SoG().compute(LearningCurve(train_loss=[9, 9], sog=[3.0, 5.0]), 2)
        5.0
    """

    name = "sog"
    higher_is_better = True
    field = "sog"

    def _used(self, values: np.ndarray, epochs: int) -> np.ndarray:
        return values[-1:]

    def _compute(self, values: np.ndarray, curve: LearningCurve, epochs: int) -> float:
        return float(values[-1])


@ESTIMATORS.register("sogn")
class SoGN(SoG):
    """Sum of Gradient Norms (seed 002, §4.2.4): sum over steps of ||g_step||_1 up to epoch T.

    Higher raw values are better (as reported in the seed). Needs
    ``TrainConfig(track_gradients=True)``.

    Example:
        >>> from nasrank.training import LearningCurve
        >>> SoGN().compute(LearningCurve(train_loss=[9, 9], sogn=[3.0, 7.0]), 1)
        3.0
    """

    name = "sogn"
    field = "sogn"
