"""The backward pass of a recorded graph, written out as straight-line Python.

    print(explain(loss))

prints one line per gradient, in the order `backward()` computes them, with the torch calls
the ops' `backward` methods make, e.g. for `loss = (x @ w).sigmoid().mean()`:

    d_loss = torch.ones_like(loss)
    # loss = Mean(t1)    out = sum of x over dim / n. ...
    d_t1 = (d_loss / 2).expand((2, 1))
    # t1 = Sigmoid(t0)    s = 1 / (1 + e^-x).   ds/dx = s (1 - s).
    d_t0 = d_t1 * t1 * (1 - t1)
    # t0 = MatMul(x, w)    out = a @ b.   dL/da = G @ b^T,  dL/db = a^T @ G  (G = dL/dout).
    d_w = x.mT @ d_t0

`d_name` is dLoss/d(name): the chain rule made visible. Where an input was broadcast, its line
ends by summing over the broadcast dims, as the engine does; where a tensor is used twice, its
gradients add up (`d_x = d_x + ...`). `explain_graph(loss).run()` executes the code on the
recorded tensors and returns the leaves' gradients: the same numbers `backward()` gives.

Make the explanation before `backward()` (or after `backward(retain_graph=True)`): backward
releases the graph's nodes. Every op needs an entry in `RULES` below: one template per input.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from . import ops
from .autograd.engine import topological_order
from .autograd.function import BroadcastingFunction, Context, Function
from .autograd.inplace import node_of, replay_view
from .errors import GradientError
from .ops.shape import is_tensors_only_key
from .tensor import Tensor
from .viz import graph_nodes, input_labels, node_names, node_tensor, op_rule

# A rule gives, for each input of an op, the expression of the gradient it sends to that input
# (None: that input gets none). Templates are filled in with:
#   {g}      the gradient arriving at the op's output (dLoss/dOut)
#   {out}    the op's output
#   {a} {b} {x} {condition} {n} ...   the inputs, named as in the op's forward
#   {dim} {shape} {keepdim} ...       what forward kept on ctx, written as Python literals
#   {restore} (reductions)            the unsqueeze/expand that undoes the reduction
# A rule can also be a function(step) -> templates, for ops whose code depends on their inputs.
Templates = tuple[str | None, ...]
Rule = Templates | Callable[["Step"], Templates]


def _matmul(step: Step) -> Templates:
    """G @ b^T and a^T @ G, giving 1-D operands their matrix dim back first, as MatMul does."""
    g, a, b = "{g}", "{a}", "{b}"
    if step.ctx.b_ndim == 1:
        g, b = g + ".unsqueeze(-1)", b + ".unsqueeze(-1)"
    if step.ctx.a_ndim == 1:
        g, a = g + ".unsqueeze(-2)", a + ".unsqueeze(0)"
    grad_a, grad_b = f"{g} @ {b}.mT", f"{a}.mT @ {g}"
    if step.ctx.a_ndim == 1:
        grad_a = f"({grad_a}).squeeze(-2)"
    if step.ctx.b_ndim == 1:
        grad_b = f"({grad_b}).squeeze(-1)"
    return grad_a, grad_b


def _index(step: Step) -> Templates:
    """Each picked element's gradient goes back where it was picked from; repeats add up."""
    if is_tensors_only_key(step.ctx.key):  # x[rows, cols]: as Index.backward, with index_put
        indices = "{key}" if isinstance(step.ctx.key, tuple) else "({key},)"
        return (f"{{g}}.new_zeros({{shape}}).index_put({indices}, {{g}}, accumulate=True)",)
    # Otherwise: index an array of flat positions with the same key, and add at those positions.
    return (
        "{g}.new_zeros({numel}).index_add(0, torch.arange({numel}, device={g}.device)"
        ".reshape({shape})[{key}].reshape(-1), {g}.reshape(-1)).reshape({shape})",
    )


