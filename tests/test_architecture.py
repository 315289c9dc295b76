"""The house rules, checked on the source: imports flow one way between packages, no module cycles.

Every `import` and `from ... import` of every module is read with `ast` (those inside functions too:
a lazy import is still a dependency), so a wrong-way import or a cycle fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

from config import REPO_ROOT

#: Lowest first: a package may import its own modules and packages of lower layers only.
#: Packages in one layer (reports, jobs; cli, dashboard) do not import each other.
LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer) for layer in (
    {"config"},                 # settings, label order, the data folder's layout
    {"db"},                     # schema, sessions, migrations
    {"model"},                  # everything that looks at a face: detection, preprocessing, classifier, training
    {"pipeline"},               # a recording to per-second rows, shifts and stills; the one atomic store
    {"access"},                 # users, the access policy, workspace settings, audit log, retention
    {"calls"},                  # the call lifecycle: intake, roles, annotations, deletes, CSV
    {"reports", "jobs"},        # PDF/HTML/CSV exports; the analysis queue and its workers
    {"cli", "dashboard"},       # the two front doors
    {"tools"},                  # benchmarks, screenshots, synthetic calls, seed data (not the product)
    {"tests"},
))
#: Entry points run as `python -m ...`: nothing imports them, they may delegate upwards.
ENTRY_POINTS = {"pipeline.__main__": {"cli"}}
PRODUCT = set().union(*LAYERS[:8])


def _rank(package: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def _modules() -> dict[str, Path]:
    found = {}
    for layer in LAYERS:
        for package in layer:
            single = REPO_ROOT / f"{package}.py"
            paths = [single] if single.exists() else sorted((REPO_ROOT / package).rglob("*.py"))
            for path in paths:
                parts = path.relative_to(REPO_ROOT).with_suffix("").parts
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `module` imports (a `from package import name` counts `package.name` when that is a module)."""
    out = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                out.add(name)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def test_imports_flow_one_way_between_packages():
    wrong = []
    for module, imported in _graph().items():
        package = module.split(".")[0]
        for target in imported:
            other = target.split(".")[0]
            if other == package or other in ENTRY_POINTS.get(module, ()):
                continue
            if _rank(other) >= _rank(package):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against the layering (see LAYERS):\n" + "\n".join(sorted(wrong))


def test_product_never_imports_tools_or_tests():
    leaks = [f"{m} imports {t}" for m, imported in _graph().items() if m.split(".")[0] in PRODUCT
             for t in imported if t.split(".")[0] in {"tools", "tests"}]
    assert not leaks, "\n".join(leaks)


def test_no_import_cycles_between_modules():
    graph = _graph()
    cycles = [sorted(component) for component in _strongly_connected(graph) if len(component) > 1]
    assert not cycles, f"modules that import each other (directly or round a loop): {cycles}"


def test_the_check_sees_a_wrong_way_import_and_a_cycle(tmp_path):
    """The walker itself can fail: a model module importing the pipeline, and two modules importing each other."""
    (tmp_path / "a.py").write_text("from pipeline.video import probe\ndef f():\n    import b\n")
    (tmp_path / "b.py").write_text("import a\n")
    known = {"a", "b", "pipeline.video"}
    graph = {m: _imports(m, tmp_path / f"{m}.py", known) for m in ("a", "b")}
    assert graph == {"a": {"pipeline.video", "b"}, "b": {"a"}}
    assert [sorted(c) for c in _strongly_connected(graph) if len(c) > 1] == [["a", "b"]]
    assert _rank("model") < _rank("pipeline")


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules that reach each other."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            out.append(component)

    for node in list(graph):
        if node not in index:
            visit(node)
    return out
