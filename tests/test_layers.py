"""The package's import layers, checked on the source of the installed package.

Layers, bottom to top (a module may import its own layer or a lower one, never a higher one)::

    0  exceptions, _registry, _rng, _validate, records
    1  nn, data, execution
    2  spaces, training, estimators
    3  store
    4  oneshot, benchmarks, evaluation
    5  search
    6  integrations, testing
    7  cli (and ``__main__``)

Rules, each checked for every ``import`` statement of every module of ``nasrank`` (found with
:mod:`ast`: module-level, function-local and ``TYPE_CHECKING`` imports alike):

1. **Layers.** A module imports only modules of its own layer or of a lower one.
2. **Facade.** The package root ``nasrank/__init__.py`` is the facade: it may import anything, and
   only the CLI (layer 7) imports it explicitly (``from .. import create_space`` is a violation
   below the CLI; ``from ..exceptions import ConfigError`` is not).
3. **Privacy.** A private module (``_name``) or a private name imported from a module is private
   to the package that holds it: ``nasrank.training._curve`` may be imported by modules of
   ``nasrank.training`` (and its subpackages) only, ``nasrank._validate`` by every module.
4. **No cycles inside a package.** The files of one top-level package (``benchmarks``,
   ``estimators``, ...) import each other without cycles (``_builder.py`` importing
   ``_format.py`` while ``_format.py`` imports ``_builder.py`` is one). Importing a name that a
   package's ``__init__.py`` re-exports from one of the package's modules counts as importing
   that module: ``from .. import PROXIES`` in ``estimators/zero_cost/nwot.py`` depends on
   ``estimators/_registries.py``, which defines it, so ``estimators/__init__.py`` importing the
   proxies is no cycle; a name *defined* in ``__init__.py`` and read back by the modules that
   ``__init__.py`` imports is one (see :func:`_init_edges`).
5. **The store reads records only.** ``store`` imports nothing from ``training`` (records,
   learning curves included, come from ``records``).

A failure lists every violation as ``file:line: message``. :data:`EXCEPTIONS` names the imports
that are knowingly allowed to break the layer rule, each with its reason; a test fails when one of them
is no longer needed, so the list only shrinks.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import nasrank

#: Layer of each top-level unit of the package (first dotted component below ``nasrank``).
LAYERS: dict[str, int] = {
    "exceptions": 0, "_registry": 0, "_rng": 0, "_validate": 0, "records": 0,
    "nn": 1, "data": 1, "execution": 1,
    "spaces": 2, "training": 2, "estimators": 2,
    "store": 3,
    "oneshot": 4, "benchmarks": 4, "evaluation": 4, "synthetic": 4,
    "search": 5,
    "integrations": 6, "testing": 6,
    "cli": 7, "__main__": 7,
}
ROOT = "nasrank"
CLI_LAYER = 7
#: (importing unit, imported unit) pairs forbidden although the layers would allow them.
FORBIDDEN: dict[tuple[str, str], str] = {
    ("store", "training"): "the store depends on nasrank.records only",
}
#: (importing module, imported module) -> why the import may break the layers for now.
EXCEPTIONS: dict[tuple[str, str], str] = {}
# (estimators sit in layer 2 beside training: curve estimators and proxies are pure functions of
# records and models, and the training hook's TrainingSpeed.tse() looks them up by name.)
FORBIDDEN[("estimators", "training")] = "estimators read LearningCurve records, never the trainer"


@dataclass(frozen=True)
class Module:
    """One module of the package: its dotted name, file and whether it is a package ``__init__``."""

    name: str
    path: Path
    is_package: bool

    @property
    def package(self) -> str:
        """The package the module belongs to (itself for an ``__init__``)."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Import:
    """One imported module or name, resolved to a module of the package."""

    importer: Module
    line: int
    target: str  # dotted module name inside the package
    name: str | None  # the imported name when it is not a module itself
    text: str  # the import as written


def discover(root: Path | None = None) -> dict[str, Module]:
    """Every module of the package under ``root`` (default: the installed ``nasrank``)."""
    root = Path(nasrank.__file__).parent if root is None else root
    mods: dict[str, Module] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = [ROOT, *rel.parts]
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        name = ".".join(parts)
        mods[name] = Module(name, path, is_pkg)
    return mods


