"""The training-speed ranking shared by the integrations, and the Optuna pruner (a real study on digits)."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest

from nasrank.exceptions import ConfigError, MissingDependencyError
from nasrank.integrations import (
    TSEPruner,
    epoch_loss,
    rank_decision,
    report_losses,
    trial_losses,
    tse_score,
)
from nasrank.integrations._optuna import PRUNED_KEY, RUNG_KEY
from nasrank.integrations._tse_rank import rung_epochs, tse_estimator

# --------------------------------------------------------------------------- shared ranking logic


def test_tse_score_uses_the_registered_estimators():
    losses = [2.0, 1.0, 0.5]
    assert tse_score(losses, "tse") == -3.5
    assert tse_score(losses, "tse", epochs=2) == -3.0
    assert tse_score(losses, "tse-e:E=2") == -1.5
    assert tse_score(losses, "tse-ema:gamma=0.5") == pytest.approx(-(0.25 * 2 + 0.5 * 1 + 0.5))
    assert math.isnan(tse_score([2.0, math.nan], "tse"))
    assert math.isnan(tse_score([2.0, None], "tse"))


@pytest.mark.parametrize("bad", ["vacc-es", "sovl", "nope", "tse-ema:gamma=2"])
def test_tse_estimator_rejects_other_estimators(bad):
    with pytest.raises((ConfigError, KeyError)):
        tse_estimator(bad)


def test_tse_score_needs_enough_epochs():
    with pytest.raises(ConfigError, match="needs 3 epoch losses"):
        tse_score([1.0, 2.0], "tse", epochs=3)


def test_epoch_loss():
    assert epoch_loss(1.25) == 1.25
    assert epoch_loss([3.0, 1.0]) == 2.0
    assert epoch_loss([3.0, 1.0], batch_sizes=[1, 3]) == 1.5
    assert math.isnan(epoch_loss([1.0, math.inf]))
    with pytest.raises(ConfigError, match="at least one"):
        epoch_loss([])
    with pytest.raises(ConfigError, match="numbers"):
        epoch_loss(["a"])
    with pytest.raises(ConfigError, match="batch_sizes"):
        epoch_loss([1.0, 2.0], batch_sizes=[1])


def test_rank_decision_successive_halving_rule():
    # alone: kept; 2 of 3 with eta=3: only the best survives; ties survive
    assert rank_decision(-1.0, [], 1 / 3).kept
    d = rank_decision(-1.0, [-2.0, -0.5], 1 / 3)
    assert (d.rank, d.n, d.keep, d.kept) == (2, 3, 1, False)
    assert rank_decision(-0.5, [-2.0, -0.5], 1 / 3).kept
    # median: 4 trials, 2 survive
    assert rank_decision(-1.0, [-0.5, -2.0, -3.0], 0.5).kept
    assert not rank_decision(-2.5, [-0.5, -2.0, -3.0], 0.5).kept
    # NaN: always stopped; NaN / None peers rank last
    assert not rank_decision(math.nan, [], 0.5).kept
    assert rank_decision(-9.0, [math.nan, None], 1 / 3).kept
    # warm-up: kept until min_peers peers exist
    assert rank_decision(-9.0, [-1.0], 0.5, min_peers=2).kept
    assert not rank_decision(-9.0, [-1.0, -2.0], 0.5, min_peers=2).kept
    with pytest.raises(ConfigError, match="keep_fraction"):
        rank_decision(0.0, [], 0.0)


def test_rung_epochs():
    assert list(rung_epochs(1, 3, max_epochs=28)) == [1, 3, 9, 27]
    assert list(rung_epochs(2, 2, max_epochs=9)) == [2, 4, 8]
    with pytest.raises(ConfigError, match="reduction_factor"):
        rung_epochs(1, 1)


def test_import_without_extras():
    """`nasrank.integrations` imports without Optuna/Ray; using the pruner then names the install."""
    code = textwrap.dedent("""
        import sys
        for m in ("optuna", "ray"):
            sys.modules[m] = None  # makes `import optuna` / `import ray` fail
        import nasrank.integrations as integ
        from nasrank.exceptions import MissingDependencyError
        assert integ.tse_score([1.0], "tse") == -1.0
        for make in (lambda: integ.TSEPruner(), lambda: integ.TSEScheduler()):
            try:
                make()
            except MissingDependencyError as e:
                print(str(e))
            else:
                raise SystemExit("no MissingDependencyError")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2 and "pip install optuna" in lines[0] and "pip install" in lines[1] and "ray" in lines[1]
    assert MissingDependencyError  # imported for the isinstance contract: it is an ImportError
    assert issubclass(MissingDependencyError, ImportError)


