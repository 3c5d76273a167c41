"""``nasrank report STORE --html``: one self-contained page, validated by parsing it."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nasrank.benchmarks import load_benchmark
from nasrank.cli import main
from nasrank.evaluation.metrics import kendall_tau
from nasrank.search import TabularEvaluator, create_strategy, run_search, write_html_report
from nasrank.store import ResultStore

SECTIONS = {"summary", "configuration", "anytime", "best", "correlations", "environment"}


class _Page(HTMLParser):
    """Sections, images, tables and every URL-like attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.refs: list[str] = []  # href/src/action values
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id") or "")
        if tag == "img":
            self.images.append(a.get("src") or "")
        self.refs += [v or "" for k, v in attrs if k in ("href", "src", "action", "srcset", "data")]
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _parse(path: Path) -> tuple[_Page, str]:
    raw = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(raw)
    page.close()
    return page, raw


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two strategies x two seeds on the shipped nb201-mini table (about a second)."""
    db = tmp_path_factory.mktemp("html") / "runs.db"
    ev = TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
    for strategy in ("random", "evolution"):
        for seed in (0, 1):
            run_search(create_strategy(strategy, ev.space, seed=seed, **(
                {"population_size": 4} if strategy == "evolution" else {})), ev, "10q", store=db)
    return db


def _check_self_contained(page: _Page, raw: str) -> None:
    assert set(page.sections) == SECTIONS and len(page.sections) == len(SECTIONS)
    assert "http://" not in raw and "https://" not in raw and "//cdn" not in raw
    assert not ({"script", "link", "iframe", "object", "embed"} & page.tags)
    assert all(r.startswith("data:") for r in page.refs), page.refs[:3]


def test_html_report_of_a_search_store(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib", reason="the embedded plots need matplotlib")
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(store), "--html", "report.html", "--top", "3"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # --html alone: no CSV directory
    page, raw = _parse(tmp_path / "report.html")
    _check_self_contained(page, raw)
    assert page.sections == ["summary", "configuration", "anytime", "best", "correlations", "environment"]
    assert len(page.images) == 2  # anytime + score-vs-metric scatter
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    text = " ".join(page.text)
    for needle in ("random / tse-ema@T=5", "evolution / tse-ema@T=5", "Kendall tau", "test_acc", "nb201-mini",
                   "torch", "python"):
        assert needle in text, needle
    # the best architecture of each group is the one with the highest score, with its benchmark accuracy
    with ResultStore(store, read_only=True) as st:
        runs = [r for r in st.search_runs() if r["config"]["strategy"] == "random"]
        steps = [s for r in runs for s in st.search_steps(r["run_id"])]
    best = max(steps, key=lambda s: s["score"])
    assert best["arch"] in page.cells
    i = page.cells.index(best["arch"])
    assert page.cells[i + 2] == f"{best['metrics']['test_acc']:.4g}"
    # the correlation table agrees with kendall_tau over the distinct architectures
    archs = {s["arch"]: (s["score"], s["metrics"]["test_acc"]) for s in steps}
    tau = kendall_tau([v[0] for v in archs.values()], [v[1] for v in archs.values()])
    row = page.cells.index("random / tse-ema@T=5", page.cells.index("Spearman rho"))
    assert page.cells[row + 1] == "test_acc" and page.cells[row + 2] == str(len(archs))
    assert float(page.cells[row + 3]) == pytest.approx(tau, abs=1e-3)


def test_html_report_without_matplotlib_says_so(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    out = tmp_path / "r.html"
    assert main(["report", str(store), "--html", str(out), "--out", str(tmp_path / "csv")]) == 0
    assert (tmp_path / "csv" / "anytime.csv").is_file()  # --out as well: the CSV directory too
    assert "no plots: plotting needs matplotlib" in capsys.readouterr().err
    page, raw = _parse(out)
    _check_self_contained(page, raw)
    assert page.images == [] and "pip install" in " ".join(page.text)


def test_html_report_without_ground_truth(tmp_path: Path) -> None:
    """Steps that record no metric: the correlation section says it is not available."""
    db = tmp_path / "bare.db"
    with ResultStore(db) as st:
        st.start_search_run("r1", {"strategy": "random", "label": "proxy", "seed": 0, "budget": [3, "query"],
                                   "cost_unit": "query", "evaluator": {"kind": "proxy"}, "params": {}})
        best = None
        for i, score in enumerate((0.1, 0.5, 0.3)):
            if best is None or score > best[1]:
                best = (f"arch{i}", score)
            st.save_search_step("r1", i, {"step": i, "arch": f"arch{i}", "fidelity": None, "score": score,
                                          "cost": 1.0, "spent": i + 1.0, "status": "ok", "metrics": {},
                                          "best_arch": best[0], "best_score": best[1], "best_metrics": {}},
                                {}, i + 1.0)
    rep = write_html_report(db, tmp_path / "bare.html", plot=False)
    assert rep["images"] == [] and rep["image_note"] is None
    page, raw = _parse(rep["html"])
    _check_self_contained(page, raw)
    text = " ".join(page.text)
    assert "Not available" in text and "plots not drawn" in text
    assert page.cells.index("arch1") < page.cells.index("arch2") < page.cells.index("arch0")  # by score


@pytest.mark.parametrize("argv, message", [
    (["--html", "{tmp}/missing/r.html"], "does not exist"),
    (["--html", "{tmp}"], "is a directory"),
    (["--html", "{tmp}/r.html", "--value", "foo"], "not recorded"),
    (["--html", "{tmp}/r.html", "--out", "{tmp}/r.html.d/x/y"], "does not exist"),
])
def test_html_report_errors(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str],
                            message: str) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["report", str(store), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_html_report_refuses_an_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ResultStore(tmp_path / "empty.db").close()
    assert main(["report", str(tmp_path / "empty.db"), "--html", str(tmp_path / "r.html")]) == 2
    assert "no search runs" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()