def _pow(step: Step) -> Templates:
    """As Pow.backward: b a^(b-1), 0 where b = 0; a^b ln a, 0 where a = 0 and b >= 0."""
    a, b = step.ctx.inputs
    if isinstance(b, Tensor):
        grad_a = "torch.where({b} == 0, 0.0, {g} * ({b} * {a} ** ({b} - 1)))"
    else:
        grad_a = "torch.zeros_like({g})" if b == 0 else "{g} * ({b} * {a} ** ({b} - 1))"
    if isinstance(a, Tensor):
        grad_b = "{g} * torch.where(({a} == 0) & ({b} >= 0), 0.0, {out} * torch.log({a}))"
    elif a > 0:
        grad_b = f"{{g}} * ({{out}} * {math.log(a)!r})"  # ln a of a number, as Pow: in double
    elif a == 0:
        grad_b = "{g} * torch.where({b} >= 0, 0.0, {out} * -math.inf)"
    else:  # ln of a negative number: NaN, as in torch
        grad_b = "{g} * ({out} * math.nan)"
    return grad_a, grad_b


def _tie(picked: str) -> str:
    """Maximum/Minimum: the gradient to the operand picked, halved at a tie."""
    return f"torch.where({{a}} == {{b}}, {{g}} / 2, {{g}}).masked_fill({picked}, 0)"


def _nll_loss(step: Step) -> Templates:
    """As NLLLoss.backward: -g * w_i at each row's target, over sum(w) for the mean."""
    ctx = step.ctx
    kept = "({targets} != {ignore_index})"
    picks = f"{{targets}}.masked_fill(~{kept}, 0)"
    w = f"{kept}.to({{g}}.dtype)" if ctx.weight is None else f"{{weight}}[{picks}] * {kept}"
    per_row = f"-{{g}} * {w}"
    if ctx.reduction == "mean":
        per_row = f"({per_row} / ({w}).sum()).masked_fill(~{kept}, 0)"
    scatter = (
        f"{{g}}.new_zeros({{shape}}).scatter(1, {picks}.unsqueeze(1), ({per_row}).unsqueeze(1))"
    )
    return (scatter, None)


def _binary_cross_entropy(step: Step) -> Templates:
    """As BinaryCrossEntropy.backward."""
    g = "({g} / {x}.numel())" if step.ctx.reduction == "mean" else "{g}"
    if step.ctx.weight is not None:
        g += " * {weight}"
    return (
        f"{g} * ({{x}} - {{y}}) / ((1 - {{x}}) * {{x}}).clamp_min(1e-12)",
        f"{g} * -torch.logit({{x}})",
    )


def _cat(step: Step) -> Templates:
    return tuple(f"{{g}}.split({{sizes}}, dim={{dim}})[{i}]" for i in range(len(step.ctx.inputs)))


def _stack(step: Step) -> Templates:
    return tuple(f"{{g}}.unbind({{dim}})[{i}]" for i in range(len(step.ctx.inputs)))


def _to(step: Step) -> Templates:
    rest = (None,) * (len(step.ctx.inputs) - 1)
    return ("{g}.to(device={device}, dtype={dtype})", *rest)


def _clamp(step: Step) -> Templates:
    """As Clamp.backward: x inside [min, max] (a missing bound: no limit), min where x < min
    (and min < max), max where x > max (or max < min)."""
    _, low, high = step.ctx.inputs
    inside = " & ".join(
        test
        for test, bound in (("({x} >= {min})", low), ("({x} <= {max})", high))
        if bound is not None
    )
    below = "({x} < {min})" + (" & ({min} < {max})" if high is not None else "")
    above = "({x} > {max})" + (" | ({max} < {min})" if low is not None else "")
    return tuple(f"torch.where({test}, {{g}}, 0.0)" for test in (inside, below, above))


def _cumsum(step: Step) -> Templates:
    if step.out.ndim == 0:
        return ("{g}",)
    return ("{g}.flip({dim}).cumsum({dim}).flip({dim})",)


def _repeat(step: Step) -> Templates:
    """The gradient viewed as (copies, side, copies, side, ...), summed over the copies."""
    repeats, shape = step.ctx.repeats, tuple(step.ctx.shape)
    sides = (1,) * (len(repeats) - len(shape)) + shape
    interleaved = [n for pair in zip(repeats, sides) for n in pair]
    copies = list(range(0, len(interleaved), 2))
    return (f"{{g}}.reshape({interleaved}).sum(dim={copies}).reshape({shape})",)


def _variance(grad: str, step: Step) -> str:
    """As reductions._variance_backward, for the gradient `grad` of var's output."""
    ctx = step.ctx
    everything = ctx.dim is None or ctx.inputs[0].ndim == 0
    mean = "{x}.mean()" if everything else "{x}.mean(dim={dim}, keepdim=True)"
    if everything and ctx.dof <= 0:
        return f"({grad}){{restore}} * torch.where({{x}} == {mean}, math.nan, math.inf)"
    scale = repr(2.0 / ctx.dof) if ctx.dof != 0 else "math.inf"
    return f"{scale} * ({grad}){{restore}} * ({{x}} - {mean})"


