"""The PyTorch surface that minigrad covers: `python docs/surface.py` writes
docs/torch-surface.md from the code itself (tests/test_torch_surface.py checks it is current).

Code written for torch meets minigrad through names: `torch.sin`, `x.var(dim=0)`, `nn.MSELoss`.
The names minigrad lacks fail with an AttributeError that says so: that is minigrad's own
(minigrad/errors.py, `missing_attribute`); this page only lists what is there.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from minigrad.errors import resolve

# torch namespaces and the minigrad modules that stand for them (beyond torch and torch.Tensor)
NAMESPACES = {
    "torch.nn": "minigrad.nn",
    "torch.nn.functional": "minigrad.nn.functional",
    "torch.nn.init": "minigrad.nn.init",
    "torch.nn.utils": "minigrad.nn.utils",
    "torch.nn.utils.rnn": "minigrad.nn.utils.rnn",
    "torch.nn.utils.parametrize": "minigrad.nn.utils.parametrize",
    "torch.nn.utils.parametrizations": "minigrad.nn.utils.parametrizations",
    "torch.optim": "minigrad.optim",
    "torch.optim.lr_scheduler": "minigrad.optim.lr_scheduler",
    "torch.autograd": "minigrad.autograd",
    "torch.autograd.functional": "minigrad.autograd.functional",
    "torch.func": "minigrad.func",
    "torch.special": "minigrad.special",
    "torch.linalg": "minigrad.linalg",
    "torch.distributions": "minigrad.distributions",
    "torch.cuda": "minigrad.cuda",
    "torch.accelerator": "minigrad.accelerator",
    "torch.utils.data": "minigrad.utils.data",
    "torch.distributed": "minigrad.distributed",
    "torch.nn.parallel": "minigrad.nn.parallel",
}

# The torch surface that well-known teaching code uses (a survey; "used by" names the sources):
#   examples  pytorch/tutorials beginner_source/examples_autograd and examples_nn
#   micrograd karpathy/micrograd test/test_engine.py (its torch half)
#   basics    pytorch/tutorials beginner_source/basics ("Learn the Basics")
#   d2l       d2l.ai, the PyTorch code of chapters 2-4 (preliminaries, linear networks)
#   makemore  karpathy/nn-zero-to-hero, makemore parts 1-5
#   fastbook  fastai/fastbook chapters 4-5 (the digit classifier, then cross-entropy)
#   gpt       karpathy/ng-video-lecture gpt.py ("Let's build GPT": a character-level transformer)
# Whether minigrad has each one is looked up in the code when the table is written.
TEACHING_SURFACE: dict[str, tuple[str, ...]] = {
    "torch.tensor": ("examples", "basics", "d2l", "makemore", "fastbook", "gpt"),
    "torch.no_grad": ("examples", "basics", "d2l", "makemore", "fastbook", "gpt"),
    "torch.randn": ("examples", "basics", "d2l", "makemore", "fastbook"),
    "torch.zeros": ("basics", "d2l", "makemore", "fastbook", "gpt"),
    "torch.ones": ("basics", "d2l", "makemore", "gpt"),
    "torch.arange": ("d2l", "makemore", "fastbook", "gpt"),
    "torch.cat": ("basics", "d2l", "makemore", "fastbook", "gpt"),
    "torch.Tensor.backward": (
        "examples",
        "micrograd",
        "basics",
        "d2l",
        "makemore",
        "fastbook",
        "gpt",
    ),
    "torch.Tensor.item": ("examples", "micrograd", "basics", "d2l", "makemore", "fastbook", "gpt"),
    "torch.Tensor.sum": ("examples", "basics", "d2l", "makemore", "fastbook"),
    "torch.Tensor.mean": ("d2l", "makemore", "fastbook", "gpt"),
    "torch.Tensor.pow": ("examples", "basics", "d2l"),
    "torch.Tensor.view": ("makemore", "fastbook", "gpt"),
    "torch.Tensor.reshape": ("d2l",),
    "torch.Tensor.argmax": ("basics", "d2l"),
    "torch.Tensor.exp": ("d2l", "makemore", "fastbook"),
    "torch.Tensor.log": ("d2l", "makemore", "fastbook"),
    "torch.Tensor.tanh": ("micrograd", "makemore"),
    "torch.Tensor.relu": ("micrograd",),
    "torch.Tensor.double": ("micrograd",),
    "torch.Tensor.float": ("makemore", "fastbook"),
    "torch.Tensor.type": ("basics", "d2l"),
    "torch.Tensor.detach": ("basics", "d2l"),
    "torch.Tensor.numpy": ("basics", "d2l"),
    "torch.Tensor.zero_": ("basics", "d2l", "fastbook"),
    "torch.Tensor.add_": ("basics",),
    "torch.Tensor.requires_grad_": ("basics", "d2l", "fastbook"),
    "torch.Tensor": ("micrograd",),
    "torch.linspace": ("examples", "makemore"),
    "torch.sin": ("examples",),
    "torch.full": ("examples",),
    "torch.autograd.Function": ("examples",),
    "torch.accelerator.is_available": ("examples",),
    "torch.cuda.is_available": ("examples", "basics", "gpt"),
    "torch.set_default_device": ("examples",),
    "torch.nn.Module": ("examples", "basics", "makemore", "gpt"),
    "torch.nn.Parameter": ("examples", "basics"),
    "torch.nn.Linear": ("examples", "basics", "makemore", "gpt"),
    "torch.nn.Sequential": ("examples", "basics", "makemore", "gpt"),
    "torch.nn.Flatten": ("examples", "basics"),
    "torch.nn.ReLU": ("basics", "gpt"),
    "torch.nn.MSELoss": ("examples", "basics"),
    "torch.nn.CrossEntropyLoss": ("basics", "fastbook"),
    "torch.nn.Softmax": ("basics",),
    "torch.nn.functional.cross_entropy": ("makemore", "gpt"),
    "torch.nn.functional.softmax": ("makemore", "gpt"),
    "torch.nn.functional.one_hot": ("makemore",),
    "torch.nn.functional.nll_loss": ("fastbook",),
    "torch.nn.functional.binary_cross_entropy_with_logits": ("basics",),
    "torch.optim.SGD": ("examples", "basics", "fastbook"),
    "torch.optim.RMSprop": ("examples",),
    "torch.Generator": ("makemore",),
    "torch.multinomial": ("makemore", "gpt"),
    "torch.randint": ("makemore", "d2l", "gpt"),
    "torch.normal": ("d2l",),
    "torch.unbind": ("makemore",),
    "torch.histogram": ("makemore",),
    "torch.allclose": ("makemore",),
    "torch.Tensor.nelement": ("makemore",),
    "torch.Tensor.log10": ("makemore",),
    "torch.Tensor.std": ("makemore",),
    "torch.Tensor.var": ("makemore",),
    "torch.Tensor.retain_grad": ("makemore",),
    "torch.Tensor.cumsum": ("d2l",),
    "torch.Tensor.clone": ("d2l",),
    "torch.Tensor.numel": ("d2l",),
    "torch.Tensor.t": ("basics",),
    "torch.dot": ("d2l",),
    "torch.mv": ("d2l",),
    "torch.mm": ("d2l",),
    "torch.norm": ("d2l",),
    "torch.exp": ("d2l",),
    "torch.abs": ("d2l",),
    "torch.matmul": ("basics", "d2l"),
    "torch.mul": ("basics",),
    "torch.eye": ("basics",),
    "torch.from_numpy": ("basics",),
    "torch.ones_like": ("basics", "fastbook"),
    "torch.rand_like": ("basics",),
    "torch.rand": ("basics",),
    "torch.where": ("fastbook",),
    "torch.stack": ("fastbook", "gpt"),
    "torch.sigmoid": ("fastbook",),
    "torch.softmax": ("fastbook",),
    "torch.log_softmax": ("fastbook",),
    "torch.save": ("basics",),
    "torch.load": ("basics",),
    "torch.utils.data.DataLoader": ("basics", "d2l"),
    "torch.utils.data.TensorDataset": ("d2l",),
    "torch.manual_seed": ("gpt",),
    "torch.tril": ("gpt",),
    "torch.nn.Embedding": ("gpt",),
    "torch.nn.LayerNorm": ("gpt",),
    "torch.nn.Dropout": ("gpt",),
    "torch.nn.ModuleList": ("gpt",),
    "torch.optim.AdamW": ("gpt",),
    "torch.Tensor.masked_fill": ("gpt",),
    "torch.Tensor.transpose": ("gpt",),
    "torch.Tensor.tolist": ("gpt",),
    "torch.Tensor.to": ("gpt",),
    "torch.nn.Module.register_buffer": ("gpt",),
}


def covered_names(torch_name: str, minigrad_name: str) -> list[str]:
    """The public names of a minigrad module (or of minigrad.Tensor) that torch's counterpart
    has too: the torch surface it covers. Submodules are listed as namespaces instead."""
    ours, theirs = resolve(minigrad_name), resolve(torch_name)
    names = vars(ours) if isinstance(ours, type(sys)) else {n: None for n in dir(ours)}
    names = {n: None for n in names if hasattr(ours, n)}  # (not Tensor's TorchOnly names)
    names = getattr(ours, "__all__", names)  # a module's own list leaves out what it imports
    tensor_class = resolve("minigrad.Tensor")
    return sorted(
        name
        for name in names
        if not name.startswith("_")
        and hasattr(theirs, name)
        and not isinstance(getattr(ours, name), type(sys))  # a submodule: a namespace row
        and (getattr(ours, name) is not tensor_class or minigrad_name == "minigrad")
    )


def has(dotted: str) -> bool:
    """Whether minigrad has the counterpart of a torch name ("torch.nn.MSELoss"...)."""
    for torch_name, minigrad_name in sorted(NAMESPACES.items(), key=lambda kv: -len(kv[0])):
        if dotted.startswith(torch_name + "."):
            dotted = minigrad_name + dotted[len(torch_name) :]
            break
    else:
        dotted = "minigrad" + dotted.removeprefix("torch")
    module_name, *attributes = dotted.split(".", 1)
    value: Any = importlib.import_module(module_name)
    for attribute in attributes[0].split(".") if attributes else ():
        try:
            value = getattr(value, attribute)
        except (AttributeError, ImportError):
            return False
    return True


def surface_table() -> str:
    """docs/torch-surface.md, as the code stands."""
    import torch

    import minigrad

    top = covered_names("torch", "minigrad")
    methods = covered_names("torch.Tensor", "minigrad.Tensor")
    is_dtype = {n for n in top if isinstance(getattr(minigrad, n), torch.dtype)}
    is_function = {n for n in top if _is_function(getattr(minigrad, n))} - is_dtype
    objects = sorted(set(top) - is_function - is_dtype)
    is_method = {n for n in methods if callable(getattr(torch.Tensor, n))}
    attributes = sorted(set(methods) - is_method)
    operators = sorted(
        n
        for n in dir(minigrad.Tensor)
        if n.startswith("__")
        and n not in vars(object)
        and hasattr(torch.Tensor, n)
        and n not in {"__annotations__", "__dict__", "__module__", "__slots__", "__weakref__"}
        and n != "__slotnames__"  # (copyreg's cache, there once a Tensor has been pickled)
    )

    lines = [
        "# The torch surface minigrad covers",
        "",
        "Generated from the code by `python docs/surface.py` (it writes this file);",
        "`tests/test_torch_surface.py` fails when this file is out of date. A torch name that is",
        "not here raises an AttributeError that says torch has it and how to add it to minigrad.",
        "",
        "## Functions and Tensor methods",
        "",
        "`yes`: minigrad has it. `not yet`: torch has it, minigrad does not. `-`: torch has no",
        "such form either.",
        "",
        "| name | `minigrad.name(x, ...)` | `x.name(...)` |",
        "|---|---|---|",
    ]
    for name in sorted(is_function | is_method):
        theirs_function = _is_function(getattr(torch, name, None))
        theirs_method = callable(getattr(torch.Tensor, name, None))
        lines.append(
            f"| `{name}` | {_cell(name in is_function, theirs_function)} "
            f"| {_cell(name in is_method, theirs_method)} |"
        )
    lines += [
        "",
        "## Tensor attributes and operators",
        "",
        "| | |",
        "|---|---|",
        f"| attributes | {_names(attributes)} |",
        f"| operators | {_names(operators)} |",
        "",
        "## dtypes and other torch objects",
        "",
        "| | |",
        "|---|---|",
        f"| dtypes | {_names(sorted(is_dtype))} |",
        f"| classes and others | {_names(objects)} |",
        "",
        "## Namespaces",
        "",
        "| torch | minigrad | names minigrad has |",
        "|---|---|---|",
    ]
    for torch_name, minigrad_name in NAMESPACES.items():
        try:
            names = _names(covered_names(torch_name, minigrad_name))
        except ImportError:
            names = "not yet: the whole namespace is missing"
        lines.append(f"| `{torch_name}` | `{minigrad_name}` | {names} |")
    lines += [
        "",
        "## What teaching code uses",
        "",
        "The torch names that well-known teaching code uses, most used first, and whether",
        "minigrad has them. Sources: `examples`, pytorch/tutorials' examples_autograd and",
        "examples_nn; `micrograd`, the torch half of karpathy/micrograd's test_engine.py;",
        "`basics`, PyTorch's \"Learn the Basics\"; `d2l`, d2l.ai's PyTorch chapters 2-4;",
        "`makemore`, Karpathy's nn-zero-to-hero makemore lectures; `fastbook`, chapters 4-5;",
        "`gpt`, gpt.py of Karpathy's \"Let's build GPT\" (karpathy/ng-video-lecture), which runs",
        "with minigrad's imports in place of torch's and prints torch's output (checked with",
        "smaller hyperparameters; tests/test_teaching_programs.py has a program in its style).",
        "",
        "| torch name | used by | minigrad |",
        "|---|---|---|",
    ]
    by_use = sorted(TEACHING_SURFACE.items(), key=lambda item: (-len(item[1]), item[0]))
    for name, sources in by_use:
        lines.append(f"| `{name}` | {', '.join(sources)} | {'yes' if has(name) else 'not yet'} |")
    return "\n".join(lines) + "\n"


def _is_function(value: Any) -> bool:
    return callable(value) and not isinstance(value, type)


def _cell(ours: bool, theirs: bool) -> str:
    return "yes" if ours else ("not yet" if theirs else "-")


def _names(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names) if names else "none yet"


PAGE = Path(__file__).resolve().parent / "torch-surface.md"

if __name__ == "__main__":
    PAGE.write_text(surface_table())
    print(f"wrote {PAGE}")
