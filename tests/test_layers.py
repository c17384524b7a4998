"""The package's layers, read from its imports: the core (tensor.py, autograd/, ops/, nn/, optim/)
imports nothing from the tools that watch it (jit/, viz, trace, explain); no module imports from a
layer above its own (the map in minigrad/__init__.py); and the only import cycle is the one the
core needs (Tensor's methods call ops, ops are Functions, Functions make Tensors)."""

from __future__ import annotations

import ast
from pathlib import Path

import minigrad

PACKAGE = Path(minigrad.__file__).parent

# The map in minigrad/__init__.py's docstring: each top-level module or folder, by layer.
LAYERS = {
    "errors": 0, "devices": 0,
    "tensor": 1, "autograd": 1, "ops": 1, "creation": 1, "functions": 1, "return_types": 1,
    "nn": 2, "optim": 2, "data": 2, "utils": 2, "testing": 2, "serialization": 2,
    "distributed": 2, "cuda": 2, "accelerator": 2, "func": 2, "linalg": 2, "special": 2,
    "distributions": 2,
    "jit": 3, "trace": 3, "viz": 3, "explain": 3,
    "learner": 4, "": 4,  # "": minigrad/__init__.py
}  # fmt: skip
CORE = ("tensor", "autograd", "ops", "nn", "optim")
TOOLS = ("jit", "viz", "trace", "explain")


def module_names(package: Path) -> dict[str, Path]:
    """'minigrad.autograd.engine' -> its file, for every module of the package."""
    found = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module's imports of other minigrad modules, wherever they are in the file (inside a
    function too: an import made late is still an import)."""
    modules = module_names(package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [f"{source}.{alias.name}" for alias in node.names] + [source]
            else:
                continue
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
                    break  # `from . import x` is an import of x, not also of the package
    return graph


def top(module: str) -> str:
    return module.removeprefix("minigrad").removeprefix(".").split(".")[0]


def core_imports_of_tools(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if top(module) in CORE and top(target) in TOOLS
    ]


def test_the_core_imports_nothing_from_the_tools_that_watch_it():
    assert core_imports_of_tools(imports()) == []


def test_every_module_is_on_the_map_and_imports_only_from_its_layer_or_below():
    graph = imports()
    assert {top(module) for module in graph} <= set(LAYERS), "a new module: put it on the map"
    upward = [
        f"{module} (layer {LAYERS[top(module)]}) imports {target} (layer {LAYERS[top(target)]})"
        for module, targets in graph.items()
        for target in targets
        if LAYERS[top(target)] > LAYERS[top(module)]
    ]
    assert upward == []


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan's, without
    recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_the_only_import_cycle_is_tensor_ops_and_function():
    found = cycles(imports())
    assert len(found) == 1, [sorted(c) for c in found]
    (cycle,) = found
    assert {top(m) for m in cycle} <= {"tensor", "autograd", "ops"}, sorted(cycle)
    assert {"minigrad.tensor", "minigrad.autograd.function"} <= cycle
    assert len(cycle) <= 19, sorted(cycle)


def test_the_import_reader_sees_a_late_import_of_the_compiler_in_the_engine(tmp_path):
    """The checks above can fail: a copy of the package whose engine imports the recorder
    inside a function is caught."""
    copy = tmp_path / "minigrad"
    for path in PACKAGE.rglob("*.py"):
        target = copy / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    engine = copy / "autograd" / "engine.py"
    engine.write_text(engine.read_text() + "\n\ndef late():\n    from ..jit import recording\n")
    assert core_imports_of_tools(imports(copy)) == [
        "minigrad.autograd.engine imports minigrad.jit.recording"
    ]
