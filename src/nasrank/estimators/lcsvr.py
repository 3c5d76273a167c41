"""LcSVR: learning-curve extrapolation with a nu-SVR (baseline of the TSE papers, reference §4.3)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._rng import as_generator
from .._validate import check_int as _check_int
from ..exceptions import ConfigError
from ..records import LearningCurve
from ._registries import ESTIMATORS
from .curve import CurveEstimator

__all__ = ["LcSVR", "curve_features"]


def curve_features(values: np.ndarray, all_curve: bool = True) -> np.ndarray:
    """LcSVR features of one partial curve ``values`` (e.g. validation accuracies, epochs 1..T).

    ``all_curve=True``: the curve VC, its first and second differences DVC and DDVC, then
    mean(VC) and std(VC). ``all_curve=False``: means and stds of VC, DVC, DDVC only. Unlike the
    reference code (which reads 1-2 epochs past the budget for the differences), only the first
    T values are used: DVC has T-1 entries and DDVC T-2.

    Example:
        >>> curve_features(np.array([1.0, 2.0, 4.0])).tolist()
        [1.0, 2.0, 4.0, 1.0, 2.0, 1.0, 2.3333333333333335, 1.247219128924647]
    """
    vc = np.asarray(values, dtype=np.float64)
    dvc = np.diff(vc)
    ddvc = np.diff(vc, 2)
    if all_curve:
        return np.concatenate([vc, dvc, ddvc, [vc.mean(), vc.std()]])

    def ms(a: np.ndarray) -> list[float]:
        return [a.mean(), a.std()] if a.size else [0.0, 0.0]

    return np.array(ms(vc) + ms(dvc) + ms(ddvc))


def _r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination as ``sklearn.metrics.r2_score`` computes it (incl. constant y)."""
    ss_res = float(np.sum((y_true - y_pred) ** 2))
    ss_tot = float(np.sum((y_true - np.mean(y_true)) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


@ESTIMATORS.register("lcsvr")
class LcSVR(CurveEstimator):
    """nu-SVR that predicts final performance from the first T epochs of a curve.

    Recipe of reference §4.3: features from the validation-accuracy curve (see
    :func:`curve_features`), optionally prepended by architecture / hyper-parameter meta-features;
    ``n_search`` random hyper-parameter draws C ~ log-U[1e-5, 10], nu ~ U(0, 1],
    gamma ~ log-U[1e-5, 10] of an RBF :class:`sklearn.svm.NuSVR`, each scored by ``cv``-fold
    cross-validated R^2; the best is refitted on all training curves. No feature scaling.

    Unlike the other estimators it must be fitted on fully trained curves first (:meth:`fit`).

    The model predicts the final value of the record it extrapolates, so the sign follows
    ``field``: :attr:`higher_is_better` is ``True`` for an accuracy (``val_acc``, ``train_acc``)
    and ``False`` for a loss (``val_loss``, ``train_loss``), and :meth:`score` (like
    :func:`~nasrank.evaluation.correlation_table`) negates a predicted loss, so that a higher
    score always means predicted better.

    Args:
        n_search: Random hyper-parameter draws (reference: 1000).
        cv: Cross-validation folds (reference: 3).
        seed: Seed of the draws.
        all_curve: Use the whole partial curve as features (else only summary statistics).
        field: Curve record to extrapolate (default ``"val_acc"``, as in the reference).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> rates = rng.uniform(0.05, 0.5, 40)
        >>> curves = [LearningCurve(train_loss=np.ones(20), val_acc=1 - np.exp(-r * np.arange(1, 21)))
        ...           for r in rates]
        >>> est = LcSVR(n_search=20, seed=0).fit(curves, epochs=5)
        >>> est.predict(curves[:2]).shape
        (2,)
        >>> LcSVR().higher_is_better, LcSVR(field="val_loss").higher_is_better
        (True, False)
    """

    name = "lcsvr"
    higher_is_better = True  # the default field, val_acc; set per instance from `field`

    def __init__(
        self,
        n_search: int = 1000,
        cv: int = 3,
        seed: int = 0,
        all_curve: bool = True,
        field: str = "val_acc",
    ) -> None:
        self.n_search = _check_int("n_search", n_search, 1)
        self.cv = _check_int("cv", cv, 2)
        self.seed = seed
        self.all_curve = bool(all_curve)
        if field not in ("val_acc", "val_loss", "train_loss", "train_acc"):
            raise ConfigError(f"`field` must be one of val_acc, val_loss, train_loss, train_acc; got {field!r}")
        self.field = field  # type: ignore[misc]  # instance attribute shadows the ClassVar
        # a predicted loss is better when lower; a predicted accuracy when higher
        self.higher_is_better = not field.endswith("_loss")  # type: ignore[misc]

    def __repr__(self) -> str:  # the constructor parameters only (not the derived sign)
        params = ", ".join(f"{k}={getattr(self, k)!r}" for k in ("n_search", "cv", "seed", "all_curve", "field"))
        return f"{type(self).__name__}({params})"

    # --- features ---------------------------------------------------------------------------
    def _matrix(
        self, curves: Sequence[LearningCurve], epochs: int, meta: Any = None
    ) -> np.ndarray:
        rows = []
        for c in curves:
            vals = self._values(c, epochs)
            rows.append(
                np.full(self._n_curve_features(epochs), math.nan) if vals is None
                else curve_features(vals, self.all_curve)
            )
        X = np.vstack(rows) if rows else np.zeros((0, self._n_curve_features(epochs)))
        if meta is not None:
            m = np.asarray(meta, dtype=np.float64)
            if m.ndim != 2 or len(m) != len(X):
                raise ConfigError(f"`meta` must be an array of shape ({len(X)}, k), got {m.shape}")
            X = np.hstack([m, X])
        return X

    def _n_curve_features(self, epochs: int) -> int:
        return (3 * epochs - 3 + 2 + (1 if epochs == 1 else 0)) if self.all_curve else 6

    # --- fitting ----------------------------------------------------------------------------
    def fit(
        self,
        curves: Sequence[LearningCurve],
        targets: Sequence[float] | None = None,
        epochs: int = 1,
        meta: Any = None,
    ) -> LcSVR:
        """Fit on fully trained curves observed for their first ``epochs`` epochs.

        Args:
            curves: Training curves (at least ``2 * cv`` with finite values are needed).
            targets: Final performance to predict (default: each curve's last ``field`` value,
                as in the reference).
            epochs: Budget T of the features.
            meta: Optional ``(N, k)`` meta-features prepended to the curve features.

        Returns:
            ``self``, with ``model_``, ``best_params_``, ``cv_score_``, ``epochs_`` set.
        """
        from sklearn import config_context
        from sklearn.model_selection import KFold
        from sklearn.svm import NuSVR

        epochs = _check_int("epochs", epochs, 1)
        curves = list(curves)
        X = self._matrix(curves, epochs, meta)
        if targets is None:
            y = np.array([
                getattr(c, self.field)[-1] if getattr(c, self.field) is not None and len(getattr(c, self.field))
                else math.nan
                for c in curves
            ], dtype=np.float64)
        else:
            y = np.asarray(targets, dtype=np.float64)
            if y.shape != (len(curves),):
                raise ConfigError(f"`targets` must have one value per curve ({len(curves)}), got shape {y.shape}")
        ok = np.all(np.isfinite(X), axis=1) & np.isfinite(y)
        X, y = X[ok], y[ok]
        self.n_dropped_ = int((~ok).sum())
        if len(y) < 2 * self.cv:
            raise ConfigError(
                f"LcSVR needs at least {2 * self.cv} finite training curves for {self.cv}-fold CV, got {len(y)}"
            )
        rng = as_generator(self.seed)
        # the folds and R^2 scores of cross_val_score(..., cv=KFold(cv)), without its per-call
        # validation overhead (several times faster for the small training sets LcSVR sees)
        folds = [(X[tr], y[tr], X[te], y[te]) for tr, te in KFold(n_splits=self.cv).split(X)]
        best, best_score = None, -math.inf
        for _ in range(self.n_search):
            params = {
                "C": float(10 ** rng.uniform(-5, 1)),
                "nu": float(max(rng.uniform(0, 1), 1e-6)),
                "gamma": float(10 ** rng.uniform(-5, 1)),
            }
            with config_context(assume_finite=True, skip_parameter_validation=True):
                s = float(np.mean([_r2(yb, NuSVR(kernel="rbf", **params).fit(Xa, ya).predict(Xb))
                                   for Xa, ya, Xb, yb in folds]))
            if math.isfinite(s) and s > best_score:
                best, best_score = params, s
        if best is None:
            raise ConfigError("LcSVR hyper-parameter search found no finite cross-validation score")
        self.best_params_ = best
        self.cv_score_ = best_score
        self.model_ = NuSVR(kernel="rbf", **best).fit(X, y)
        self.epochs_ = epochs
        self.has_meta_ = meta is not None
        return self

    def _check_fitted(self, epochs: int) -> None:
        if not hasattr(self, "model_"):
            raise ConfigError("LcSVR is not fitted: call fit(curves, epochs=T) on fully trained curves first")
        if epochs != self.epochs_:
            raise ConfigError(f"LcSVR was fitted for epochs={self.epochs_}, got epochs={epochs}")

    def predict(self, curves: Sequence[LearningCurve], epochs: int | None = None, meta: Any = None) -> np.ndarray:
        """Predicted final performance of each curve (NaN where its features are not finite)."""
        epochs = getattr(self, "epochs_", 1) if epochs is None else _check_int("epochs", epochs, 1)
        self._check_fitted(epochs)
        if self.has_meta_ and meta is None:
            raise ConfigError("this LcSVR was fitted with meta-features: pass meta= to predict")
        X = self._matrix(list(curves), epochs, meta)
        out = np.full(len(X), math.nan)
        ok = np.all(np.isfinite(X), axis=1)
        if ok.any():
            out[ok] = self.model_.predict(X[ok])
        return out

    def compute(self, curve: LearningCurve, epochs: int) -> float:
        """Predicted final performance of one curve from its first ``epochs`` epochs."""
        epochs = _check_int("epochs", epochs, 1)
        self._check_fitted(epochs)
        return float(self.predict([curve], epochs)[0])

    def _compute(self, values: np.ndarray, curve: LearningCurve, epochs: int) -> float:  # pragma: no cover
        raise NotImplementedError  # compute() is overridden