def _norm(step: Step) -> Templates:
    """As Norm.backward: sign(x) |x|^(p-1) / out^(p-1), 0 at out = 0 (and, p < 1, at x = 0)."""
    p = step.ctx.p
    if p == 0:
        return (None,)
    if math.isinf(p):
        picked = "({x}.abs() == {out}{restore})"
        dims = list(range(step.ctx.inputs[0].ndim)) if step.ctx.dim is None else step.ctx.dim
        ties = f"{picked}.sum(dim={dims}, keepdim=True)" if step.ctx.inputs[0].ndim else picked
        return (f"torch.sign({{x}}) * {picked} * {{g}}{{restore}} / {ties}",)
    return (
        f"(torch.sign({{x}}) * {{x}}.abs() ** {p - 1!r}).masked_fill({{x}} == 0, 0)"
        f" * ({{g}}{{restore}} / {{out}}{{restore}} ** {p - 1!r})"
        ".masked_fill({out}{restore} == 0, 0)",
    )


RULES: dict[type[Function], Rule] = {
    ops.Add: ("{g}", "{g}"),
    ops.Sub: ("{g}", "-{g}"),
    ops.Mul: ("{g} * {b}", "{g} * {a}"),
    ops.Div: ("{g} / {b}", "-{g} * (({a} / {b}) / {b})"),
    ops.Neg: ("-{g}",),
    ops.Pow: _pow,
    ops.Maximum: (_tie("{a} < {b}"), _tie("{a} > {b}")),
    ops.Minimum: (_tie("{a} > {b}"), _tie("{a} < {b}")),
    ops.SetItem: ("_set({g}.clone(), {key}, 0)", "{g}[{key}]", None),
    ops.Copy: ("torch.zeros_like({g})", "{g}"),
    ops.CopySlices: (
        "_set({g}.clone(memory_format=torch.contiguous_format), {steps}, 0)",
        "_view({g}, {steps})",
        None,
    ),
    ops.Where: (None, "torch.where({condition}, {g}, 0.0)", "torch.where({condition}, 0.0, {g})"),
    ops.Exp: ("{g} * {out}",),
    ops.Log: ("{g} / {x}",),
    ops.Sigmoid: ("{g} * {out} * (1 - {out})",),
    ops.Tanh: ("{g} * (1 - {out} * {out})",),
    ops.ReLU: ("{g} * ({out} > 0)",),
    ops.ClampMin: ("{g} * ({x} >= {minimum})", None),
    ops.Abs: ("{g} * torch.sign({x})",),
    ops.Sin: ("{g} * torch.cos({x})",),
    ops.Cos: ("-{g} * torch.sin({x})",),
    ops.Sqrt: ("{g} / (2 * {out})",),
    ops.Rsqrt: ("-0.5 * {g} * {out} ** 3",),
    ops.Log10: ("{g} / ({x} * math.log(10))",),
    ops.Log1p: ("{g} / (1 + {x})",),
    ops.Expm1: ("{g} * ({out} + 1)",),
    ops.Softplus: (
        "torch.where({beta} * {x} > {threshold}, {g}, {g} * torch.sigmoid({beta} * {x}))",
    ),
    ops.Clamp: _clamp,
    ops.Var: lambda step: (_variance("{g}", step),),
    ops.Std: lambda step: (_variance("({g} / (2 * {out})).masked_fill({out} == 0, 0)", step),),
    ops.Norm: _norm,
    ops.Softmax: ("{out} * ({g} - ({g} * {out}).sum(dim={dim}, keepdim=True))",),
    ops.CumSum: _cumsum,
    ops.Gather: ("{g}.new_zeros({shape}).scatter_add({dim}, {saved_indices}, {g})", None, None),
    ops.Repeat: _repeat,
    ops.Sum: ("{g}{restore}",),
    ops.Mean: ("({g} / {n}){restore}",),
    ops.Max: ("{g} * ({x} == {out}) / ({x} == {out}).sum()",),
    ops.MaxAlongDim: (
        "{g}.new_zeros({shape}).scatter({dim}, {saved_indices}, {g}{unsqueeze})",
        None,
    ),
    ops.LogSumExp: ("{g}{restore} * torch.exp({x} - {out}{restore})",),
    ops.NLLLoss: _nll_loss,
    ops.BinaryCrossEntropy: _binary_cross_entropy,
    ops.LogSoftmax: ("{g} - torch.exp({out}) * {g}.sum(dim={dim}, keepdim=True)",),
    ops.MatMul: _matmul,
    ops.Linear: (
        "{g} @ {weight}",
        "{g}.reshape(-1, {g}.shape[-1]).mT @ {x}.reshape(-1, {x}.shape[-1])",
        "{g}.reshape(-1, {g}.shape[-1]).sum(0)",
    ),
    ops.Reshape: ("{g}.reshape({shape})",),
    ops.Unsqueeze: ("{g}.reshape({shape})",),
    ops.Squeeze: ("{g}.reshape({shape})",),
    ops.Transpose: ("{g}.transpose({dim0}, {dim1})",),
    ops.Permute: ("{g}.permute({inverse})",),
    ops.Expand: ("{summed}",),
    ops.Index: _index,
    ops.Cat: _cat,
    ops.Stack: _stack,
    ops.Clone: ("{g}",),
    ops.To: _to,
}


