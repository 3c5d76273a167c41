"""``nasrank proxies`` command."""

from __future__ import annotations

import json

from nasrank.cli import main

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|"


def test_proxies_digits_json(capsys):
    code = main(["proxies", "--arch", ARCH, "--dataset", "digits", "--C", "4", "--N", "1",
                 "--names", "snip,synflow,nwot", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["proxies"]) == ["snip", "synflow", "nwot"]
    assert out["proxies"]["nwot"]["batch_size"] == 128
    assert out["proxies"]["snip"]["batch_size"] == 64
    assert out["proxies"]["snip"]["value"] > 0


def test_proxies_table_and_batch_size(capsys):
    code = main(["proxies", "--arch", ARCH, "--C", "4", "--N", "1", "--names", "grad_norm",
                 "--batch-size", "16"])
    assert code == 0
    out = capsys.readouterr().out
    assert "grad_norm" in out and "16" in out


def test_proxies_unknown_name_exit_2(capsys):
    code = main(["proxies", "--arch", ARCH, "--names", "snip,synflw"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "synflw" in err and "Did you mean 'synflow'" in err and "gradsign" in err


def test_proxies_list(capsys):
    assert main(["proxies", "--list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"gradsign", "nwot", "zen"}


def test_proxies_list_table_piped_keeps_whole_names_one_line_each(capsys):
    """Piped output (not a terminal) is not wrapped at 80 columns: every proxy name appears
    whole, on a line with its summary."""
    from nasrank.estimators.zero_cost import list_proxies, proxy_info

    assert main(["proxies", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in list_proxies():
        row = [ln for ln in lines if ln.startswith(f"│ {name} ")]
        assert len(row) == 1, name
        assert proxy_info(name)["summary"].split()[0] in row[0]


def test_proxies_on_any_space_with_its_own_build_options(capsys):
    """The network is the space's standard one changed by --config: NB201 C=16, N=5 by default;
    a macro space takes its own options (and rejects NB201's)."""
    assert main(["proxies", "--arch", ARCH, "--names", "params", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"] == {"C": 16, "N": 5} and (out["C"], out["N"]) == (16, 5)
    arch = "d=1,1,2|w=16,32,64"
    assert main(["proxies", "--space", "nds-resnet", "--arch", arch, "--config", "width_mult=0.25",
                 "--names", "params,synflow", "--batch-size", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"] == {"width_mult": 0.25} and "C" not in out
    assert out["proxies"]["params"]["value"] > 0 and out["proxies"]["synflow"]["value"] > 0
    assert main(["proxies", "--space", "nds-resnet", "--arch", arch, "--N", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "width_mult" in err[0]
