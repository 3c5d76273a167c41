"""The README's Python API example runs as written."""

from __future__ import annotations

from pathlib import Path


def test_python_api_example(capsys):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = text.index("```python\n", text.index("## Python API")) + len("```python\n")
    ns: dict = {}
    exec(compile(text[start : text.index("```", start)], "README", "exec"), ns)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "(3, 3, 4, 1, 3, 1)"
    assert lines[1] == "True 802426 113951370"
    assert ns["logits"].shape == (8, 10)
    assert lines[2].endswith(" 24")
