"""The backward pass of a recorded graph, written out as straight-line Python.

    print(explain(loss))

prints one line per gradient, in the order `backward()` computes them, e.g. for
`loss = (x @ w).sigmoid().mean()`:

    d_loss = torch.ones_like(loss)
    # loss = Mean(t1)    out = sum of x over dim / n. ...
    d_t1 = (d_loss / 2).expand((2, 1))
    # t1 = Sigmoid(t0)    s = 1 / (1 + e^-x).   ds/dx = s (1 - s).
    d_t0 = d_t1 * t1 * (1 - t1)
    # t0 = MatMul(x, w)    out = a @ b.   dL/da = G @ b^T,  dL/db = a^T @ G  (G = dL/dout).
    d_w = x.mT @ d_t0

`d_name` is dLoss/d(name): the chain rule made visible. Where an input was broadcast, its line
sums over the broadcast dims, as the engine does; where a tensor is used twice, its gradients
add up.

How: explain runs the backward pass itself, changing no `.grad` (as `minigrad.autograd.grad`
does), while a recorder (`minigrad.jit`, which `minigrad.compile` uses too) writes down every
torch call each op's `backward` makes; those calls, printed as Python, are the explanation. So
every derivative is written once, in its op's `backward`, and the explanation cannot drift from
it. `explain_graph(loss).run()` executes the code on the graph's tensors and returns the leaves'
gradients: the numbers `backward()` gives.

Make the explanation before `backward()` (or after `backward(retain_graph=True)`): backward
releases the graph's nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .autograd.engine import run_backward
from .autograd.function import Context, formulas_only, node_of
from .autograd.gradients import Capture
from .errors import GradientError
from .jit.codegen import Generator, Program
from .jit.recording import Recorder, gradient_name
from .tensor import Tensor
from .viz import graph_nodes, node_names, node_tensor


@dataclass
class Explanation:
    """The code of a backward pass, and what it needs to run.

    `program` holds the code as a function of no arguments whose namespace holds the graph's
    tensors; `leaves` maps each leaf's gradient variable (d_weights) to the leaf, whose `.grad`
    backward() fills with the same numbers.
    """

    code: str
    program: Program
    leaves: dict[str, Tensor]

    def run(self) -> dict[str, torch.Tensor]:
        """Execute the code; return each leaf's gradient by its variable name."""
        gradients = self.program.function()()
        return dict(zip(self.leaves, gradients))


def explain(loss: Tensor, gradient: Tensor | torch.Tensor | None = None) -> str:
    """The backward pass of the graph that made `loss`, as straight-line Python (see module)."""
    return explain_graph(loss, gradient).code


def explain_graph(
    loss: Tensor, gradient: Tensor | torch.Tensor | None = None, comments: bool = True
) -> Explanation:
    """`explain`'s code together with what it needs to run (see `Explanation`).

    `gradient` is dLoss/dLoss as for `backward(gradient)`; leave it out for a single number.
    """
    if not loss.requires_grad:
        raise GradientError(
            "explain() on a tensor that does not require grad: it has no backward pass. Call "
            ".requires_grad_() on the parameters before the forward pass."
        )
    nodes = graph_nodes(loss)
    names = node_names(loss, nodes)
    for node in nodes:
        if isinstance(node, Context) and node.released:
            raise GradientError(
                f"explain() needs the graph, but the {node.op_name} node that made "
                f"{names[id(node)]} was released by backward(). Explain before calling "
                "backward(), or call backward(retain_graph=True)."
            )
    recorder = Recorder()
    for node in nodes:  # the graph's tensors, under the names trace and viz give them
        tensor = node_tensor(node)
        if tensor is not None:
            recorder.name_outside(tensor._data, names[id(node)])
    leaves = [n for n in nodes if isinstance(n, Tensor) and n._requires_grad]
    capture = Capture(leaves)
    root_name = names[id(node_of(loss))]
    d_loss = None
    recorder.backward_title = "the backward pass starts at {0}: d{0}/d{0} = 1"
    if gradient is not None:  # given to backward(gradient): it comes in from outside
        d_loss = gradient._data if isinstance(gradient, Tensor) else gradient
        d_loss = d_loss.to(loss.device)
        recorder.name_outside(d_loss, gradient_name(root_name))
        recorder.backward_title = "the backward pass starts at {0}: d_{0} given"
    with recorder, formulas_only():  # the formulas, not torch's kernels for some of them
        run_backward([(loss, d_loss)], retain_graph=True, arrive=capture)
    reached = [(leaf, grad) for leaf, grad in zip(leaves, capture.gradients()) if grad is not None]
    outputs = [recorder.ref(grad) for _, grad in reached]
    wanted = {ref: gradient_name(names[id(leaf)]) for ref, (leaf, _) in zip(outputs, reached)}
    generator = Generator(recorder.recording, "backward", outputs, wanted, comments=comments)
    program = generator.program()
    leaf_names = {program.names[ref]: leaf for ref, (leaf, _) in zip(outputs, reached)}
    return Explanation(generator.body(), program, leaf_names)
