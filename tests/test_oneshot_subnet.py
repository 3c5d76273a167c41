"""Subnet estimators from a trained supernet (seed 000 App. G.2 protocol) and subnet ranking."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import kendalltau, spearmanr

import nasrank
from nasrank.data import ImageDataset, load_dataset
from nasrank.exceptions import ConfigError, InvalidArchitectureError
from nasrank.execution import ProcessExecutor, SerialExecutor
from nasrank.oneshot import create_supernet_method
from nasrank.oneshot._rank import rank_subnets, ranking_table
from nasrank.oneshot._subnet import (
    SUBNET_ESTIMATORS,
    FinetuneConfig,
    SubnetResult,
    finetune_subnet,
)

SPACES = ["nb201", "darts"]


@pytest.fixture(scope="module")
def data() -> tuple[ImageDataset, ImageDataset]:
    tr, va = load_dataset("digits").split(0.5, seed=0)
    return tr, va.sample(160, seed=0)


def _supernet(space_name: str, seed: int = 0):
    space = nasrank.create_space(space_name)
    torch.manual_seed(seed)
    net = space.supernet(**space.default_config("tiny"), in_channels=1)
    # a few SPOS-like steps so that weights and BatchNorm buffers are not at their initial values
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return space, net


def _archs(space, n: int, seed: int = 0) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


CFG = FinetuneConfig(budgets=(0, 2, 4), batch_size=32, eval_batch_size=64)


def _snapshot(net: torch.nn.Module):
    return ({k: v.clone() for k, v in net.state_dict().items()},
            [None if p.grad is None else p.grad.clone() for p in net.parameters()], net.training)


def _assert_same(net: torch.nn.Module, snap) -> None:
    state, grads, training = snap
    now = net.state_dict()
    assert now.keys() == state.keys()
    for k, v in state.items():
        assert torch.equal(now[k], v), k
    for p, g in zip(net.parameters(), grads, strict=True):
        assert (p.grad is None) == (g is None)
        if g is not None:
            assert torch.equal(p.grad, g)
    assert net.training == training


# --- finetune_subnet -----------------------------------------------------------------------------

@pytest.mark.parametrize("space_name", SPACES)
def test_supernet_is_bit_identical_afterwards(space_name, data) -> None:
    tr, va = data
    space, net = _supernet(space_name)
    net.eval()
    # gradients left by a training step must survive too
    net(tr.batch(range(8))[0], net.path_weights(space.sample(1))).sum().backward()
    snap = _snapshot(net)
    for a in _archs(space, 2):
        r = finetune_subnet(net, a, tr, va, CFG)
        assert r.arch == a and not r.diverged
        _assert_same(net, snap)


def test_supernet_is_restored_when_fine_tuning_is_interrupted(data, monkeypatch) -> None:
    tr, va = data
    space, net = _supernet("nb201")
    snap = _snapshot(net)
    calls = {"n": 0}
    step = torch.optim.SGD.step

    def interrupted(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return step(self, *a, **k)

    monkeypatch.setattr(torch.optim.SGD, "step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        finetune_subnet(net, (3, 3, 1, 2, 4, 3), tr, va, CFG)
    assert calls["n"] == 3
    _assert_same(net, snap)


def _manual(net, arch, tr, va, cfg: FinetuneConfig, seed: int):
    """The protocol written out: losses before each step, validation minibatch on the same weights."""
    net = copy.deepcopy(net)
    net.train()
    w = net.path_weights(arch)
    opt = torch.optim.SGD([p for n, p in net.named_parameters() if n != "alpha"], lr=cfg.lr,
                          momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay)
    rng, vrng = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    gen = torch.Generator().manual_seed(seed)

    def cycle(ds, r, aug, g):
        while True:
            yield from ds.batches(cfg.batch_size, shuffle=True, seed=r, drop_last=True, augment=aug, generator=g)

    batches, vbatches = cycle(tr, rng, cfg.augment, gen), cycle(va, vrng, False, None)
    before, after, vloss = [], [], []
    for _ in range(cfg.steps):
        xv, yv = next(vbatches)
        with torch.no_grad():
            vloss.append(float(F.cross_entropy(net(xv, w), yv)))
        x, y = next(batches)
        opt.zero_grad()
        loss = F.cross_entropy(net(x, w), y)
        before.append(float(loss.detach()))
        loss.backward()
        opt.step()
        with torch.no_grad():
            after.append(float(F.cross_entropy(net(x, w), y)))
    return net, np.array(before, np.float32), np.array(after, np.float32), np.array(vloss, np.float32)


@pytest.mark.parametrize("space_name", SPACES)
def test_each_loss_is_recorded_before_its_own_step(space_name, data) -> None:
    tr, va = data
    space, net = _supernet(space_name)
    arch = _archs(space, 1, seed=3)[0]
    r = finetune_subnet(net, arch, tr, va, CFG, seed=5)
    tuned, before, after, vloss = _manual(net, arch, tr, va, CFG, seed=5)
    np.testing.assert_array_equal(r.train_loss.astype(np.float32), before)
    np.testing.assert_array_equal(r.val_loss.astype(np.float32), vloss)
    assert not np.allclose(before, after)  # the recorded losses are not the after-step ones
    # whole-validation-set metrics after max(B) steps: batch-statistics BatchNorm, batches of 64
    w = tuned.path_weights(arch)
    with torch.no_grad():
        out = torch.cat([tuned(va.batch(range(i, min(i + 64, len(va))))[0], w) for i in range(0, len(va), 64)])
    loss = F.cross_entropy(out, va.labels, reduction="sum").double().item() / len(va)
    acc = (out.argmax(1) == va.labels).double().mean().item()
    assert r.full_val[4]["val_loss"] == pytest.approx(loss, rel=1e-5)
    assert r.full_val[4]["val_acc"] == pytest.approx(acc)


@pytest.mark.parametrize("space_name", SPACES)
def test_budgets_are_recorded_from_one_run_and_tse_is_minus_the_sum(space_name, data) -> None:
    tr, va = data
    space, net = _supernet(space_name)
    r = finetune_subnet(net, _archs(space, 1)[0], tr, va, CFG)
    assert len(r.train_loss) == 4 and len(r.val_loss) == 4 and len(r.val_acc) == 4
    assert sorted(r.full_val) == [0, 2, 4] and r.budgets == (0, 2, 4)
    assert r.full_val[0] == r.inherited
    assert r.value("val_acc", 0) == r.inherited["val_acc"]
    assert np.all(np.isfinite(r.train_loss)) and r.seconds >= r.train_seconds > 0
    for B in (1, 2, 3, 4):
        assert r.value("tse", B) == -float(np.sum(r.train_loss[:B]))
        assert r.value("tl-mini", B) == -r.train_loss[B - 1]
    # a longer run's first minibatches are the shorter run's (one run serves every budget)
    r2 = finetune_subnet(net, r.arch, tr, va, FinetuneConfig(budgets=(2,), batch_size=32, eval_batch_size=64))
    np.testing.assert_array_equal(r2.train_loss, r.train_loss[:2])
    assert r2.full_val[2] == r.full_val[2]


def test_inherited_only(data) -> None:
    tr, va = data
    space, net = _supernet("nb201")
    r = finetune_subnet(net, (3, 3, 3, 3, 3, 3), tr, va, FinetuneConfig(budgets=0))
    assert len(r.train_loss) == 0 and r.full_val == {0: r.inherited}
    assert 0.0 <= r.value("val_acc", 0) <= 1.0 and r.value("val_loss", 0) < 0
    with pytest.raises(ConfigError, match="B >= 1"):
        r.value("tse", 0)


def test_deterministic_and_every_subnet_sees_the_same_minibatches(data, monkeypatch) -> None:
    tr, va = data
    space, net = _supernet("nb201")
    seen: list[list[torch.Tensor]] = []
    gather = ImageDataset._gather

    def spy(self, idx, device, augment, generator):
        x, y = gather(self, idx, device, augment, generator)
        seen[-1].append(x.clone())
        return x, y

    monkeypatch.setattr(ImageDataset, "_gather", spy)
    results = []
    for a in [(3, 3, 1, 2, 4, 3), (1, 0, 4, 2, 2, 0), (3, 3, 1, 2, 4, 3)]:
        seen.append([])
        results.append(finetune_subnet(net, a, tr, va, CFG, seed=7))
    assert results[0] == results[2]
    assert results[0] != results[1]
    assert len(seen[0]) == len(seen[1]) > 0
    assert all(torch.equal(a, b) for a, b in zip(seen[0], seen[1], strict=True))
    seen.append([])
    other = finetune_subnet(net, (3, 3, 1, 2, 4, 3), tr, va, CFG, seed=8)
    assert other != results[0]
    assert not all(torch.equal(a, b) for a, b in zip(seen[0], seen[-1], strict=True))


def test_divergence_is_a_recorded_outcome(data) -> None:
    tr, va = data
    space, net = _supernet("nb201")
    snap = _snapshot(net)
    r = finetune_subnet(net, (3, 3, 1, 2, 4, 3), tr, va, FinetuneConfig(budgets=(1, 3, 6), batch_size=32, lr=1e30))
    assert r.diverged
    assert math.isfinite(r.train_loss[0]) and np.isnan(r.train_loss[-1])
    assert sorted(r.full_val) == [1, 3, 6]
    assert math.isnan(r.value("val_acc", 6)) and math.isnan(r.value("tse", 6)) and math.isnan(r.value("sovl", 3))
    assert r.value("tse", 1) == -r.train_loss[0]  # before the divergence: a value
    _assert_same(net, snap)
    back = SubnetResult.from_dict(json.loads(json.dumps(r.to_dict(), allow_nan=False)))
    assert back == r and back.diverged


def test_results_json_round_trip(data) -> None:
    tr, va = data
    space, net = _supernet("darts")
    for cfg in (CFG, FinetuneConfig(budgets=(3,), batch_size=32, val_minibatch=False)):
        r = finetune_subnet(net, space.sample(0), tr, va, cfg, seed=2)
        back = SubnetResult.from_dict(json.loads(json.dumps(r.to_dict(), allow_nan=False)))
        assert back == r and back.seconds == r.seconds
        assert isinstance(back.arch, tuple) and back.budgets == cfg.budgets
        for name in SUBNET_ESTIMATORS:
            for B in cfg.budgets:
                if B == 0 and name not in ("val_acc", "val_loss"):
                    continue
                if not cfg.val_minibatch and name in ("sovl", "val_acc_mini"):
                    with pytest.raises(ConfigError, match="val_minibatch=True"):
                        r.value(name, B)
                    continue
                assert back.value(name, B) == r.value(name, B)
    with pytest.raises(ConfigError, match="unknown SubnetResult field"):
        SubnetResult.from_dict({**r.to_dict(), "extra": 1})


def test_without_a_validation_set(data, tmp_path) -> None:
    tr, _ = data
    space, net = _supernet("nb201")
    snap = _snapshot(net)
    r = finetune_subnet(net, (3, 3, 1, 2, 4, 3), tr, None, CFG)
    assert r.val_loss is None and r.val_acc is None and sorted(r.full_val) == [0, 2, 4]
    assert math.isnan(r.value("val_acc", 0)) and math.isnan(r.value("val_loss", 4))
    assert r.value("tse", 4) == -float(r.train_loss.sum())
    with pytest.raises(ConfigError, match="with a val_set"):
        r.value("sovl", 4)
    _assert_same(net, snap)
    (again,) = rank_subnets(net, [(3, 3, 1, 2, 4, 3)], tr, None, CFG, cache=tmp_path / "c.jsonl")
    assert again == r
    with pytest.raises(ConfigError, match="cannot run on this data"):
        finetune_subnet(nasrank.create_space("nb201").supernet(C=4, N=1), (3,) * 6, tr, None, CFG)


def test_a_supernet_method_is_a_source(data) -> None:
    tr, va = data
    m = create_supernet_method("spos", "nb201", supernet_config={"C": 4, "N": 1}, in_channels=1)
    m.step(tr.batch(range(32)))
    snap = _snapshot(m.supernet)
    r = finetune_subnet(m, (3, 3, 1, 2, 4, 3), tr, va, CFG)
    assert r.value("tse", 4) < 0
    _assert_same(m.supernet, snap)


# --- estimator definitions -----------------------------------------------------------------------

def test_estimator_values_and_signs() -> None:
    tl = np.array([3.0, 2.0, 1.5, 1.0, 0.5])
    vl = np.array([3.5, 2.5, 2.0, 1.8, 1.7])
    va = np.array([0.1, 0.3, 0.5, 0.6, 0.7])
    r = SubnetResult((0, 1), {"val_acc": 0.4, "val_loss": 1.9}, tl, vl, va,
                     full_val={5: {"val_acc": 0.8, "val_loss": 0.6}}, budgets=(5,))
    assert r.value("tse", 5) == -8.0 and r.value("tse", 2) == -5.0
    assert r.value("sotl", 5) == r.value("TSE", 5)
    assert r.value("tse-e:E=2", 5) == -1.5
    assert r.value("tse-e", 5) == r.value("tse", 5)  # the default window E=10 is clipped to B
    long = SubnetResult((0,), {}, np.arange(12.0))
    assert long.value("tse-e", 12) == -float(np.arange(2.0, 12.0).sum()) and long.value("tse-e:E=1", 7) == -6.0
    g = 0.5
    assert r.value("tse-ema:gamma=0.5", 3) == pytest.approx(-(g**2 * 3.0 + g * 2.0 + 1.5))
    assert r.value("tse-ema", 5) == pytest.approx(-sum(0.999 ** (4 - i) * tl[i] for i in range(5)))
    assert r.value("sovl", 4) == pytest.approx(-9.8)
    assert r.value("tl-mini", 4) == -1.0 and r.value("tl_mini", 1) == -3.0
    assert r.value("val_acc_mini", 2) == 0.3 and r.value("VAL-ACC-MINI", 5) == 0.7
    assert r.value("val_acc", 0) == 0.4 and r.value("val_acc") == 0.8
    assert r.value("val_loss", 0) == -1.9 and r.value("val_loss", 5) == -0.6
    # higher = better: a subnet with uniformly lower losses / higher accuracies scores higher
    better = SubnetResult((0, 2), {"val_acc": 0.5, "val_loss": 1.0}, tl - 0.1, vl - 0.1, va + 0.1,
                          full_val={5: {"val_acc": 0.9, "val_loss": 0.5}}, budgets=(5,))
    for name in ("tse", "tse-e:E=2", "tse-ema", "sovl", "val_acc", "val_loss", "tl-mini", "val_acc_mini"):
        for B in (0, 1, 5):
            if B == 0 and name not in ("val_acc", "val_loss") or B == 1 and name in ("val_acc", "val_loss", "tse-e:E=2"):
                continue
            assert better.value(name, B) > r.value(name, B), (name, B)


def test_bad_inputs_get_one_line_errors(data) -> None:
    tr, va = data
    space, net = _supernet("nb201")
    r = SubnetResult((0,), {"val_acc": 0.5, "val_loss": 1.0}, [1.0, 2.0], full_val={2: {"val_acc": 1, "val_loss": 1}})
    cases = [
        (InvalidArchitectureError, lambda: finetune_subnet(net, (5, 0, 0, 0, 0, 0), tr, va, CFG)),
        (InvalidArchitectureError, lambda: finetune_subnet(net, (1, 2, 3), tr, va, CFG)),
        (InvalidArchitectureError, lambda: finetune_subnet(net, "|nor_conv_3x3~0|+|bogus~0|", tr, va, CFG)),
        (InvalidArchitectureError, lambda: rank_subnets(net, [(3,) * 6, (9,) * 6], tr, va, CFG)),
        (InvalidArchitectureError, lambda: finetune_subnet(_supernet("darts")[1], (0,) * 6, tr, va, CFG)),
        (ConfigError, lambda: FinetuneConfig(budgets=(-1, 100))),
        (ConfigError, lambda: FinetuneConfig(budgets=())),
        (ConfigError, lambda: FinetuneConfig(budgets=(1.5,))),
        (ConfigError, lambda: FinetuneConfig(lr=0)),
        (ConfigError, lambda: FinetuneConfig(nesterov=True, momentum=0.0)),
        (ConfigError, lambda: r.value("tse", -1)),
        (ConfigError, lambda: r.value("tse", 3)),
        (ConfigError, lambda: r.value("val_acc", 1)),
        (ConfigError, lambda: r.value("bogus", 1)),
        (ConfigError, lambda: r.value("tse:gamma=0.5", 1)),
        (ConfigError, lambda: r.value("tse-ema:gamma=2", 1)),
        (ConfigError, lambda: ranking_table([r], {(0,): 1.0}, "tse,nope", [1])),
        (ConfigError, lambda: ranking_table([r], {(1,): 1.0}, "tse", [1])),
        (ConfigError, lambda: finetune_subnet(net, (3,) * 6, tr, va, CFG, seed=-1)),
        (ConfigError, lambda: finetune_subnet(net, (3,) * 6, tr, va, FinetuneConfig(batch_size=10_000))),
        (ConfigError, lambda: finetune_subnet(object(), (3,) * 6, tr, va, CFG)),
        (ConfigError, lambda: finetune_subnet(net, (3,) * 6, tr.images, va, CFG)),
        (ConfigError, lambda: finetune_subnet(nasrank.create_space("nb201").supernet(C=4, N=1), (3,) * 6,
                                              tr, va, CFG)),  # 3-channel supernet, 1-channel data
        (ConfigError, lambda: finetune_subnet(nasrank.create_space("nb201").supernet(C=4, N=1, num_classes=5, in_channels=1),
                                              (3,) * 6, tr, va, CFG)),  # 5 classes, labels up to 9
        (ConfigError, lambda: rank_subnets(net, (3,) * 6, tr, va, CFG)),  # one arch, not a list
    ]
    for exc, call in cases:
        with pytest.raises(exc) as info:
            call()
        msg = str(info.value)
        assert msg and "\n" not in msg, msg


# --- rank_subnets / ranking_table ---------------------------------------------------------------

def test_ranking_table_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    n = 25
    gt = {(i,): float(v) for i, v in enumerate(rng.uniform(80, 95, n))}
    results = []
    for i in range(n):
        tl = rng.uniform(0.5, 2.5, 4)
        results.append(SubnetResult((i,), {"val_acc": rng.uniform(), "val_loss": 1.0}, tl, tl + 0.1, rng.uniform(size=4),
                                    full_val={2: {"val_acc": rng.uniform(), "val_loss": rng.uniform()},
                                              4: {"val_acc": rng.uniform(), "val_loss": rng.uniform()}}))
    results[3].train_loss[1] = np.nan  # a diverged subnet: dropped from the tse rows from B=2 on
    rows = ranking_table(results, gt, ["tse", "val_acc", "tl-mini"], [0, 2, 4])
    assert [(r["estimator"], r["B"]) for r in rows] == [
        ("tse", 2), ("tse", 4), ("val_acc", 0), ("val_acc", 2), ("val_acc", 4), ("tl-mini", 2), ("tl-mini", 4)]
    truth = np.array([gt[r.arch] for r in results])
    for row in rows:
        s = np.array([r.value(row["estimator"], row["B"]) for r in results])
        ok = np.isfinite(s)
        assert row["n"] == ok.sum() == (n - 1 if row["estimator"] == "tse" or (row["estimator"], row["B"]) == ("tl-mini", 2) else n)
        assert row["spearman"] == pytest.approx(spearmanr(s[ok], truth[ok]).statistic)
        assert row["kendall"] == pytest.approx(kendalltau(s[ok], truth[ok]).statistic)
        top = np.argsort(-s[ok], kind="stable")[:10]
        assert row["top10_acc"] == pytest.approx(truth[ok][top].mean())
    # signs: an estimator equal to the ground truth has correlation 1
    perfect = [SubnetResult((i,), {"val_acc": gt[(i,)], "val_loss": 0.0}, [1.0]) for i in range(n)]
    (row,) = ranking_table(perfect, gt, "val_acc", 0, top=3)
    assert row["spearman"] == pytest.approx(1.0) and row["kendall"] == pytest.approx(1.0)
    assert row["top3_acc"] == pytest.approx(np.mean(sorted(gt.values())[-3:]))


def test_rank_subnets_cache_resumes_without_redoing_work(data, tmp_path, monkeypatch) -> None:
    tr, va = data
    space, net = _supernet("nb201")
    archs = _archs(space, 3, seed=4)
    cache = tmp_path / "sub" / "rank.jsonl"
    first = rank_subnets(net, archs[:2], tr, va, CFG, seed=1, cache=cache)
    assert len(cache.read_text().splitlines()) == 2
    import nasrank.oneshot._rank as rank_mod

    calls = []
    real = rank_mod.finetune_subnet
    monkeypatch.setattr(rank_mod, "finetune_subnet", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    with open(cache, "a") as f:
        f.write('{"context": "torn')  # an interrupted write
    again = rank_subnets(net, archs + [archs[0]], tr, va, CFG, seed=1, cache=cache)
    assert calls == [archs[2]]  # only the new architecture was fine-tuned
    assert again[:2] == first and again[3] == first[0]
    assert again[2] == rank_subnets(net, [archs[2]], tr, va, CFG, seed=1)[0]
    calls.clear()
    assert rank_subnets(net, archs, tr, va, CFG, seed=1, cache=cache) == again[:3] and calls == []
    # another seed (or supernet, data, config) is another context: recomputed, kept apart
    rank_subnets(net, archs[:1], tr, va, CFG, seed=2, cache=cache)
    assert calls == [archs[0]]
    lines = [json.loads(x) for x in cache.read_text().splitlines() if x.startswith('{"context": "') and x.endswith("}")]
    assert len(lines) == 4 and len({x["context"] for x in lines}) == 2


def test_process_executor_gives_the_serial_results(data) -> None:
    tr, va = data
    space, net = _supernet("nb201")
    archs = _archs(space, 2, seed=9)
    serial = rank_subnets(net, archs, tr, va, CFG, seed=3)
    with SerialExecutor() as ex:
        assert rank_subnets(net, archs, tr, va, CFG, seed=3, executor=ex) == serial
    with ProcessExecutor(workers=1, threads=1) as ex:
        assert rank_subnets(net, archs, tr, va, CFG, seed=3, executor=ex) == serial


def test_rank_subnets_with_a_method_and_a_table(data, capsys) -> None:
    tr, va = data
    m = create_supernet_method("spos", "darts", supernet_config=nasrank.create_space("darts").default_config("tiny"),
                               in_channels=1)
    archs = _archs(m.space, 3, seed=0)
    rs = rank_subnets(m, [m.space.to_str(a) for a in archs], tr, va, FinetuneConfig(budgets=(0, 2), batch_size=32),
                      progress=True)
    assert [r.arch for r in rs] == archs
    assert capsys.readouterr().err.count("[rank]") == 3
    rows = ranking_table(rs, {a: float(i) for i, a in enumerate(archs)}, "tse,sovl,val_acc,val_acc_mini", [0, 2], top=2)
    assert {(r["estimator"], r["B"]) for r in rows} == {("tse", 2), ("sovl", 2), ("val_acc", 0), ("val_acc", 2),
                                                        ("val_acc_mini", 2)}
    assert all(r["n"] == 3 and -1 <= r["spearman"] <= 1 for r in rows)
