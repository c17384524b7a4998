"""Pictures of autograd: the graph a forward pass recorded, and its backward pass step by step.

    to_dot(loss) / draw(loss, "loss.svg") / Graph(loss)   the graph, drawn by Graphviz (graph.py)
    stepper(loss)                                         backward, node by node, in a browser
                                                          (stepper.py: SVG, no Graphviz needed)

The helpers that name and summarize tensors (`graph_nodes`, `node_names`, `summarize`) are
shared with `minigrad.trace` and `minigrad.explain`, so that all of them call a tensor by the
same name.
"""

from .graph import (
    CONSTANT_STYLE,
    DATA_STYLE,
    OP_STYLE,
    PARAMETER_STYLE,
    ROOT_STYLE,
    TENSOR_STYLE,
    Graph,
    draw,
    format_number,
    graph_nodes,
    node_gradients,
    node_names,
    node_tensor,
    shape_text,
    summarize,
    to_dot,
)
from .stepper import Stepper, stepper

__all__ = [
    "CONSTANT_STYLE",
    "DATA_STYLE",
    "OP_STYLE",
    "PARAMETER_STYLE",
    "ROOT_STYLE",
    "TENSOR_STYLE",
    "Graph",
    "Stepper",
    "draw",
    "format_number",
    "graph_nodes",
    "node_gradients",
    "node_names",
    "node_tensor",
    "shape_text",
    "stepper",
    "summarize",
    "to_dot",
]
