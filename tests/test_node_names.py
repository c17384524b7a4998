"""A node prints torch's name: `grad_fn=<MmBackward0>` under `x @ w`, as in torch, so that what a
learner's tutorial prints is what minigrad prints.

Each expression below runs in torch and in minigrad, and the name of the node that made its
result must agree: `type(grad_fn).__name__` in torch, `grad_fn.node_name` (and the repr) in
minigrad. Where minigrad's graph differs from torch's (smooth_l1_loss and huber_loss are a few of
minigrad's ops, addcmul_ a product and a sum), the node is another and its name too: those are
not here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import torch

import minigrad as mg


def _inputs(lib: Any) -> dict[str, Any]:
    gen = torch.Generator().manual_seed(0)

    def leaf(*shape: int) -> Any:
        data = torch.randn(*shape, generator=gen, dtype=torch.float64)
        return data.requires_grad_() if lib is torch else mg.Tensor(data, requires_grad=True)

    return {
        "a": leaf(4, 5),
        "w": leaf(5, 3),
        "v": leaf(5),
        "b": leaf(3),
        "W": leaf(3, 5),
        "a3": leaf(2, 4, 5),
        "w3": leaf(2, 5, 3),
        "img": leaf(2, 3, 6, 6),
        "vol": leaf(1, 2, 4, 4, 4),
        "idx": lib.tensor([0, 2]),
        "targets": lib.tensor([0, 1, 2, 3]),
    }


def _spd(t: Any, i: dict[str, Any]) -> Any:
    """A symmetric positive-definite 4 x 4 matrix made of the inputs (a's first 4 columns)."""
    a = i["a"][:, :4]
    return a @ a.mT + 4 * t.eye(4, dtype=t.float64)


# name -> expression of the library `t`, its functional module `F` and the inputs above
EXPRESSIONS: dict[str, Callable[..., Any]] = {
    "a @ w": lambda t, F, i: i["a"] @ i["w"],
    "a @ v": lambda t, F, i: i["a"] @ i["v"],
    "v @ w": lambda t, F, i: i["v"] @ i["w"],
    "v @ v": lambda t, F, i: i["v"] @ i["v"],
    "a3 @ w3": lambda t, F, i: i["a3"] @ i["w3"],
    "a3 @ v": lambda t, F, i: i["a3"] @ i["v"],
    "linear": lambda t, F, i: F.linear(i["a"], i["W"], i["b"]),
    "linear without bias": lambda t, F, i: F.linear(i["a"], i["W"]),
    "linear of a batch of sequences": lambda t, F, i: F.linear(i["a3"], i["W"], i["b"]),
    "linear of a vector": lambda t, F, i: F.linear(i["v"], i["W"], i["b"]),
    "relu": lambda t, F, i: i["a"].relu(),
    "leaky_relu": lambda t, F, i: F.leaky_relu(i["a"]),
    "gelu": lambda t, F, i: F.gelu(i["a"]),
    "elu": lambda t, F, i: F.elu(i["a"]),
    "silu": lambda t, F, i: F.silu(i["a"]),
    "sigmoid": lambda t, F, i: i["a"].sigmoid(),
    "bernoulli": lambda t, F, i: t.bernoulli(i["a"].sigmoid()),
    "a.bernoulli()": lambda t, F, i: i["a"].sigmoid().bernoulli(),
    "poisson": lambda t, F, i: t.poisson(i["a"].exp()),
    "sum": lambda t, F, i: i["a"].sum(),
    "sum over a dim": lambda t, F, i: i["a"].sum(1, keepdim=True),
    "mean": lambda t, F, i: i["a"].mean(),
    "mean over a dim": lambda t, F, i: i["a"].mean(0),
    "max": lambda t, F, i: i["a"].max(),
    "max over a dim": lambda t, F, i: i["a"].max(dim=1).values,
    "min": lambda t, F, i: i["a"].min(),
    "min over a dim": lambda t, F, i: i["a"].min(dim=1).values,
    "amax": lambda t, F, i: i["a"].amax(1),
    "amin": lambda t, F, i: i["a"].amin(1),
    "logsumexp": lambda t, F, i: i["a"].logsumexp(1),
    "cumsum": lambda t, F, i: i["a"].cumsum(0),
    "cumprod": lambda t, F, i: i["a"].cumprod(0),
    "norm": lambda t, F, i: i["a"].norm(),
    "1 - a": lambda t, F, i: 1 - i["a"],
    "a - 1": lambda t, F, i: i["a"] - 1,
    "a / 2": lambda t, F, i: i["a"] / 2,
    "2 / a": lambda t, F, i: 2 / i["a"],
    "a sigmoid by hand": lambda t, F, i: 1 / (1 + (-i["a"]).exp()),
    "a / a": lambda t, F, i: i["a"] / i["a"],
    "a ** 2": lambda t, F, i: i["a"] ** 2,
    "a ** a": lambda t, F, i: i["a"] ** i["a"],
    "2 ** a": lambda t, F, i: 2 ** i["a"],
    "clamp between numbers": lambda t, F, i: i["a"].clamp(0, 1),
    "clamp below a tensor": lambda t, F, i: i["a"].clamp(min=t.zeros(5, dtype=t.float64)),
    "clamp above a tensor": lambda t, F, i: i["a"].clamp(max=t.zeros(5, dtype=t.float64)),
    "clamp_min by a number": lambda t, F, i: i["a"].clamp_min(0.5),
    "clamp_min by a tensor": lambda t, F, i: i["a"].clamp_min(i["v"]),
    "clamp_max by a number": lambda t, F, i: i["a"].clamp_max(0.5),
    "clamp_max by a tensor": lambda t, F, i: i["a"].clamp_max(i["v"]),
    "div rounded": lambda t, F, i: i["a"].div(2, rounding_mode="floor"),
    "eq_ in place": lambda t, F, i: (i["a"] * 1).eq_(0.5),
    "lt_ in place by a tensor": lambda t, F, i: (i["a"] * 1).lt_(i["v"]),
    "logit": lambda t, F, i: i["a"].sigmoid().logit(),
    "logit with eps": lambda t, F, i: i["a"].sigmoid().logit(eps=0.1),
    "unsqueeze_": lambda t, F, i: (i["a"] * 1).unsqueeze_(1),
    "squeeze_ all": lambda t, F, i: (i["a"] * 1).unsqueeze_(0).squeeze_(),
    "squeeze_ a dim": lambda t, F, i: (i["a"] * 1).unsqueeze_(0).squeeze_(0),
    "squeeze_ dims": lambda t, F, i: (i["a"] * 1).unsqueeze_(0).squeeze_((0,)),
    "t_": lambda t, F, i: (i["a"] * 1).t_(),
    "transpose_": lambda t, F, i: (i["a"] * 1).transpose_(0, 1),
    "swapdims_": lambda t, F, i: (i["a"] * 1).swapdims_(0, 1),
    "view": lambda t, F, i: i["a"].view(20),
    "reshape (a view)": lambda t, F, i: i["a"].reshape(20),
    "reshape (a copy)": lambda t, F, i: i["a"].T.reshape(20),
    "flatten": lambda t, F, i: i["img"].flatten(1),
    "squeeze": lambda t, F, i: i["a"][None].squeeze(),
    "squeeze a dim": lambda t, F, i: i["a"][None].squeeze(0),
    "squeeze dims": lambda t, F, i: i["a"][None].squeeze((0,)),
    "unsqueeze": lambda t, F, i: i["a"].unsqueeze(0),
    "a[0]": lambda t, F, i: i["a"][0],
    "a[1:3]": lambda t, F, i: i["a"][1:3],
    "a[:]": lambda t, F, i: i["a"][:],
    "a[:, 0]": lambda t, F, i: i["a"][:, 0],
    "a[0, :]": lambda t, F, i: i["a"][0, :],
    "a[:, :]": lambda t, F, i: i["a"][:, :],
    "a[0, 1:3]": lambda t, F, i: i["a"][0, 1:3],
    "a[:, None]": lambda t, F, i: i["a"][:, None],
    "a[...]": lambda t, F, i: i["a"][...],
    "a[..., -1]": lambda t, F, i: i["a"][..., -1],
    "a[idx]": lambda t, F, i: i["a"][i["idx"]],
    "a[a > 0]": lambda t, F, i: i["a"][i["a"] > 0],
    "float (a copy)": lambda t, F, i: i["a"].float(),
    "pad": lambda t, F, i: F.pad(i["a"], (1, 1)),
    "cross_entropy": lambda t, F, i: F.cross_entropy(i["a"], i["targets"]),
    "mse_loss": lambda t, F, i: F.mse_loss(i["a"], i["a"].detach() * 2),
    "l1_loss (torch's is a mean too)": lambda t, F, i: F.l1_loss(i["a"], i["a"].detach() * 2),
    "binary_cross_entropy_with_logits": lambda t, F, i: F.binary_cross_entropy_with_logits(
        i["a"], i["a"].detach().sigmoid()
    ),
    "max_pool2d": lambda t, F, i: F.max_pool2d(i["img"], 2),
    "avg_pool2d": lambda t, F, i: F.avg_pool2d(i["img"], 2),
    "max_pool3d": lambda t, F, i: F.max_pool3d(i["vol"], 2),
    "avg_pool3d": lambda t, F, i: F.avg_pool3d(i["vol"], 2),
    "layer_norm": lambda t, F, i: F.layer_norm(i["a"], (5,)),
    "logcumsumexp": lambda t, F, i: i["a"].logcumsumexp(1),
    "nansum": lambda t, F, i: i["a"].nansum(),
    "log1p": lambda t, F, i: i["a"].abs().log1p(),
    "logaddexp": lambda t, F, i: t.logaddexp(i["a"], i["a"] * 2),
    "logaddexp2": lambda t, F, i: t.logaddexp2(i["a"], i["a"] * 2),
    "x.unfold": lambda t, F, i: i["a"].unfold(1, 2, 1),
    "det": lambda t, F, i: t.linalg.det(i["a"][:, :4]),
    "slogdet": lambda t, F, i: t.linalg.slogdet(_spd(t, i)).logabsdet,
    "qr": lambda t, F, i: t.linalg.qr(i["a"].mT).R,
    "svd": lambda t, F, i: t.linalg.svd(_spd(t, i)).S,
    "eigh": lambda t, F, i: t.linalg.eigh(_spd(t, i)).eigenvalues,
    "solve": lambda t, F, i: t.linalg.solve(_spd(t, i), i["a"]),
    "cholesky": lambda t, F, i: t.linalg.cholesky(_spd(t, i)),
    "matrix_exp": lambda t, F, i: t.linalg.matrix_exp(i["a"][:, :4]),
    "pinv": lambda t, F, i: t.linalg.pinv(i["a"]),
    "outer": lambda t, F, i: t.outer(i["v"], i["b"]),
    "a.T": lambda t, F, i: i["a"].T,
    "sort": lambda t, F, i: i["a"].sort(1).values,
    "topk": lambda t, F, i: i["a"].topk(2).values,
    "kthvalue": lambda t, F, i: i["a"].kthvalue(2, 0).values,
    "mode": lambda t, F, i: i["a"].mode(1).values,
    "median along a dim": lambda t, F, i: i["a"].median(1).values,
    "nanmedian along a dim": lambda t, F, i: i["a"].nanmedian(0).values,
    "cummax": lambda t, F, i: i["a"].cummax(1).values,
    "cummin": lambda t, F, i: i["a"].cummin(0).values,
    "a.t()": lambda t, F, i: i["a"].t(),
    "v.t()": lambda t, F, i: i["v"].t(),
    "masked_fill": lambda t, F, i: i["a"].masked_fill(i["a"] > 0, 0.0),
    "split": lambda t, F, i: i["a"].split(2, 1)[1],
    "split with sizes": lambda t, F, i: i["a"].split([1, 4], 1)[0],
    "chunk": lambda t, F, i: i["a"].chunk(2)[1],
    "unbind": lambda t, F, i: i["a"].unbind(1)[0],
    "inv": lambda t, F, i: t.linalg.inv(i["a"][:, :4] + 5 * t.eye(4, dtype=t.float64)),
    "conv_transpose2d": lambda t, F, i: F.conv_transpose2d(i["img"], i["img"][0, :, None, :2, :2]),
    "prod": lambda t, F, i: i["a"].prod(),
    "prod along a dim": lambda t, F, i: i["a"].prod(1),
    "lerp by a number": lambda t, F, i: t.lerp(i["a"], i["a"] * 2, 0.3),
    "lerp by a tensor": lambda t, F, i: t.lerp(i["a"], i["a"] * 2, i["a"].detach()),
}


def _written(change: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    """An expression that changes a copy of `a` in place and gives the copy back."""

    def expression(t: Any, F: Any, i: dict[str, Any]) -> Any:
        b = i["a"].clone()
        change(t, b)
        return b

    return expression


def _set(key: Callable[[Any, Any], Any], value: Any) -> Callable[[Any, Any], Any]:
    def change(t: Any, b: Any) -> None:
        b[key(t, b)] = value(t) if callable(value) else value

    return change


# In place: the node that made the tensor's new values
EXPRESSIONS |= {
    "b[0] = 1": _written(_set(lambda t, b: 0, 1.0)),
    "b[:, 1:3] = 2": _written(_set(lambda t, b: (slice(None), slice(1, 3)), 2.0)),
    "b[idx] = 1": _written(_set(lambda t, b: t.tensor([0, 2]), 1.0)),
    "b[b > 0] = a number": _written(_set(lambda t, b: b > 0, 0.0)),
    "b[b > 0] = a tensor": _written(_set(lambda t, b: b > 0, lambda t: t.tensor(5.0))),
    "b[0:2] *= 2 (through a view)": _written(lambda t, b: b[0:2].mul_(2)),
    "b.copy_": _written(lambda t, b: b.copy_(t.ones(4, 5))),
    "b.fill_ with a number": _written(lambda t, b: b.fill_(2.0)),
    "b.fill_ with a tensor": _written(lambda t, b: b.fill_(t.tensor(2.0))),
    "b.zero_": _written(lambda t, b: b.zero_()),
    "b.masked_fill_": _written(lambda t, b: b.masked_fill_(b > 0, 0.0)),
    "b.normal_": _written(lambda t, b: b.normal_()),
    "b.uniform_": _written(lambda t, b: b.uniform_()),
    "b.bernoulli_ with a number": _written(lambda t, b: b.bernoulli_(0.3)),
    "b.bernoulli_ with a tensor": _written(lambda t, b: b.bernoulli_(b.sigmoid())),
    "b.scatter_ of a number": _written(lambda t, b: b.scatter_(0, t.tensor([[0, 1, 2]]), 1.0)),
    "b.scatter_ of a tensor": _written(
        lambda t, b: b.scatter_(0, t.tensor([[0, 1, 2]]), t.ones(1, 3, dtype=t.float64))
    ),
}


def _node_name(lib: Any, expression: Callable[..., Any]) -> str:
    out = expression(lib, lib.nn.functional, _inputs(lib))
    return type(out.grad_fn).__name__ if lib is torch else out.grad_fn.node_name


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_a_node_has_torch_s_name(name):
    assert _node_name(mg, EXPRESSIONS[name]) == _node_name(torch, EXPRESSIONS[name])


@pytest.mark.parametrize("name", ["a @ w", "1 - a", "b[0] = 1", "b.copy_", "b.zero_", "linear"])
def test_a_node_says_its_name_as_torch_s_does(name):
    """grad_fn.name() is torch's method; minigrad's op name ("Mul") is grad_fn.op_name."""
    ours, theirs = (EXPRESSIONS[name](lib, lib.nn.functional, _inputs(lib)) for lib in (mg, torch))
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    (leaf, _), *_ = (mg.ones(2, requires_grad=True) * 2).grad_fn.next_functions
    (their_leaf, _), *_ = (torch.ones(2, requires_grad=True) * 2).grad_fn.next_functions
    assert leaf.name() == their_leaf.name() == "torch::autograd::AccumulateGrad"


def test_the_name_is_what_a_tensor_and_its_node_print():
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    assert repr(x @ x.T) == "tensor([[5.]], grad_fn=<MmBackward0>)"
    assert re.fullmatch(r"<MmBackward0 object at 0x[0-9a-f]+>", repr((x @ x.T).grad_fn))
    assert re.fullmatch(r"<SelectBackward0 object at 0x[0-9a-f]+>", repr(x[0].grad_fn))


def test_the_name_stays_after_backward_has_freed_the_node():
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    y = (1 - x[0]).sum(0)
    y.backward()
    assert y.grad_fn.node_name == "SumBackward1"
    assert y.grad_fn.next_functions[0][0].node_name == "RsubBackward1"


def test_a_function_of_yours_is_named_as_torch_names_it():
    """torch names the node of a custom Function `<Name>Backward`, without a number."""

    def cube_class(base: Any) -> Any:
        class Cube(base):
            @staticmethod
            def forward(ctx, x):
                return x**3

            @staticmethod
            def backward(ctx, grad):
                return grad

        return Cube

    ours = cube_class(mg.autograd.Function).apply(mg.tensor([2.0], requires_grad=True))
    theirs = cube_class(torch.autograd.Function).apply(torch.tensor([2.0], requires_grad=True))
    assert ours.grad_fn.node_name == type(theirs.grad_fn).__name__ == "CubeBackward"
    assert repr(ours) == repr(theirs) == "tensor([8.], grad_fn=<CubeBackward>)"


def test_next_functions_show_leaves_and_constants_as_torch_does():
    """A leaf that requires grad shows as its AccumulateGrad (`.variable` is the leaf), a tensor
    outside the graph and a number as None, as torch shows them; walking the links as torch's
    graph-drawing code does (`.variable` marks a leaf) reaches every leaf."""
    nodes = {}
    for lib in (mg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x * lib.tensor([3.0, 4.0]) + 2).sum()
        ((add, _),) = y.grad_fn.next_functions
        (mul, _), number = add.next_functions
        (leaf, _), constant = mul.next_functions
        assert number == constant == (None, 0)
        assert type(leaf).__name__ == "AccumulateGrad" and leaf.variable is x
        assert leaf.next_functions == () and re.fullmatch(
            r"<AccumulateGrad object at 0x\w+>", repr(leaf)
        )
        nodes[lib] = leaf
        w = lib.tensor([0.5, 0.25], requires_grad=True)
        found = _leaves((x * w + w.exp() * x).sum().grad_fn)
        assert len(found) == 2 and {id(t) for t in found} == {id(x), id(w)}
    assert nodes[mg] == mg.autograd.function.AccumulateGrad(nodes[mg].variable)


def _leaves(fn: Any) -> list[Any]:
    """Every leaf a graph reaches, found as torch's graph-drawing code finds them: a node with
    `.variable` is a leaf's, any other is walked through its next_functions, each node once."""
    seen, found, stack = set(), [], [fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):
            found.append(node.variable)
        stack.extend(parent for parent, _ in node.next_functions)
    return found


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("weight_requires_grad", [True, False])
def test_a_linear_layers_links_show_as_torch_s_addmm(bias, weight_requires_grad):
    """torch's nn.Linear on a batch of rows is an addmm (an mm without a bias), whose node links
    the bias first, then the input, then the weight through a transpose (TBackward0): walking
    `loss.grad_fn.next_functions[0][0]...` as the PyTorch tutorials do prints the same nodes."""
    walks = {}
    for lib in (torch, mg):
        torch.manual_seed(0)
        first, last = lib.nn.Linear(4, 3), lib.nn.Linear(3, 2, bias=bias)
        last.weight.requires_grad_(weight_requires_grad)
        loss = lib.nn.functional.mse_loss(last(first(lib.ones(5, 4)).relu()), lib.zeros(5, 2))
        node = loss.grad_fn.next_functions[0][0]
        shown = []
        for link, _ in node.next_functions:
            inner = (
                [] if link is None else [(n.name() if n else None) for n, _ in link.next_functions]
            )
            shown.append((None if link is None else link.name(), inner))
        walks[lib] = (node.name(), shown)
    assert walks[mg] == walks[torch]
    if weight_requires_grad:  # the transpose leads to the weight's own AccumulateGrad
        (transpose, _) = loss.grad_fn.next_functions[0][0].next_functions[-1]
        ((accumulate, _),) = transpose.next_functions
        assert accumulate.variable is last.weight and re.fullmatch(
            r"<TBackward0 object at 0x\w+>", repr(transpose)
        )
