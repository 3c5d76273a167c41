"""Subnet estimators from a trained supernet: inherited-weight metrics and short fine-tuning
(seed 000 App. G.2, seed 002 ch. 4.2; reference protocol: algorithms.md §4.8).

:func:`finetune_subnet` evaluates one architecture of a trained supernet:

1. **inherited** — the whole validation set with the supernet's weights of the path as they are
   (``val_acc``, ``val_loss``; no training);
2. **fine-tuning** — ``max(budgets)`` minibatches of SGD on the path from the inherited weights
   with a fresh optimiser at a constant learning rate (0.001, batch 64), each training loss
   recorded **before** its own optimiser step (so ``train_loss[0]`` is the inherited weights'
   loss on the first minibatch); with ``val_minibatch`` also the loss / accuracy of one
   validation minibatch per step, computed on the same weights as that step's training loss;
3. **at every B of** ``budgets`` — the whole validation set again.

One fine-tuning run serves every budget. BatchNorm always normalises with the statistics of the
batch it sees (train mode, as in :meth:`~nasrank.oneshot.SupernetMethod.path_loss`): the
supernet's running statistics mix every path. The minibatch order, the augmentation and the
validation minibatches depend only on ``seed``, so every subnet sees the same data: training
minibatches are ``train_set.batches(batch_size, shuffle=True, seed=rng, drop_last=True,
augment=augment, generator=gen)`` epoch after epoch, with one ``rng =
np.random.default_rng([seed, 0])`` (a new permutation each epoch) and ``gen =
torch.Generator(device).manual_seed(seed)``; validation minibatches the same from
``np.random.default_rng([seed, 1])`` without augmentation. The supernet given is left
bit-identical (the tensors the run changes are restored, also when an exception stops it). A
NaN/inf training loss is a recorded outcome (``diverged``), never an exception. Without a
validation set only the training-loss estimators are defined.

Estimators of a :class:`SubnetResult` (:meth:`SubnetResult.value`, higher = predicted better;
each a name or a ``name:key=value`` spec), with ``L_t`` the training loss of minibatch ``t``
(1-based) and ``V_t`` / ``A_t`` the validation-minibatch loss / accuracy on the same weights:

================  =======================================================  ==================
name              value at budget B                                        defined for
================  =======================================================  ==================
``tse``           ``-sum_{t<=B} L_t`` (TSE = SoTL)                         B >= 1
``tse-e``         ``-sum_{B-E<t<=B} L_t``: the last ``min(E, B)``          B >= 1
                  minibatches (default ``E=10``; ``E=1`` is ``tl-mini``)
``tse-ema``       ``-sum_{t<=B} gamma^(B-t) L_t`` (default gamma=0.999,    B >= 1
                  the paper's; ``tse-ema:gamma=0.9``)
``sovl``          ``-sum_{t<=B} V_t``                                      B >= 1
``val_acc``       whole-validation-set accuracy after B minibatches        B in budgets, 0
                  (B=0: inherited weights)
``val_loss``      minus the whole-validation-set loss after B              B in budgets, 0
``tl-mini``       ``-L_B`` (B=1: the inherited weights' minibatch loss)    B >= 1
``val_acc_mini``  ``A_B`` (B=1: inherited weights; the standard one-shot   B >= 1
                  single-minibatch accuracy)
================  =======================================================  ==================

``tse``, ``tse-e``, ``tse-ema``, ``sovl`` and ``tl-mini`` are the curve estimators of
:mod:`nasrank.estimators` applied to a :class:`~nasrank.records.LearningCurve` whose "epochs"
are the fine-tuning minibatches. Names ignore case and ``_`` vs ``-``; ``sotl`` means ``tse``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import check_float, check_int
from ..data import ImageDataset
from ..estimators.curve import TSE, TSEE, TSEEMA, CurveEstimator, SoVL, TLMini, VAccES
from ..exceptions import ConfigError, InvalidArchitectureError
from ..records import LearningCurve, json_safe
from ._methods import SupernetMethod
from ._protocols import Supernet

__all__ = ["FinetuneConfig", "SubnetResult", "finetune_subnet", "SUBNET_ESTIMATORS",
           "parse_subnet_estimator"]

Arch = tuple[int, ...]

#: The estimators a :class:`SubnetResult` provides (see the module docstring).
SUBNET_ESTIMATORS: tuple[str, ...] = (
    "tse", "tse-e", "tse-ema", "sovl", "val_acc", "val_loss", "tl-mini", "val_acc_mini",
)
#: Default window of ``tse-e`` in minibatches (``E=1`` would duplicate ``tl-mini``).
TSE_E_WINDOW = 10

_ALIASES = {"sotl": "tse", "tlmini": "tl-mini", "valacc": "val_acc", "valloss": "val_loss",
            "valaccmini": "val_acc_mini"}
_PARAMS = {"tse-e": ("E",), "tse-ema": ("gamma",)}


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


_CANONICAL = {_key(n): n for n in SUBNET_ESTIMATORS} | {_key(a): n for a, n in _ALIASES.items()}


def parse_subnet_estimator(spec: str) -> tuple[str, dict[str, Any]]:
    """``(canonical name, parameters)`` of a subnet estimator spec ``name[:key=value...]``.

    Example:
        >>> parse_subnet_estimator("TSE_EMA:gamma=0.9")
        ('tse-ema', {'gamma': 0.9})
        >>> parse_subnet_estimator("val-acc")
        ('val_acc', {})
        >>> parse_subnet_estimator("acc")
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: unknown subnet estimator 'acc'; choose from tse, tse-e, tse-ema, sovl, val_acc, val_loss, tl-mini, val_acc_mini
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"a subnet estimator must be a non-empty string, got {spec!r}")
    head, *parts = spec.split(":")
    name = _CANONICAL.get(_key(head))
    if name is None:
        raise ConfigError(f"unknown subnet estimator {head.strip()!r}; choose from {', '.join(SUBNET_ESTIMATORS)}")
    params: dict[str, Any] = {}
    for part in parts:
        k, sep, v = part.partition("=")
        k, v = k.strip(), v.strip()
        if not sep or not k or not v:
            raise ConfigError(f"malformed parameter {part.strip()!r} in subnet estimator {spec!r}; "
                              "expected key=value, e.g. tse-ema:gamma=0.9")
        allowed = _PARAMS.get(name, ())
        if k not in allowed:
            what = f"parameters: {', '.join(allowed)}" if allowed else "no parameters"
            raise ConfigError(f"subnet estimator {name!r} has no parameter {k!r} ({what})")
        try:
            params[k] = int(v) if k == "E" else float(v)
        except ValueError:
            raise ConfigError(f"parameter {k} of subnet estimator {name!r} must be a number, got {v!r}") from None
    return name, params