# --------------------------------------------------------------------------- Optuna (skipped without it)

EPOCHS = 6


@pytest.fixture
def optuna():
    """The optuna module (the test is skipped without it), quiet while the test runs."""
    mod = pytest.importorskip("optuna")
    old = mod.logging.get_verbosity()
    mod.logging.set_verbosity(mod.logging.WARNING)
    yield mod
    mod.logging.set_verbosity(old)


def _digits_objective(optuna):
    import torch

    from nasrank.data import load_dataset

    tr, va = load_dataset("digits").split(0.5, seed=0)

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-3, 0.5, log=True)
        hidden = trial.suggest_categorical("hidden", [4, 16])
        torch.manual_seed(trial.number)
        net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, hidden), torch.nn.ReLU(),
                                  torch.nn.Linear(hidden, 10))
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
        for epoch in range(1, EPOCHS + 1):
            losses, sizes = [], []
            net.train()
            for x, y in tr.batches(128, shuffle=True, seed=epoch):
                loss = torch.nn.functional.cross_entropy(net(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss)  # scalar tensors are accepted
                sizes.append(len(y))
            net.eval()
            with torch.no_grad():
                acc = sum(int((net(x).argmax(1) == y).sum()) for x, y in va.batches(512)) / len(va)
            report_losses(trial, losses, epoch, batch_sizes=sizes, value=acc)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return acc

    return objective


def _check_decisions_follow_tse_ranking(optuna, study, pruner):
    """Replay every recorded decision from the reported losses alone (trials ran sequentially)."""
    P = optuna.trial.TrialState
    history: dict[int, list[float | None]] = {}  # rung -> scores recorded so far
    n_pruned = n_complete = 0
    for t in sorted(study.trials, key=lambda t: t.number):
        losses = trial_losses(t)
        pruned_at = None
        for r in pruner.rungs_upto(len(losses)):
            rec = t.user_attrs[RUNG_KEY.format(epoch=r)]
            expect = rank_decision(tse_score(losses, pruner.estimator, r), history.get(r, []),
                                   pruner.keep_fraction, pruner.min_peers)
            assert rec == expect.as_dict(), (t.number, r)
            history.setdefault(r, []).append(rec["score"])
            if not rec["kept"]:
                pruned_at = r
                break
        if pruned_at is not None:
            n_pruned += 1
            assert t.state == P.PRUNED and t.user_attrs[PRUNED_KEY] == pruned_at == len(losses)
            # the pruned trial was out-ranked at that rung by at least `keep` earlier trials
            better = [s for s in history[pruned_at][:-1] if s is not None and s > rec["score"]]
            assert len(better) >= rec["keep"]
        else:
            n_complete += 1
            assert t.state == P.COMPLETE and len(losses) == EPOCHS and PRUNED_KEY not in t.user_attrs
    return n_pruned, n_complete


def test_tse_pruner_real_study_on_digits_with_sqlite(optuna, tmp_path):
    storage = f"sqlite:///{tmp_path / 'hpo.db'}"
    pruner = TSEPruner("tse-ema:gamma=0.9", min_epochs=1, reduction_factor=2)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0), pruner=pruner)
    objective = _digits_objective(optuna)
    study.optimize(objective, n_trials=6)
    # a second worker / process resumes from the storage alone
    again = optuna.load_study(study_name="s", storage=storage, pruner=TSEPruner("tse-ema:gamma=0.9",
                              min_epochs=1, reduction_factor=2), sampler=optuna.samplers.RandomSampler(seed=1))
    again.optimize(objective, n_trials=2)
    study = optuna.load_study(study_name="s", storage=storage)
    assert len(study.trials) == 8
    n_pruned, n_complete = _check_decisions_follow_tse_ranking(optuna, study, pruner)
    assert n_pruned >= 2 and n_complete >= 1
    # intermediate values (validation accuracy) were passed on to Optuna
    first = study.trials[0]
    assert sorted(first.intermediate_values) == list(range(1, len(trial_losses(first)) + 1))


