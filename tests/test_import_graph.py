"""Architecture rules read off the source: one home for Mistral, a Judge free of vendor features.

The module import graph is built from the source with ``ast`` (imports under
``if TYPE_CHECKING:`` are left out: they never run). "Import time" edges are module-level
imports; "any" edges include imports inside functions (lazy imports).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import hallujudge

SRC = Path(hallujudge.__file__).parent
MISTRAL_HOME = "hallujudge._backends.mistral"
VENDOR_FEATURES = (MISTRAL_HOME, "hallujudge._finetune")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    """The modules ``path`` imports (``from x import y`` counts ``x`` and ``x.y``)."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child, in_function)
            return
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        if isinstance(node, ast.Import) and not (module_level_only and in_function):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not (module_level_only and in_function):
            target = _resolve(module, node, is_package)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return {name for name in found if name.startswith("hallujudge")}


def _graph(*, module_level_only: bool) -> dict[str, set[str]]:
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    return {
        name: {m for m in _imports(path, module_level_only=module_level_only) if m in files}
        for name, path in files.items()
    }


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A path of imports from ``start`` to ``goal`` (None: there is none)."""
    stack, seen = [[start]], {start}
    while stack:
        path = stack.pop()
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == goal:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append([*path, nxt])
    return None


def test_the_judge_imports_no_vendor_feature_even_lazily() -> None:
    imported = _imports(SRC / "_judge.py", module_level_only=False)
    offending = sorted(m for m in imported if m.startswith(VENDOR_FEATURES))
    assert offending == []
    assert "hallujudge._batch" not in imported  # batch is a backend capability now


def test_the_graph_sees_imports_it_should() -> None:
    # The checks above and below would pass vacuously on a broken graph: prove it finds edges.
    graph = _graph(module_level_only=False)
    assert "hallujudge._backends._resolver" in graph["hallujudge._judge"]
    assert (
        f"{MISTRAL_HOME}._connection"
        in graph[f"{MISTRAL_HOME}._chat"] | graph[f"{MISTRAL_HOME}._common"]
    )
    assert "hallujudge._finetune" in graph["hallujudge._backends._resolver"]  # a lazy import


def test_no_import_time_cycle_through_the_judge() -> None:
    graph = _graph(module_level_only=True)
    assert _reaches(graph, "hallujudge._judge", "hallujudge._judge") is None


def test_the_mistral_home_never_imports_the_judge_at_run_time() -> None:
    graph = _graph(module_level_only=False)
    for name in graph:
        if name.startswith(MISTRAL_HOME):
            assert _reaches(graph, name, "hallujudge._judge") is None, name


def test_only_the_mistral_home_imports_the_sdk() -> None:
    outside = []
    for path in SRC.rglob("*.py"):
        name = _module_name(path)
        if name.startswith(MISTRAL_HOME):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            outside.extend(
                f"{name}: {n}" for n in names if n.split(".")[0] in ("mistralai", "httpx2")
            )
    assert outside == []


def test_a_judge_at_run_time_loads_no_vendor_feature() -> None:
    code = (
        "import json, sys\n"
        "from hallujudge._judge import Judge\n"
        "Judge('fake').score('The sky is blue.', 'The sky is blue.')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "hallujudge._judge" in loaded
    assert [m for m in loaded if m.startswith(VENDOR_FEATURES) or m == "mistralai"] == []


def test_the_evaluator_and_the_weave_helpers_import_each_other_through_no_cycle() -> None:
    # The callback protocol lives in hallujudge._callbacks: WeaveCallback implements it without
    # importing the Evaluator, which may then load hallujudge.weave lazily.
    graph = _graph(module_level_only=False)
    assert "hallujudge._callbacks" in graph["hallujudge.weave"]
    assert _reaches(graph, "hallujudge.weave", "hallujudge._evaluator") is None
    assert _reaches(graph, "hallujudge._callbacks", "hallujudge._evaluator") is None
