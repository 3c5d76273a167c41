"""Estimator specs: a registered learning-curve estimator name plus its keyword parameters.

The text form ``name[:key=value[:key=value...]]`` (e.g. ``"tse-ema:gamma=0.1"``) is what the
CLI, the correlation harness and the search evaluators accept.

Example:
    >>> [s.label for s in parse_estimators("tse, tse_ema:gamma=0.1")]
    ['tse', 'tse-ema:gamma=0.1']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._registry import check_params
from ..exceptions import ConfigError
from ._registries import ESTIMATORS
from .curve import CurveEstimator

__all__ = ["EstimatorSpec", "parse_estimators"]

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


@dataclass(frozen=True)
class EstimatorSpec:
    """A registered estimator name plus constructor keyword parameters.

    The text form is ``name[:key=value[:key=value...]]``, e.g. ``"tse-ema:gamma=0.1"`` or
    ``"lcsvr:n_search=200:seed=1"``. Values are read as bool / None / int / float / string (never
    evaluated). :attr:`label` is the canonical text form, used as the row name.

    Example:
        >>> spec = EstimatorSpec.parse("tse-ema:gamma=0.1")
        >>> spec.name, spec.kwargs, spec.label
        ('tse-ema', {'gamma': 0.1}, 'tse-ema:gamma=0.1')
        >>> spec.create().gamma
        0.1
    """

    name: str
    params: tuple[tuple[str, Any], ...] = field(default=())

    @classmethod
    def parse(cls, text: str) -> EstimatorSpec:
        """Parse ``name[:key=value...]`` (raises :class:`ConfigError` on malformed text).

        The name is looked up under the registry's naming policy and stored in its registered
        spelling, so ``tse_ema`` and ``TSE-EMA`` give the same spec as ``tse-ema``.

        Example:
            >>> EstimatorSpec.parse("TSE_EMA:gamma=0.5") == EstimatorSpec.parse("tse-ema:gamma=0.5")
            True
        """
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"an estimator spec must be a non-empty string, got {text!r}")
        name, *parts = [p.strip() for p in text.strip().split(":")]
        name = name.lower()
        if not _NAME_RE.match(name):
            raise ConfigError(f"malformed estimator spec {text!r}; expected name[:key=value...], e.g. tse-ema:gamma=0.1")
        params = []
        for p in parts:
            key, sep, value = p.partition("=")
            key = key.strip()
            if not sep or not _KEY_RE.match(key) or not value.strip():
                raise ConfigError(
                    f"malformed parameter {p!r} in estimator spec {text!r}; expected key=value, e.g. tse-ema:gamma=0.1"
                )
            params.append((key, _parse_value(value.strip())))
        keys = [k for k, _ in params]
        if len(set(keys)) != len(keys):
            raise ConfigError(f"estimator spec {text!r} sets a parameter twice")
        name = ESTIMATORS.canonical(name)  # unknown names raise UnknownNameError with suggestions
        return cls(name, tuple(params))

    @property
    def kwargs(self) -> dict[str, Any]:
        """The parameters as a dict.

        Example:
            >>> EstimatorSpec.parse("tse-e:E=2").kwargs
            {'E': 2}
        """
        return dict(self.params)

    @property
    def label(self) -> str:
        """Canonical text form (``name:key=value...``).

        Example:
            >>> EstimatorSpec.parse(" tse-ema : gamma=0.1 ").label
            'tse-ema:gamma=0.1'
        """
        return ":".join([self.name] + [f"{k}={v}" for k, v in self.params])

    def create(self, **defaults: Any) -> CurveEstimator:
        """Instantiate the estimator; ``defaults`` fill in parameters the spec does not set.

        Example:
            >>> EstimatorSpec.parse("lcsvr:n_search=5").create(seed=3).seed
            3
        """
        kw = {**defaults, **self.kwargs}
        cls = ESTIMATORS.get(self.name)
        check_params("estimator", self.name, cls, self.kwargs)
        try:
            return cls(**kw)
        except TypeError as exc:
            raise ConfigError(f"estimator {self.label!r}: {exc}") from None


def parse_estimators(spec: str | Sequence[str | EstimatorSpec]) -> list[EstimatorSpec]:
    """Estimator specs from a comma-separated string or a sequence (duplicates are an error).

    Example:
        >>> [s.label for s in parse_estimators("tse, tse-ema:gamma=0.1")]
        ['tse', 'tse-ema:gamma=0.1']
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out = [s if isinstance(s, EstimatorSpec) else EstimatorSpec.parse(s) for s in items
           if not (isinstance(s, str) and not s.strip())]
    if not out:
        raise ConfigError("no estimators given; e.g. tse,tse-e,tse-ema,sovl,vacc-es,lcsvr")
    labels = [s.label for s in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ConfigError(f"estimator(s) listed twice: {', '.join(dup)}")
    return out
