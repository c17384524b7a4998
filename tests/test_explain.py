"""explain(): the backward pass as straight-line Python that gives backward()'s gradients.

The explanation is a recording of the torch calls each op's own backward makes: these tests check
that it reads as the chain rule, that running it gives backward()'s gradients, and that it follows
an op's backward when that changes (one source of truth)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import ops
from minigrad.autograd.function import Context
from minigrad.errors import GradientError
from minigrad.explain import explain, explain_graph
from minigrad.tensor import Tensor
from minigrad.viz import graph_nodes, node_names

F64 = mg.float64


def assert_same_gradients_as_backward(loss: mg.Tensor, gradient=None) -> str:
    """Explain, then backward, then run the explanation: every leaf's gradient must match."""
    explanation = explain_graph(loss, gradient)
    loss.backward(gradient)
    results = explanation.run()
    assert explanation.leaves, "no leaf to compare"
    for name, leaf in explanation.leaves.items():
        got, expected = results[name], leaf.grad._data
        assert got.shape == expected.shape, (name, got.shape, expected.shape)
        # (torch.allclose rather than torch.testing.assert_close: the latter imports
        # torch.distributed on first use, 3 s)
        assert torch.allclose(got, expected, rtol=1e-12, atol=0), (name, got, expected)
    return explanation.code


