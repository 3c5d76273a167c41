"""NATS-Bench adapter: trust flag, missing package, and the mapping logic on a fake API object."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from nasrank.benchmarks.nats import NATSBenchmark
from nasrank.exceptions import (
    BenchmarkDataError,
    ConfigError,
    MissingDependencyError,
    UnknownNameError,
)
from nasrank.spaces.nb201 import NB201Space

SPACE = NB201Space()
ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
         "|none~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
         "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|"]


class FakeNATS:
    """The part of nats_bench's topology API the adapter uses, with values derived from (index, epoch)."""

    def __init__(self, epochs: int = 12) -> None:
        self.epochs = epochs
        self.calls: list[tuple] = []

    def __len__(self) -> int:
        return len(ARCHS)

    def __getitem__(self, i: int) -> str:
        return ARCHS[i]

    def get_more_info(self, index, dataset, iepoch=None, hp="12", is_random=True):
        self.calls.append((index, dataset, iepoch, hp, is_random))
        if dataset not in ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"):
            raise ValueError(f"invalid dataset {dataset}")
        if isinstance(is_random, bool) and is_random:
            raise AssertionError("the adapter must never ask for a random trial")
        e = int(hp) - 1 if iepoch is None else iepoch
        seed_shift = 0 if is_random is False else 0.5
        info = {"train-loss": 2.0 / (e + 1) + index, "train-accuracy": 10.0 + e + index,
                "train-all-time": 3.0 * (e + 1) + index,  # cumulative, 3 s/epoch (+ index in epoch 1)
                "test-loss": 1.0 + index, "test-accuracy": 90.0 - index + seed_shift}
        if dataset != "cifar10":
            info.update({"valid-loss": 1.5 / (e + 1) + index, "valid-accuracy": 20.0 + e + index})
        if dataset in ("cifar100", "ImageNet16-120"):
            info.update({"valtest-loss": 9.0, "valtest-accuracy": 99.0})
        return info


def test_requires_trust_flag_before_anything(tmp_path: Path) -> None:
    for flag in (False, "yes", 1):
        with pytest.raises(ConfigError, match="trust_pickle=True"):
            NATSBenchmark(tmp_path, trust_pickle=flag)


def test_missing_package_hint(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "nats_bench", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'nasrank\[nats\]'"):
        NATSBenchmark(tmp_path, trust_pickle=True)


def test_create_path_with_a_fake_package(monkeypatch, tmp_path: Path) -> None:
    created = []
    fake = types.ModuleType("nats_bench")

    def create(path, space, fast_mode=False, verbose=True):
        created.append((path, space, fast_mode, verbose))
        return FakeNATS()

    fake.create = create
    monkeypatch.setitem(sys.modules, "nats_bench", fake)
    with pytest.raises(BenchmarkDataError, match="does not exist"):
        NATSBenchmark(tmp_path / "missing", trust_pickle=True)
    bench = NATSBenchmark(tmp_path, trust_pickle=True, hp="12")
    assert created == [(str(tmp_path), "tss", True, False)]
    assert len(bench) == 3


def test_archs_and_final_metrics() -> None:
    api = FakeNATS()
    bench = NATSBenchmark.from_api(api, hp="12")
    assert bench.archs() == [SPACE.from_str(s) for s in ARCHS]
    assert bench.index(ARCHS[1]) == 1
    assert bench.query(ARCHS[1], "test_acc") == pytest.approx(0.89)  # default dataset cifar10-valid
    assert api.calls[-1] == (1, "cifar10-valid", None, "12", False)  # mean over trials
    assert bench.query(bench.archs()[2], "val_acc", "imagenet16-120") == pytest.approx(0.20 + 0.11 + 0.02)
    assert api.calls[-1][1] == "ImageNet16-120"
    assert bench.query(ARCHS[0], "train_time", "cifar100") == pytest.approx(36.0)
    assert "val_acc" not in bench.metrics("cifar10")
    with pytest.raises(UnknownNameError, match="no metric 'val_acc'"):
        bench.query(ARCHS[0], "val_acc", "cifar10")
    with pytest.raises(UnknownNameError, match="no dataset"):
        bench.query(ARCHS[0], "test_acc", "ImageNet16-120")  # our spelling is lower-case
    with pytest.raises(BenchmarkDataError, match="not in this NATS-Bench API"):
        bench.query((3, 3, 3, 3, 3, 3))
    seeded = NATSBenchmark.from_api(api, hp="12", seed=888)
    assert seeded.query(ARCHS[0]) == pytest.approx(0.905)
    assert api.calls[-1][-1] == 888
    valtest = NATSBenchmark.from_api(api, hp="12", validation="valtest")
    assert valtest.query(ARCHS[0], "val_acc", "cifar100") == pytest.approx(0.99)
    assert valtest.query(ARCHS[0], "val_acc", "cifar10-valid") == pytest.approx(0.31)  # no valtest there


def test_curves() -> None:
    api = FakeNATS()
    bench = NATSBenchmark.from_api(api, hp="12")
    assert bench.has_curves
    c = bench.curve(ARCHS[2], "cifar100")
    e = np.arange(12)
    assert c.epochs == 12 and c.planned_epochs == 12
    assert np.allclose(c.train_loss, 2.0 / (e + 1) + 2)
    assert np.allclose(c.train_acc, (10.0 + e + 2) / 100)
    assert np.allclose(c.val_loss, 1.5 / (e + 1) + 2)
    assert np.allclose(c.val_acc, (20.0 + e + 2) / 100)
    assert np.allclose(c.epoch_time, [5.0] + [3.0] * 11)  # from the cumulative time
    assert c.test_acc == pytest.approx(0.88) and c.test_loss == pytest.approx(3.0)
    assert c.meta["index"] == 2 and c.meta["dataset"] == "cifar100"
    n = len(api.calls)
    assert bench.curve(ARCHS[2], "cifar100") is c and len(api.calls) == n  # cached
    assert np.allclose(bench.epoch_times(ARCHS[2], "cifar100"), c.epoch_time)
    c10 = bench.curve(ARCHS[0], "cifar10")
    assert c10.val_acc is None and c10.val_loss is None
    # the curves feed the estimators directly
    from nasrank import create_estimator
    assert create_estimator("tse").compute(c, 2) == pytest.approx(2.0 + 2 + 1.0 + 2)


def test_bad_options_and_api() -> None:
    api = FakeNATS()
    for kw, msg in (({"hp": "100"}, "hp"), ({"seed": "777"}, "seed"), ({"validation": "test"}, "validation")):
        with pytest.raises(ConfigError, match=msg):
            NATSBenchmark.from_api(api, **kw)

    class Broken:
        def __len__(self):
            return 1

        def __getitem__(self, i):
            raise RuntimeError("boom")

    with pytest.raises(BenchmarkDataError, match="boom"):
        NATSBenchmark.from_api(Broken())