@dataclass
class Explanation:
    """The code of a backward pass, and what it needs to run.

    `namespace` maps each name in `code` to a torch tensor of the recorded graph (or to a
    constant the ops kept, such as an index); `leaves` maps each leaf's gradient variable
    (d_weights) to the leaf, whose `.grad` backward() fills with the same numbers.
    """

    code: str
    namespace: dict[str, Any]
    leaves: dict[str, Tensor] = field(default_factory=dict)

    def run(self) -> dict[str, torch.Tensor]:
        """Execute the code; return each leaf's gradient by its variable name."""
        scope = dict(self.namespace)
        exec(compile(self.code, "<minigrad.explain>", "exec"), scope)
        return {name: scope[name] for name in self.leaves}


def explain(loss: Tensor, gradient: Tensor | torch.Tensor | None = None) -> str:
    """The backward pass of the graph that made `loss`, as straight-line Python (see module)."""
    return explain_graph(loss, gradient).code


def explain_graph(
    loss: Tensor, gradient: Tensor | torch.Tensor | None = None, comments: bool = True
) -> Explanation:
    """`explain`'s code together with the namespace to run it in (see `Explanation`).

    `gradient` is dLoss/dLoss as for `backward(gradient)`; leave it out for a single number.
    """
    if not loss.requires_grad:
        raise GradientError(
            "explain() on a tensor that does not require grad: it has no backward pass. Call "
            ".requires_grad_() on the parameters before the forward pass."
        )
    nodes = graph_nodes(loss)
    names = _identifiers(node_names(loss, nodes))
    values = {names[id(n)]: node_tensor(n)._data for n in nodes if node_tensor(n) is not None}
    writer = _Writer(names, values, comments)
    writer.start(loss, gradient)
    for node in reversed(topological_order([node_of(loss)])):
        if isinstance(node, Tensor):  # a leaf
            writer.leaves["d_" + names[id(node)]] = node
        else:
            writer.node(node)
    return Explanation("\n".join(writer.lines) + "\n", writer.namespace, writer.leaves)


# ---- how the code is written -------------------------------------------------------------------


@dataclass
class Step:
    """One node of the graph while its backward lines are written."""

    ctx: Context
    out: Tensor
    writer: _Writer

    def fields(self) -> dict[str, str]:
        """What the templates may mention, each as Python source."""
        names = self.writer.names
        out_name = names[id(self.ctx)]
        values = {"g": "d_" + out_name, "out": out_name}
        labels = input_labels(self.ctx.function, len(self.ctx.inputs))
        for i, label in enumerate(labels):
            values[label] = self.writer.input_source(self.ctx, i, f"{out_name}_{label}")
        return _CtxFields(values, self, out_name)