def seed_loss(batch: int = 2) -> mg.Tensor:
    """fastbook chapter 4: mnist_loss(linear1(xb), yb), in float64."""
    mg.manual_seed(0)
    weights = mg.randn(784, 1, dtype=F64).requires_grad_()
    bias = mg.randn(1, dtype=F64).requires_grad_()
    weights.name, bias.name = "weights", "bias"
    xb = mg.rand(batch, 784, dtype=F64) * 0.01  # small, so the sigmoid is not saturated
    xb.name = "xb"
    yb = mg.tensor([[1], [0]] * (batch // 2))
    predictions = (xb @ weights + bias).sigmoid()
    return mg.where(yb == 1, 1 - predictions, predictions).mean()


SEED_CODE = """\
d_loss = torch.ones_like(loss)
d_t5 = (d_loss / 2).expand((2, 1))
d_t4 = d_t5.where(t0, 0.0)
d_t3 = d_t5.masked_fill(t0, 0.0)
d_t3 = d_t3 + -d_t4
d_t2 = d_t3 * t3 * (1 - t3)
d_bias = d_t2.sum(dim=[0])
d_t1 = d_t2
d_weights = xb.mT @ d_t1
"""


def test_seed_loss_code_is_the_chain_rule_line_by_line():
    code = explain_graph(seed_loss(), comments=False).code
    assert code == SEED_CODE


def test_seed_loss_comments_name_each_op_and_its_rule():
    code = explain(seed_loss())
    assert "# t3 = Sigmoid(t2)    s = 1 / (1 + e^-x).   ds/dx = s (1 - s).\n" in code
    assert "# t4 = Sub(1, t3)    out = a - b." in code
    assert "# t1 = MatMul(xb, weights)    out = a @ b." in code
    assert max(len(line) for line in code.splitlines()) <= 100  # long rules are wrapped


def test_seed_loss_explained_gradients_equal_backward():
    assert_same_gradients_as_backward(seed_loss(batch=6))


def test_mlp_cross_entropy_explained_gradients_equal_backward():
    mg.manual_seed(1)
    w1 = mg.randn(784, 30, dtype=F64, requires_grad=True)
    b1 = mg.zeros(30, dtype=F64, requires_grad=True)
    w2 = mg.randn(30, 10, dtype=F64, requires_grad=True)
    b2 = mg.zeros(10, dtype=F64, requires_grad=True)
    for p, name in zip((w1, b1, w2, b2), ("0.weight", "0.bias", "2.weight", "2.bias")):
        p.name = name
    x, y = mg.rand(8, 784, dtype=F64), mg.tensor([3, 7, 0, 9, 1, 1, 4, 2])
    logits = (x @ w1 + b1).relu() @ w2 + b2
    loss = -logits.log_softmax(dim=1)[mg.arange(8), y].mean()
    code = assert_same_gradients_as_backward(loss)
    assert "d_bias_0 = " in code  # "0.bias" as a Python name: the layer's number last


def test_cross_entropy_is_explained_as_softmax_minus_one_hot_over_n():
    """With no weight, no ignored class and no label smoothing, nll_loss's backward is the
    one-hot of the targets times -1/n (no ignore_index bookkeeping: an ignore_index outside the
    classes picks nothing), and log_softmax's subtracts softmax times the sum: together
    dL/dlogits = (softmax - one_hot) / n, which running the explanation gives."""
    logits = mg.Tensor(torch.linspace(-2, 2, 12, dtype=F64).reshape(4, 3), requires_grad=True)
    logits.name = "logits"
    targets = mg.tensor([2, 0, 1, 1])
    targets.name = "targets"
    loss = F.cross_entropy(logits, targets)
    explanation = explain_graph(loss, comments=False)
    assert explanation.code.splitlines()[1:] == [
        "tmp3 = targets.unsqueeze(1) == torch.arange(3, device='cpu').view([1, 3])",
        "d_t0 = (-(d_loss / tmp3.sum())).where(tmp3, 0.0)",
        "d_logits = d_t0 - t0.exp() * d_t0.sum(dim=1, keepdim=True)",
    ], explanation.code
    one_hot = torch.nn.functional.one_hot(targets._data, 3).to(F64)
    expected = (logits._data.softmax(1) - one_hot) / 4
    torch.testing.assert_close(explanation.run()["d_logits"], expected, rtol=1e-12, atol=1e-15)


def test_batch_norm_is_explained_with_names_it_defines():
    """A small CNN's BatchNorm: its backward computes the batch's mean and istd from x (the
    formula explain shows), so the code defines every value it uses but the graph's own tensors.
    (It used the mean and istd its forward had saved, which the code never defined.)"""
    mg.manual_seed(0)
    conv = mg.nn.Conv2d(1, 2, 3, stride=2, padding=1, bias=False).double()  # (its dL/db: 0)
    norm = mg.nn.BatchNorm2d(2).double()
    x = mg.randn(4, 1, 6, 6, dtype=F64)
    loss = F.cross_entropy(norm(conv(x)).relu().mean((2, 3)), mg.tensor([0, 1, 1, 0]))
    explanation = explain_graph(loss)
    graph_names = set(node_names(loss, graph_nodes(loss)).values())
    from_outside = {k for k, v in explanation.program.namespace.items() if isinstance(v, Tensor)}
    assert from_outside <= graph_names, from_outside - graph_names
    assert ".var(" not in explanation.code and "x.mean(" not in explanation.code
    assert_same_gradients_as_backward(loss)


def test_a_given_upstream_gradient_is_used():
    mg.manual_seed(2)
    a = mg.randn(3, 4, dtype=F64, requires_grad=True)
    b = mg.randn(4, dtype=F64, requires_grad=True)
    out = (a * b).tanh() @ b  # b used twice, broadcast once
    assert_same_gradients_as_backward(out, mg.randn(3, dtype=F64))


def test_the_explanation_follows_the_ops_own_backward(monkeypatch):
    """One source of truth: give Sigmoid a wrong backward, and explain shows (and runs) it."""
    wrong = staticmethod(lambda ctx, grad: grad * ctx.saved_tensors[0])  # (1 - s) forgotten
    monkeypatch.setattr(ops.Sigmoid, "backward", wrong)
    loss = seed_loss()
    explanation = explain_graph(loss, comments=False)
    assert "d_t2 = d_t3 * t3\n" in explanation.code
    loss.backward()
    assert torch.equal(explanation.run()["d_weights"], explanation.leaves["d_weights"].grad._data)


def test_explaining_after_backward_says_to_explain_first():
    loss = seed_loss()
    loss.backward()
    try:
        explain(loss)
    except mg.GradientError as error:
        assert "Explain before calling backward()" in str(error)
        assert "retain_graph=True" in str(error)
    else:
        raise AssertionError("explain() on a released graph did not raise")


def test_an_op_of_your_own_is_explained_from_its_backward():
    class Cube(mg.Function):
        """out = x^3.   dout/dx = 3 x^2."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x**2

    x = mg.tensor([1.0, 2.0], dtype=F64, requires_grad=True)
    x.name = "x"
    loss = Cube.apply(x).sum()
    code = assert_same_gradients_as_backward(loss)
    assert "# t0 = Cube(x)    out = x^3.   dout/dx = 3 x^2." in code
    assert "d_x = d_t0 * 3 * x ** 2" in code


def test_explaining_an_in_place_change_names_both_versions():
    w = mg.tensor([1.0, -2.0], dtype=F64, requires_grad=True)
    w.name = "w"
    h = w * 2
    h.name = "h"
    h *= w  # h gets a new node; the old h is another node, under another name
    code = assert_same_gradients_as_backward(h.sum())
    assert "# h_2 = Mul(h, w)" in code  # h_2: h after the change; h: before it
    assert "d_w = d_h_2 * h\n" in code  # w's gradient uses h's values from before the change


# ---- random graphs -----------------------------------------------------------------------------

UNARY = {
    "sigmoid": lambda x: x.sigmoid(),
    "tanh": lambda x: x.tanh(),
    "relu": lambda x: x.relu(),
    "abs": lambda x: x.abs(),
    "neg": lambda x: -x,
    "exp": lambda x: x.tanh().exp(),
    "log": lambda x: (x * x + 1).log(),
    "square": lambda x: x**2,
    "pow0": lambda x: x**0,
    "clamp": lambda x: x.clamp_min(0.1),
    "clone": lambda x: x.clone(),
    "to32": lambda x: x.float().double(),
}
REDUCE = {
    "sum": lambda x, d: x.sum(dim=d, keepdim=True),
    "sum_drop": lambda x, d: x.sum(dim=d),
    "mean": lambda x, d: x.mean(dim=d),
    "max_all": lambda x, d: x.max(),
    "max_dim": lambda x, d: x.max(dim=d).values,
    "logsumexp": lambda x, d: x.logsumexp(dim=d),
    "log_softmax": lambda x, d: x.log_softmax(dim=d),
    "unsqueeze": lambda x, d: x.unsqueeze(d),
    "squeeze": lambda x, d: x.squeeze(d),
    "first": lambda x, d: x[0],
    "repeat_rows": lambda x, d: x[[0, 0]],
    "flatten": lambda x, d: x.reshape(-1),
    "permute": lambda x, d: x.permute(*reversed(range(x.ndim))),
    "transpose": lambda x, d: x.transpose(0, -1),
    "expand": lambda x, d: x.unsqueeze(0).expand(2, *x.shape),
    "cat": lambda x, d: mg.cat([x, x * 2], dim=d),
    "stack": lambda x, d: mg.stack([x, x.sigmoid()], dim=d),
}
BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / (y.sigmoid() + 0.5),
    "where": lambda x, y: mg.where(x > 0, x, y),
}


@st.composite
def random_graphs(draw: st.DrawFn) -> mg.Tensor:
    """A few leaves, then random ops on whatever is there (so tensors get reused), summed."""
    shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)
    leaves = []
    for i in range(draw(st.integers(1, 3))):
        values = draw(st.lists(st.floats(-2, 2), min_size=27, max_size=27))
        shape = draw(shapes)
        data = torch.tensor(values, dtype=torch.float64)[: max(1, _numel(shape))].reshape(shape)
        leaf = mg.Tensor(data, requires_grad=True)
        leaf.name = f"leaf{i}"
        leaves.append(leaf)
    pool = list(leaves)
    for _ in range(draw(st.integers(1, 6))):
        x = draw(st.sampled_from(pool))
        kind = draw(st.sampled_from(["unary", "reduce", "binary", "matmul"]))
        if kind == "unary":
            out = UNARY[draw(st.sampled_from(sorted(UNARY)))](x)
        elif kind == "reduce" and x.ndim > 0:
            out = REDUCE[draw(st.sampled_from(sorted(REDUCE)))](x, draw(st.integers(0, x.ndim - 1)))
        elif kind == "binary":
            partners = [y for y in pool if _broadcastable(x.shape, y.shape)]
            out = BINARY[draw(st.sampled_from(sorted(BINARY)))](x, draw(st.sampled_from(partners)))
        elif kind == "matmul" and x.ndim >= 1:
            partners = [y for y in pool if y.ndim in (1, 2) and y.shape[0] == x.shape[-1]]
            out = x @ draw(st.sampled_from(partners)) if partners else x.sum()
        else:
            out = x.sum()
        pool.append(out)
    return sum((t.sum() for t in pool[1:]), pool[0].sum())


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for side in shape:
        n *= side
    return n


def _broadcastable(a: torch.Size, b: torch.Size) -> bool:
    try:
        torch.broadcast_shapes(a, b)
    except RuntimeError:
        return False
    return True


@given(random_graphs())
def test_random_graph_explained_gradients_equal_backward(loss):
    assert_same_gradients_as_backward(loss)


# ---- every op: the explanation is made from its backward, so it must give backward's numbers -----


def x23():
    values = torch.tensor([[0.5, -1.5, 2.0], [0.25, 3.0, -0.75]], dtype=torch.float64)
    return mg.Tensor(values, requires_grad=True)


def v3():
    return mg.Tensor(torch.tensor([0.3, -0.6, 1.2], dtype=torch.float64), requires_grad=True)


def written_through_a_view():
    h = x23() * 1
    h[0].mul_(v3())
    return h


def gradient_of(loss_of):
    """The gradient of loss_of(x) taken with create_graph=True: a graph made of the backward's
    ops (AddAt is only met there)."""
    x = x23()
    (grad,) = mg.autograd.grad(loss_of(x), x, create_graph=True)
    return grad


def squared(pick):
    return lambda x: (pick(x) * pick(x)).sum()


def square():
    """(2, 3, 3): two invertible 3 x 3 matrices, not symmetric."""
    values = torch.linspace(-1, 1, 18, dtype=torch.float64).reshape(2, 3, 3) + 3 * torch.eye(3)
    return mg.Tensor(values.double(), requires_grad=True)


def both_halves(result):
    """eigh's eigenvectors, each scaled by its eigenvalue: a loss that uses both outputs."""
    return result.eigenvectors * result.eigenvalues.unsqueeze(-2)


def image():
    """(2, 2, 4, 5): two 2-channel images, distinct values."""
    values = torch.linspace(-2, 3, 80, dtype=torch.float64).reshape(2, 2, 4, 5)
    return mg.Tensor(values.flip(-1), requires_grad=True)


def volume():
    """(1, 2, 3, 4, 5): a 2-channel volume, distinct values."""
    values = torch.linspace(-2, 3, 120, dtype=torch.float64).reshape(1, 2, 3, 4, 5)
    return mg.Tensor(values.flip(-1), requires_grad=True)


def kernel():
    values = torch.linspace(1, -1, 3 * 2 * 3 * 2, dtype=torch.float64).reshape(3, 2, 3, 2)
    return mg.Tensor(values, requires_grad=True)


F = mg.nn.functional

EVERY_OP = {
    "AdaptiveAvgPool2d": lambda: F.adaptive_avg_pool2d(image(), (3, 2)),
    "AdaptiveAvgPool3d": lambda: F.adaptive_avg_pool3d(volume(), (2, 3, 2)),
    "AvgPool2d": lambda: F.avg_pool2d(image(), 2, 1, 1, count_include_pad=False),
    "AvgPool3d": lambda: F.avg_pool3d(volume(), 2, 1, 1, count_include_pad=False),
    "BatchNorm": lambda: F.batch_norm(image(), None, None, v3()[:2], v3()[1:], training=True),
    "ConstantPad": lambda: F.pad(image(), (1, 2, 0, 1)),
    "Convolution": lambda: F.conv2d(image(), kernel(), v3(), stride=2, padding=1),
    "ConvTranspose": lambda: F.conv_transpose2d(
        image(), kernel().transpose(0, 1), v3(), stride=2, padding=1, output_padding=1
    ),
    "CopyPad": lambda: F.pad(image(), (1, 1, 2, 0), mode="reflect"),
    "Draw": lambda: x23().sigmoid().bernoulli() + x23(),  # zeros flow back through the draw
    "Dropout": lambda: F.dropout(image(), 0.5),
    "Fold": lambda: F.fold(F.unfold(image(), 2), (4, 5), 2),
    "LayerNorm": lambda: F.layer_norm(image(), (4, 5), image()[0, 0], image()[1, 1], 0.1),
    "LinearInterpolate": lambda: F.interpolate(image(), scale_factor=1.7, mode="bilinear"),
    "NearestInterpolate": lambda: F.interpolate(image(), scale_factor=1.7),
    "MaxPool2d": lambda: F.max_pool2d(image(), 2, 1),
    "MaxPool3d": lambda: F.max_pool3d(volume(), 2, 1),
    "MaxUnpool": lambda: F.max_unpool2d(
        *F.max_pool2d(image(), 2, return_indices=True), 2, output_size=(4, 5)
    ),
    "Unfold": lambda: F.unfold(image(), (2, 3), stride=(1, 2)),
    "UnfoldDim": lambda: x23().unfold(1, 2, 1),
    "AMax": lambda: x23().amax(1),
    "AMin": lambda: x23().amin(0, keepdim=True),
    "Abs": lambda: x23().abs(),
    "Acos": lambda: (x23().tanh() * 0.9).acos(),
    "Acosh": lambda: (x23().abs() + 1.5).acosh(),
    "Add": lambda: x23() + v3(),
    "AddAt": lambda: gradient_of(squared(lambda x: x[[1, 1, 0]])),
    "Asin": lambda: (x23().tanh() * 0.9).asin(),
    "Asinh": lambda: x23().asinh(),
    "AsStrided": lambda: v3().as_strided((2, 2), (1, 1)),  # overlapping windows
    "Atan": lambda: x23().atan(),
    "Atan2": lambda: x23().atan2(v3() + 0.5),
    "Atanh": lambda: (x23().tanh() * 0.9).atanh(),
    "BinaryCrossEntropy": lambda: mg.nn.functional.binary_cross_entropy(
        x23().sigmoid(), mg.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=F64), reduction="none"
    ),
    "BinaryCrossEntropyWithLogits": lambda: mg.nn.functional.binary_cross_entropy_with_logits(
        x23(), mg.tensor([[1.0, 0.0, 1.0], [0.0, 0.5, 1.0]], dtype=F64), reduction="none"
    ),
    "Cat": lambda: mg.cat([x23(), x23() * 2], dim=1),
    "Ceil": lambda: x23().ceil() * x23(),
    "Cholesky": lambda: mg.linalg.cholesky(square() @ square().mT),
    "Clamp": lambda: x23().clamp(-1.0, 1.0),
    "ClampMin": lambda: x23().clamp_min(0.1),
    "Clone": lambda: x23().clone(),
    "Copy": lambda: (x23() * 1).copy_(v3()),
    "Copysign": lambda: x23().copysign(v3()),
    "CopySlices": written_through_a_view,
    "Cos": lambda: x23().cos(),
    "Cosh": lambda: x23().cosh(),
    "CumMax": lambda: x23().cummax(1).values,
    "CumMin": lambda: x23().cummin(0).values,
    "CumProd": lambda: (x23() * mg.tensor([1.0, 0.0, 2.0], dtype=torch.float64)).cumprod(1),
    "CumSum": lambda: x23().cumsum(1),
    "Det": lambda: mg.linalg.det(square()),
    "Div": lambda: x23() / (v3() + 2),
    "ELU": lambda: F.elu(x23(), 0.5),
    "DivRounded": lambda: x23().div(v3() + 2, rounding_mode="floor") * x23(),
    "Eigh": lambda: both_halves(mg.linalg.eigh(square() + square().mT)),
    "Einsum": lambda: mg.einsum("bj,j,bb->b", x23(), v3(), x23()[:, :2]),  # a diagonal too
    "Embedding": lambda: F.embedding(mg.tensor([[2, 0], [2, 2]]), x23().T, padding_idx=0),
    "Digamma": lambda: (x23().abs() + 1).digamma(),
    "Erf": lambda: x23().erf(),
    "Erfc": lambda: x23().erfc(),
    "Erfinv": lambda: (x23().tanh() * 0.5).erfinv(),
    "KthValue": lambda: x23().kthvalue(2, 1).values,
    "Lgamma": lambda: (x23().abs() + 1).lgamma(),
    "MedianAlongDim": lambda: x23().median(1).values,
    "Mode": lambda: x23().mode(0).values,
    "NanMedianAlongDim": lambda: x23().nanmedian(1, keepdim=True).values,
    "Polygamma": lambda: (x23().abs() + 1).polygamma(1),
    "Exp": lambda: x23().exp(),
    "Exp2": lambda: x23().exp2(),
    "Expand": lambda: v3().expand(2, 3),
    "Expm1": lambda: x23().expm1(),
    "Flip": lambda: x23().flip(1) * x23(),
    "Floor": lambda: x23().floor() * x23(),
    "FloorDivide": lambda: x23() // (v3() + 2),  # its backward refuses, as torch's
    "Fmax": lambda: x23().fmax(v3()),
    "Fmin": lambda: x23().fmin(v3()),
    "Fmod": lambda: x23().fmod(v3() + 2),
    "Frac": lambda: x23().frac(),
    "GELU": lambda: F.gelu(x23(), approximate="tanh"),
    "Gather": lambda: x23().gather(1, mg.tensor([[0, 0], [2, 1]])),
    "Hardtanh": lambda: F.hardtanh(x23(), -1.0, 2.5),
    "Heaviside": lambda: x23().heaviside(v3()),  # its backward refuses, as torch's
    "Hypot": lambda: x23().hypot(v3()),
    "Index": lambda: x23()[[1, 1, 0]],
    "IndexPut": lambda: x23().index_put((mg.tensor([1, 1, 0]),), v3(), accumulate=True),
    "Inv": lambda: mg.linalg.inv(square()),
    "IndexAdd": lambda: x23().index_add(1, mg.tensor([2, 2, 0]), x23().flip(1), alpha=0.5),
    "IndexCopy": lambda: x23().index_copy(1, mg.tensor([2, 0]), x23()[:, :2] * 2),
    "IndexFill": lambda: x23().index_fill(1, mg.tensor([2, -1, 0]), v3().sum()),
    "IndexSelect": lambda: x23().index_select(1, mg.tensor([2, 2, 0])),
    "LeakyReLU": lambda: F.leaky_relu(x23(), -0.5),
    "Lerp": lambda: x23().lerp(v3(), v3().sigmoid()),
    "Linear": lambda: mg.nn.functional.linear(x23(), x23(), v3()[:2]),
    "Log": lambda: x23().abs().log(),
    "Logit": lambda: (x23().sigmoid() * 0.9).logit(eps=0.2) + x23().sigmoid().logit(),
    "Log2": lambda: x23().abs().log2(),
    "Log10": lambda: x23().abs().log10(),
    "Log1p": lambda: x23().abs().log1p(),
    "LogNdtr": lambda: mg.special.log_ndtr(x23()),
    "LogSigmoid": lambda: F.logsigmoid(x23()),
    "LogAddExp": lambda: x23().logaddexp(v3()),
    "LogAddExp2": lambda: x23().logaddexp2(v3()),
    "LogCumSumExp": lambda: x23().logcumsumexp(1),
    "LogSoftmax": lambda: x23().log_softmax(1),
    "LogSumExp": lambda: x23().logsumexp(0),
    "MatMul": lambda: x23() @ v3(),
    "MatrixExp": lambda: (x23()[:, :2] * 0.5).matrix_exp(),
    "Max": lambda: x23().max(),
    "MaxAlongDim": lambda: x23().max(1).values,
    "MaskedFill": lambda: x23().masked_fill(x23() > 0.5, 2.0),
    "MaskedScatter": lambda: x23().masked_scatter(x23() > 0, mg.cat([v3(), v3()]) * 2),
    "MatrixTranspose": lambda: x23().t() @ x23(),
    "Maximum": lambda: x23().maximum(v3()),
    "Mean": lambda: x23().mean(0),
    "Median": lambda: x23().median(),
    "Min": lambda: x23().min(),
    "MinAlongDim": lambda: x23().min(1).values,
    "Minimum": lambda: x23().minimum(v3()),
    "MSELoss": lambda: mg.nn.functional.mse_loss(x23(), x23() * 0.5 + 1, reduction="none"),
    "Mul": lambda: x23() * v3(),
    "NanSum": lambda: x23().nansum(1),
    "NanToNum": lambda: x23().nan_to_num(posinf=2.0),
    "Ndtri": lambda: mg.special.ndtri(x23().sigmoid()),
    "Neg": lambda: -x23(),
    "NoDerivative": lambda: x23().unique(),  # its backward refuses, as torch's
    "NLLLoss": lambda: mg.nn.functional.nll_loss(x23().log_softmax(1), mg.tensor([2, 0])),
    "Norm": lambda: x23().norm(),
    "OntoDiagonal": lambda: ops.OntoDiagonal.apply(x23(), subscripts="iji", shape=(2, 3, 2)),
    "Outer": lambda: mg.outer(v3(), x23()[0]),
    "Permute": lambda: x23().permute(1, 0),
    "Pinv": lambda: mg.linalg.pinv(x23()),
    "Pow": lambda: x23().abs() ** v3(),
    "Prod": lambda: x23().prod(1),
    "Qr": lambda: (lambda r: r.Q @ r.R.exp())(mg.linalg.qr(x23().T)),
    "ReLU": lambda: x23().relu(),
    "Reciprocal": lambda: x23().reciprocal(),
    "Remainder": lambda: x23() % (v3() + 2),
    "Repeat": lambda: x23().repeat(2, 1),
    "Reshape": lambda: x23().reshape(3, 2),
    "Round": lambda: x23().round(decimals=1) * x23(),
    "Rsqrt": lambda: (x23().abs() + 1).rsqrt(),
    "Scatter": lambda: x23().scatter(1, mg.tensor([[2, 0], [1, 2]]), x23().flip(0)),
    "ScatterAdd": lambda: x23().scatter_add(1, mg.tensor([[0, 0], [2, 1]]), x23()),
    "ScatterReduce": lambda: x23().scatter_reduce(1, mg.tensor([[0, 0], [2, 1]]), x23(), "amax"),
    "SetItem": lambda: (lambda h: (h.__setitem__((0, 1), v3().sum()), h)[1])(x23() * 1),
    "Sigmoid": lambda: x23().sigmoid(),
    "Sign": lambda: x23().sign() * x23(),
    "Compare": lambda: (x23() * 1).gt_(v3()) * x23(),  # an in-place comparison: zeros flow back
    "SiLU": lambda: F.silu(x23()),
    "Sin": lambda: x23().sin(),
    "Sinc": lambda: x23().sinc(),
    "Sinh": lambda: x23().sinh(),
    "SlogDet": lambda: mg.linalg.slogdet(square()).logabsdet,
    "Solve": lambda: mg.linalg.solve(square(), x23().T),
    "Softmax": lambda: x23().softmax(1),
    "Softplus": lambda: mg.nn.functional.softplus(x23()),
    "Sorted": lambda: x23().sort(1, descending=True).values,
    "Sqrt": lambda: x23().abs().sqrt(),
    "Squeeze": lambda: x23()[None].squeeze(0),
    "Split": lambda: mg.cat(x23().split([1, 2], dim=1)[::-1], dim=1),
    "Stack": lambda: mg.stack([x23(), x23()]),
    "Std": lambda: x23().std(1),
    "Sub": lambda: x23() - v3(),
    "Sum": lambda: x23().sum(1),
    "Svd": lambda: (lambda r: (r.U * r.S) @ r.Vh + r.Vh)(mg.linalg.svd(x23(), full_matrices=False)),
    "Tan": lambda: x23().tan(),
    "Tanh": lambda: x23().tanh(),
    "To": lambda: x23().float(),
    "TopK": lambda: x23().topk(2).values,
    "Transpose": lambda: x23().transpose(0, 1),
    "Tril": lambda: x23().tril(1),
    "Triu": lambda: x23()[None].triu(-1),
    "Trunc": lambda: x23().trunc() * x23(),
    "Unbind": lambda: mg.stack(x23().unbind(1)[::-1]),
    "Unsqueeze": lambda: x23().unsqueeze(1),
    "Var": lambda: x23().var(0),
    "View": lambda: x23().view(3, 2),
    "Where": lambda: mg.where(x23() > 0, x23(), v3()),
    "Xlogy": lambda: x23().xlogy(v3().exp()),
}


def test_every_op_has_a_case_here():
    assert sorted(ops.__all__) == sorted(EVERY_OP), "add a case to EVERY_OP for each new op"


@pytest.mark.parametrize("name", sorted(EVERY_OP))
def test_explain_of_every_op_gives_backwards_gradients(name):
    out = EVERY_OP[name]()
    nodes = [n.op_name for n in graph_nodes(out) if isinstance(n, Context)]
    assert name in nodes, f"the case for {name} does not use it: {nodes}"
    weights = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(0))
    loss = (out * mg.Tensor(weights)).sum()
    if name in REFUSES_BACKWARD:  # torch has no gradient for it: explain says so, as backward
        for call in (lambda: explain_graph(loss), loss.backward):
            with pytest.raises(GradientError, match="no gradient"):
                call()
        return
    assert_same_gradients_as_backward(loss)


REFUSES_BACKWARD = {"FloorDivide", "Heaviside", "NoDerivative"}


def test_a_gradient_s_gradient_is_explained_from_the_same_formulas():
    """The backward pass of a backward pass (create_graph=True): its code starts from d_d_x,
    the gradient of the first derivative, and running it gives the second derivative."""
    x = mg.tensor([0.5, -1.0], dtype=mg.float64, requires_grad=True)
    x.name = "x"
    (d_x,) = mg.autograd.grad((x * x * x).sum(), [x], create_graph=True)
    assert d_x.name == "d_x"
    explanation = explain_graph(d_x.sum(), comments=False)
    assert "d_d_x = d_loss.expand((2,))\n" in explanation.code
    (second,) = mg.autograd.grad(d_x.sum(), [x])
    (ran,) = explanation.run().values()
    assert torch.allclose(ran, second._data) and torch.allclose(ran, 6 * x._data)
