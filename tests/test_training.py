"""Tests of the trainer, LearningCurve and the TrainingSpeed hook on small real data (digits)."""

from __future__ import annotations

import copy
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nasrank
from nasrank.data import load_dataset
from nasrank.estimators import create_estimator
from nasrank.exceptions import ConfigError, MissingDependencyError
from nasrank.training import (
    LearningCurve,
    TrainConfig,
    TrainingSpeed,
    evaluate,
    lightning_callback,
    train,
)


@pytest.fixture(scope="module")
def digits():
    tr, va = load_dataset("digits").split(0.5, seed=0)
    return tr, va, load_dataset("digits", train=False)


def _linear(seed: int = 0) -> torch.nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))


def _nb201(seed: int = 0, arch=(3, 1, 3, 0, 4, 2)) -> torch.nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nasrank.create_space("nb201").build(arch, num_classes=10, C=4, N=1, in_channels=1)


def test_config_defaults_are_nb201_protocol() -> None:
    c = TrainConfig()
    assert (c.epochs, c.batch_size, c.lr, c.momentum, c.nesterov, c.weight_decay) == (200, 256, 0.1, 0.9, True, 5e-4)
    assert c.schedule == "cosine" and c.eta_min == 0.0 and c.augment
    assert c.lr_at(0) == 0.1 and c.lr_at(100) == pytest.approx(0.05) and c.lr_at(199) == pytest.approx(
        0.05 * (1 + math.cos(math.pi * 199 / 200))
    )
    assert TrainConfig(epochs=12, schedule_epochs=200).lr_at(11) == pytest.approx(c.lr_at(11))
    assert TrainConfig(schedule="constant", lr=0.3).lr_at(50) == 0.3


@pytest.mark.parametrize(
    "kw, msg",
    [({"epochs": 0}, "`epochs` must be an int >= 1, got 0"), ({"lr": -1}, "`lr`"),
     ({"schedule": "step"}, "`schedule` must be one of"), ({"batch_size": 2.5}, "batch_size"),
     ({"momentum": 0.0}, "nesterov=True needs momentum > 0")],
)
def test_config_validation(kw: dict, msg: str) -> None:
    with pytest.raises(ConfigError, match=msg):
        TrainConfig(**kw)


def test_train_records_nb201_curve(digits) -> None:
    tr, va, te = digits
    cfg = TrainConfig(epochs=3, batch_size=128)
    curve = train(_nb201(), tr, va, cfg, seed=1, test_set=te)
    steps = math.ceil(len(tr) / 128)
    assert curve.epochs == 3 and curve.steps_per_epoch == steps and not curve.diverged
    assert curve.minibatch_loss.shape == (3 * steps,)
    sizes = np.array([128] * (steps - 1) + [len(tr) - 128 * (steps - 1)], dtype=float)
    for e in range(3):
        mb = curve.minibatch_losses(e + 1)
        assert curve.train_loss[e] == pytest.approx(np.sum(mb * sizes) / sizes.sum(), rel=1e-6)
    assert curve.lr.tolist() == pytest.approx([cfg.lr_at(e) for e in range(3)])
    assert curve.val_loss.shape == (3,) and np.all((curve.val_acc >= 0) & (curve.val_acc <= 1))
    assert np.all((curve.train_acc >= 0) & (curve.train_acc <= 1))
    assert curve.train_loss[-1] < curve.train_loss[0]
    assert 0.0 <= curve.test_acc <= 1.0 and curve.test_loss > 0
    assert curve.epoch_time.shape == (3,) and np.all(curve.epoch_time > 0)
    assert curve.sog is None and curve.meta["seed"] == 1


def test_first_minibatch_loss_is_computed_before_the_step(digits) -> None:
    tr, _, _ = digits
    net = _nb201(3)
    ref = copy.deepcopy(net).train()
    curve = train(net, tr, config=TrainConfig(epochs=1, batch_size=64, augment=False), seed=5)
    first = np.random.default_rng(5).permutation(len(tr))[:64]
    x, y = tr.batch(first)
    assert curve.minibatch_loss[0] == pytest.approx(float(F.cross_entropy(ref(x), y).detach()), rel=1e-6)


def test_same_seed_same_curve(digits) -> None:
    tr, va, _ = digits
    cfg = TrainConfig(epochs=2, batch_size=128)
    a = train(_nb201(7), tr, va, cfg, seed=3)
    b = train(_nb201(7), tr, va, cfg, seed=3)
    c = train(_nb201(7), tr, va, cfg, seed=4)
    np.testing.assert_array_equal(a.minibatch_loss, b.minibatch_loss)
    np.testing.assert_array_equal(a.val_loss, b.val_loss)
    assert not np.array_equal(a.minibatch_loss, c.minibatch_loss)


def test_divergence_is_flagged_not_raised(digits) -> None:
    tr, va, te = digits
    curve = train(_nb201(), tr, va, TrainConfig(epochs=6, lr=1e4, batch_size=128), seed=0, test_set=te)
    assert curve.diverged and curve.epochs < 6 and curve.planned_epochs == 6
    assert not np.isfinite(curve.train_loss[-1])
    assert math.isnan(curve.test_acc)
    for name in ("tse", "tse-e", "tse-ema", "sovl", "vacc-es"):
        assert math.isnan(create_estimator(name).score(curve, 6)), name
    assert math.isnan(create_estimator("tse").score(curve, curve.epochs))
    # the JSON round trip keeps the flag and the NaNs
    back = LearningCurve.from_dict(curve.to_dict())
    assert back.diverged and np.isnan(back.train_loss[-1])