def test_tse_pruner_percentile_mode_and_warmup(optuna):
    """rungs + keep_fraction=0.5 = median pruning on TSE; nothing is pruned before min_peers trials."""
    rates = [0.9, 0.5, 0.2, 0.8, 0.1, 0.95, 0.3, 0.6]

    def objective(trial):
        rate = rates[trial.number]
        for epoch in range(1, 6):
            report_losses(trial, 2.0 * rate**epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return rate

    pruner = TSEPruner("tse", rungs=[2, 3, 4], keep_fraction=0.5, min_peers=2)
    study = optuna.create_study(pruner=pruner)
    study.optimize(objective, n_trials=len(rates))
    states = [t.state.name for t in study.trials]
    assert states[:2] == ["COMPLETE", "COMPLETE"]  # warm-up
    # slow-decaying losses (high rate) rank last by TSE and are pruned at the first rung
    assert states[3] == "PRUNED" and study.trials[3].user_attrs[PRUNED_KEY] == 2
    assert states[5] == "PRUNED"
    assert states[4] == "COMPLETE"  # the fastest
    _check_decisions_follow_tse_ranking_partial(study, pruner)


def _check_decisions_follow_tse_ranking_partial(study, pruner):
    history: dict[int, list] = {}
    for t in study.trials:
        for r in pruner.rungs_upto(len(trial_losses(t))):
            rec = t.user_attrs[RUNG_KEY.format(epoch=r)]
            exp = rank_decision(tse_score(trial_losses(t), "tse", r), history.get(r, []), 0.5, 2)
            assert rec == exp.as_dict()
            history.setdefault(r, []).append(rec["score"])


def test_report_losses_contract(optuna):
    study = optuna.create_study()
    trial = study.ask()
    assert report_losses(trial, [1.0, 3.0]) == 2.0
    with pytest.raises(ConfigError, match="next one is 2"):
        report_losses(trial, 1.0, epoch=3)
    with pytest.raises(ConfigError, match="next one is 2"):
        report_losses(trial, 1.0, epoch=1)
    report_losses(trial, math.nan, epoch=2)  # a diverged epoch is stored, read back as NaN
    assert trial_losses(trial)[0] == 2.0 and math.isnan(trial_losses(trial)[1])
    assert math.isnan(tse_score(trial_losses(trial), "tse"))
    with pytest.raises(ConfigError, match="Optuna trial"):
        trial_losses(object())


def test_tse_pruner_validation_and_warning(optuna):
    with pytest.raises(ConfigError, match="not a training-speed estimator"):
        TSEPruner("vacc-es")
    with pytest.raises(ConfigError, match="window E=3"):
        TSEPruner("tse-e:E=3", min_epochs=2)
    with pytest.raises(ConfigError, match="reduction_factor"):
        TSEPruner(reduction_factor=1)
    with pytest.raises(ConfigError, match="keep_fraction"):
        TSEPruner(keep_fraction=1.5)
    with pytest.raises(ConfigError, match="rungs"):
        TSEPruner(rungs=[])

    def objective(trial):  # reports values only: never pruned, one warning
        for epoch in range(1, 4):
            trial.report(1.0, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return 0.0

    study = optuna.create_study(pruner=TSEPruner())
    with pytest.warns(UserWarning, match="report_losses"):
        study.optimize(objective, n_trials=2)
    assert all(t.state.name == "COMPLETE" for t in study.trials)
