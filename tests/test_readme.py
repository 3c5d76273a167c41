"""The README's examples run as written, and its statements about behaviour hold."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block_after(marker: str, nth: int = 0) -> str:
    """The ``nth`` python block after the first occurrence of ``marker`` in README.md."""
    text = README.read_text()
    pos = text.index(marker)
    for _ in range(nth + 1):
        start = text.index("```python\n", pos) + len("```python\n")
        pos = start
    return text[start : text.index("```", start)]


def test_python_api_example(capsys):
    ns: dict = {}
    exec(compile(_python_block_after("## Python API"), "README", "exec"), ns)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "(3, 3, 4, 1, 3, 1)"
    assert lines[1] == "True 802426 113951370"
    assert ns["logits"].shape == (8, 10)
    assert lines[2].endswith(" 24")


def test_tse_training_loop_example(capsys):
    ns: dict = {}
    exec(compile(_python_block_after("### Training-speed estimation (TSE) in your own training loop"),
                 "README", "exec"), ns)
    tse, tse_e, tse_ema = (float(v) for v in capsys.readouterr().out.split())
    assert tse > 0 and tse_e > 0 and tse_ema > 0  # sums of losses (the hook: lower = better)
    assert tse >= tse_e  # three epochs of losses sum to more than the last one


def test_train_recipe_runs_on_digits(capsys):
    """The nasrank.training.train recipe (1-channel digits needs in_channels=1) runs as written."""
    ns: dict = {}
    exec(compile(_python_block_after("### Training-speed estimation (TSE) in your own training loop", 1),
                 "README", "exec"), ns)
    score, val_acc, test_acc = (float(v) for v in capsys.readouterr().out.split())
    assert math.isfinite(score) and score < 0
    assert 0.0 <= val_acc <= 1.0 and 0.0 <= test_acc <= 1.0
    first_conv = next(m for m in ns["net"].modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 1
    assert ns["curve"].epochs == 3 and not ns["curve"].diverged


def test_correlation_example(capsys):
    exec(compile(_python_block_after("The same as Python, on any list of"), "README", "exec"), {})
    name, T, rho, lo, hi, dropped = capsys.readouterr().out.split()
    assert name == "tse" and T == "1" and dropped == "0"
    assert float(lo) <= float(rho) <= float(hi)
    assert -1.0 <= float(rho) <= 1.0


def test_proxy_values_on_a_cell_without_path_are_as_documented():
    """README: on a cell with no input-output path, nwot / jacob_cov / zen are NaN and the gradient
    sums are 0, the rest finite (no sentinel)."""
    import nasrank

    text = " ".join(README.read_text().split())
    assert "the kernel- and determinant-based `nwot`, `jacob_cov` and `zen` are undefined and return NaN" in text
    assert "`swap` counts its one activation pattern (1)" in text
    space = nasrank.create_space("nb201")
    arch = space.from_str("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    torch.manual_seed(0)
    net = space.build(arch, num_classes=10, C=8, N=1)
    batch = (torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,)))
    res = nasrank.compute_proxies(net, batch, seed=0)
    assert {k for k, v in res.items() if math.isnan(v)} == {
        "nwot", "jacob_cov", "zen", "zico", "meco", "epe-nas", "ntk-cond", "linear-regions", "vkdnw",
        "vkdnw-entropy", "az-nas-expressivity", "az-nas-progressivity", "az-nas-trainability"}
    assert res["swap"] == 1.0
    for name in ("grad_norm", "snip", "grasp", "synflow", "plain", "gradsign"):
        assert res[name] == 0.0, name
    for name in ("fisher", "l2_norm", "params", "flops"):
        assert math.isfinite(res[name]) and res[name] > 0, name


def test_cli_table_lists_every_option_of_search():
    """Every option of `nasrank search` appears in the README's CLI reference row."""
    import typer

    from nasrank.cli import app

    cmd = typer.main.get_command(app).commands["search"]
    row = next(line for line in README.read_text().splitlines() if line.startswith("| `nasrank search"))
    missing = [o for p in cmd.params for o in p.opts if o.startswith("--") and o not in row
               and o not in ("--help", "--train-seed", "--lr", "--image-size")]
    assert missing == [], missing


def test_ci_blocks_are_marked():
    text = README.read_text()
    for name in ("install", "quickstart", "show", "test"):
        assert re.search(rf"<!--\s*ci:{name}\b", text), name


def test_oneshot_example_runs_on_digits(capsys, tmp_path, monkeypatch):
    """The one-shot Python example trains, checkpoints, restores, fine-tunes and ranks as written."""
    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)
    ns: dict = {}
    exec(compile(_python_block_after("### One-shot NAS ranked by training speed"), "README", "exec"), ns)
    first, second = capsys.readouterr().out.splitlines()
    assert first == "True True"
    tses = [float(v) for v in second.strip("[]").split(",")]
    assert len(tses) == 2 and all(v < 0 for v in tses)
    assert (tmp_path / "mp.safetensors").is_file()
    assert ns["method"].name == "multipath" and ns["method"].steps > 0


def test_darts_example_runs_on_digits(capsys, tmp_path, monkeypatch):
    """The differentiable-search example searches, records every epoch and checkpoints as written."""
    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)
    ns: dict = {}
    block = _python_block_after("### Differentiable search with training-speed objectives")
    exec(compile(block, "README", "exec"), ns)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[-1] == "True"
    space = ns["method"].space
    for epoch, line in enumerate(lines[:2]):
        e, free, arch = line.split(" ", 2)
        a = space.from_str(arch)
        assert int(e) == epoch and int(free) == ns["method"].supernet.param_free_count(a)
    assert (tmp_path / "sotl.safetensors").is_file() and ns["method"].arch_updates > 0


@pytest.mark.parametrize("name", ["darts", "oneshot train", "oneshot rank", "bench build", "proxies table", "zcpt",
                                  "store info", "store export", "store import"])
def test_cli_table_lists_every_option(name):
    import typer.main

    from nasrank.cli import app

    cmd = typer.main.get_command(app)
    for part in name.split():
        cmd = cmd.commands[part]
    row = next(line for line in README.read_text().splitlines()
               if line.startswith(f"| `nasrank {name} "))
    missing = [o for p in cmd.params for o in p.opts if o.startswith("--") and o not in row
               and o not in ("--help",)]
    assert not missing, f"README's nasrank {name} row lacks {missing}"


def test_optuna_pruner_example(capsys):
    """The README's Optuna study runs as written, prunes by TSE and finds a good network."""
    pytest.importorskip("optuna")
    exec(compile(_python_block_after("### Integrations: Optuna, Ray Tune"), "README", "exec"), {})
    pruned, best = capsys.readouterr().out.split()
    assert 1 <= int(pruned) < 12  # some trials stopped early, not all
    assert float(best) > 0.8      # digits: a completed trial is a good classifier
