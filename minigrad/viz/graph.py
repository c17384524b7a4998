"""Pictures of the graph: which ops made a tensor, from which tensors.

    dot_source = to_dot(loss, show_values=True)   # Graphviz DOT text
    draw(loss, "loss.svg")                        # an SVG or PNG (or a .dot file, see `draw`)
    to_dot(loss, show_grads=True)                 # with dloss/d(node) on every node

Tensors are boxes and ops are ovals; arrows go from inputs to op to output, in the direction
of the forward pass (backward walks them the other way). Parameters (leaves that require grad)
are blue, other leaves (data, targets) grey, and the tensor drawn from is orange.

The helpers here (`graph_nodes`, `node_names`, `summarize`) are shared with `minigrad.trace`
and `minigrad.explain`, so that all three call a tensor by the same name.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from ..autograd.engine import run_backward
from ..autograd.function import Context, node_of
from ..tensor import Tensor

# ---- walking the graph -----------------------------------------------------------------------
# The graph's nodes are the ops that ran (Contexts) and the leaves: tensors the user made, which
# require grad (parameters) or not (data). A node's edges lead to the nodes that made its inputs.


def graph_nodes(root: Tensor) -> list[Any]:
    """Every node that `root` was computed from (root's own included), inputs before outputs.

    Unlike the engine's `topological_order`, this keeps the leaves that need no gradient too
    (the images, the targets): a picture or a replay of the backward pass needs them. An explicit
    stack instead of recursion, so that a chain of thousands of ops works.
    """
    order: list[Any] = []
    visited: set[int] = set()
    stack: list[tuple[Any, bool]] = [(node_of(root), False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if isinstance(node, Context):
            for parent in reversed(node.parents):  # reversed: the first input is named first
                if parent is not None and id(parent) not in visited:
                    stack.append((parent, False))
    return order


def node_tensor(node: Any) -> Tensor | None:
    """The tensor a node stands for: a leaf itself, or the output an op made (None once no one
    holds that output any more)."""
    return node.output() if isinstance(node, Context) else node


def node_names(root: Tensor, nodes: list[Any] | None = None) -> dict[int, str]:
    """A name for each node of the graph, keyed by id: its tensor's `.name` where set, otherwise
    "loss" (or "out", when not a single number) for the root and t0, t1, ... for the others,
    numbered inputs first. Duplicate names get a suffix (w, w_2) so that every name means one
    node: a tensor changed in place (h += 1) is two nodes, h before and h after."""
    nodes = graph_nodes(root) if nodes is None else nodes
    root_node = node_of(root)
    names: dict[int, str] = {}
    taken: set[str] = set()
    counter = 0
    for node in nodes:
        tensor = node_tensor(node)
        name = tensor.name if tensor is not None else None
        if not name and node is root_node:
            name = "loss" if root.numel() == 1 else "out"
        if not name:
            name, counter = f"t{counter}", counter + 1
        unique, k = name, 2
        while unique in taken:
            unique, k = f"{name}_{k}", k + 1
        taken.add(unique)
        names[id(node)] = unique
    return names


# ---- numbers in a few characters -------------------------------------------------------------


def format_number(value: float) -> str:
    """4 decimals; tiny values in scientific notation, so that they don't print as 0.0000."""
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.3e}"
    return f"{value + 0.0:.4f}"  # + 0.0 turns -0.0 into 0.0


def summarize(values: torch.Tensor, max_numbers: int = 4) -> str:
    """A tensor's numbers in one short line: all of them when few, else norm, min and max."""
    flat = values.detach().reshape(-1)
    if not flat.is_floating_point():
        flat = flat.double()
    if flat.numel() <= max_numbers:
        numbers = ", ".join(format_number(v) for v in flat.tolist())
        return numbers if values.ndim == 0 else f"[{numbers}]"
    stats = torch.stack([flat.norm(), flat.min(), flat.max()]).tolist()  # one copy to the host
    norm, low, high = (format_number(v) for v in stats)
    return f"norm {norm}, min {low}, max {high}"


def shape_text(values: torch.Tensor | Tensor) -> str:
    return str(tuple(values.shape))


# ---- DOT -------------------------------------------------------------------------------------

PARAMETER_STYLE = 'shape=box, style="filled,bold", fillcolor="#a8d5ff"'
DATA_STYLE = 'shape=box, style=filled, fillcolor="#e8e8e8"'
ROOT_STYLE = 'shape=box, style=filled, fillcolor="#ffd8a8"'
TENSOR_STYLE = "shape=box"
OP_STYLE = 'shape=oval, style=filled, fillcolor="#fff6c2"'
CONSTANT_STYLE = "shape=plaintext"


def _quote(text: str) -> str:
    """A DOT string: quotes and backslashes escaped; lines joined by DOT's centred line break."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def _tensor_label(tensor: Tensor | None, name: str, kind: str, show_values: bool, grad: Any) -> str:
    """A box's text: name, shape and dtype; its values and gradient when asked (`grad` is
    False when not asked, None when the node has none)."""
    if tensor is None:  # an op's output that nothing holds any more
        return name
    dtype = str(tensor.dtype).removeprefix("torch.")
    lines = [f"{name}  ({kind})" if kind else name, f"{shape_text(tensor)} {dtype}"]
    if show_values:
        lines.append("value " + summarize(tensor._data))
    if grad is not False:
        lines.append("grad " + ("-" if grad is None else summarize(grad)))
    return "\n".join(lines)


def node_gradients(root: Tensor, nodes: list[Any]) -> dict[int, torch.Tensor]:
    """dRoot/d(node) for every node that needs a gradient, keyed by id: micrograd's picture
    shows each node's gradient, but minigrad keeps `.grad` on leaves only. So, while the graph
    is whole, a backward pass of its own computes them (changing no `.grad`, as explain does);
    once backward() has released the graph, only the leaves' `.grad` is left to show."""
    if any(isinstance(node, Context) and node.released for node in nodes):
        return {
            id(node): node.grad._data
            for node in nodes
            if isinstance(node, Tensor) and node.grad is not None
        }
    if not root.requires_grad:
        return {}
    grads: dict[int, torch.Tensor] = {}

    def keep(node: Any, node_grads: list[Any]) -> None:
        grads[id(node)] = node_grads[0]  # (an op with several outputs: its first one's)

    gradient = None if root.numel() == 1 else torch.ones_like(root._data)
    run_backward([(root, gradient)], retain_graph=True, arrive=keep)
    return grads