class _CtxFields(dict):
    """Template fields beyond the inputs, computed on demand from what forward kept on ctx."""

    def __init__(self, values: dict[str, str], step: Step, out_name: str):
        super().__init__(values)
        self.step, self.out_name = step, out_name

    def __missing__(self, key: str) -> str:
        ctx = self.step.ctx
        if key == "restore":  # undo a reduction: unsqueeze the reduced dims, expand to x's shape
            return _restore_code(ctx, tuple(ctx.inputs[0].shape))
        if key == "unsqueeze":
            return "" if ctx.keepdim else f".unsqueeze({ctx.dim})"
        if key in ("dim0", "dim1"):
            return repr(ctx.dims[int(key[-1])])
        if key == "saved_indices":  # the indices MaxAlongDim kept, with the reduced dim
            return self.step.writer.constant(ctx.saved_tensors[0], f"{self.out_name}_indices")
        if key == "numel":
            return repr(math.prod(ctx.shape))
        if key == "inverse":
            dims = ctx.dims
            return repr(sorted(range(len(dims)), key=lambda i: dims[i] % len(dims)))
        if key == "summed":
            return _sum_to_shape_code(self["g"], tuple(self.step.out.shape), tuple(ctx.shape))
        if key == "device":
            return repr(str(ctx.device))
        if not hasattr(ctx, key):
            raise KeyError(f"{ctx.name}'s template mentions {{{key}}}, which it does not keep")
        return self.step.writer.source(getattr(ctx, key), f"{self.out_name}_{key}")


def _restore_code(ctx: Context, shape: tuple) -> str:
    """The code of `reductions.restore_reduced_dims` for this node (x of shape `shape`)."""
    code = ""
    if ctx.dim is not None and not ctx.keepdim and len(shape) > 0:  # a 0-d x lost no dim
        dims = (ctx.dim,) if isinstance(ctx.dim, int) else ctx.dim
        for d in sorted(d % len(shape) for d in dims):
            code += f".unsqueeze({d})"
    return code + f".expand({shape})"


def _sum_to_shape_code(expression: str, grad_shape: tuple, shape: tuple) -> str:
    """The code of `engine.sum_to_shape`: sum over the dims that broadcasting added or
    stretched, then reshape to the input's shape."""
    extra = len(grad_shape) - len(shape)
    stretched = [extra + i for i, n in enumerate(shape) if n == 1 and grad_shape[extra + i] != 1]
    dims = list(range(extra)) + stretched
    if not re.fullmatch(r"[\w.]+", expression):
        expression = f"({expression})"
    if dims:
        expression += f".sum(dim={dims}, keepdim=True)"
    return expression + f".reshape({shape})"


def _raw_grad_shape(step: Step, index: int) -> tuple:
    """The shape of the gradient the op's backward returns for input `index`, before the
    engine sums it back to the input's shape."""
    ctx, inp = step.ctx, step.ctx.inputs[index]
    if issubclass(ctx.function, BroadcastingFunction):
        return tuple(step.out.shape)  # elementwise: the gradient has the output's shape
    if ctx.function is ops.SetItem and index == 1:  # the region's shape (value broadcast to it)
        return tuple(torch.empty(ctx.inputs[0].shape, device=inp.device)[ctx.key].shape)
    if ctx.function is ops.Copy and index == 1:  # x's shape (src broadcast to it)
        return tuple(ctx.inputs[0].shape)
    if ctx.function is ops.MatMul:  # batch dims broadcast; the matrix dims are the input's own
        matrix_dims = (ctx.a_ndim >= 2) + (ctx.b_ndim >= 2)
        batch = tuple(step.out.shape)[: step.out.ndim - matrix_dims]
        own = tuple(inp.shape)[-2:] if inp.ndim >= 2 else tuple(inp.shape)
        return batch + own
    return tuple(inp.shape)


