"""The progressive differentiable searches: DrNAS / DrNAS-TSE (``nasrank.oneshot._drnas``) and
P-DARTS / SoTL-PDARTS (``nasrank.oneshot._pdarts``): stage schedules, pruning masks, masked
operations, Dirichlet samples and their gradients, architecture warm-up, supernet rebuilding,
skip-connection dropout, the skip cap of the derived genotype and exact resumption mid-stage and
across stage boundaries."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import numpy as np
import pytest
import torch

import nasrank.oneshot._drnas  # noqa: F401  (registers drnas, drnas-tse)
import nasrank.oneshot._pdarts  # noqa: F401  (registers pdarts, pdarts-sotl)
from nasrank.exceptions import ConfigError
from nasrank.nn.ops import Identity
from nasrank.oneshot import (
    SUPERNET_METHODS,
    create_supernet_method,
    load_checkpoint,
    save_checkpoint,
)
from nasrank.oneshot._drnas import DrNAS, DrNASTSE, StageSchedule
from nasrank.oneshot._params import DirichletConcentration
from nasrank.oneshot._pdarts import PDARTS, PDARTSSoTL, _check_space, _default_supernet_config
from nasrank.testing.supernets import check_supernet_method

NB201_TINY = {"C": 2, "N": 1}
DARTS_TINY = {"C": 2, "layers": 3}
NAMES = ("drnas", "drnas-tse", "pdarts", "pdarts-sotl")


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _make(name: str, space: str = "nb201", seed: int = 0, **params):
    cfg = params.pop("supernet_config", NB201_TINY if space == "nb201" else DARTS_TINY)
    return create_supernet_method(name, space, seed=seed, supernet_config=cfg, num_classes=4,
                                  **params)


def _batch(seed: int = 0, n: int = 6, hw: int = 8):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, hw, hw, generator=g), torch.randint(0, 4, (n,), generator=g)


def _epoch(m, epoch: int, epochs: int, per_epoch: int = 2, start: int = 0,
           stop: int | None = None) -> list[float]:
    """Steps ``start..stop`` of ``epoch`` (``begin_epoch`` only when starting at step 0)."""
    if start == 0:
        m.begin_epoch(epoch, epochs)
    losses = []
    for j in range(start, per_epoch if stop is None else stop):
        b, v = _batch(100 * epoch + j), _batch(10_000 + 100 * epoch + j)
        out = m.step(b, v) if m.needs_validation else m.step(b)
        losses.append(float(out["loss"]))
    return losses


def _theta(m) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in m.arch_parameters])


def _tensors(m) -> dict[str, torch.Tensor]:
    out = {f"supernet/{k}": v.detach().clone() for k, v in m.supernet.state_dict().items()}
    for i, p in enumerate(m.arch_parameters):
        out[f"arch/{i}"] = p.detach().clone()
    return out


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- registration, defaults, configuration -------------------------------------------------------

def test_registered_with_reference_defaults() -> None:
    for name in NAMES:
        assert name in SUPERNET_METHODS.list()
    d = _make("drnas")
    assert (d.lr, d.momentum, d.nesterov, d.weight_decay, d.grad_clip) == (0.025, 0.9, False,
                                                                            3e-4, 5.0)
    assert (d.arch_lr, d.arch_betas, d.arch_weight_decay) == (3e-4, (0.5, 0.999), 1e-3)
    assert (d.stage_epochs, d.warmup_epochs, d.keep) == ((50, 50), 10, (3,))
    assert isinstance(d.arch, DirichletConcentration) and d.needs_validation
    dd = _make("drnas", "darts")
    assert (dd.lr, dd.arch_lr, dd.stage_epochs, dd.keep, len(dd.supernet.ops)) == (
        0.1, 6e-4, (25, 25), (4,), 7)
    t = _make("drnas-tse")
    assert (t.inner_steps, t.retrain, t.needs_validation, t.keep) == (100, True, False, (3,))
    p = _make("pdarts", "darts")
    assert (p.arch_lr, p.stage_epochs, p.warmup_epochs, p.keep, p.add_depth) == (
        6e-4, (25, 25, 25), 10, (5, 3), (0, 6, 12))
    assert (p.drop_rates, p.max_skip, p.arch_grad_clip, p.nesterov) == ((0.1, 0.4, 0.7), 2, 5.0,
                                                                        False)
    pn = _make("pdarts")
    assert (pn.keep, pn.add_depth, pn.max_skip) == ((4, 3), (0, 1, 2), None)
    # P-DARTS' DARTS space has `none` among the candidates (8 operations) by default
    assert _default_supernet_config("darts", None)["include_none"] is True
    assert _default_supernet_config("nb201", None) is None
    assert not _make("pdarts-sotl").needs_validation


@pytest.mark.parametrize("name", NAMES)
def test_config_roundtrip(name: str) -> None:
    m = _make(name, stage_epochs=[2, 3] if name.startswith("drnas") else [1, 2, 3])
    cfg = m.config()
    r = create_supernet_method(cfg["name"], cfg["space"], seed=cfg["seed"],
                               **{k: v for k, v in cfg.items() if k not in ("name", "space", "seed")})
    assert r.config() == cfg and type(r) is type(m)
    assert _same(_tensors(m), _tensors(r))


def test_bad_parameters_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="keep"):
        _make("drnas", keep=[3, 2])                       # one entry per stage change
    with pytest.raises(ConfigError, match="stage_epochs"):
        _make("drnas", stage_epochs=[])
    with pytest.raises(ConfigError, match="drop_rates"):
        _make("pdarts", drop_rates=[0.1, 1.0, 0.2])
    with pytest.raises(ConfigError, match="add_depth"):
        _make("pdarts", add_depth=[0, 1])
    with pytest.raises(ConfigError, match="warmup_epochs"):
        _make("pdarts", warmup_epochs=-1)
    with pytest.raises(ConfigError, match="nb201 or darts"):
        _check_space("other")


# --- schedule ------------------------------------------------------------------------------------

def test_stage_schedule_scales_to_the_run_length() -> None:
    s = StageSchedule((25, 25, 25), 10)
    assert s.plan(75) == [(0, 25, 10), (25, 25, 10), (50, 25, 10)]
    assert s.plan(30) == [(0, 10, 4), (10, 10, 4), (20, 10, 4)]
    assert [s.locate(e, 30)[0] for e in (0, 9, 10, 19, 20, 29, 40)] == [0, 0, 1, 1, 2, 2, 2]
    # fewer epochs than stages: empty stages are passed through at once
    assert StageSchedule((25, 25, 25), 10).plan(2) == [(0, 1, 0), (1, 0, 0), (1, 1, 0)]
    assert StageSchedule((50, 50), 10).locate(1, 2) == (1, 0, 1, 0)


def test_drnas_stage_change_prunes_to_the_strongest_operations() -> None:
    m = _make("drnas", stage_epochs=[2, 2], warmup_epochs=0)
    changes = []
    for e in range(4):
        before = m.stage
        scores = m.arch_weights()
        _epoch(m, e, 4)
        changes.append((e, before, m.stage))
        if m.stage != before:
            kept = m.mask.astype(bool)
            assert (kept.sum(axis=1) == 3).all()
            for row, k in zip(scores, kept, strict=True):  # the 3 largest Dirichlet means
                assert set(np.argsort(-row, kind="stable")[:3]) == set(np.flatnonzero(k))
    assert changes == [(0, 0, 0), (1, 0, 0), (2, 0, 1), (3, 1, 1)]
    # the default 50 + 50 schedule, scaled to a 4-epoch run: the change comes at epoch 2
    d = _make("drnas")
    for e in range(4):
        d.begin_epoch(e, 4)
        assert d.stage == (e >= 2)
    assert (d.mask.sum(axis=1) == 3).all()


def test_pdarts_stages_deepen_rebuild_and_prune() -> None:
    m = _make("pdarts", "darts", supernet_config={**DARTS_TINY, "include_none": True},
              stage_epochs=[1, 1, 1], warmup_epochs=0, add_depth=[0, 1, 2])
    seen = []
    for e in range(3):
        net, alpha = m.supernet, m.arch.alpha.detach().clone()
        _epoch(m, e, 3, per_epoch=1)
        kept = None if m.mask is None else sorted(set(m.mask.sum(axis=1).tolist()))
        seen.append((m.stage, m.supernet.layers, kept))
        if e > 0:
            assert m.supernet is not net                             # new weights ...
            assert not torch.equal(m.arch.alpha.detach(), alpha)     # ... and a new alpha
            assert m.arch is m.supernet.arch_param
            ids = {id(p) for p in m.supernet.parameters()} - {id(m.arch.alpha)}
            assert {id(p) for p in m.weights} == ids                 # the optimiser's too
            assert [id(p) for p in m.arch_optimizer.param_groups[0]["params"]] == [id(m.arch.alpha)]
    assert seen == [(0, 3, None), (1, 4, [5]), (2, 5, [3])]


def test_nb201_pdarts_grows_cells_per_stage() -> None:
    m = _make("pdarts", stage_epochs=[1, 1, 1], warmup_epochs=0)
    depth = []
    for e in range(3):
        m.begin_epoch(e, 3)
        depth.append((m.supernet.N, None if m.mask is None else int(m.mask.sum(axis=1)[0])))
    assert depth == [(1, None), (2, 4), (3, 3)]
    # a non-zero first increment rebuilds stage 0 at construction
    assert _make("pdarts", add_depth=[1, 2, 3]).supernet.N == 2


# --- masks ---------------------------------------------------------------------------------------

def test_masked_operations_never_run_in_the_darts_space() -> None:
    m = _make("drnas", "darts", stage_epochs=[1, 1], warmup_epochs=0)
    m.begin_epoch(0, 2)
    m.begin_epoch(1, 2)                        # stage 1: 4 of the 7 operations per edge
    mask = m.mask.astype(bool)
    calls: dict[tuple[int, int], int] = {}
    handles = []
    for cell in m.supernet.cells:
        offset = 14 if cell.reduction else 0
        for e, mixed in enumerate(cell._ops):
            for o, op in enumerate(mixed.ops):
                def hook(*_a, key=(offset + e, o)):
                    calls[key] = calls.get(key, 0) + 1
                handles.append(op.register_forward_hook(hook))
    m.step(_batch(1), _batch(2))
    for h in handles:
        h.remove()
    ran = {k for k, v in calls.items() if v}
    assert ran and all(mask[e, o] for e, o in ran), "a masked operation was executed"
    assert {(e, o) for e, o in zip(*np.nonzero(mask), strict=True)} == ran


@pytest.mark.parametrize("name", ("drnas", "pdarts-sotl"))
def test_masked_operations_get_no_update_in_nb201(name: str) -> None:
    m = _make(name, stage_epochs=[1, 1] if name == "drnas" else [1, 1, 1], warmup_epochs=0,
              **({"inner_steps": 2} if name == "pdarts-sotl" else {}))
    m.begin_epoch(0, len(m.stage_epochs))
    m.begin_epoch(1, len(m.stage_epochs))
    mask = m.mask.astype(bool)
    params = {}
    for i, cell in enumerate(c for c in m.supernet.cells if hasattr(c, "layers")):
        for e, mixed in enumerate(cell.layers):
            for o in (2, 3):                                   # the two convolutions
                for k, p in mixed.ops[o].named_parameters():
                    params[(i, e, o, k)] = (p, p.detach().clone())
    for j in range(3):
        b, v = _batch(j), _batch(50 + j)
        m.step(b, v) if m.needs_validation else m.step(b)
    for (_, e, o, _k), (p, before) in params.items():
        moved = not torch.equal(p.detach(), before)
        assert moved == bool(mask[e, o]), f"edge {e} op {o}: masked={not mask[e, o]} moved={moved}"


# --- Dirichlet -----------------------------------------------------------------------------------

def test_drnas_weights_are_dirichlet_samples_on_the_simplex_with_pathwise_gradients() -> None:
    m = _make("drnas", warmup_epochs=0)
    w1, w2 = m.mixed_weights(), m.mixed_weights()
    assert w1.requires_grad and not torch.equal(w1, w2)          # a fresh sample per draw
    for w in (w1, w2):
        assert (w.detach() > 0).all()
        assert torch.allclose(w.detach().sum(dim=1), torch.ones(6), atol=1e-6)
    mask = np.ones((6, 5))
    mask[:, 1] = 0
    mask[0, 3] = 0
    m.mask = mask
    w = m.mixed_weights().detach()
    assert (w[torch.as_tensor(mask == 0)] == 0).all()
    assert torch.allclose(w.sum(dim=1), torch.ones(6), atol=1e-6)
    # the architecture gradient flows through the reparameterised sample into theta
    g = m.arch_grad(_batch(0))[0]
    assert g.shape == (6, 5) and torch.isfinite(g).all()
    assert (g[torch.as_tensor(mask == 1)] != 0).all()
    # the derived architecture: per edge the largest concentration (= Dirichlet mean)
    assert m.derive() == m.supernet.arch_from_weights(m.arch_weights())
    # draws come from the method's generator: a restored method draws the same
    state = m.state_dict()
    a = m.mixed_weights().detach()
    m.load_state_dict(state)
    assert torch.equal(a, m.mixed_weights().detach())


def test_drnas_arch_updates_start_after_the_warm_up() -> None:
    m = _make("drnas", stage_epochs=[3, 3], warmup_epochs=1)
    moved = []
    for e in range(6):
        before = _theta(m)
        _epoch(m, e, 6)
        moved.append(not torch.equal(before, _theta(m)))
    assert moved == [False, True, True, False, True, True]


def test_drnas_tse_arch_updates_start_after_the_warm_up() -> None:
    m = _make("drnas-tse", stage_epochs=[3, 3], warmup_epochs=1, inner_steps=2)
    record = []
    for e in range(6):
        before = _theta(m)
        _epoch(m, e, 6)
        record.append((m.arch_updates, not torch.equal(before, _theta(m)), m.stage))
    assert record == [(0, False, 0), (1, True, 0), (2, True, 0),
                      (2, False, 1), (3, True, 1), (4, True, 1)]
    assert (m.mask.sum(axis=1) == 3).all()


# --- P-DARTS: skip dropout and the skip cap ------------------------------------------------------

@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_skip_dropout_acts_on_skip_outputs_only_while_training(space: str) -> None:
    m = _make("pdarts", space, drop_rates=[0.5, 0.5, 0.5], warmup_epochs=0,
              stage_epochs=[2, 2, 2])
    m.begin_epoch(0, 6)
    assert m.skip_drop_rate() == 0.5
    skips = m._skip_modules
    assert skips and all(isinstance(s, Identity) for s in skips)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    handles = [s.register_forward_hook(lambda mod, i, o: seen.append((i[0], o))) for s in skips]
    b, v = _batch(0), _batch(1)
    m.step(b, v)
    assert seen
    for x, y in seen:
        dropped = y == 0
        assert dropped.any() and (~dropped).any()
        assert torch.allclose(y[~dropped], 2 * x[~dropped])
    seen.clear()
    m.derive()
    m.arch_grad(b)
    m.hessian_eigenvalue(b, iters=2)
    with torch.no_grad():
        m.supernet(b[0], m.arch_weights())
    assert seen and all(torch.equal(x, y) for x, y in seen)   # no dropout outside a step
    for h in handles:
        h.remove()
    # the rate schedule of a stage: decays during the warm-up, then exponentially
    p = _make("pdarts", "darts")
    rates = []
    for e in (0, 9, 10, 11, 24, 25):
        p.begin_epoch(e, 75)
        rates.append(round(p.skip_drop_rate(), 4))
    assert rates == [0.096, 0.06, 0.1, round(0.1 * np.exp(-0.2), 4),
                     round(0.1 * np.exp(-0.2 * 14), 4), round(0.4 * 24 / 25, 4)]


def test_pdarts_derive_caps_skip_connections_in_the_normal_cell() -> None:
    m = _make("pdarts", "darts", supernet_config={**DARTS_TINY, "include_none": True})
    ops = list(m.supernet.ops)
    skip = ops.index("skip_connect")
    with torch.no_grad():
        m.arch.alpha.zero_()
        m.arch.alpha[:, skip] = 3.0                            # skip wins every edge ...
        m.arch.alpha[:, ops.index("sep_conv_3x3")] = 2.0
        m.arch.alpha[torch.arange(14), skip] += torch.linspace(0, 1, 14)  # ... by various margins
    arch = m.derive()
    assert m.space.validate(arch) == arch
    pw = m.supernet.path_weights(arch)
    assert pw[:14, skip].sum() == 2 and pw[14:, skip].sum() == 8      # reduction cell: no cap
    # the kept skips are the strongest ones
    kept = sorted(np.flatnonzero(pw[:14, skip]).tolist())
    strongest_kept = max(np.flatnonzero(pw[:14].sum(axis=1)).tolist())
    assert kept[-1] == strongest_kept
    free = _make("pdarts", "darts", supernet_config={**DARTS_TINY, "include_none": True},
                 max_skip=None)
    free.arch.alpha.data.copy_(m.arch.alpha.data)
    assert free.supernet.path_weights(free.derive())[:14, skip].sum() == 8
    assert m.epoch_info()["skip"] == 2 + 8


def test_pdarts_arch_gradient_is_clipped() -> None:
    m = _make("pdarts", warmup_epochs=0, arch_grad_clip=1e-3, arch_lr=1.0, arch_betas=[0.0, 0.0],
              arch_weight_decay=0.0)
    g = [torch.full((6, 5), 1.0)]
    m.arch_update(g)
    assert torch.allclose(m.last_arch_grad[0].norm(), torch.tensor(1e-3), rtol=1e-3)


# --- state ---------------------------------------------------------------------------------------

RESUME_CASES = {
    # name, params, epochs, steps per epoch, where to save: (epoch, step) -- step 0: before the
    # epoch's begin_epoch; across a stage boundary and mid-stage after one
    "drnas": ({"stage_epochs": [2, 2], "warmup_epochs": 1}, 4, 2, [(2, 0), (3, 1)]),
    "drnas-tse": ({"stage_epochs": [2, 2], "warmup_epochs": 0, "inner_steps": 3}, 4, 2,
                  [(1, 1), (2, 0)]),
    "pdarts": ({"stage_epochs": [1, 1, 1], "warmup_epochs": 0, "drop_rates": [0.3, 0.3, 0.3]},
               3, 2, [(1, 0), (2, 1)]),
    "pdarts-sotl": ({"stage_epochs": [1, 1, 1], "warmup_epochs": 0, "inner_steps": 3,
                     "drop_rates": [0.3, 0.3, 0.3]}, 3, 3, [(1, 0), (1, 2)]),
}


def _run(m, epochs: int, per: int, start: tuple[int, int] = (0, 0),
         save_at: tuple[int, int] | None = None):
    """Drive ``m`` from ``start`` to the end; return (losses, the state saved at ``save_at``)."""
    losses, saved = [], None
    e0, s0 = start
    for e in range(e0, epochs):
        j0 = s0 if e == e0 else 0
        for j in range(j0, per):
            if save_at == (e, j):
                saved = copy.deepcopy(m.state_dict())
            losses += _epoch(m, e, epochs, per_epoch=per, start=j, stop=j + 1)
    return losses, saved


@pytest.mark.parametrize("name", NAMES)
def test_state_roundtrip_mid_stage_and_across_stage_boundaries(name: str) -> None:
    params, epochs, per, points = RESUME_CASES[name]
    ref = _make(name, **params)
    ref_losses, _ = _run(ref, epochs, per)
    final = _tensors(ref)
    for e, j in points:
        a = _make(name, **params)
        _, state = _run(a, epochs, per, save_at=(e, j))
        assert state is not None
        b = _make(name, seed=7, **params)          # another seed: everything from the state
        b.load_state_dict(state)
        losses, _ = _run(b, epochs, per, start=(e, j))
        assert losses == ref_losses[len(ref_losses) - len(losses):], (e, j)
        assert _same(_tensors(b), final), f"resumed at epoch {e} step {j}: weights diverge"
        assert b.stage == ref.stage
        assert (b.mask is None) == (ref.mask is None)
        if b.mask is not None:
            assert np.array_equal(b.mask, ref.mask)


def test_checkpoint_file_roundtrip_rebuilds_the_stage(tmp_path) -> None:
    params = {"stage_epochs": [1, 1, 1], "warmup_epochs": 0, "inner_steps": 3,
              "drop_rates": [0.3, 0.3, 0.3]}
    m = _make("pdarts-sotl", **params)
    for e in range(2):
        _epoch(m, e, 3, per_epoch=2)              # stage 1 with an open window
    assert m.stage == 1 and m.window_size == 2
    path = tmp_path / "p.safetensors"
    save_checkpoint(path, m, {"epochs_done": 2})
    ck = load_checkpoint(path, space="nb201")
    r = ck.method
    assert isinstance(r, PDARTSSoTL) and r.stage == 1 and r.supernet.N == 2
    assert np.array_equal(r.mask, m.mask) and r.window_size == 2
    assert _same(_tensors(r), _tensors(m))
    for x in (m, r):
        _epoch(x, 2, 3, per_epoch=2)
    assert _same(_tensors(r), _tensors(m)) and r.supernet.N == 3


# --- conformance ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_conformance_nb201(name: str) -> None:
    extra = {"inner_steps": 2} if name.endswith(("tse", "sotl")) else {}
    check_supernet_method(name, "nb201", warmup_epochs=0, **extra)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_conformance_darts(name: str) -> None:
    extra = {"inner_steps": 2} if name.endswith(("tse", "sotl")) else {}
    check_supernet_method(name, "darts", warmup_epochs=0, **extra)


def test_darts_space_smoke() -> None:
    for cls, name in ((DrNAS, "drnas"), (DrNASTSE, "drnas-tse"), (PDARTS, "pdarts"),
                      (PDARTSSoTL, "pdarts-sotl")):
        params = {"warmup_epochs": 0}
        if name.startswith("pdarts"):
            params.update(stage_epochs=[1, 1, 1], add_depth=[0, 0, 1])
        else:
            params.update(stage_epochs=[1, 1])
        if cls in (DrNASTSE, PDARTSSoTL):
            params["inner_steps"] = 2
        m = _make(name, "darts", **params)
        assert isinstance(m, cls)
        n = len(m.stage_epochs)
        for e in range(n):
            _epoch(m, e, n, per_epoch=1)
        assert m.supernet.layers == (4 if name.startswith("pdarts") else 3)
        arch = m.derive()
        assert m.space.validate(arch) == arch
        info = m.epoch_info()
        assert {"arch", "param_free", "skip", "weights"} <= set(info)
        if name.startswith("pdarts"):
            assert m.supernet.path_weights(arch)[:14, m.supernet.ops.index("skip_connect")].sum() <= 2