def _node_kind(node: Any, root_node: Any) -> tuple[str, str]:
    """How a node's tensor is drawn: (what it is, DOT style)."""
    if node is root_node:
        return "output", ROOT_STYLE
    if isinstance(node, Context):
        return "", TENSOR_STYLE
    return ("parameter", PARAMETER_STYLE) if node._requires_grad else ("data", DATA_STYLE)


def to_dot(tensor: Tensor, show_values: bool = False, show_grads: bool = False) -> str:
    """Graphviz DOT source of the graph that produced `tensor`.

    Draw it before `backward()` (or after `backward(retain_graph=True)`): backward releases the
    graph's links to its inputs, after which only the last op is left to draw. `show_grads`
    writes on every node its gradient dtensor/d(node) (see `node_gradients`; for a tensor of
    several numbers, the gradient of their sum).
    """
    nodes = graph_nodes(tensor)
    names = node_names(tensor, nodes)
    root_node = node_of(tensor)
    grads = node_gradients(tensor, nodes) if show_grads else {}
    lines = [
        "digraph minigrad {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    node_ids = {id(node): f"t{i}" for i, node in enumerate(nodes)}
    constants = 0
    for i, node in enumerate(nodes):
        kind, style = _node_kind(node, root_node)
        grad = grads.get(id(node)) if show_grads else False
        label = _tensor_label(node_tensor(node), names[id(node)], kind, show_values, grad)
        lines.append(f"  t{i} [{style}, label={_quote(label)}];")
        if not isinstance(node, Context):
            continue
        ctx = node
        op_id = f"op{i}"
        lines.append(f"  {op_id} [{OP_STYLE}, label={_quote(ctx.op_name)}];")
        labels = ctx.function.input_labels(len(ctx.inputs))
        drawn = [inp for inp in ctx.inputs if isinstance(inp, (Tensor, int, float))]
        show_labels = len(drawn) > 1  # then operand order matters: 1 - p is not p - 1
        for inp, parent, input_label in zip(ctx.inputs, ctx.parents, labels):
            edge_label = f" [label={_quote(input_label)}]" if show_labels else ""
            if parent is not None:
                lines.append(f"  {node_ids[id(parent)]} -> {op_id}{edge_label};")
            elif isinstance(inp, (int, float)):  # a Python number: 1 in `1 - p`, 2 in `x ** 2`
                const_id, constants = f"c{constants}", constants + 1
                lines.append(f"  {const_id} [{CONSTANT_STYLE}, label={_quote(repr(inp))}];")
                lines.append(f"  {const_id} -> {op_id}{edge_label};")
        lines.append(f"  {op_id} -> t{i};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(tensor: Tensor, path: str | Path, **kwargs: Any) -> Path:
    """Draw the graph that produced `tensor` into `path` (.svg, .png or .pdf; .dot for the text).

    Rendering needs the `graphviz` Python package (`pip install minigrad[viz]`) and Graphviz's
    `dot` program (`apt-get install graphviz`, `brew install graphviz`). Without them the DOT
    text is written next to `path` (loss.svg -> loss.dot), with a message saying how to render
    it. `kwargs` go to `to_dot` (show_values, show_grads). Returns the path of the file written.
    """
    path = Path(path)
    source = to_dot(tensor, **kwargs)
    fmt = path.suffix.lstrip(".").lower()
    if fmt == "dot":
        path.write_text(source)
        return path
    renderer = _graphviz_renderer()
    if renderer is not None:
        path.write_bytes(renderer(source, format=fmt or "svg").pipe())
        return path
    dot_path = path.with_suffix(".dot")
    dot_path.write_text(source)
    print(
        f"Wrote {dot_path}: rendering {path.name} needs the graphviz Python package "
        "(pip install graphviz) and the Graphviz `dot` program. To render it by hand:\n"
        f"    dot -T{fmt or 'svg'} {dot_path} -o {path}"
    )
    return dot_path


def _graphviz_renderer() -> Any:
    """graphviz.Source when both the package and the `dot` program are there, else None."""
    if shutil.which("dot") is None:
        return None
    try:
        import graphviz
    except ImportError:
        return None
    return graphviz.Source


# ---- in a notebook ---------------------------------------------------------------------------


class Graph:
    """The graph that produced a tensor, for a notebook: with `Graph(loss)` as the last line of
    a cell, the picture appears inline (SVG, when Graphviz is installed; the DOT text otherwise).
    `source` is the DOT text; keyword arguments go to `to_dot` (show_values, show_grads)."""

    def __init__(self, tensor: Tensor, **kwargs: Any) -> None:
        self.source = to_dot(tensor, **kwargs)

    def _repr_svg_(self) -> str | None:
        """The picture, for Jupyter; None (so Jupyter shows the text) without Graphviz."""
        renderer = _graphviz_renderer()
        return None if renderer is None else renderer(self.source).pipe(format="svg").decode()

    def __repr__(self) -> str:
        return self.source