def _resolve(mod: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.package.split(".")
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(mod: Module, mods: dict[str, Module]) -> list[Import]:
    """The package-internal imports of ``mod`` (every ``import`` statement anywhere in the file)."""
    source = mod.path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(mod.path))
    out: list[Import] = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            text = " ".join((ast.get_source_segment(source, node) or "").split())
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                    target = alias.name
                    while target not in mods and "." in target:
                        target = target.rpartition(".")[0]
                    out.append(Import(mod, node.lineno, target, None, text or alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(mod, node)
            if base != ROOT and not base.startswith(ROOT + "."):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in mods:
                    out.append(Import(mod, node.lineno, sub, None, text or sub))
                else:
                    out.append(Import(mod, node.lineno, base, alias.name, text or sub))
    return out


def unit(name: str) -> str:
    """The top-level unit of a dotted module name (``nasrank.training._curve`` -> ``training``)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer(name: str) -> int | None:
    """Layer of a module (``None`` for the facade and for unknown units)."""
    return LAYERS.get(unit(name))


def _private_owner(imp: Import, mods: dict[str, Module]) -> tuple[str, str] | None:
    """``(owner package, what)`` of the private module or name an import names, else ``None``."""
    parts = imp.target.split(".")
    for i, p in enumerate(parts[1:], start=1):
        if p.startswith("_") and not p.startswith("__"):
            return ".".join(parts[:i]), imp.target
    if imp.name is not None and imp.name.startswith("_") and not imp.name.startswith("__"):
        owner = mods[imp.target].package if imp.target in mods else imp.target
        return owner, f"{imp.target}.{imp.name}"
    return None


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _init_edges(imp: Import, mods: dict[str, Module], reexports: dict[str, dict[str, str]]) -> str:
    """Where an import really leads for the cycle check.

    ``from .. import PROXIES`` inside ``estimators/zero_cost/x.py`` names ``estimators/__init__``,
    but when ``__init__`` only re-exports ``PROXIES`` from ``estimators/_registries.py`` the
    dependency is on that module, and ``__init__`` importing the proxies is no cycle.
    """
    if imp.name is not None and imp.target in reexports and imp.name in reexports[imp.target]:
        return reexports[imp.target][imp.name]
    return imp.target


def _reexports(mods: dict[str, Module], all_imports: dict[str, list[Import]]) -> dict[str, dict[str, str]]:
    """For every package ``__init__``: the names it imports from another module of the package."""
    out: dict[str, dict[str, str]] = {}
    for name, m in mods.items():
        if not m.is_package:
            continue
        table: dict[str, str] = {}
        for imp in all_imports[name]:
            if imp.name is not None and imp.target != name:
                table[imp.name] = imp.target
        out[name] = table
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def violations(root: Path | None = None) -> list[str]:
    """Every breach of the layer rules in the package under ``root``, as ``file:line: message``."""
    mods = discover(root)
    base = Path(nasrank.__file__).parent if root is None else root
    where = {n: str(m.path.relative_to(base.parent)) for n, m in mods.items()}
    all_imports = {n: imports_of(m, mods) for n, m in mods.items()}
    out: list[str] = []
    for name in mods:
        src_unit = unit(name)
        if name != ROOT and src_unit not in LAYERS:
            out.append(f"{where[name]}:1: unit {src_unit!r} has no layer; add it to LAYERS")
            continue
        src_layer = layer(name)
        if name == ROOT:
            continue  # the facade may import anything
        for imp in all_imports[name]:
            loc = f"{where[name]}:{imp.line}"
            if imp.target == ROOT:
                if src_layer is not None and src_layer < CLI_LAYER:
                    out.append(f"{loc}: imports the package root (facade) below the CLI: {imp.text!r}")
                continue
            dst_layer = layer(imp.target)
            if dst_layer is None:
                out.append(f"{loc}: imports {imp.target!r}, which has no layer: {imp.text!r}")
                continue
            excused = (name, imp.target) in EXCEPTIONS
            if src_layer is not None and dst_layer > src_layer and not excused:
                out.append(
                    f"{loc}: layer {src_layer} ({src_unit}) imports layer {dst_layer} "
                    f"({unit(imp.target)}): {imp.text!r}"
                )
            why = FORBIDDEN.get((src_unit, unit(imp.target)))
            if why is not None:
                out.append(f"{loc}: {src_unit} must not import {unit(imp.target)} ({why}): {imp.text!r}")
            private = _private_owner(imp, mods)
            if private is not None and not _inside(name, private[0]):
                out.append(f"{loc}: imports {private[1]!r}, private to {private[0]!r}: {imp.text!r}")
    # cycles between the files of one top-level package
    reexports = _reexports(mods, all_imports)
    graph: dict[str, set[str]] = {n: set() for n in mods}
    first_line: dict[tuple[str, str], int] = {}
    for name, imps in all_imports.items():
        for imp in imps:
            dst = _init_edges(imp, mods, reexports)
            if dst != name and dst in mods and unit(dst) == unit(name) and unit(name):
                graph[name].add(dst)
                first_line.setdefault((name, dst), imp.line)
    for comp in _cycles(graph):
        members = set(comp)
        edges = sorted(
            f"{where[a]}:{first_line[(a, b)]} -> {where[b]}" for a in comp for b in graph[a] if b in members
        )
        out.append("import cycle inside " + unit(comp[0]) + ": " + "; ".join(edges))
    return sorted(out)


def test_exceptions_are_still_needed() -> None:
    """Every entry of :data:`EXCEPTIONS` still matches an import (stale entries must go)."""
    mods = discover()
    present = {(n, imp.target) for n, m in mods.items() for imp in imports_of(m, mods)}
    stale = sorted(k for k in EXCEPTIONS if k not in present)
    assert not stale, f"remove these entries from EXCEPTIONS, the imports are gone: {stale}"


def test_every_module_has_a_layer() -> None:
    mods = discover()
    missing = sorted({unit(n) for n in mods if n != ROOT and unit(n) not in LAYERS})
    assert not missing, f"units without a layer: {missing}"


def test_layers() -> None:
    found = violations()
    assert not found, f"{len(found)} layer violation(s):\n" + "\n".join(found)


def test_checker_catches_each_kind(tmp_path: Path) -> None:
    """The checker itself: one planted breach of every rule is reported, and nothing else."""
    pkg = tmp_path / "nasrank"
    files = {
        "__init__.py": "from .search import x\n",  # the facade may import anything
        "exceptions.py": "",
        "records.py": "from .exceptions import E\n",
        "training/__init__.py": "from ._curve import C\n",
        "training/_curve.py": "from ..exceptions import E\n",
        "store.py": "def f():\n    from .training._curve import C\n",  # private + forbidden
        "spaces/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..search import s\n",
        "data/__init__.py": "from .. import create_space\n",
        "search/__init__.py": "from .._registry import Registry\n",
        "benchmarks/__init__.py": "",
        "benchmarks/_a.py": "from ._b import f\n",
        "benchmarks/_b.py": "def g():\n    from ._a import h\n",
        "estimators/__init__.py": "from ._reg import REG\nfrom . import x\n",
        "estimators/_reg.py": "",
        "estimators/x.py": "from . import REG\n",  # a re-exported name: no cycle
        "cli/__init__.py": "from .. import create_space\nimport nasrank.search\n",
    }
    for rel, text in files.items():
        p = pkg / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    found = violations(pkg)
    joined = "\n".join(found)
    expected = [
        "nasrank/store.py:2: imports 'nasrank.training._curve', private to 'nasrank.training'",
        "nasrank/store.py:2: store must not import training",
        "nasrank/spaces/__init__.py:3: layer 2 (spaces) imports layer 5 (search)",
        "nasrank/data/__init__.py:1: imports the package root (facade) below the CLI",
        "import cycle inside benchmarks: nasrank/benchmarks/_a.py:1 -> nasrank/benchmarks/_b.py; "
        "nasrank/benchmarks/_b.py:2 -> nasrank/benchmarks/_a.py",
    ]
    for e in expected:
        assert e in joined, f"{e!r} not reported in:\n{joined}"
    assert len(found) == len(expected), joined