def test_gradient_sums_match_weight_displacement(digits) -> None:
    """With plain SGD (no momentum / wd, constant lr) sum of gradients = (theta_0 - theta_T) / lr."""
    tr, _, _ = digits
    net = _linear(1)
    theta0 = [p.detach().clone() for p in net.parameters()]
    cfg = TrainConfig(epochs=2, lr=0.05, momentum=0.0, nesterov=False, weight_decay=0.0,
                      schedule="constant", track_gradients=True, batch_size=100)
    curve = train(net, tr, config=cfg, seed=0)
    disp = sum(float((t0 - p.detach()).abs().sum()) for t0, p in zip(theta0, net.parameters(), strict=True))
    assert curve.sog[-1] == pytest.approx(disp / 0.05, rel=1e-4)
    assert np.all(np.diff(curve.sogn) > 0) and np.all(curve.sog <= curve.sogn + 1e-9)
    assert create_estimator("sog").compute(curve, 2) == curve.sog[1]


def test_hook_matches_trainer_curve(digits) -> None:
    """Acceptance 2: TSE family from the hook equals the trainer's curve of the same run."""
    tr, va, _ = digits
    ts = TrainingSpeed()
    curve = train(_nb201(2), tr, va, TrainConfig(epochs=4, batch_size=100), seed=0, callbacks=[ts])
    assert ts.epochs == 4
    for name, params in [("tse", {}), ("tse-e", {"E": 1}), ("tse-e", {"E": 3}),
                         ("tse-ema", {"gamma": 0.999}), ("tse-ema", {"gamma": 0.1}), ("tl-mini", {})]:
        for T in (1, 2, 4):
            if params.get("E", 1) > T:
                continue
            a = ts.estimate(name, T, **params)
            b = create_estimator(name, **params).compute(curve, T)
            assert abs(a - b) <= 1e-6 * abs(b), (name, params, T, a, b)
    assert ts.tse() == pytest.approx(curve.train_loss.sum(), rel=1e-6)


def _readme_block(heading: str) -> str:
    """The first ```python block after ``heading`` in the repository's README.md."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = text.index("```python\n", text.index(heading)) + len("```python\n")
    return text[start : text.index("```", start)]


README_EXAMPLE = _readme_block("### Training-speed estimation (TSE) in your own training loop")


def test_readme_example(capsys: pytest.CaptureFixture[str]) -> None:
    ns: dict = {}
    exec(compile(README_EXAMPLE, "README", "exec"), ns)
    tse, tse_e, tse_ema = (float(v) for v in capsys.readouterr().out.split())
    losses = ns["ts"].epoch_losses_
    assert len(losses) == 3 and losses[2] < losses[0]
    assert tse == pytest.approx(sum(losses)) and tse_e == pytest.approx(losses[2])
    assert tse_ema == pytest.approx(0.999**2 * losses[0] + 0.999 * losses[1] + losses[2])


def test_hook_weighted_mean_and_errors() -> None:
    ts = TrainingSpeed()
    ts.update(torch.tensor(3.0), batch_size=3)
    ts.update(1.0, batch_size=1)
    assert ts.end_epoch() == pytest.approx(2.5)
    with pytest.raises(ConfigError, match="no update"):
        ts.end_epoch()
    with pytest.raises(ConfigError, match="scalar"):
        ts.update(torch.ones(2))
    ts.update(1.0, batch_size=2)
    ts.update(1.0)
    with pytest.raises(ConfigError, match="batch_size"):
        ts.end_epoch()
    ts.reset()
    assert ts.epochs == 0
    ts.update(float("nan"))
    ts.end_epoch()
    assert ts.curve().diverged and math.isnan(ts.tse())


def test_evaluate_and_input_validation(digits) -> None:
    tr, _, te = digits
    net = _linear()
    net.train()
    loss, acc = evaluate(net, te)
    assert net.training and 0 <= acc <= 1 and loss > 0
    with pytest.raises(ConfigError, match="ImageDataset"):
        train(net, (torch.zeros(2, 1, 8, 8), torch.zeros(2)), config=TrainConfig(epochs=1))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="TrainConfig"):
        train(net, tr, config={"epochs": 1})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="seed"):
        train(net, tr, config=TrainConfig(epochs=1), seed=-1)


def test_learning_curve_validation() -> None:
    with pytest.raises(ConfigError, match="one per epoch"):
        LearningCurve(train_loss=[1.0, 2.0], val_acc=[0.5])
    c = LearningCurve.from_minibatch_losses([[3.0, 1.0], [1.0, 0.0]], sizes=[[1, 3], [2, 2]])
    assert c.train_loss.tolist() == [1.5, 0.5] and c.steps_per_epoch == 2


def test_lightning_adapter_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lightning", None)
    monkeypatch.setitem(sys.modules, "lightning.pytorch", None)
    monkeypatch.setitem(sys.modules, "lightning.pytorch.callbacks", None)
    monkeypatch.setitem(sys.modules, "pytorch_lightning", None)
    monkeypatch.setitem(sys.modules, "pytorch_lightning.callbacks", None)
    with pytest.raises(MissingDependencyError, match="pip install lightning"):
        lightning_callback()


def test_lightning_adapter_feeds_hook() -> None:
    pytest.importorskip("lightning", reason="PyTorch Lightning is not installed")
    cb = lightning_callback()
    cb.on_train_batch_end(None, None, {"loss": torch.tensor(2.0)}, None, 0)
    cb.on_train_batch_end(None, None, torch.tensor(1.0), None, 1)
    cb.on_train_epoch_end(None, None)
    assert cb.ts.tse() == pytest.approx(1.5)
