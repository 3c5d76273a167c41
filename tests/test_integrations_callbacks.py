"""Trainer callbacks: the plain-PyTorch ``TSEMonitor``, its shared-store ranking, the Lightning
adapter (against a stand-in ``lightning`` module: Lightning is not a dependency) and the Hugging
Face callback (a real ``Trainer`` run when transformers is installed; slow: its import alone takes
seconds)."""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from nasrank.estimators import create_estimator
from nasrank.exceptions import ConfigError, MissingDependencyError
from nasrank.integrations import TSELeaderboard, TSEMonitor, hf_callback, rank_decision
from nasrank.integrations._callbacks import MONITOR_SPACE, study_fingerprint
from nasrank.records import LearningCurve
from nasrank.store import ResultStore
from nasrank.training import lightning_callback


def test_monitor_statistics_match_the_estimators() -> None:
    mon = TSEMonitor("r", estimator="tse-ema:gamma=0.5")
    batches = [[2.0, 1.0, 1.5], [1.2, 0.8, 0.7], [0.9, 0.5, 0.4]]
    seen = []
    for losses in batches:
        for v in losses:
            mon.update(torch.tensor(v), batch_size=10)
        seen.append(mon.end_epoch())
    curve = LearningCurve(train_loss=[float(np.mean(b)) for b in batches])
    last = seen[-1]
    assert last["epoch"] == 3 and last["train_loss"] == pytest.approx(curve.train_loss[-1])
    assert last["tse"] == pytest.approx(create_estimator("tse").compute(curve, 3))
    assert last["tse-e"] == pytest.approx(curve.train_loss[-1])
    assert last["tse-ema"] == pytest.approx(create_estimator("tse-ema").compute(curve, 3))
    assert last["score"] == pytest.approx(create_estimator("tse-ema", gamma=0.5).score(curve, 3))
    assert last["rank"] is None and last["stop"] is False and not mon.should_stop
    assert [h["epoch"] for h in mon.history_] == [1, 2, 3] and mon.curve().steps_per_epoch == 3
    assert mon.leaderboard() is None


@pytest.mark.parametrize("kwargs, match", [
    ({"keep_fraction": 0.5}, "needs a shared store"),
    ({"store": ":memory:", "keep_fraction": 0.0}, "keep_fraction"),
    ({"store": ":memory:", "min_peers": -1}, "min_peers"),
    ({"grace_epochs": 0}, "grace_epochs"),
    ({"estimator": "vacc-es"}, "not a training-speed estimator"),
    ({"run": "a@b"}, "without '@'"),
    ({"study": ""}, "study"),
    ({"on_epoch": 3}, "callable"),
])
def test_monitor_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TSEMonitor(**kwargs)


def test_monitor_errors_are_one_line() -> None:
    mon = TSEMonitor()
    with pytest.raises(ConfigError, match="no update"):
        mon.end_epoch()
    with pytest.raises(ConfigError, match="scalar"):
        mon.update(torch.ones(3))
    with pytest.raises(ConfigError, match="TSEMonitor state"):
        mon.load_state_dict({"epoch_losses": [1.0]})
    with pytest.raises(ConfigError, match="store"):
        TSELeaderboard(3)  # type: ignore[arg-type]


def _digits_loaders(n_train: int = 256):
    from nasrank.data import load_dataset

    tr, _ = load_dataset("digits").split(0.5, seed=0)
    x, y = tr.batch(list(range(n_train)))
    return x.flatten(1), y


def _train(mon: TSEMonitor, lr: float, x: torch.Tensor, y: torch.Tensor, epochs: int = 3) -> list[dict]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    out = []
    with mon:
        for _ in range(epochs):
            for i in range(0, len(x), 64):
                loss = torch.nn.functional.cross_entropy(net(x[i:i + 64]), y[i:i + 64])
                net.zero_grad()
                loss.backward()
                with torch.no_grad():  # plain SGD
                    for p in net.parameters():
                        p -= lr * p.grad
                mon.update(loss, batch_size=len(y[i:i + 64]))
            out.append(mon.end_epoch())
            if mon.should_stop:
                break
    return out


