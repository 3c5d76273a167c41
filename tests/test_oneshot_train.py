"""Supernet checkpoints (safetensors, no pickle) and the supernet trainer: round trips of every
method, bit-identical resume, one-line errors, divergence, lr schedule and progress output."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import struct

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import nasrank
from nasrank.data import DataSpec, load_dataset
from nasrank.exceptions import ConfigError
from nasrank.oneshot import SPOS, create_supernet_method, list_supernet_methods
from nasrank.oneshot._checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    _decode,
    _Flattener,
    load_checkpoint,
    read_checkpoint_info,
    save_checkpoint,
)
from nasrank.oneshot._train import SupernetTrainConfig, train_supernet

METHODS = list_supernet_methods()


@pytest.fixture(scope="module")
def digits():
    """96 digits (8x8, 1 channel): 3 minibatches of 32 per epoch."""
    return load_dataset("digits").sample(96, seed=0)


def _method(name: str = "spos", space: str = "nb201", seed: int = 0, in_channels: int = 1,
            **params):
    sp = nasrank.create_space(space)
    return create_supernet_method(name, space, seed=seed, supernet_config=sp.default_config("tiny"),
                                  in_channels=in_channels, **params)


def _batch(seed: int = 0, n: int = 8):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


def _step(m, i: int):
    """Step ``i`` of a method (with a validation minibatch when it searches on one)."""
    return m.step(_batch(i), _batch(100 + i)) if m.needs_validation else m.step(_batch(i))


def _assert_same(a, b, where: str = "state") -> None:
    """Nested values equal with the same types; tensors bit-identical (torch.equal, dtype)."""
    assert type(a) is type(b) or (isinstance(a, dict) and isinstance(b, dict)), \
        f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        assert torch.equal(a, b), f"{where}: tensors differ"
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{where}: arrays differ"
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} vs {list(b)}"
        for k in a:
            _assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: lengths {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}/{i}")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), f"{where}: nan vs {b}"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and msg, f"not a one-line message: {msg!r}"
    return msg


# --- checkpoint round trips --------------------------------------------------------------------

@pytest.mark.parametrize("name", METHODS)
def test_round_trip_of_every_method_continues_identically(name, tmp_path) -> None:
    m = _method(name, seed=3)
    m.set_lr(0.0123)
    for i in range(2):
        _step(m, i)
    path = tmp_path / f"{name}.safetensors"
    save_checkpoint(path, m, {"epochs_done": 2, "note": "x"})
    ck = load_checkpoint(path, space="nb201")
    r = ck.method
    assert type(r) is type(m) and r.config() == m.config()
    assert ck.epochs_done == 2 and ck.train == {"epochs_done": 2, "note": "x"}
    _assert_same(m.state_dict(), r.state_dict())
    assert r.optimizer.param_groups[0]["lr"] == 0.0123  # the current lr is part of the state
    for i in range(2, 4):  # both continue identically
        a, b = _step(m, i), _step(r, i)
        assert a["loss"] == b["loss"] and a["archs"] == b["archs"]
    _assert_same(m.state_dict(), r.state_dict())


def test_round_trip_darts_supernet(tmp_path) -> None:
    m = _method("spos", "darts")
    m.step(_batch())
    save_checkpoint(tmp_path / "d.safetensors", m)
    r = load_checkpoint(tmp_path / "d.safetensors", space=nasrank.create_space("darts")).method
    _assert_same(m.state_dict(), r.state_dict())
    assert m.step(_batch(1))["loss"] == r.step(_batch(1))["loss"]


def test_state_encoding_keeps_python_types() -> None:
    base = torch.arange(12, dtype=torch.float32)
    state = {
        "ints": {0: torch.ones(2), 1: torch.full((1,), 2.0), "1": torch.zeros(1),
                 2: {"momentum_buffer": None}},
        "tup": (1, 2.5, "a", None, True),
        "floats": [math.nan, math.inf, -math.inf, 0.1],
        "big": 2**127 + 5,
        "np": (np.int64(7), np.float32(0.5), np.arange(3, dtype=np.int16)),
        "$weird": {"$tensor": "not a ref"},
        "views": [base, base[::2], base.view(3, 4)[1]],  # shared storage, non-contiguous view
        "odd": [torch.tensor(3.0), torch.empty(0, 4), torch.tensor([True, False]),
                torch.ones(2, dtype=torch.bfloat16)],
    }
    flat = _Flattener()
    skeleton = json.loads(json.dumps(flat.encode(state), allow_nan=False))
    from safetensors.torch import load, save
    tensors = load(save(flat.tensors))
    out = _decode(skeleton, tensors)
    _assert_same(state, out)
    assert isinstance(out["np"][0], np.int64) and isinstance(out["np"][1], np.float32)
    assert {"ints/0", "ints/1", "ints/1#1"} <= set(flat.tensors)  # int 1 and str "1" both kept
    with pytest.raises(CheckpointError, match="cannot store a value of type object"):
        _Flattener().encode({"x": object()})


def test_checkpoint_file_is_plain_safetensors_without_pickle(tmp_path) -> None:
    m = _method("spos")
    m.step(_batch())
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, m, {"epochs_done": 1, "history": [{"loss": math.nan}]})
    raw = path.read_bytes()
    # safetensors layout: u64 header length, a JSON header, then raw tensor bytes only
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    end = max(v["data_offsets"][1] for v in header.values())
    assert len(raw) == 8 + n + end
    assert meta["format"] == CHECKPOINT_FORMAT and meta["format_version"] == "1"

    def strict(s: str):
        return json.loads(s, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))

    for key in ("method", "train", "state"):
        strict(meta[key])
    assert strict(meta["method"])["name"] == "spos"
    assert {v["dtype"] for v in header.values()} <= {"F32", "I64", "F64", "BOOL"}
    assert "supernet/stem.0.weight" in header and any(k.startswith("optimizer/state/") for k in header)
    tensors = load_file(path)  # plain safetensors loads it: no code, no pickle
    assert set(tensors) == set(header)
    with safe_open(str(path), "pt") as f:
        assert f.metadata() == meta
    assert not any(f.startswith(".") for f in os.listdir(tmp_path))  # no temporary file left


def test_read_checkpoint_info_reads_the_header_only(tmp_path) -> None:
    m = _method("fairnas")
    path = tmp_path / "f.safetensors"
    save_checkpoint(path, m, {"epochs_done": 4})
    info = read_checkpoint_info(path)
    assert info["space"] == "nb201" and info["epochs_done"] == 4
    assert info["method"] == json.loads(json.dumps(m.config()))
    assert info["bytes"] == path.stat().st_size and info["format_version"] == 1


def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch) -> None:
    import nasrank.oneshot._checkpoint as ckmod

    m = _method("spos")
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, m, {"epochs_done": 1})
    real = ckmod.atomic_write

    def failing(p, write):
        def half(f):
            f.write(b"partial")
            raise OSError("disk full")
        real(p, half)

    monkeypatch.setattr(ckmod, "atomic_write", failing)
    m.step(_batch())
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, m, {"epochs_done": 2})
    assert load_checkpoint(path).epochs_done == 1
    assert os.listdir(tmp_path) == ["m.safetensors"]


# --- checkpoint errors -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    m = _method("spos")
    m.step(_batch())
    path = tmp_path_factory.mktemp("ck") / "good.safetensors"
    save_checkpoint(path, m, {"epochs_done": 1})
    return path


def _variant(src, dst, **meta_changes):
    """Copy of a checkpoint with changed metadata entries (None removes one)."""
    tensors = load_file(src)
    with safe_open(str(src), "pt") as f:
        meta = dict(f.metadata())
    for k, v in meta_changes.items():
        if v is None:
            meta.pop(k, None)
        else:
            meta[k] = v
    save_file(tensors, dst, metadata=meta)
    return dst


def test_missing_and_directory(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="does not exist") as e:
        load_checkpoint(tmp_path / "nope.safetensors")
    _one_line(e)
    with pytest.raises(CheckpointError, match="is a directory") as e:
        read_checkpoint_info(tmp_path)
    _one_line(e)


def test_not_safetensors_truncated_and_empty(saved, tmp_path) -> None:
    bad = tmp_path / "garbage.safetensors"
    bad.write_bytes(os.urandom(64))
    with pytest.raises(CheckpointError, match="not a readable safetensors file") as e:
        load_checkpoint(bad)
    _one_line(e)
    (tmp_path / "empty.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        read_checkpoint_info(tmp_path / "empty.safetensors")
    raw = saved.read_bytes()
    for cut in (len(raw) - 100, 20):  # tensor data cut off; header cut off
        t = tmp_path / f"cut{cut}.safetensors"
        t.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError, match="truncated or corrupted") as e:
            load_checkpoint(t)
        _one_line(e)


def test_corrupted_tensor_bytes_fail_the_checksum(saved, tmp_path) -> None:
    raw = bytearray(saved.read_bytes())
    raw[-5] ^= 0xFF  # inside the last tensor's data: the header stays valid
    bad = tmp_path / "flip.safetensors"
    bad.write_bytes(bytes(raw))
    read_checkpoint_info(bad)  # the header alone is fine
    with pytest.raises(CheckpointError, match="corrupted: its tensors do not match their checksum") as e:
        load_checkpoint(bad)
    _one_line(e)


def test_foreign_and_newer_files(saved, tmp_path) -> None:
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.ones(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a nasrank supernet checkpoint") as e:
        load_checkpoint(foreign)
    _one_line(e)
    newer = _variant(saved, tmp_path / "newer.safetensors", format_version="2")
    with pytest.raises(CheckpointError, match="format version 2, newer than this nasrank") as e:
        read_checkpoint_info(newer)
    _one_line(e)
    nostate = _variant(saved, tmp_path / "nostate.safetensors", state=None)
    with pytest.raises(CheckpointError, match="lacks its 'state' metadata"):
        load_checkpoint(nostate)
    badjson = _variant(saved, tmp_path / "badjson.safetensors", method="{not json")
    with pytest.raises(CheckpointError, match="corrupted 'method' metadata"):
        read_checkpoint_info(badjson)


def test_unknown_method_and_mismatching_state(saved, tmp_path) -> None:
    with safe_open(str(saved), "pt") as f:
        cfg = json.loads(f.metadata()["method"])
    unknown = _variant(saved, tmp_path / "u.safetensors", method=json.dumps({**cfg, "name": "nope"}))
    with pytest.raises(CheckpointError, match="cannot be restored by this nasrank: .*nope") as e:
        load_checkpoint(unknown)
    _one_line(e)
    wider = {**cfg, "supernet_config": {"C": 8, "N": 1}}
    misfit = _variant(saved, tmp_path / "w.safetensors", method=json.dumps(wider))
    with pytest.raises(CheckpointError, match="holds a state that does not fit its spos method") as e:
        load_checkpoint(misfit)
    _one_line(e)


def test_checkpoint_of_another_space(saved) -> None:
    with pytest.raises(CheckpointError, match="holds a nb201 supernet, not darts") as e:
        load_checkpoint(saved, space="darts")
    _one_line(e)
    assert isinstance(e.value, ConfigError)


# --- training ----------------------------------------------------------------------------------

def _cfg(epochs: int = 3, **kw) -> SupernetTrainConfig:
    return SupernetTrainConfig(epochs=epochs, batch_size=32, **kw)


class _Stop(KeyboardInterrupt):
    pass


def _stop_after(epoch: int):
    def on_epoch(entry):
        if entry["epoch"] == epoch:
            raise _Stop
    return on_epoch


@pytest.mark.parametrize("name", ["spos", "multipath"])
def test_interrupted_then_resumed_is_bit_identical(name, digits, tmp_path) -> None:
    full = train_supernet(_method(name), digits, _cfg(), checkpoint=tmp_path / "full.safetensors")
    assert full.resumed_from == 0 and full.epochs_done == 3 and not full.diverged

    part = tmp_path / "part.safetensors"
    with pytest.raises(_Stop):  # interrupted after epoch 1 (index 0): its checkpoint stays
        train_supernet(_method(name), digits, _cfg(), checkpoint=part, on_epoch=_stop_after(0))
    assert read_checkpoint_info(part)["epochs_done"] == 1
    res = train_supernet(_method(name), digits, _cfg(), checkpoint=part)
    assert res.resumed_from == 1 and res.epochs_done == 3

    _assert_same(full.method.state_dict(), res.method.state_dict())
    assert [h["loss"] for h in full.history] == [h["loss"] for h in res.history]
    assert [h["lr"] for h in full.history] == [h["lr"] for h in res.history]
    _assert_same(load_file(tmp_path / "full.safetensors"), load_file(part))

    again = train_supernet(_method(name), digits, _cfg(), checkpoint=part)  # nothing left to do
    assert again.resumed_from == 3 and again.method.steps == full.method.steps
    _assert_same(full.method.state_dict(), again.method.state_dict())


def test_interrupted_mid_epoch_resumes_from_the_last_epoch(digits, tmp_path) -> None:
    full = train_supernet(_method(), digits, _cfg())
    m = _method()
    calls, step = [0], m.step

    def stopping_step(batch):
        calls[0] += 1
        if calls[0] == 5:  # second step of the second epoch
            raise _Stop
        return step(batch)

    m.step = stopping_step  # type: ignore[method-assign]
    path = tmp_path / "mid.safetensors"
    with pytest.raises(_Stop):
        train_supernet(m, digits, _cfg(), checkpoint=path)
    res = train_supernet(_method(), digits, _cfg(), checkpoint=path)
    assert res.resumed_from == 1
    _assert_same(full.method.state_dict(), res.method.state_dict())


def test_resume_with_more_epochs_trains_on(digits, tmp_path) -> None:
    path = tmp_path / "ck.safetensors"
    train_supernet(_method(), digits, _cfg(1), checkpoint=path)
    res = train_supernet(_method(), digits, _cfg(2), checkpoint=path)
    assert res.resumed_from == 1 and res.epochs_done == 2 and res.method.steps == 6
    assert read_checkpoint_info(path)["train"]["config"]["epochs"] == 2
    with pytest.raises(CheckpointError, match="has 2 epochs done, more than epochs=1") as e:
        train_supernet(_method(), digits, _cfg(1), checkpoint=path)
    _one_line(e)


def test_resume_refuses_other_settings(digits, tmp_path) -> None:
    path = tmp_path / "ck.safetensors"
    train_supernet(_method(), digits, _cfg(1), checkpoint=path, data_key=DataSpec("digits"))
    cases = [
        (dict(method=_method(lr=0.05)), r"method lr=0\.025, this run has lr=0\.05"),
        (dict(method=_method(seed=1)), r"method seed=0, this run has seed=1"),
        (dict(method=_method("fairnas")), r"method name='spos', this run has name='fairnas'"),
        (dict(config=SupernetTrainConfig(epochs=1, batch_size=16)), r"batch_size=32, this run has batch_size=16"),
        (dict(config=_cfg(1, augment=False)), r"augment=True, this run has augment=False"),
        (dict(data_key=DataSpec("digits", seed=1)), r"trained on data .*this run uses"),
        (dict(method=_method("spos", "darts")), r"holds a nb201 supernet, not darts"),
    ]
    for kw, pattern in cases:
        args = {"method": _method(), "config": _cfg(1), "data_key": DataSpec("digits"), **kw}
        with pytest.raises(CheckpointError, match=pattern) as e:
            train_supernet(args["method"], digits, args["config"], checkpoint=path,
                           data_key=args["data_key"])
        msg = _one_line(e)
        if "holds a" not in msg:
            assert msg.endswith("give a new checkpoint path to start afresh")


def test_same_seed_same_training_without_checkpoint(digits) -> None:
    a = train_supernet(_method(), digits, _cfg(2))
    b = train_supernet(_method(), digits, _cfg(2))
    _assert_same(a.method.state_dict(), b.method.state_dict())
    c = train_supernet(_method(seed=1), digits, _cfg(2))
    assert [h["loss"] for h in a.history] != [h["loss"] for h in c.history]


def test_cosine_lr_per_epoch_through_set_lr(digits) -> None:
    m = _method(lr=0.1)
    seen = []
    orig = m.set_lr
    m.set_lr = lambda lr: (seen.append(lr), orig(lr))[1]  # type: ignore[method-assign]
    cfg = SupernetTrainConfig(epochs=4, batch_size=32, eta_min=0.0)
    res = train_supernet(m, digits, cfg)
    expected = [cfg.lr_at(e, 0.1) for e in range(4)]
    assert seen == expected == [h["lr"] for h in res.history]
    assert [round(v, 4) for v in expected] == [0.1, 0.0854, 0.05, 0.0146]
    assert m.lr == 0.1 and m.optimizer.param_groups[0]["lr"] == expected[-1]
    const = train_supernet(_method(lr=0.1), digits, _cfg(2, schedule="constant"))
    assert [h["lr"] for h in const.history] == [0.1, 0.1]
    assert [h["steps"] for h in const.history] == [3, 3]


def test_divergence_is_recorded_not_raised(digits, tmp_path) -> None:
    path = tmp_path / "nan.safetensors"
    res = train_supernet(_method(lr=1e12, momentum=0.0), digits, _cfg(5, schedule="constant"),
                         checkpoint=path)
    assert res.diverged and res.history[-1]["diverged"]
    assert not math.isfinite(res.history[-1]["loss"]) and res.epochs_done < 5
    info = read_checkpoint_info(path)
    assert info["train"]["diverged"] is True
    assert not math.isfinite(info["train"]["history"][-1]["loss"])
    # the method and the checkpoint keep the state from before the diverging epoch
    done = res.epochs_done - 1
    assert res.method.steps == 3 * done
    state = res.method.state_dict()
    assert all(torch.isfinite(t).all() for t in state["supernet"].values() if t.is_floating_point())
    if done == 0:
        _assert_same(state, _method(lr=1e12, momentum=0.0).state_dict())
    again = train_supernet(_method(lr=1e12, momentum=0.0), digits, _cfg(5, schedule="constant"),
                           checkpoint=path)
    assert again.diverged and again.epochs_done == res.epochs_done and again.resumed_from == done + 1
    assert again.method.steps == res.method.steps  # nothing trained after the divergence
    _assert_same(state, again.method.state_dict())


def test_progress_lines_when_not_a_tty(digits, tmp_path) -> None:
    path = tmp_path / "p.safetensors"
    with contextlib.redirect_stderr(io.StringIO()) as err:
        train_supernet(_method(), digits, _cfg(2), progress=True, checkpoint=path)
    lines = err.getvalue().splitlines()
    assert len(lines) == 2
    pat = r"\[spos nb201 seed 0\] epoch {}/2 loss=\d+\.\d{{4}} lr=[\d.e-]+ steps=3 time=\d+\.\ds eta=\d+s"
    for i, line in enumerate(lines):
        assert re.fullmatch(pat.format(i + 1), line), line
    with contextlib.redirect_stderr(io.StringIO()) as err:
        train_supernet(_method(), digits, _cfg(3), progress=True, checkpoint=path)
    first, last = err.getvalue().splitlines()
    assert first == f"[spos nb201 seed 0] resumed from {str(path)!r} after epoch 2"
    assert last.startswith("[spos nb201 seed 0] epoch 3/3 loss=")
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()) as out:
        train_supernet(_method(), digits, _cfg(1), progress=False)
    assert err.getvalue() == "" and out.getvalue() == ""


def test_progress_bar_on_a_tty(digits, monkeypatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setenv("COLUMNS", "160")
    with contextlib.redirect_stderr(Tty()) as err:
        train_supernet(_method(), digits, _cfg(2), progress=True)
    text = err.getvalue()
    assert "spos nb201 seed 0" in text and "6/6" in text and "steps" in text and "eta" in text
    assert "epoch 2/2 loss=" in text


def test_bad_inputs_are_one_line_config_errors(digits, tmp_path) -> None:
    with pytest.raises(ConfigError, match="have 1 channel.* takes 3; build the method with in_channels=1"):
        train_supernet(_method(in_channels=3), digits, _cfg(1))
    with pytest.raises(ConfigError, match="num_classes=10"):
        train_supernet(_method(num_classes=5), digits, _cfg(1))
    with pytest.raises(ConfigError, match="fewer than batch_size=128 with drop_last=True"):
        train_supernet(_method(), digits, SupernetTrainConfig(epochs=1, batch_size=128))
    with pytest.raises(ConfigError, match="`epochs` must be an int >= 1"):
        SupernetTrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="`eta_min` must be a finite number >= 0"):
        SupernetTrainConfig(eta_min=-1)
    with pytest.raises(ConfigError, match="must be a SupernetTrainConfig"):
        train_supernet(_method(), digits, {"epochs": 1})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="directory .* does not exist"):
        train_supernet(_method(), digits, _cfg(1), checkpoint=tmp_path / "no" / "x.safetensors")
    with pytest.raises(ConfigError, match="`data_key` must be JSON-able"):
        train_supernet(_method(), digits, _cfg(1), data_key=object())


# --- validation minibatches and epoch hooks (differentiable searches) ---------------------------

class _Bilevel(SPOS):
    """A path method that also needs validation minibatches: records what the trainer passes."""

    name = "spos"  # reuses spos' registration for checkpoints; only used in memory here
    needs_validation = True

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.calls: list[tuple[int, int]] = []
        self.val_labels: list[list[int]] = []

    def begin_epoch(self, epoch: int, epochs: int) -> None:
        self.calls.append((epoch, epochs))

    def step(self, batch, val_batch=None):
        assert val_batch is not None
        self.val_labels.append(val_batch[1].tolist())
        out = super().step(batch)
        return {**out, "val_loss": 2.0 * len(self.val_labels)}

    def epoch_info(self, batch=None):
        return {"probe": int(batch[0].shape[0]), "steps_seen": self.steps}


def _bilevel(seed: int = 0) -> _Bilevel:
    return _Bilevel("nb201", seed=seed, supernet_config=nasrank.create_space("nb201").default_config("tiny"),
                    in_channels=1)


def test_a_method_that_needs_validation_gets_val_minibatches_and_epoch_hooks(digits) -> None:
    train, val = digits.subset(range(64)), digits.subset(range(64, 96))  # 2 train, 1 val minibatch
    with pytest.raises(ConfigError, match="searches on validation data: pass val_set") as e:
        train_supernet(_bilevel(), train, _cfg(2))
    _one_line(e)
    with pytest.raises(ConfigError, match="fewer than batch_size=32"):
        train_supernet(_bilevel(), train, _cfg(2), val_set=val.subset(range(10)))
    res = train_supernet(_bilevel(), train, _cfg(2), val_set=val)
    m = res.method
    assert m.calls == [(0, 2), (1, 2)]  # begin_epoch before each epoch
    assert len(m.val_labels) == 4  # one validation minibatch per step
    # one validation minibatch per pass: it is cycled with a fresh order each pass
    assert sorted(m.val_labels[0]) == sorted(m.val_labels[1]) == sorted(val.labels.tolist())
    assert m.val_labels[0] != m.val_labels[1]
    assert [h["val_loss"] for h in res.history] == [3.0, 7.0]  # mean of the steps' val_loss
    assert [(h["probe"], h["steps_seen"]) for h in res.history] == [(32, 2), (32, 4)]
    again = train_supernet(_bilevel(), train, _cfg(2), val_set=val)  # reproducible
    assert again.method.val_labels == m.val_labels


def test_val_set_is_part_of_the_data_key(digits, tmp_path) -> None:
    train, val = digits.subset(range(64)), digits.subset(range(64, 96))
    path = tmp_path / "ck.safetensors"
    train_supernet(_method(), train, _cfg(1), val_set=val, checkpoint=path)
    assert read_checkpoint_info(path)["train"]["data"]["val_examples"] == 32
    with pytest.raises(CheckpointError, match="trained on data"):
        train_supernet(_method(), train, _cfg(2), val_set=val.subset(range(20)), checkpoint=path)
