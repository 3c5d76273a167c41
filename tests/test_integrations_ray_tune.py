"""The Ray Tune scheduler: its decisions driven directly, and one local Tuner run (Ray's startup dominates)."""

from __future__ import annotations

import math

import pytest

from nasrank.exceptions import ConfigError
from nasrank.integrations import TSEScheduler, rank_decision, tse_score

pytest.importorskip("ray.tune")

from ray.tune.schedulers import TrialScheduler  # noqa: E402

CONT, STOP = TrialScheduler.CONTINUE, TrialScheduler.STOP


class _FakeTrial:
    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id


def _run(sched, curves):
    """Feed per-epoch losses trial after trial (FIFO, one at a time); returns epochs run per trial."""
    ran = {}
    for tid, losses in curves.items():
        trial = _FakeTrial(tid)
        for epoch, loss in enumerate(losses, 1):
            ran[tid] = epoch
            if sched.on_trial_result(None, trial, {"train_loss": loss, "training_iteration": epoch}) == STOP:
                break
    return ran


def _replay(sched, curves, ran):
    """Recompute every decision from the losses alone and compare with the scheduler's log."""
    history: dict[int, list[float]] = {}
    expected = []
    for tid, losses in curves.items():
        for r in sched.rungs_upto(ran[tid]):
            d = rank_decision(tse_score(losses, sched.estimator, r), history.get(r, []),
                              sched.keep_fraction, sched.min_peers)
            expected.append({"trial_id": tid, "rung": r, **d.as_dict()})
            history.setdefault(r, []).append(d.score)
            if not d.kept:
                assert ran[tid] == r
                break
        else:
            assert ran[tid] == len(losses)
    assert sched.decisions_ == expected


def test_scheduler_stops_by_tse_rank_at_milestones():
    rates = [0.9, 0.5, 0.2, 0.8, 0.1, 0.95, 0.3, 0.6, 0.7]
    curves = {f"t{i}": [2.0 * r**e + 0.1 for e in range(1, 10)] for i, r in enumerate(rates)}
    sched = TSEScheduler("tse-ema:gamma=0.9", min_epochs=1, reduction_factor=3)
    ran = _run(sched, curves)
    _replay(sched, curves, ran)
    assert ran["t4"] == 9  # the fastest-decaying loss runs to the end
    assert ran["t5"] == 1 and ran["t3"] == 1  # slower than an earlier trial at milestone 1
    assert any(not d["kept"] for d in sched.decisions_) and "stopped" in sched.debug_string()


def test_scheduler_median_mode_warmup_nan_and_validation():
    curves = {"a": [1.0, 0.9, 0.8], "b": [2.0, 1.9, 1.8], "c": [0.5, math.nan, 0.1], "d": [3.0, 3.0, 3.0]}
    sched = TSEScheduler("tse", rungs=[1, 2], keep_fraction=0.5, min_peers=1)
    ran = _run(sched, curves)
    _replay(sched, curves, ran)
    assert ran == {"a": 3, "b": 1, "c": 2, "d": 1}  # b, d: slower than the median; c: diverged
    trial = _FakeTrial("x")
    with pytest.raises(ConfigError, match="one result per epoch"):
        sched.on_trial_result(None, trial, {"train_loss": 1.0, "training_iteration": 3})
    with pytest.warns(UserWarning, match="train_loss"):
        assert sched.on_trial_result(None, trial, {"loss": 1.0, "training_iteration": 1}) == CONT
    # a list of minibatch losses is averaged; a replayed epoch (restore) overwrites
    sched.on_trial_result(None, trial, {"train_loss": [1.0, 3.0], "training_iteration": 1})
    sched.on_trial_result(None, trial, {"train_loss": [1.0, 1.0], "training_iteration": 1})
    assert sched.losses_["x"] == [1.0]
    for bad in (dict(estimator="vacc-es"), dict(reduction_factor=1), dict(keep_fraction=0),
                dict(rungs=[]), dict(loss_attr=""), dict(estimator="tse-e:E=2")):
        with pytest.raises(ConfigError):
            TSEScheduler(**bad)


@pytest.mark.timeout(300)
def test_tuner_run_with_scheduler_and_result_callback(tmp_path):
    """A real local Tune run (Ray start-up dominates: ~25 s on a shared 2-core box; runs wherever
    Ray Tune is installed, e.g. CI's extras stage)."""
    import ray
    from ray import tune

    rates = [0.9, 0.5, 0.2, 0.8, 0.1, 0.95]

    def trainable(config):
        for epoch in range(1, 7):
            tune.report({"train_loss": 2.0 * config["rate"] ** epoch + 0.1, "score": -config["rate"]})

    sched = TSEScheduler("tse-ema:gamma=0.9", min_epochs=1, reduction_factor=2)
    ray.init(num_cpus=1, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        tuner = tune.Tuner(
            trainable,
            param_space={"rate": tune.grid_search(rates)},
            tune_config=tune.TuneConfig(scheduler=sched, max_concurrent_trials=1, metric="score", mode="max"),
            run_config=tune.RunConfig(callbacks=[sched.result_callback()], storage_path=str(tmp_path), verbose=0),
        )
        grid = tuner.fit()
    finally:
        ray.shutdown()
    by_rate = {r.config["rate"]: r for r in grid}
    assert set(by_rate) == set(rates)
    curves = {}
    ran = {}
    for r in sorted(grid, key=lambda r: r.metrics["trial_id"]):
        tid = r.metrics["trial_id"]
        curves[tid] = [2.0 * r.config["rate"] ** e + 0.1 for e in range(1, 7)]
        ran[tid] = r.metrics["training_iteration"]
        # the decision is in the trial's results
        assert r.metrics["tse_decision"] == (STOP if ran[tid] < 6 else CONT)
        assert r.metrics["tse_score"] == pytest.approx(tse_score(curves[tid][: ran[tid]], sched.estimator))
    _replay(sched, curves, ran)
    assert by_rate[0.1].metrics["training_iteration"] == 6
    assert by_rate[0.95].metrics["training_iteration"] == 1