def test_real_training_runs_stop_by_their_tse_rank(tmp_path: Path) -> None:
    """Four real runs (tiny MLPs on digits, learning rates 0.3 .. 0) share a store: every stop
    decision is the rank decision on the losses the other runs registered at that epoch."""
    x, y = _digits_loaders()
    db = tmp_path / "monitor.db"
    history = {}
    for name, lr in (("lr0.3", 0.3), ("lr0.05", 0.05), ("lr0.01", 0.01), ("lr0", 0.0)):
        board_before = TSELeaderboard(db, "digits") if db.exists() else None
        before = board_before.epoch_losses() if board_before else {}
        if board_before:
            board_before.close()
        mon = TSEMonitor(name, store=db, study="digits", estimator="tse-ema:gamma=0.9", keep_fraction=0.5,
                         min_peers=2)
        history[name] = _train(mon, lr, x, y)
        for stats in history[name]:
            t = stats["epoch"]
            peers = [create_estimator("tse-ema", gamma=0.9).score(LearningCurve(train_loss=v[:t]), t)
                     for v in before.values() if len(v) >= t]
            d = rank_decision(stats["score"], peers, 0.5, 2)
            assert (stats["rank"], stats["n"], stats["keep"], stats["stop"]) == (d.rank, d.n, d.keep, not d.kept)
    assert [len(h) for h in history.values()] == [3, 3, 1, 1]  # 2nd run: too few peers; slow learners stop
    assert history["lr0"][0]["rank"] == 4 and history["lr0.3"][-1]["stop"] is False
    board = TSELeaderboard(db, "digits")
    try:
        assert board.runs() == ["lr0.3", "lr0.05", "lr0.01", "lr0"]
        scores = board.scores(1, "tse-ema:gamma=0.9")
        assert sorted(scores, key=scores.get, reverse=True) == ["lr0.3", "lr0.05", "lr0.01", "lr0"]
        with ResultStore(db, read_only=True) as st:
            rec = st.get(MONITOR_SPACE, "lr0@1", study_fingerprint("digits"))
            assert rec is not None and rec.metrics["stop"] is True and rec.info["decision"]["kept"] is False
    finally:
        board.close()


