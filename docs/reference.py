"""The derivative reference: one page per op family (a module of minigrad/ops), made from the ops.

For every op (a Function subclass defined in minigrad/ops/<family>.py): its rule and its maths
(the docstring), its `forward` and `backward` source side by side as they are in the file, the
torch function it mirrors (the public minigrad names whose code applies it, and torch's names
for them), and the tests that prove it: each test in which a check of `minigrad.testing` ran
the op (found by running those tests with docs/op_tests.py). Nothing here names an op: a new
op appears by existing.
"""

from __future__ import annotations

import ast
import hashlib
import html
import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

import minigrad
import minigrad.ops
from minigrad.autograd.function import Function

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
CACHE = Path(os.environ.get("MINIGRAD_CACHE", ROOT / ".cache")) / "docs"

# What each check of minigrad.testing proves about an op (from their docstrings, in short).
CHECKS = {
    "assert_matches_torch": "forward values, then each gradient's shape, dtype and values "
    "against torch autograd (float64, a random upstream gradient, each input alone requiring "
    "grad too, a second backward that must double .grad)",
    "gradcheck": "gradients against central finite differences (float64)",
}


# ---- the ops -----------------------------------------------------------------------------------


def families() -> dict[str, list[type[Function]]]:
    """Each module of minigrad/ops and the ops defined in it, in the order of the file."""
    found = {}
    for module_info in pkgutil.iter_modules(minigrad.ops.__path__):
        module = importlib.import_module(f"minigrad.ops.{module_info.name}")
        ops = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Function)
            and value.__module__ == module.__name__
        ]
        if ops:
            found[module_info.name] = sorted(ops, key=lambda op: inspect.getsourcelines(op)[1])
    return found


def all_ops() -> list[type[Function]]:
    return [op for ops in families().values() for op in ops]


def defining_class(op: type[Function], name: str) -> type:
    """The class whose code `op.forward` (or backward) is: the op's own, or one it inherits."""
    return next(cls for cls in op.__mro__ if name in vars(cls))


def method_source(op: type[Function], name: str) -> str:
    """forward's or backward's source as it is in the file (dedented)."""
    method = vars(defining_class(op, name))[name]
    return textwrap.dedent(inspect.getsource(getattr(method, "__func__", method)))


# ---- which public names apply each op, and torch's names for them -------------------------------

# The minigrad modules whose public functions stand for torch's, and torch's name for each.
PUBLIC = {
    "minigrad.tensor": "torch",  # (its Tensor methods: torch.Tensor)
    "minigrad.creation": "torch",
    "minigrad.functions": "torch",
    "minigrad.nn.functional": "torch.nn.functional",
}


def mirrors() -> dict[str, list[tuple[str, str | None]]]:
    """Op name -> [(minigrad's public name, torch's name for it, or None)], for every public
    function or Tensor method whose body applies the op (`Op.apply(...)`)."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for module_name, torch_name in PUBLIC.items():
        module = importlib.import_module(module_name)
        tree = ast.parse(inspect.getsource(module))
        for owner, function in _functions(tree):
            if function.name.startswith("_") and not function.name.startswith("__"):
                continue
            if owner not in (None, "Tensor"):
                continue
            ours = f"{'minigrad.Tensor' if owner else 'minigrad'}.{function.name}"
            if module_name == "minigrad.nn.functional":
                ours = f"minigrad.nn.functional.{function.name}"
            torch_owner = torch.Tensor if owner else _resolve(torch_name)
            theirs = f"{torch_name if not owner else 'torch.Tensor'}.{function.name}"
            exists = hasattr(torch_owner, function.name)
            for op in _applied(function):
                entry = (ours, theirs if exists else None)
                if entry not in found.setdefault(op, []):
                    found[op].append(entry)
    return found


def _functions(tree: ast.Module) -> Iterator[tuple[str | None, ast.FunctionDef]]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield None, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    yield node.name, item


def _applied(function: ast.FunctionDef) -> list[str]:
    """The ops a function applies: the X of every `X.apply(...)` or `ops.X.apply(...)`."""
    names = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "apply":
                target = node.func.value
                if isinstance(target, ast.Attribute):
                    names.append(target.attr)
                elif isinstance(target, ast.Name):
                    names.append(target.id)
    return names


def _resolve(dotted: str) -> Any:
    return importlib.import_module(dotted)


# ---- the tests that prove each op --------------------------------------------------------------


def test_files() -> list[Path]:
    """The test files that use minigrad.testing's checks."""
    return sorted(
        path
        for path in TESTS.glob("test_*.py")
        if re.search(r"\b(assert_matches_torch|gradcheck)\(", path.read_text())
    )


def proving_tests() -> dict[str, dict[str, Any]]:
    """Test id -> {doc, checks: {check: [op names]}}: from running those tests (once per
    content of the tests and of minigrad: kept in .cache/docs between builds)."""
    files = test_files()
    digest = hashlib.sha256()
    for path in [*files, *sorted((ROOT / "minigrad").rglob("*.py")), Path(__file__)]:
        digest.update(path.read_bytes())
    cached = CACHE / f"op-tests-{digest.hexdigest()[:16]}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        profile = Path(scratch) / "one_example.py"
        profile.write_text(
            "from hypothesis import HealthCheck, settings\n"
            "settings.register_profile('one', max_examples=1, deadline=None, derandomize=True,"
            " database=None, suppress_health_check=list(HealthCheck))\n"
        )
        out = Path(scratch) / "found.json"
        env = {
            **os.environ,
            "MINIGRAD_OP_TESTS": str(out),
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), scratch]),
            "MINIGRAD_DEVICE": "cpu",
        }
        command = [sys.executable, "-m", "pytest", "-q", "-p", "one_example", "-p", "op_tests"]
        command += ["--hypothesis-profile=one", "-p", "no:cacheprovider", *map(str, files)]
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"the op tests failed, so the reference cannot list them:\n"
                               f"{run.stdout[-3000:]}{run.stderr[-3000:]}")  # fmt: skip
        cached.write_text(out.read_text())
    return json.loads(cached.read_text())