class _Writer:
    """Collects the lines, the namespace and the leaves while walking the graph."""

    def __init__(self, names: dict[int, str], namespace: dict[str, Any], comments: bool):
        self.names = names
        self.namespace: dict[str, Any] = {
            "torch": torch,
            "math": math,
            "_set": _set,
            "_view": replay_view,
            **namespace,
        }
        self.comments = comments
        self.lines: list[str] = []
        self.leaves: dict[str, Tensor] = {}
        self.assigned: set[str] = set()

    def source(self, value: Any, constant_name: str) -> str:
        """Python source for a value: a tensor's name, a literal, or a namespace constant."""
        if isinstance(value, Tensor):
            return self.names[id(node_of(value))]
        literal = _literal(value)
        return literal if literal is not None else self.constant(value, constant_name)

    def constant(self, value: Any, name: str) -> str:
        name = _unique(re.sub(r"\W", "_", name), self.namespace)
        self.namespace[name] = value
        return name

    def input_source(self, ctx: Context, index: int, constant_name: str) -> str:
        """Python source for input `index` of an op: the name of the node that made it (not of
        the tensor, which may have been changed in place since), or a literal or constant."""
        edge = ctx.parents[index]
        if edge is not None:
            return self.names[id(edge[0])]
        return self.source(ctx.inputs[index], constant_name)

    def start(self, loss: Tensor, gradient: Tensor | torch.Tensor | None) -> None:
        d_loss = "d_" + self.names[id(node_of(loss))]
        if gradient is None:
            self.lines.append(f"{d_loss} = torch.ones_like({self.names[id(node_of(loss))]})")
        else:  # given to backward(gradient): it comes in through the namespace
            value = gradient._data if isinstance(gradient, Tensor) else gradient
            self.namespace[d_loss] = value.to(loss.device)
            if self.comments:
                self.lines.append(f"# {d_loss}: the gradient given to backward()")
        self.assigned.add(d_loss)

    def node(self, ctx: Context) -> None:
        out = ctx.output()
        if ctx.released:
            raise GradientError(
                f"explain() needs the graph, but the {ctx.name} node that made "
                f"{self.names[id(ctx)]} was released by backward(). Explain before calling "
                "backward(), or call backward(retain_graph=True)."
            )
        rule = RULES.get(ctx.function)
        if rule is None:
            raise GradientError(
                f"explain() has no rule for the op {ctx.name}: add one to minigrad.explain.RULES "
                "(a template per input, such as '{g} * {out} * (1 - {out})' for Sigmoid)."
            )
        step = Step(ctx, out, self)
        templates = rule(step) if callable(rule) else rule
        fields = step.fields()
        if self.comments:
            args = ", ".join(
                self.input_source(ctx, i, "_") for i, inp in enumerate(ctx.inputs) if _shown(inp)
            )
            self.lines.append(
                f"# {self.names[id(ctx)]} = {ctx.name}({args})    {op_rule(ctx.function)}"
            )
        for i, (inp, edge, needs) in enumerate(
            zip(ctx.inputs, ctx.parents, ctx.needs_input_grad)
        ):
            template = templates[i] if i < len(templates) else None
            if not needs or template is None:
                continue
            expression = template.format_map(fields)
            if _raw_grad_shape(step, i) != tuple(inp.shape):  # the input was broadcast
                expression = _sum_to_shape_code(
                    expression, _raw_grad_shape(step, i), tuple(inp.shape)
                )
            if inp.dtype != out.dtype and ctx.function is not ops.To:
                expression = f"({expression}).to({inp.dtype})"
            self.accumulate("d_" + self.names[id(edge[0])], expression)

    def accumulate(self, target: str, expression: str) -> None:
        """The first gradient for a tensor is assigned; later ones (it was used again) add up."""
        if target in self.assigned:
            self.lines.append(f"{target} = {target} + {expression}")
        else:
            self.lines.append(f"{target} = {expression}")
            self.assigned.add(target)


def _set(values: torch.Tensor, where: Any, value: float) -> torch.Tensor:
    """`values[key] = value` (a key), or the same through a view (view steps), as an expression."""
    if isinstance(where, tuple) and where and isinstance(where[0], tuple):  # view steps
        replay_view(values, where).fill_(value)
    else:
        values[where] = value
    return values


def _shown(value: Any) -> bool:
    return isinstance(value, Tensor) or _literal(value) is not None


def _literal(value: Any) -> str | None:
    """Python source that evaluates to `value`, for the plain values ops keep (None if none)."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, torch.dtype):
        return repr(value)  # torch.float64
    if isinstance(value, torch.device):
        return repr(str(value))
    if isinstance(value, (tuple, list, torch.Size)):
        parts = [_literal(v) for v in value]
        if any(p is None for p in parts):
            return None
        if isinstance(value, list):
            return "[" + ", ".join(parts) + "]"
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    return None


def _identifiers(names: dict[int, str]) -> dict[int, str]:
    """Display names as Python identifiers ("0.weight" -> "_0_weight"), still unique."""
    taken: dict[str, Any] = {"torch": None}
    result = {}
    for key, name in names.items():
        ident = re.sub(r"\W", "_", name)
        if not ident.isidentifier() or keyword.iskeyword(ident):
            ident = "_" + ident
        ident = _unique(ident, taken)
        taken[ident] = None
        result[key] = ident
    return result


def _unique(name: str, taken: dict[str, Any]) -> str:
    unique, k = name, 2
    while unique in taken or ("d_" + unique) in taken:
        unique, k = f"{name}_{k}", k + 1
    return unique
