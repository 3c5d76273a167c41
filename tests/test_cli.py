from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nasrank.cli import main

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_spaces_list(capsys):
    assert main(["spaces", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any({"name": "nb201", "size": 15625}.items() <= r.items() for r in rows)


def test_spaces_list_table_piped_one_line_per_space(capsys):
    """Piped output is not wrapped at 80 columns: each space is one row line with its whole
    description (the layout ``proxies --list`` and ``correlate`` share)."""
    assert main(["spaces", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert main(["spaces", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for r in rows:
        row = [ln for ln in lines if ln.startswith(f"│ {r['name']} ")]
        assert len(row) == 1, r["name"]
        assert r["description"] in row[0]


def test_spaces_show_json(capsys):
    assert main(["spaces", "show", "nb201", "--arch", ARCH, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["valid"] is True
    assert info["params"] == 802426  # benchmark index 1: params_m_cifar10 = 0.802426
    assert info["encoding"] == [3, 3, 4, 1, 3, 1]
    assert info["flops"] == 113_951_370  # xautodl counter: 113.95137 MFLOPs
    assert info["arch"] == ARCH


def test_spaces_show_table_mentions_canonical(capsys):
    arch = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    assert main(["spaces", "show", "nb201", "--arch", arch]) == 0
    out = capsys.readouterr().out
    assert "False" not in out  # valid
    assert "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|" in out.replace("\n", "").replace(" ", "")


def test_malformed_arch_is_one_line_exit_2(capsys):
    assert main(["spaces", "show", "nb201", "--arch", "garbage"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("Error: malformed NB201 architecture string 'garbage'")
    assert "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|" in err


def test_out_of_space_op_and_unknown_space(capsys):
    bad = ARCH.replace("avg_pool_3x3", "max_pool_3x3")
    assert main(["spaces", "show", "nb201", "--arch", bad]) == 2
    assert "unknown NB201 operation 'max_pool_3x3'" in capsys.readouterr().err
    assert main(["spaces", "show", "nb2O1", "--arch", ARCH]) == 2
    assert "Did you mean 'nb201'" in capsys.readouterr().err


def test_console_script_subprocess_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "nasrank", "spaces", "show", "nb201", "--arch", "garbage"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __import__("nasrank").__version__
    assert main(["--help"]) == 0
    assert "spaces" in capsys.readouterr().out


def test_every_command_summary_is_one_paragraph_line():
    """The command lists of `nasrank --help` show each command's first docstring paragraph with its
    line breaks kept: a summary wrapped in the source shows as a broken line there."""
    import inspect

    from nasrank.cli import app

    def commands(group, prefix=""):
        for c in group.registered_commands:
            yield prefix + (c.name or c.callback.__name__), inspect.getdoc(c.callback) or ""
        for g in group.registered_groups:
            yield from commands(g.typer_instance, prefix + g.name + " ")

    found = dict(commands(app))
    assert {"darts", "oneshot train", "search", "bench build"} <= set(found)
    broken = {name: doc.split("\n\n")[0] for name, doc in found.items() if "\n" in doc.split("\n\n")[0]}
    assert not broken, broken


def test_help_and_version_do_not_import_torch():
    """`nasrank --help` / `--version` must start fast: no torch / numpy at import or run time."""
    code = (
        "import sys\n"
        "from nasrank.cli import main\n"
        "for argv in (['--version'], ['--help'], ['search', '--help'], ['bench', 'build', '--help']):\n"
        "    assert main(argv) == 0, argv\n"
        "print('HEAVY=' + ','.join(m for m in ('torch', 'numpy', 'scipy', 'sklearn') if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "HEAVY=\n" in res.stderr or res.stderr.rstrip().endswith("HEAVY="), res.stderr[-500:]


def test_lazy_package_attributes():
    import nasrank

    assert "create_strategy" in dir(nasrank)
    assert nasrank.create_strategy("random", "nb201", seed=0).name == "random"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nasrank.nope  # noqa: B018