def tests_of(op: str, tests: dict[str, dict[str, Any]]) -> list[tuple[str, list[str], str, int]]:
    """(test function, the checks it made on this op, its doc, how many of its cases), the
    tests that ran the op with the fewest other ops first (those are about this op)."""
    by_function: dict[str, dict[str, Any]] = {}
    for test_id, found in tests.items():
        checks = [check for check, ops in found["checks"].items() if op in ops]
        if not checks:
            continue
        function = test_id.split("[")[0]
        entry = by_function.setdefault(
            function, {"checks": set(), "doc": found["doc"], "cases": 0, "others": 10**6}
        )
        entry["checks"].update(checks)
        entry["cases"] += 1
        others = min(len(found["checks"][check]) for check in checks)
        entry["others"] = min(entry["others"], others)
    ordered = sorted(by_function.items(), key=lambda kv: (kv[1]["others"], kv[0]))
    return [(f, sorted(e["checks"]), e["doc"], e["cases"]) for f, e in ordered]


# ---- the pages ---------------------------------------------------------------------------------

SHOWN_TESTS = 8  # per op; the rest are counted


def pages() -> dict[str, str]:
    """Path under docs -> markdown, for every page of the reference."""
    tests = proving_tests()
    used_by = mirrors()
    found = families()
    result = {"derivatives/index.md": index_page(found)}
    for family, ops in found.items():
        result[f"derivatives/{family}.md"] = family_page(family, ops, tests, used_by)
    return result


def index_page(found: dict[str, list[type[Function]]]) -> str:
    lines = [
        "# The derivative reference",
        "",
        "Every differentiable op of minigrad, one page per family (a file of `minigrad/ops/`).",
        "For each op: its rule, its maths (the op's docstring), its `forward` and `backward` as",
        "they are in the file, side by side, the torch function it stands for, and the tests",
        "that prove its gradient. The pages are made from the ops themselves when the site is",
        "built, so they cannot drift from the code.",
        "",
        "| family | ops |",
        "|---|---|",
    ]
    for family, ops in found.items():
        names = ", ".join(f"[{op.__name__}]({family}.md#{_anchor(op)})" for op in ops)
        lines.append(f"| [{family}]({family}.md) | {names} |")
    return "\n".join(lines) + "\n"


def family_page(
    family: str,
    ops: list[type[Function]],
    tests: dict[str, dict[str, Any]],
    used_by: dict[str, list[tuple[str, str | None]]],
) -> str:
    module = importlib.import_module(f"minigrad.ops.{family}")
    lines = [f"# {family}.py", "", _escaped(inspect.getdoc(module) or ""), ""]
    for op in ops:
        name = op.__name__
        lines += [f"## {name} {{#{_anchor(op)}}}", "", f"**Rule:** `{op.rule()}`", ""]
        lines += ['<div class="mg-maths" markdown>', "", "```text", inspect.getdoc(op) or name]
        lines += ["```", "", "</div>", ""]
        names = used_by.get(name, [])
        if names:
            shown = [
                f"`{ours}`" + (f" (torch: `{theirs}`)" if theirs else " (torch has no such name)")
                for ours, theirs in names
            ]
            lines += ["**Stands for:** " + ", ".join(shown), ""]
        else:
            lines += ["**Stands for:** no public name applies it directly (minigrad uses it "
                      "inside other functions)", ""]  # fmt: skip
        lines += ['<div class="grid" markdown>', ""]
        for method in ("forward", "backward"):
            owner = defining_class(op, method)
            title = method if owner is op else f"{method} (from {owner.__name__})"
            lines += [f'```python title="{title}"', method_source(op, method).rstrip(), "```", ""]
        lines += ["</div>", ""]
        proofs = tests_of(name, tests)
        if proofs:
            lines += ["**Proven by:**", ""]
            for function, checks, doc, cases in proofs[:SHOWN_TESTS]:
                what = "; ".join(f"`{check}`: {CHECKS[check]}" for check in checks)
                count = f" ({cases} cases)" if cases > 1 else ""
                about = f" {_escaped(doc)}" if doc else ""
                lines.append(f"- `{function}`{count}:{about} {what}")
            if len(proofs) > SHOWN_TESTS:
                lines.append(f"- and {len(proofs) - SHOWN_TESTS} more tests that use it")
        else:
            lines.append("**Proven by:** no test of `minigrad.testing`'s checks runs it yet.")
        lines.append("")
    return "\n".join(lines)


def _anchor(op: type[Function]) -> str:
    return op.__name__.lower()


def _escaped(text: str) -> str:
    """Docstring prose as Markdown text: its * and _ and < are maths, not emphasis or HTML."""
    text = html.escape(text, quote=False)
    return re.sub(r"([*_\\\[\]])", r"\\\1", text)
