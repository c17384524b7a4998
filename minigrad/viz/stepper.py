"""Step through a backward pass in a browser, one node at a time.

    steps = minigrad.viz.stepper(loss)   # runs loss.backward(), keeping each of its steps
    steps.save("backward.html")          # one self-contained file: open it in any browser
    steps                                # in a notebook: shown in place (`_repr_html_`)

The page draws the graph (as SVG, without Graphviz) and walks the backward pass in the order
the engine ran it: the "next" button (or the right arrow key) moves to the next node, shows the
gradient arriving at it (summed over every use of its tensor), the op's rule, and what it sends
to each input; the leaves' `.grad` fill in as backward reaches them. Shapes are always shown,
and the numbers in full when there are few of them (norm, min and max otherwise).

It listens to the real backward pass (`autograd.events`), as `backward(trace=True)` does: the
steps are the engine's, and the `.grad` it shows are the ones backward() left.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..autograd import events
from ..autograd.engine import is_op_node
from ..autograd.function import Context, node_of
from ..errors import GradientError
from ..tensor import Tensor
from .graph import format_number, graph_nodes, node_names, node_tensor, shape_text, summarize

MAX_NUMBERS = 16  # a gradient with more numbers than this is shown as norm, min and max


@dataclass
class Step:
    """What the engine did at one node: the gradients that arrived (one per output), and, for
    an op, what its backward sent to each input and what each input has received so far."""

    node: Any  # a Context (an op that ran) or a leaf Tensor
    grads: list[torch.Tensor]
    input_grads: list[torch.Tensor | None]
    totals: list[torch.Tensor | None]


class StepRecorder(events.Listener):
    """A listener that keeps every step of a backward pass, in the engine's order."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def node_end(
        self, node: Any, grads: list[Any], input_grads: list[Any], totals: list[Any]
    ) -> None:
        self.steps.append(Step(node, _copies(grads), _copies(input_grads), _copies(totals)))


def _copies(tensors: list[Any]) -> list[Any]:
    """Copies of the gradients, so that nothing done after this step changes them."""
    return [None if t is None else getattr(t, "_data", t).detach().clone() for t in tensors]


def stepper(
    loss: Tensor,
    gradient: Tensor | torch.Tensor | None = None,
    retain_graph: bool = False,
    max_numbers: int = MAX_NUMBERS,
) -> Stepper:
    """Run `loss.backward(gradient, retain_graph)` and keep each of its steps (see the module).

    Like backward(), it fills the leaves' `.grad` (adding to what they hold) and releases the
    graph unless `retain_graph=True`.
    """
    nodes = graph_nodes(loss)
    names = node_names(loss, nodes)
    for node in nodes:
        if isinstance(node, Context) and node.released:
            raise GradientError(
                f"stepper() needs the whole graph, but the {node.op_name} node that made "
                f"{names[id(node)]} was released by an earlier backward(). Call stepper() "
                "instead of backward(), or call backward(retain_graph=True) first."
            )
    with events.listening(StepRecorder()) as recorder:
        loss.backward(gradient, retain_graph=retain_graph)
    return Stepper(loss, nodes, names, recorder.steps, max_numbers)