def test_run_names_are_unique_but_resuming_is_a_no_op(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    board = TSELeaderboard(db, "s")
    assert board.register("a", [2.0]) is True
    assert board.register("a", [2.0]) is False  # the same losses again: resumed run
    with pytest.raises(ConfigError, match="unique name"):
        board.register("a", [1.0])
    board.close()
    a = TSEMonitor("r", store=db, study="s")
    a.update(2.0)
    a.end_epoch()
    state = json.loads(json.dumps(a.state_dict()))  # checkpoints are JSON-friendly
    a.close()
    b = TSEMonitor("r", store=db, study="s")
    b.load_state_dict(state)
    b.update(1.0)
    assert b.end_epoch()["tse"] == pytest.approx(3.0)
    assert TSELeaderboard(ResultStore(db), "s").epoch_losses() == {"a": [2.0], "r": [2.0, 1.0]}
    b.close()


def _worker(name: str, db: str, base: float) -> None:
    with TSEMonitor(name, store=db, study="mp", estimator="tse") as mon:
        for epoch in range(4):
            for step in range(5):
                mon.update(base / (1 + epoch) + 0.01 * step)
            mon.end_epoch()
            time.sleep(0.02)


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs the fork start method")
def test_processes_share_one_store(tmp_path: Path) -> None:
    """Three processes register their epochs in one store concurrently; nothing is lost."""
    db = tmp_path / "shared.db"
    ResultStore(db).close()  # created once, as a launcher would
    ctx = mp.get_context("fork")  # forked workers skip re-importing torch (seconds each)
    procs = [ctx.Process(target=_worker, args=(f"p{i}", str(db), base)) for i, base in enumerate((1.0, 2.0, 3.0))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    board = TSELeaderboard(db, "mp")
    try:
        assert sorted(board.runs()) == ["p0", "p1", "p2"]
        assert all(len(v) == 4 for v in board.epoch_losses().values())
        s = board.scores(4, "tse")
        assert s["p0"] > s["p1"] > s["p2"]
        assert s["p0"] == pytest.approx(-sum(1.0 / (1 + e) + 0.02 for e in range(4)))
    finally:
        board.close()


# --- PyTorch Lightning (a stand-in module: the adapter only needs lightning.pytorch.callbacks.Callback) ---------
@pytest.fixture()
def fake_lightning(monkeypatch: pytest.MonkeyPatch):
    class Callback:  # the Lightning base class is a plain object with no-op hooks
        pass

    pkg = types.ModuleType("lightning")
    sub = types.ModuleType("lightning.pytorch")
    cbs = types.ModuleType("lightning.pytorch.callbacks")
    cbs.Callback = Callback
    monkeypatch.setitem(sys.modules, "lightning", pkg)
    monkeypatch.setitem(sys.modules, "lightning.pytorch", sub)
    monkeypatch.setitem(sys.modules, "lightning.pytorch.callbacks", cbs)
    return Callback


class _Trainer:
    def __init__(self, accumulate: int = 1) -> None:
        self.accumulate_grad_batches = accumulate
        self.should_stop = False


class _Module:
    def __init__(self, automatic: bool = True) -> None:
        self.automatic_optimization = automatic
        self.logged: dict[str, float] = {}

    def log(self, name: str, value: float, **kw: object) -> None:
        self.logged[name] = value


def test_lightning_callback_undoes_accumulation_and_logs(fake_lightning) -> None:
    cb = lightning_callback()
    assert isinstance(cb, fake_lightning)
    tr, mod = _Trainer(accumulate=2), _Module()
    for v in (1.0, 2.0):  # Lightning hands on_train_batch_end loss / accumulate_grad_batches
        cb.on_train_batch_end(tr, mod, {"loss": torch.tensor(v / 2), "extra": 1}, None, 0)
    cb.on_train_batch_end(tr, mod, {}, None, 2)  # a skipped step (training_step returned None)
    cb.on_train_epoch_end(tr, mod)
    cb.on_train_epoch_end(tr, mod)  # an epoch without losses is not closed
    assert cb.ts.epoch_losses_ == [1.5] and mod.logged["tse/tse"] == pytest.approx(1.5)
    assert set(mod.logged) == {"tse/train_loss", "tse/tse", "tse/tse-e", "tse/tse-ema"}
    manual = _Module(automatic=False)  # manual optimisation: outputs are what training_step returned
    cb.on_train_batch_end(tr, manual, torch.tensor(3.0), None, 0)
    cb.on_train_batch_end(tr, manual, "not a loss", None, 1)
    cb.on_train_epoch_end(tr, manual)
    assert cb.ts.epoch_losses_ == [1.5, 3.0] and not tr.should_stop
    state = cb.state_dict()
    again = lightning_callback()
    again.load_state_dict(state)
    assert again.ts.tse() == pytest.approx(4.5)


def test_lightning_callback_stops_the_trainer_through_a_monitor(fake_lightning) -> None:
    store = ResultStore(":memory:")
    TSELeaderboard(store, "pl").register("leader", [0.5])
    mon = TSEMonitor("slow", store=store, study="pl", keep_fraction=0.5, min_peers=1)
    cb = mon.lightning_callback(prefix="")
    tr, mod = _Trainer(), _Module()
    cb.on_train_batch_end(tr, mod, {"loss": torch.tensor(2.0)}, None, 0)
    cb.on_train_epoch_end(tr, mod)
    assert tr.should_stop and mon.should_stop
    assert mod.logged["rank"] == 2 and mod.logged["stop"] == 1.0 and "tse-ema" in mod.logged
    restored = TSEMonitor("slow", store=store, study="pl")
    restored.lightning_callback().load_state_dict(cb.state_dict())
    assert restored.speed_.epoch_losses_ == [2.0] and restored.should_stop


def test_lightning_callback_rejects_non_hooks(fake_lightning) -> None:
    with pytest.raises(ConfigError, match="update"):
        lightning_callback(object())


def test_hf_callback_needs_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match="pip install transformers"):
        hf_callback()


class _HFState:
    def __init__(self) -> None:
        self.global_step = 0


class _HFControl:
    should_training_stop = False


def test_hf_callback_logic_with_a_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The epoch bookkeeping of the HF callback (without transformers' multi-second import)."""
    mod = types.ModuleType("transformers")

    class TrainerCallback:
        pass

    mod.TrainerCallback = TrainerCallback
    monkeypatch.setitem(sys.modules, "transformers", mod)
    store = ResultStore(":memory:")
    TSELeaderboard(store, "hf").register("leader", [0.1, 0.1])
    cb = hf_callback(TSEMonitor("me", store=store, study="hf", keep_fraction=0.5, min_peers=1, grace_epochs=2))
    state, control = _HFState(), _HFControl()
    cb.on_train_begin(None, state, control)
    for step, loss in ((2, 1.0), (3, 4.0)):  # logging_steps=2 then 1: weights 2 and 1
        state.global_step = step
        cb.on_log(None, state, control, logs={"loss": loss, "learning_rate": 0.1})
    cb.on_log(None, state, control, logs={"eval_loss": 9.0})  # not a training loss
    cb.on_epoch_end(None, state, control)
    assert cb.monitor.speed_.epoch_losses_ == [pytest.approx(2.0)] and not control.should_training_stop  # grace
    cb.on_epoch_end(None, state, control)  # logging_strategy="epoch": the loss arrives after the epoch end
    state.global_step = 6
    cb.on_log(None, state, control, logs={"loss": 1.0})
    assert cb.monitor.epochs == 2 and control.should_training_stop


@pytest.mark.slow
def test_hf_trainer_run(tmp_path: Path) -> None:
    pytest.importorskip("transformers", reason="transformers is not installed")
    pytest.importorskip("accelerate", reason="the HF Trainer needs accelerate")
    from transformers import Trainer, TrainingArguments

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict:
            out = self.lin(x)
            return {"loss": torch.nn.functional.cross_entropy(out, labels), "logits": out}

    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    ds = [{"x": x[i], "labels": (x[i, 0] > 0).long()} for i in range(64)]
    torch.manual_seed(0)
    mon = TSEMonitor("hf")
    args = TrainingArguments(str(tmp_path / "out"), per_device_train_batch_size=16, num_train_epochs=2,
                             logging_steps=1, report_to=[], save_strategy="no", use_cpu=True, disable_tqdm=True,
                             learning_rate=0.1)
    trainer = Trainer(model=Tiny(), args=args, train_dataset=ds, callbacks=[hf_callback(mon)])
    trainer.train()
    logged = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert mon.epochs == 2 and [len(v) for v in mon.speed_.minibatch_losses_] == [4, 4]
    assert mon.speed_.epoch_losses_ == pytest.approx([np.mean(logged[:4]), np.mean(logged[4:])])