def _label(name: str, params: Mapping[str, Any]) -> str:
    return ":".join([name] + [f"{k}={v}" for k, v in params.items()])


def _budgets(value: Any) -> tuple[int, ...]:
    items = list(value) if isinstance(value, Iterable) and not isinstance(value, (str, bytes)) else [value]
    if not items:
        raise ConfigError("`budgets` must list at least one B (minibatches), e.g. (100, 200, 300)")
    return tuple(sorted({check_int("budgets", b, 0) for b in items}))


@dataclass
class FinetuneConfig:
    """How subnets are fine-tuned from the supernet's weights (reference protocol §4.8).

    A fresh SGD optimiser at a constant learning rate over the path's weights (the parameters
    that receive a gradient; weight decay applies to those only), NB201 search-protocol
    momentum / Nesterov / weight decay, batch 64, random crop + flip.

    Attributes:
        budgets: The B values (minibatches) at which whole-validation-set metrics are recorded;
            fine-tuning runs ``max(budgets)`` minibatches once. ``0`` alone = inherited only.
        lr: Constant learning rate (reference 0.001).
        momentum: SGD momentum.
        nesterov: Nesterov momentum (the NB201 search optimiser's setting; the reference
            re-creates that optimiser at lr 0.001).
        weight_decay: SGD weight decay.
        batch_size: Training (and validation-minibatch) batch size.
        augment: Random crop (the dataset's ``crop_padding``) + horizontal flip of the training
            minibatches.
        val_minibatch: Record one validation minibatch's loss / accuracy per step (``sovl``,
            ``val_acc_mini``); costs one extra forward pass per step.
        eval_batch_size: Batch size of the whole-validation-set evaluations (BatchNorm uses the
            statistics of each such batch).

    Example:
        >>> FinetuneConfig(budgets=(300, 100, 200)).budgets
        (100, 200, 300)
        >>> FinetuneConfig(budgets=(-1,))
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: `budgets` must be an int >= 0, got -1
    """

    budgets: tuple[int, ...] = (100,)
    lr: float = 0.001
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    batch_size: int = 64
    augment: bool = True
    val_minibatch: bool = True
    eval_batch_size: int = 256

    def __post_init__(self) -> None:
        self.budgets = _budgets(self.budgets)
        self.lr = check_float("lr", self.lr, minimum=0.0, exclusive_min=True)
        self.momentum = check_float("momentum", self.momentum, minimum=0.0, maximum=1.0)
        self.weight_decay = check_float("weight_decay", self.weight_decay, minimum=0.0)
        self.batch_size = check_int("batch_size", self.batch_size, 1)
        self.eval_batch_size = check_int("eval_batch_size", self.eval_batch_size, 1)
        for name in ("nesterov", "augment", "val_minibatch"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"`{name}` must be True or False, got {getattr(self, name)!r}")
        if self.nesterov and self.momentum == 0:
            raise ConfigError("nesterov=True needs momentum > 0 (set nesterov=False or a momentum)")

    @property
    def steps(self) -> int:
        """Minibatches of fine-tuning: ``max(budgets)``."""
        return self.budgets[-1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields (inverse: ``FinetuneConfig(**d)``).

        Example:
            >>> FinetuneConfig(**FinetuneConfig(budgets=(5,)).to_dict()).budgets
            (5,)
        """
        d = asdict(self)
        d["budgets"] = list(self.budgets)
        return d


def _floats(a: Any) -> np.ndarray | None:
    if a is None:
        return None
    return np.asarray([math.nan if v is None else v for v in a], dtype=np.float64)


@dataclass
class SubnetResult:
    """Inherited-weight and fine-tuning records of one subnet (see :func:`finetune_subnet`).

    Attributes:
        arch: The architecture.
        inherited: ``{"val_acc", "val_loss"}`` on the whole validation set, no training.
        train_loss: Training loss of each fine-tuning minibatch, recorded before its step
            (``max(budgets)`` entries; NaN after a divergence stopped the run).
        val_loss: Validation-minibatch loss at each step (same weights as ``train_loss``), or
            ``None`` without ``val_minibatch``.
        val_acc: Validation-minibatch accuracy at each step, or ``None``.
        full_val: ``{B: {"val_acc", "val_loss"}}`` on the whole validation set after B
            minibatches, for every B of ``budgets`` (B=0: the inherited values).
        budgets: The budgets of the run.
        seed: Seed of the data order, augmentation and validation minibatches.
        seconds: Wall-clock seconds of the whole evaluation.
        train_seconds: Seconds of the fine-tuning steps alone (no whole-set evaluation).
        diverged: A training loss became NaN/inf; the run stopped at the next budget.

    Equality (``==``) compares the records, not the timings (NaN equals NaN).

    Example:
        >>> r = SubnetResult((0,), {"val_acc": 0.5, "val_loss": 1.0}, np.array([2.0, 1.0]),
        ...                  full_val={2: {"val_acc": 0.6, "val_loss": 0.9}}, budgets=(2,))
        >>> r.value("tse", 2), r.value("val_acc", 0), r.value("val_loss", 2)
        (-3.0, 0.5, -0.9)
        >>> SubnetResult.from_dict(r.to_dict()) == r
        True
    """

    arch: Arch
    inherited: dict[str, float]
    train_loss: np.ndarray
    val_loss: np.ndarray | None = None
    val_acc: np.ndarray | None = None
    full_val: dict[int, dict[str, float]] = field(default_factory=dict)
    budgets: tuple[int, ...] = ()
    seed: int = 0
    seconds: float = 0.0
    train_seconds: float = 0.0
    diverged: bool = False

    def __post_init__(self) -> None:
        self.arch = tuple(int(a) for a in self.arch)
        self.train_loss = _floats(self.train_loss)
        self.val_loss = _floats(self.val_loss)
        self.val_acc = _floats(self.val_acc)
        self.inherited = {k: float(math.nan if v is None else v) for k, v in self.inherited.items()}
        self.full_val = {int(b): {k: float(math.nan if v is None else v) for k, v in m.items()}
                         for b, m in self.full_val.items()}
        self.budgets = tuple(int(b) for b in self.budgets) or tuple(sorted(self.full_val))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SubnetResult):
            return NotImplemented
        for f in fields(self):
            if f.name in ("seconds", "train_seconds"):
                continue
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or not np.array_equal(a, b, equal_nan=True):
                    return False
            elif f.name in ("inherited", "full_val"):
                if json_safe(a) != json_safe(b):
                    return False
            elif a != b:
                return False
        return True

    def curve(self) -> LearningCurve:
        """The fine-tuning run as a :class:`~nasrank.records.LearningCurve` whose "epochs" are
        minibatches (``train_loss`` = ``minibatch_loss``; ``val_loss`` / ``val_acc`` the
        validation-minibatch records).

        Example:
            >>> r = SubnetResult((0,), {}, [3.0, 2.0])
            >>> r.curve().epochs, r.curve().minibatch_losses(2).tolist()
            (2, [2.0])
        """
        return LearningCurve(train_loss=self.train_loss, val_loss=self.val_loss, val_acc=self.val_acc,
                             minibatch_loss=self.train_loss, steps_per_epoch=1,
                             diverged=self.diverged, planned_epochs=len(self.train_loss))

    def value(self, estimator: str, B: int | None = None) -> float:
        """Estimator value at budget ``B`` (default the largest budget), higher = predicted
        better; NaN when the values it reads are NaN (a diverged run). See the module docstring.

        Raises:
            ConfigError: unknown estimator, B < 0, or B not recorded for this estimator.

        Example:
            >>> r = SubnetResult((0,), {"val_acc": 0.5, "val_loss": 1.0}, [3.0, 2.0, 1.0],
            ...                  full_val={3: {"val_acc": 0.7, "val_loss": 0.8}})
            >>> r.value("tse"), r.value("tl-mini", 1), r.value("tse-e:E=2", 3)
            (-6.0, -3.0, -3.0)
            >>> r.value("val_acc", 2)
            Traceback (most recent call last):
            ...
            nasrank.exceptions.ConfigError: val_acc is recorded at B in (0, 3) only, not B=2; fine-tune with budgets including 2
        """
        name, params = parse_subnet_estimator(estimator)
        if B is None:
            B = self.budgets[-1] if self.budgets else len(self.train_loss)
        B = check_int("B", B, 0)
        if name in ("val_acc", "val_loss"):
            if B == 0:
                v = self.inherited.get(name, math.nan)
            elif B in self.full_val:
                v = self.full_val[B][name]
            else:
                have = tuple(sorted({0, *self.full_val}))
                raise ConfigError(f"{name} is recorded at B in {have} only, not B={B}; "
                                  f"fine-tune with budgets including {B}")
            return v if name == "val_acc" else -v
        if B == 0:
            raise ConfigError(f"{name} needs B >= 1 fine-tuning minibatches (B=1 reads the inherited "
                              "weights' first minibatch); use val_acc / val_loss for B=0")
        if B > len(self.train_loss):
            raise ConfigError(f"{name} at B={B} needs {B} fine-tuning minibatches but "
                              f"{len(self.train_loss)} were run; fine-tune with budgets up to {B}")
        if name in ("sovl", "val_acc_mini") and self.val_loss is None:
            raise ConfigError(f"{name} needs the validation-minibatch records: fine-tune with a val_set "
                              "and FinetuneConfig(val_minibatch=True)")
        return _estimator(name, params, B).score(self.curve(), B)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (NaN becomes ``None``); inverse of :meth:`from_dict`."""
        return json_safe({
            "arch": list(self.arch), "inherited": self.inherited,
            "train_loss": self.train_loss.tolist(),
            "val_loss": None if self.val_loss is None else self.val_loss.tolist(),
            "val_acc": None if self.val_acc is None else self.val_acc.tolist(),
            "full_val": {str(b): m for b, m in self.full_val.items()},
            "budgets": list(self.budgets), "seed": self.seed, "seconds": self.seconds,
            "train_seconds": self.train_seconds, "diverged": self.diverged,
        })

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SubnetResult:
        """Inverse of :meth:`to_dict`."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"unknown SubnetResult field(s) {sorted(unknown)}")
        return cls(**dict(d))


def _estimator(name: str, params: Mapping[str, Any], B: int) -> CurveEstimator:
    if name == "tse":
        return TSE()
    if name == "tse-e":
        return TSEE(E=min(check_int("E", params.get("E", TSE_E_WINDOW), 1), B))
    if name == "tse-ema":
        return TSEEMA(**params)
    if name == "sovl":
        return SoVL()
    if name == "tl-mini":
        return TLMini()
    return VAccES()  # val_acc_mini: the curve's val_acc record holds the minibatch accuracies


# --- fine-tuning ------------------------------------------------------------------------------

def _supernet(source: Any) -> Any:
    net = source.supernet if isinstance(source, SupernetMethod) else source
    if not isinstance(net, Supernet) or not isinstance(net, torch.nn.Module):
        raise ConfigError("`supernet` must be a SupernetMethod or a supernet (space.supernet(...)), "
                          f"got {type(source).__name__}")
    return net


def _on_device(net: Any, device: Any) -> Any:
    """``net`` itself when ``device`` is ``None`` or where it lives, else a copy on ``device``
    (the caller's supernet is never moved)."""
    if device is None:
        return net
    from ..execution import resolve_device

    dev = resolve_device(device)
    first = next(iter(net.parameters()), None)
    if first is None or first.device == dev:
        return net
    return copy.deepcopy(net).to(dev)


def _arch(net: Any, arch: Any) -> Arch:
    """``arch`` validated against the supernet's space (strings parsed)."""
    space = getattr(net, "space", None)
    try:
        if space is None:
            net.path_weights(arch)
            return tuple(int(a) for a in arch)
        return tuple(space.from_str(arch) if isinstance(arch, str) else space.validate(arch))
    except InvalidArchitectureError as exc:
        raise InvalidArchitectureError(" ".join(str(exc).split())) from None
    except (TypeError, ValueError) as exc:
        raise InvalidArchitectureError(f"{arch!r} is not an architecture of the supernet's space: "
                                       f"{' '.join(str(exc).split())}") from None


def _dataset(ds: Any, name: str, batch_size: int) -> ImageDataset:
    if not isinstance(ds, ImageDataset):
        raise ConfigError(f"`{name}` must be a nasrank.data.ImageDataset, got {type(ds).__name__}")
    if len(ds) < batch_size:
        raise ConfigError(f"`{name}` has {len(ds)} examples, fewer than batch_size={batch_size}; "
                          "use a smaller batch_size")
    return ds


def _cycle(ds: ImageDataset, bs: int, rng: np.random.Generator, device: torch.device, augment: bool,
           gen: torch.Generator | None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Minibatches of ``bs`` examples, epoch after epoch (a new permutation each), forever."""
    while True:
        yield from ds.batches(bs, shuffle=True, seed=rng, device=device, augment=augment,
                              drop_last=True, generator=gen)


@torch.no_grad()
def _evaluate(net: Any, w: Any, ds: ImageDataset, bs: int, device: torch.device) -> dict[str, float]:
    """Mean loss / accuracy on the whole set, BatchNorm on batch statistics (train mode); the
    accuracy is NaN when the loss is (non-finite logits)."""
    n = len(ds)
    chunks = list(torch.arange(n).split(bs))
    if len(chunks) > 1 and len(chunks[-1]) == 1:  # BatchNorm needs more than one value per channel
        chunks[-2:] = [torch.cat(chunks[-2:])]
    total = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for idx in chunks:
        x, y = ds.batch(idx, device=device)
        out = net(x, w)
        total += F.cross_entropy(out, y, reduction="sum").to(torch.float64)
        correct += (out.argmax(1) == y).sum()
    loss = float(total) / n
    # non-finite logits: the argmax of NaNs is no accuracy
    return {"val_acc": int(correct) / n if math.isfinite(loss) else math.nan, "val_loss": loss}


def _data_error(exc: BaseException) -> ConfigError:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return ConfigError(f"the supernet cannot run on this data ({first}); build it with the data's "
                       "in_channels / num_classes")


def _no_val() -> dict[str, float]:
    return {"val_acc": math.nan, "val_loss": math.nan}


def finetune_subnet(supernet: Any, arch: Any, train_set: ImageDataset, val_set: ImageDataset | None,
                    config: FinetuneConfig | None = None, *, seed: int = 0,
                    device: str | torch.device | None = None) -> SubnetResult:
    """Inherited-weight metrics and B-minibatch fine-tuning of one subnet (module docstring).

    The work happens on ``device`` (default: the supernet's device); the supernet's tensors (and
    ``.grad`` fields, and its train/eval mode) are restored afterwards, bit for bit.

    Args:
        supernet: A trained supernet (``space.supernet(...)``) or a
            :class:`~nasrank.oneshot.SupernetMethod` (its ``supernet`` is used).
        arch: An architecture of the supernet's space (tuple or the space's string).
        train_set: Fine-tuning data.
        val_set: Validation data (whole-set metrics and validation minibatches), or ``None``:
            no validation records (``val_acc`` / ``val_loss`` are NaN, ``sovl`` and
            ``val_acc_mini`` unavailable).
        config: Fine-tuning settings (default :class:`FinetuneConfig`).
        seed: Seed of the minibatch order, augmentation and validation minibatches.
        device: Where to fine-tune (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, ``"auto"``;
            see :func:`nasrank.execution.resolve_device`). ``None``: on the supernet's device.
            On another device a copy of the supernet is fine-tuned; the supernet is not moved.

    Returns:
        The subnet's :class:`SubnetResult`.

    Raises:
        InvalidArchitectureError: ``arch`` is not an architecture of the supernet's space.
        ConfigError: a bad config, seed or dataset, or data the supernet cannot take.

    Example:
        >>> import nasrank, torch
        >>> from nasrank.data import load_dataset
        >>> tr, va = load_dataset("digits").split(0.5, seed=0)
        >>> space = nasrank.create_space("nb201")
        >>> _ = torch.manual_seed(0)
        >>> net = space.supernet(C=4, N=1, in_channels=1)
        >>> r = finetune_subnet(net, (3, 1, 0, 2, 4, 3), tr, va, FinetuneConfig(budgets=(0, 5)))
        >>> len(r.train_loss), sorted(r.full_val), r.value("tse", 5) == -float(r.train_loss.sum())
        (5, [0, 5], True)
        >>> r2 = finetune_subnet(net, (3, 1, 0, 2, 4, 3), tr, va, FinetuneConfig(budgets=(0, 5)), device="cpu")
        >>> bool((r2.train_loss == r.train_loss).all())
        True
    """
    t_start = time.perf_counter()
    net = _on_device(_supernet(supernet), device)
    config = FinetuneConfig() if config is None else config
    if not isinstance(config, FinetuneConfig):
        raise ConfigError(f"`config` must be a FinetuneConfig, got {type(config).__name__}")
    seed = check_int("seed", seed, 0)
    a = _arch(net, arch)
    bs = config.batch_size
    steps = config.steps
    train_set = _dataset(train_set, "train_set", bs if steps else 1)
    if val_set is not None:
        val_set = _dataset(val_set, "val_set", bs if steps and config.val_minibatch else 1)
    val_minibatch = config.val_minibatch and val_set is not None
    device = next(net.parameters()).device
    train_set = train_set.to(device)
    val_set = None if val_set is None else val_set.to(device)
    w = net.run_weights(a) if hasattr(net, "run_weights") else net.path_weights(a)

    params = list(net.parameters())
    grads = [p.grad for p in params]
    saved_buffers = [b.detach().clone() for b in net.buffers()]
    saved_params: list[tuple[torch.Tensor, torch.Tensor]] = []
    was_training = net.training
    for p in params:
        p.grad = None
    net.train()
    try:
        try:
            inherited = _no_val() if val_set is None else _evaluate(net, w, val_set, config.eval_batch_size, device)
        except (RuntimeError, IndexError) as exc:  # channels or classes that do not fit the supernet
            raise _data_error(exc) from None
        full_val = {0: dict(inherited)} if 0 in config.budgets else {}
        losses = torch.full((steps,), math.nan, dtype=torch.float32, device=device)
        vloss = torch.full((steps,), math.nan, dtype=torch.float32, device=device) if val_minibatch else None
        vacc = torch.full((steps,), math.nan, dtype=torch.float32, device=device) if val_minibatch else None
        diverged = False
        train_seconds = 0.0
        if steps:
            gen = torch.Generator(device=device).manual_seed(seed)
            batches = _cycle(train_set, bs, np.random.default_rng([seed, 0]), device, config.augment, gen)
            vbatches = (_cycle(val_set, bs, np.random.default_rng([seed, 1]), device, False, None)
                        if val_minibatch and val_set is not None else None)
            checkpoints = set(config.budgets)
            opt: torch.optim.Optimizer | None = None
            t0 = time.perf_counter()
            for t in range(steps):
                if vbatches is not None:
                    xv, yv = next(vbatches)
                    with torch.no_grad():
                        out = net(xv, w)
                        vloss[t] = F.cross_entropy(out, yv)  # type: ignore[index]
                        vacc[t] = (out.argmax(1) == yv).float().mean()  # type: ignore[index]
                x, y = next(batches)
                try:
                    loss = F.cross_entropy(net(x, w), y)
                except (RuntimeError, IndexError) as exc:
                    if opt is not None:
                        raise
                    raise _data_error(exc) from None
                losses[t] = loss.detach()
                loss.backward()
                if opt is None:  # the path's weights: the parameters that received a gradient
                    used = [p for p in params if p.grad is not None]
                    saved_params = [(p, p.detach().clone()) for p in used]
                    opt = torch.optim.SGD(used, lr=config.lr, momentum=config.momentum,
                                          nesterov=config.nesterov, weight_decay=config.weight_decay)
                opt.step()
                opt.zero_grad(set_to_none=True)
                if t + 1 in checkpoints:
                    train_seconds += time.perf_counter() - t0
                    if not bool(torch.isfinite(losses[: t + 1]).all()):
                        diverged = True
                        break
                    full_val[t + 1] = (_no_val() if val_set is None
                                       else _evaluate(net, w, val_set, config.eval_batch_size, device))
                    t0 = time.perf_counter()
            for b in config.budgets:  # after a divergence: the budgets not reached
                full_val.setdefault(b, _no_val())
    finally:
        with torch.no_grad():
            for p, v in saved_params:
                p.copy_(v)
            for b, v in zip(net.buffers(), saved_buffers, strict=True):
                b.copy_(v)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        net.train(was_training)
    return SubnetResult(
        arch=a, inherited=inherited, train_loss=losses.cpu().numpy(),
        val_loss=None if vloss is None else vloss.cpu().numpy(),
        val_acc=None if vacc is None else vacc.cpu().numpy(),
        full_val=full_val, budgets=config.budgets, seed=seed,
        seconds=time.perf_counter() - t_start, train_seconds=train_seconds, diverged=diverged,
    )