class Stepper:
    """A recorded backward pass: `steps` in the engine's order, `leaf_grads` (each leaf's
    `.grad` once backward was over), and the page that walks through them (`html`, `save`)."""

    def __init__(
        self,
        loss: Tensor,
        nodes: list[Any],
        names: dict[int, str],
        steps: list[Step],
        max_numbers: int = MAX_NUMBERS,
    ) -> None:
        self.nodes = nodes
        self.names = names
        self.steps = steps
        self.max_numbers = max_numbers
        self.root = node_of(loss)
        self.leaves = [n for n in nodes if isinstance(n, Tensor) and n._requires_grad]
        self.leaf_grads = {
            names[id(leaf)]: None if leaf.grad is None else leaf.grad._data.clone()
            for leaf in self.leaves
        }

    @property
    def order(self) -> list[Any]:
        """The nodes in the order backward visited them."""
        return [step.node for step in self.steps]

    # ---- the page ------------------------------------------------------------------------------

    def data(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready values (numbers already as text)."""
        index = {id(node): i for i, node in enumerate(self.nodes)}
        text = self._text
        steps = []
        for step in self.steps:
            node = step.node
            entry: dict[str, Any] = {
                "node": index[id(node)],
                "arriving": [text(g) for g in step.grads],
                "uses": sum(1 for s in self.steps for e, g in _sent(s) if e is node and g),
            }
            if is_op_node(node):
                labels = node.function.input_labels(len(node.needs_input_grad))
                entry["op"] = node.op_name
                entry["rule"] = node.function.rule()
                sent = zip(node.parents, labels, step.input_grads, step.totals)
                entry["sends"] = [
                    {"to": index[id(parent)], "label": label, "grad": text(g), "total": text(t)}
                    for parent, label, g, t in sent
                    if g is not None
                ]
            else:
                entry["grad"] = self._leaf_text(node)
            steps.append(entry)
        root_grad = self.steps[0].grads[0] if self.steps else None
        return {
            "root": index[id(self.root)],
            "start": text(root_grad) if root_grad is not None else "",
            "names": [self.names[id(node)] for node in self.nodes],
            "steps": steps,
        }

    def _text(self, values: torch.Tensor | None) -> str:
        return "" if values is None else values_text(values, self.max_numbers)

    def _leaf_text(self, leaf: Tensor) -> str:
        grad = self.leaf_grads[self.names[id(leaf)]]
        return "None" if grad is None else values_text(grad, self.max_numbers)

    def fragment(self, page_keys: bool = False) -> str:
        """The stepper as a piece of HTML: a picture, its controls, and the script that runs
        them (no file or network needed). The arrow keys work once it has the focus (a click),
        or anywhere on the page with `page_keys`."""
        data = json.dumps(self.data())
        uid = "mg-stepper-" + hashlib.sha256(data.encode()).hexdigest()[:12]
        index = {id(node): i for i, node in enumerate(self.nodes)}
        keys = ' data-keys="page"' if page_keys else ""
        rows = "".join(
            f'<tr data-node="{index[id(leaf)]}"><td>{html.escape(self.names[id(leaf)])}</td>'
            f'<td>{shape_text(leaf)}</td><td class="mg-leaf-grad">-</td></tr>'
            for leaf in self.leaves
        )
        return (
            f'<div class="mg-stepper" id="{uid}" tabindex="0"{keys}>'
            f"<style>{_STYLE.replace('ROOT', '#' + uid)}</style>"
            '<div class="mg-controls">'
            '<button type="button" data-go="first">&#x226A; start</button>'
            '<button type="button" data-go="back">&#x25C0; back</button>'
            '<button type="button" data-go="next">next &#x25B6;</button>'
            '<button type="button" data-go="last">end &#x226B;</button>'
            '<span class="mg-counter"></span>'
            '<span class="mg-hint">(or the arrow keys)</span></div>'
            f'<div class="mg-picture">{self._svg(uid)}</div>'
            '<div class="mg-panel"></div>'
            '<table class="mg-leaves"><caption>the leaves\' .grad</caption>'
            f"<tr><th>leaf</th><th>shape</th><th>.grad</th></tr>{rows}</table>"
            f'<script type="application/json" class="mg-data">{_script_safe(data)}</script>'
            f"<script>{_SCRIPT.replace('UID', uid)}</script></div>"
        )

    def html(self) -> str:
        """A whole page, to open in a browser (the arrow keys work anywhere on it)."""
        title = f"The backward pass of {html.escape(self.names[id(self.root)])}, step by step"
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{title}</title></head>"
            f'<body style="font-family: sans-serif"><h1 style="font-size: 1.3em">{title}</h1>'
            f"{self.fragment(page_keys=True)}"
            "</body></html>\n"
        )

    def save(self, path: str | Path) -> Path:
        """Write the page (one file, nothing else needed) and return its path."""
        path = Path(path)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        return self.fragment()

    def __repr__(self) -> str:
        return (
            f"<Stepper: the backward pass of {self.names[id(self.root)]} in {len(self.steps)} "
            "steps; .save('backward.html') to open it in a browser>"
        )

    # ---- the picture ---------------------------------------------------------------------------

    def _svg(self, uid: str) -> str:
        """The graph as SVG: a column per depth, inputs on the left, the loss on the right."""
        place = _layout(self.nodes)
        width = max(x for x, _ in place.values()) + BOX_WIDTH + 2 * MARGIN
        height = max(y for _, y in place.values()) + BOX_HEIGHT + 2 * MARGIN
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="the graph">',
            f'<defs><marker id="{uid}-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto">'
            '<path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>',
        ]
        index = {id(node): i for i, node in enumerate(self.nodes)}
        for i, node in enumerate(self.nodes):
            if not isinstance(node, Context):
                continue
            x2, y2 = place[id(node)]
            for parent in node.parents:
                if parent is None:
                    continue
                x1, y1 = place[id(parent)]
                x1, y1, y2m = x1 + BOX_WIDTH + MARGIN, y1 + BOX_HEIGHT / 2 + MARGIN, y2 + MARGIN
                x2m, y2m = x2 + MARGIN, y2m + BOX_HEIGHT / 2
                bend = (x2m - x1) / 2
                parts.append(
                    f'<path class="mg-edge" data-from="{index[id(parent)]}" data-to="{i}" '
                    f'd="M{x1},{y1} C{x1 + bend},{y1} {x2m - bend},{y2m} {x2m},{y2m}" '
                    f'marker-end="url(#{uid}-arrow)"/>'
                )
        for i, node in enumerate(self.nodes):
            x, y = place[id(node)]
            parts.append(self._box(i, node, x + MARGIN, y + MARGIN))
        parts.append("</svg>")
        return "".join(parts)

    def _box(self, i: int, node: Any, x: float, y: float) -> str:
        name = self.names[id(node)]
        tensor = node_tensor(node)
        if isinstance(node, Context):
            kind, what = "mg-op", node.op_name
        elif node is self.root:
            kind, what = "mg-op", "the root"
        else:
            kind = "mg-param" if node._requires_grad else "mg-data"
            what = "parameter" if node._requires_grad else "data"
        shape = shape_text(tensor) if tensor is not None else ""
        lines = [_short(name), f"{what} {shape}".strip()]
        weights = ["bold", "normal"]
        texts = "".join(
            f'<text x="{x + BOX_WIDTH / 2}" y="{y + 19 + 17 * k}" text-anchor="middle" '
            f'font-weight="{weights[k]}">{html.escape(line)}</text>'
            for k, line in enumerate(lines)
        )
        return (
            f'<g class="mg-node {kind}" data-node="{i}"><title>{html.escape(name)}: '
            f"{html.escape(what)} {shape}</title>"
            f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6"/>{texts}</g>'
        )


def _sent(step: Step) -> list[tuple[Any, bool]]:
    """(the node each input's gradient went to, whether one went) for an op's step."""
    if not is_op_node(step.node):
        return []
    sent = zip(step.node.parents, step.input_grads)
    return [(parent, grad is not None) for parent, grad in sent if parent is not None]


def values_text(values: torch.Tensor, max_numbers: int = MAX_NUMBERS) -> str:
    """A tensor as the page shows it: its shape, then its numbers (nested as the tensor is)
    when there are at most `max_numbers` of them, else their norm, min and max."""
    values = values.detach()
    if values.numel() > max_numbers:
        return f"{shape_text(values)} {summarize(values, max_numbers)}"
    numbers = values.double().cpu() if values.is_floating_point() else values.cpu()
    return f"{shape_text(values)} {_nested(numbers.tolist())}"


def _nested(values: Any) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v) for v in values) + "]"
    return format_number(float(values))


# ---- layout ------------------------------------------------------------------------------------

BOX_WIDTH, BOX_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN = 150, 46, 56, 18, 10


def _layout(nodes: list[Any]) -> dict[int, tuple[float, float]]:
    """Where each node's box goes (its top left corner). An op's column is one more than its
    deepest input's; a leaf sits one column before the first op that uses it."""
    depth: dict[int, int] = {}
    users: dict[int, list[int]] = {}
    for node in nodes:  # inputs first: every input's depth is known before its op's
        if not isinstance(node, Context):
            depth[id(node)] = 0
            continue
        inputs = [parent for parent in node.parents if parent is not None]
        depth[id(node)] = 1 + max((depth[id(i)] for i in inputs), default=0)
        for i in inputs:
            users.setdefault(id(i), []).append(depth[id(node)])
    for node in nodes:
        if not isinstance(node, Context) and id(node) in users:
            depth[id(node)] = min(users[id(node)]) - 1
    rows: dict[int, int] = {}
    place = {}
    for node in nodes:
        column = depth[id(node)]
        row = rows[column] = rows.get(column, -1) + 1
        place[id(node)] = (column * (BOX_WIDTH + COLUMN_GAP), row * (BOX_HEIGHT + ROW_GAP))
    return place


def _short(name: str, length: int = 20) -> str:
    return name if len(name) <= length else name[: length - 1] + "…"


def _script_safe(text: str) -> str:
    """JSON inside a <script> element: a "</" in it would end the element early."""
    return text.replace("</", "<\\/")


# ---- what the page looks like and does ---------------------------------------------------------

_STYLE = """
ROOT { font: 14px/1.4 sans-serif; color: #222; outline: none; }
ROOT .mg-controls { display: flex; gap: 6px; align-items: center; margin: 6px 0; }
ROOT button { font: inherit; padding: 3px 10px; cursor: pointer; }
ROOT .mg-hint { color: #777; }
ROOT .mg-picture { overflow-x: auto; border: 1px solid #ddd; background: #fff; }
ROOT svg text { font: 12px sans-serif; fill: #222; }
ROOT .mg-node rect { fill: #fff; stroke: #888; stroke-width: 1.2; }
ROOT .mg-op rect { fill: #fff6c2; }
ROOT .mg-param rect { fill: #a8d5ff; }
ROOT .mg-data rect { fill: #e8e8e8; }
ROOT .mg-waiting rect { fill: #ffe08a; stroke: #d08c00; stroke-dasharray: 4 2; }
ROOT .mg-done rect { fill: #c7ecc0; stroke: #3c8c2f; }
ROOT .mg-current rect { fill: #ffb870; stroke: #c24e00; stroke-width: 3; }
ROOT .mg-edge { fill: none; stroke: #aaa; stroke-width: 1.2; }
ROOT .mg-flow { stroke: #c24e00; stroke-width: 3; }
ROOT .mg-panel { margin: 8px 0; padding: 8px 10px; background: #f7f7f7; min-height: 6em; }
ROOT .mg-panel p { margin: 2px 0; }
ROOT .mg-panel code, ROOT .mg-leaves td { font-family: monospace; white-space: pre-wrap; }
ROOT .mg-leaves { border-collapse: collapse; }
ROOT .mg-leaves td, ROOT .mg-leaves th { border: 1px solid #ddd; padding: 2px 8px; }
ROOT .mg-leaves caption { text-align: left; font-weight: bold; }
"""

_SCRIPT = """
(function () {
  const root = document.getElementById("UID");
  const data = JSON.parse(root.querySelector("script.mg-data").textContent);
  const steps = data.steps, names = data.names;
  let at = -1;  // the step shown: -1 before the first node, steps.length - 1 at the end

  function line(label, text, plain) {  // a line of the panel, as text (never as markup)
    const p = document.createElement("p");
    const b = document.createElement("b");
    b.textContent = label + " ";
    const value = document.createElement(plain ? "span" : "code");
    value.textContent = text;
    p.append(b, value);
    return p;
  }

  function show() {
    const received = new Set([data.root]), done = new Set();
    for (let k = 0; k <= at; k++) {
      done.add(steps[k].node);
      for (const sent of steps[k].sends || []) received.add(sent.to);
    }
    const current = at >= 0 ? steps[at].node : null;
    root.querySelectorAll("g.mg-node").forEach(function (g) {
      const i = Number(g.dataset.node);
      g.classList.toggle("mg-done", done.has(i) && i !== current);
      g.classList.toggle("mg-waiting", received.has(i) && !done.has(i));
      g.classList.toggle("mg-current", i === current);
    });
    root.querySelectorAll("path.mg-edge").forEach(function (e) {
      e.classList.toggle("mg-flow", Number(e.dataset.to) === current);
    });
    root.querySelectorAll(".mg-leaves tr[data-node]").forEach(function (row) {
      const step = steps.find(function (s) { return s.node === Number(row.dataset.node); });
      const shown = step && done.has(step.node);
      row.querySelector(".mg-leaf-grad").textContent = shown ? step.grad : "-";
    });
    const panel = root.querySelector(".mg-panel");
    panel.replaceChildren();
    const rootName = names[data.root];
    if (at < 0) {
      panel.append(line("Backward starts at " + rootName + ":", "d" + rootName + "/d" +
                        rootName + " = " + data.start));
      panel.append(line("Next:", "each node in turn, once the gradient of its output is " +
                        "complete (every use of it has sent its share).", true));
    } else {
      const step = steps[at], name = names[step.node];
      const summed = step.uses > 1 ? " (the sum of " + step.uses + " contributions)" : "";
      if (step.op !== undefined) {
        panel.append(line("Op:", name + " = " + step.op + "(...)"));
        panel.append(line("Gradient arriving:", "d" + rootName + "/d" + name + " = " +
                          step.arriving.join(", ") + summed));
        panel.append(line("Rule:", step.rule));
        for (const sent of step.sends) {
          let text = sent.grad;
          if (sent.total !== sent.grad) text += "   (" + names[sent.to] + " has " +
                                               sent.total + " so far)";
          panel.append(line("Sends to " + names[sent.to] + " (" + sent.label + "):", text));
        }
      } else {
        panel.append(line("Leaf " + name + ":", "its gradient is complete" + summed +
                          ": " + step.arriving[0]));
        panel.append(line(name + ".grad =", step.grad));
      }
    }
    root.querySelector(".mg-counter").textContent = "step " + (at + 1) + " of " + steps.length;
    root.querySelector('[data-go="first"]').disabled = at < 0;
    root.querySelector('[data-go="back"]').disabled = at < 0;
    root.querySelector('[data-go="next"]').disabled = at >= steps.length - 1;
    root.querySelector('[data-go="last"]').disabled = at >= steps.length - 1;
  }

  function go(where) {
    const last = steps.length - 1;
    at = {first: -1, back: Math.max(at - 1, -1), next: Math.min(at + 1, last), last: last}[where];
    show();
  }

  root.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-go]");
    if (button) go(button.dataset.go);
  });
  const keys = {ArrowRight: "next", ArrowLeft: "back", Home: "first", End: "last"};
  const keyTarget = root.dataset.keys === "page" ? document : root;
  keyTarget.addEventListener("keydown", function (event) {
    if (keys[event.key]) { go(keys[event.key]); event.preventDefault(); }
  });
  show();
})();
"""
