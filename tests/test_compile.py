"""minigrad.compile: a recorded step replays bit for bit like the eager step, records again
whenever what it assumed changes, refuses what it cannot follow, and reads as Python.

Every comparison is exact (torch.equal): a replay makes the same torch calls as eager, on the CPU
the same kernels, so there is no rounding to allow for.
"""

from __future__ import annotations

import weakref

import pytest
import test_fuzz_programs as fuzz
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_compile_guards import training_step
from test_ops_elementwise import CallNames
from torch.overrides import TorchFunctionMode

import minigrad as mg
from minigrad import nn
from minigrad.jit import CompileError
from minigrad.jit.check import identical


def same(a: mg.Tensor | None, b: mg.Tensor | None, what: str) -> None:
    assert (a is None) == (b is None), what
    if a is not None:
        assert identical(a._data, b._data), what


# ---- fastbook's step, by hand ----------------------------------------------------------------


def fastbook_model(seed: int = 0):
    mg.manual_seed(seed)
    weights = mg.randn(28 * 28, 1).requires_grad_()
    bias = mg.randn(1).requires_grad_()
    weights.name, bias.name = "weights", "bias"
    return weights, bias


def fastbook_step(weights, bias, lr=1.0):
    def train_step(xb, yb):
        preds = (xb @ weights + bias).sigmoid()
        loss = mg.where(yb == 1, 1 - preds, preds).mean()
        loss.backward()
        for p in (weights, bias):
            p.data -= p.grad * lr
            p.grad.zero_()
        return loss

    return train_step


def batches(n: int, size: int, last: int | None = None, seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    sizes = [size] * n + ([last] if last else [])
    for rows in sizes:
        xb = torch.rand(rows, 28 * 28, generator=generator)
        yb = torch.randint(0, 2, (rows, 1), generator=generator)
        yield mg.Tensor(xb), mg.Tensor(yb)


def test_fastbook_step_replays_bit_for_bit_for_60_steps_and_a_last_smaller_batch():
    eager_params, compiled_params = fastbook_model(), fastbook_model()
    eager = fastbook_step(*eager_params)
    compiled = mg.compile(fastbook_step(*compiled_params))
    for i, (xb, yb) in enumerate(batches(60, 64, last=17)):
        same(compiled(xb, yb), eager(xb, yb), f"loss at step {i}")
        for p, q in zip(compiled_params, eager_params):
            same(p, q, f"{p.name} after step {i}")
            same(p.grad, q.grad, f"{p.name}.grad after step {i}")
    # Recorded: the first step (no .grad yet), the second (.grad exists), the last batch.
    assert compiled.traces == 3 and compiled.replays == 58


def test_the_code_reads_as_forward_backward_update():
    weights, bias = fastbook_model()
    step = mg.compile(fastbook_step(weights, bias))
    for xb, yb in batches(3, 8):
        step(xb, yb)
    code = step.code
    assert code.startswith("def train_step(xb, yb):\n")
    assert "    matmul = xb @ weights\n" in code
    assert "    # sigmoid = Sigmoid(add)    s = 1 / (1 + e^-x).   ds/dx = s (1 - s).\n" in code
    assert "    d_add = d_sigmoid * sigmoid * (1 - sigmoid)\n" in code
    assert "    weights_grad.add_(d_weights)\n" in code
    assert "    weights.sub_(weights_grad * 1.0)\n" in code and "    weights_grad.zero_()\n" in code
    assert max(len(line) for line in code.splitlines()) <= 100
    # The update (p.data -= p.grad * lr: nothing differentiated) is your code, without a rule.
    update = code[code.index("    # your code\n    weights.sub_") :]
    assert update.count("#") == 1 and "d_" not in update


def test_values_a_step_makes_and_never_reads_are_let_go_at_once():
    """A user's leftover (`h.exp()`, `x[x > 0]` whose shape the replay checks) is dropped on
    the line after it is made (after the shape check), not held to the end of the step."""
    mg.manual_seed(0)
    w = mg.randn(6, 5, requires_grad=True)

    def train_step(x):
        h = x @ w
        h.exp()  # made, never read
        x[x > 0]  # made, its shape checked, never read
        loss = h.sum()
        loss.backward()
        with mg.no_grad():
            w.sub_(0.1 * w.grad)
            w.grad = None
        return loss

    step = mg.compile(train_step, check=False)
    x = mg.randn(7, 6)
    for _ in range(3):
        step(x)
    replays = step.replays
    with WatchValues((7, 5)) as watch:
        step(x)
    assert step.replays == replays + 1
    assert len(watch.made) == 2, watch.made  # h and its exp
    assert [alive for name, alive in watch.alive if name == "sum"] == [1], watch.alive  # h


def test_a_flatten_layer_reads_as_the_reshape_it_is():
    """nn.Flatten is a Reshape to a shape minigrad works out itself: no torch call of its own,
    which a compiled step's code would show as a stray line of "your code"."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, kernel_size=3), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    step = mg.compile(training_step(mg, model, mg.optim.SGD(model.parameters(), lr=0.1)))
    x, y = mg.randn(4, 1, 6, 6), mg.Tensor(torch.tensor([0, 1, 2, 1]))
    for _ in range(3):
        step(x, y)
    assert "    reshape = convolution.reshape((4, 32))\n" in step.code
    assert ".flatten(" not in step.code and "# your code" not in step.code


def test_the_code_adds_up_a_value_used_three_times_one_contribution_at_a_time():
    w = mg.randn(3, 3, requires_grad=True)
    w.name = "w"
    opt = mg.optim.SGD([w], lr=0.1)

    @mg.compile
    def step(x):
        h = (x @ w).tanh()
        loss = (h * h + h).sum()  # h reaches the loss three times
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    for _ in range(3):
        step(mg.randn(2, 3))
    lines = [line.strip() for line in step.code.splitlines()]
    sums = [line for line in lines if line.startswith("d_tanh = ")]
    assert sums == ["d_tanh = d_mul + d_mul * tanh", "d_tanh = d_tanh + d_mul * tanh"]


# ---- the names in step.code ---------------------------------------------------------------------


def code_lines(step) -> list[str]:
    """The code's lines without comments, stripped."""
    lines = [line.strip() for line in step.code.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def definitions(lines: list[str]) -> list[str]:
    """The names the lines assign, in order, one per assignment."""
    return [line.split(" = ")[0] for line in lines if " = " in line.split("(")[0]]


def user_style_mlp():
    """An MLP as users write it: tensors made by hand in a function, reached only through an
    object the guards do not name (so minigrad calls each `param`), x @ W + b, F.cross_entropy,
    and the update by hand under no_grad."""

    def init():
        w1 = (mg.randn(6, 5) * 0.5).requires_grad_()
        b1 = mg.zeros(5).requires_grad_()
        w2 = (mg.randn(5, 3) * 0.5).requires_grad_()
        b2 = mg.zeros(3).requires_grad_()
        return [w1, b1, w2, b2]

    class Holder:
        pass

    holder = Holder()
    holder.params = init()

    def train_step(x, y):
        w1, b1, w2, b2 = holder.params
        loss = nn.functional.cross_entropy((x @ w1 + b1).relu() @ w2 + b2, y)
        loss.backward()
        with mg.no_grad():
            for p in holder.params:
                p -= 0.1 * p.grad
                p.grad = None
        return loss

    return train_step, holder.params


def test_user_style_mlp_names_each_gradient_after_its_value():
    mg.manual_seed(0)
    train_step, params = user_style_mlp()
    step = mg.compile(train_step)
    x, y = mg.randn(4, 6), mg.Tensor(torch.tensor([0, 1, 2, 1]))
    for _ in range(3):
        step(x, y)
    lines = code_lines(step)
    # The forward: each parameter by its own name, used where eager used it.
    assert lines[1:5] == [
        "matmul = x @ param",
        "add = matmul + param_2",
        "relu = torch.relu(add)",
        "matmul_2 = relu @ param_3",
    ]
    assert "add_2 = matmul_2 + param_4" in lines
    # Each gradient is d_<the name of its value>: param_4 is b2, summed over the batch.
    assert "d_param_4 = d_add_2.sum(dim=[0])" in lines
    assert "d_param_3 = relu.mT @ d_matmul_2" in lines
    assert "d_param = x.mT @ d_matmul" in lines
    # No copies: each gradient is a new tensor (a product, a sum), so .grad is that tensor.
    assert all(f"{p}_grad = d_{p}" in lines for p in ("param", "param_2", "param_3", "param_4"))
    # Every name is assigned once, unless the line reads the value it replaces.
    defined = definitions(lines)
    for name in set(defined):
        later = [line for line in lines if line.startswith(f"{name} = ")][1:]
        assert all(f" {name} " in line.split(" = ", 1)[1] + " " for line in later), name
    # The update: your code, each line as written, no derivative and no rule above it.
    update = step.code[step.code.index("    # your code\n    param.sub_") :]
    assert update.splitlines()[1:5] == [
        f"    {p}.sub_({p}_grad * 0.1)" for p in ("param", "param_2", "param_3", "param_4")
    ]
    assert update.count("#") == 1
    # And it replays as eager did, bit for bit.
    mg.manual_seed(0)
    eager_step, eager_params = user_style_mlp()
    mg.manual_seed(0)
    train_step, compiled_params = user_style_mlp()
    compiled = mg.compile(train_step)
    for _ in range(5):
        same(compiled(x, y), eager_step(x, y), "loss")
    for p, q in zip(compiled_params, eager_params):
        same(p, q, "param")


def test_sequential_mlp_gives_each_layer_its_own_names():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    opt = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    @mg.compile
    def step(xb, yb):
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    x, y = mg.randn(4, 6), mg.Tensor(torch.tensor([0, 1, 2, 1]))
    for _ in range(4):
        step(x, y)
    lines = code_lines(step)
    assert "linear = F.linear(xb, weight_0, bias_0)" in lines
    assert "linear_2 = F.linear(relu, weight_2, bias_2)" in lines
    assert "logsoftmax = torch.log_softmax(linear_2, dim=1)" in lines
    assert "d_linear = torch.ops.aten.threshold_backward(d_relu, relu, 0)" in lines
    assert any(line.startswith("d_linear_2 = ") for line in lines)
    defined = definitions(lines)
    assert len(defined) == len(set(defined)), defined
    # .grad set anew by the step: weight_0_grad (not weight_0_grad_2 beside an unused old one)
    assert "weight_0_grad = d_weight_0" in lines
    assert "momentum_buffer_weight_0.add_(weight_0_grad)" in lines
    code = step.code
    assert "# SGD updates weight_0\n" in code
    update = code[code.index("# SGD updates weight_0") :]
    assert "d/d" not in update and "dL" not in update and "dout" not in update


# ---- how many torch calls a replay makes ------------------------------------------------------


def calls_per_replay(step, *args) -> list[str]:
    for _ in range(3):  # recorded without .grad, with it, then replayed: the steady state
        step(*args)
    replays = step.replays
    with CallNames() as counter:
        step(*args)
    assert step.replays == replays + 1
    return counter.names


def test_a_replay_makes_fewer_torch_calls_than_the_recording():
    """The leaner replay (optimize.py), counted: a change that adds a call fails here. Each
    figure is the whole call: the key and guards, the replay, what it leaves behind (the key
    reads each input's shape, dtype, device and strides: two of these calls are the strides of
    the two inputs)."""
    weights, bias = fastbook_model()
    fastbook = mg.compile(fastbook_step(weights, bias), check=False)
    names = calls_per_replay(fastbook, *next(batches(1, 8)))
    assert len(names) <= 28, names  # 39 before folding, merging and fusing
    assert "ones_like" not in names and "neg" not in names and "reshape" not in names
    assert names.count("_foreach_add_") == 1 and names.count("zero_") == 0

    mg.manual_seed(0)
    train_step, _ = user_style_mlp()
    user = mg.compile(train_step, check=False)
    x, y = mg.randn(4, 6), mg.Tensor(torch.tensor([0, 1, 2, 1]))
    names = calls_per_replay(user, x, y)
    assert len(names) <= 44, names  # 56 before
    assert "clone" not in names and names.count("_foreach_sub_") == 1

    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    opt = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def sgd_step(xb, yb):
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    sequential = mg.compile(sgd_step, check=False)
    names = calls_per_replay(sequential, x, y)
    assert len(names) <= 50, names  # 61 before
    assert names.count("_foreach_addcmul_") == 1 and "addcmul_" not in names


class WatchValues(TorchFunctionMode):
    """Weakly, each tensor of `shape` the torch calls make (so as not to keep it alive), and
    before each call, how many of those are still alive."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = torch.Size(shape)
        self.made: list[weakref.ref] = []
        self.alive: list[tuple[str, int]] = []  # (the call about to run, how many alive)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.alive.append((getattr(func, "__name__", ""), sum(r() is not None for r in self.made)))
        out = func(*args, **(kwargs or {}))
        for value in out if isinstance(out, tuple) else (out,):
            if isinstance(value, torch.Tensor) and value.shape == self.shape:
                self.made.append(weakref.ref(value))
        return out


def test_a_replay_lets_go_of_each_value_once_it_is_done_with_it():
    """Like torch's backward, which frees what a node saved once it has run, the replay drops
    each activation and gradient after the line that last reads it: at the update none of the
    hidden layer's (7 x 5) values is alive, and no more than two ever are at once (the CNN's
    replay, holding them all to the end, ran 10 to 20% slower back to back)."""
    mg.manual_seed(0)
    train_step, _ = user_style_mlp()
    step = mg.compile(train_step, check=False)
    x, y = mg.randn(7, 6), mg.Tensor(torch.tensor([0, 1, 2, 1, 0, 0, 2]))
    for _ in range(3):
        step(x, y)
    replays = step.replays
    with WatchValues((7, 5)) as watch:
        step(x, y)
    assert step.replays == replays + 1
    assert len(watch.made) >= 4, watch.made  # matmul, add, relu; relu's gradient, ...
    at_update = [alive for name, alive in watch.alive if name == "_foreach_sub_"]
    assert at_update == [0], watch.alive
    assert max(alive for _, alive in watch.alive) <= 2, watch.alive


def test_products_by_numbers_made_from_each_other_are_not_fused_into_one_call():
    """`(h * 2.0) * 2.0` is two out-of-place products by one number, the kind that fuses into
    one _foreach_mul (p.grad * lr for each parameter); but the second reads the first's output,
    so they must run one after the other (fused, the replay read a value not yet made)."""

    def run(compile):
        mg.manual_seed(0)
        model = nn.Linear(4, 3, dtype=mg.float64)
        opt = mg.optim.SGD(model.parameters(), lr=0.5)

        @compile
        def train_step(xb, yb):
            loss = nn.functional.cross_entropy((model(xb) * 2.0) * 2.0, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        x = mg.randn(6, 4, dtype=mg.float64)
        y = mg.Tensor(torch.tensor([2, 2, 0, 0, 1, 1]))
        losses = [train_step(x, y)._data.clone() for _ in range(4)]
        return losses + [p._data.clone() for p in model.parameters()]

    for ours, eager in zip(run(lambda f: mg.compile(f, check=False)), run(lambda f: f)):
        assert torch.equal(ours, eager)


# ---- models drawn at random, with SGD by hand -------------------------------------------------


class Drawn(nn.Module):
    def __init__(self, sizes: list[int], activation: str):
        super().__init__()
        self.layers = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]
        self.activation = activation

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = getattr(x, self.activation)()
        return x


def sgd_step(model, lr):
    def step(xb, yb):
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        with mg.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
                p.grad = None
        return loss

    return step


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    classes=st.integers(2, 4),
    batch=st.integers(1, 5),
    last=st.integers(1, 5),
    activation=st.sampled_from(["relu", "tanh", "sigmoid"]),
    seed=st.integers(0, 2**16),
)
def test_drawn_models_replay_bit_for_bit(sizes, classes, batch, last, activation, seed):
    sizes = [*sizes, classes]
    mg.manual_seed(seed)
    eager_model = Drawn(sizes, activation)
    compiled_model = Drawn(sizes, activation)
    compiled_model.load_state_dict(eager_model.state_dict())
    eager, compiled = sgd_step(eager_model, 0.1), mg.compile(sgd_step(compiled_model, 0.1))
    generator = torch.Generator().manual_seed(seed)
    for rows in [batch] * 6 + [last]:
        xb = mg.Tensor(torch.randn(rows, sizes[0], generator=generator))
        yb = mg.Tensor(torch.randint(0, classes, (rows,), generator=generator))
        same(compiled(xb, yb), eager(xb, yb), "loss")
        for (name, p), q in zip(compiled_model.named_parameters(), eager_model.parameters()):
            same(p, q, name)
    assert compiled.replays >= 4


# ---- guards: what a recording assumed ---------------------------------------------------------


def counting_step():
    weights, bias = fastbook_model()
    return mg.compile(fastbook_step(weights, bias)), weights


def test_a_new_shape_dtype_or_grad_mode_records_again_and_old_recordings_are_kept():
    step, _ = counting_step()
    (xb, yb), (small_x, small_y) = list(batches(1, 8)) + list(batches(1, 3))
    for _ in range(3):
        step(xb, yb)
    assert step.traces == 2
    step(small_x, small_y)
    assert step.traces == 3
    step(xb, yb)  # back to the first shape: its recording is still there
    assert step.traces == 3
    with pytest.raises(TypeError):
        step(mg.Tensor(xb._data.double()), yb)  # float64 batch, float32 weights: eager refuses
    with mg.no_grad():
        with pytest.raises(mg.GradientError):
            step(xb, yb)  # recorded again under no_grad, where backward() refuses, as eagerly


def test_replacing_a_parameter_records_again():
    step, weights = counting_step()
    (xb, yb) = next(batches(1, 8))
    for _ in range(3):
        step(xb, yb)
    traces = step.traces
    weights.data = weights._data.clone()  # a new tensor: the recording held the old one
    step(xb, yb)
    assert step.traces == traces + 1
    before = weights._data.clone()
    step(xb, yb)
    assert not torch.equal(weights._data, before)  # the new tensor is the one being trained


def test_train_and_eval_mode_each_get_a_recording():
    class Noisy(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 2)

        def forward(self, x):
            out = self.linear(x)
            return out * 2 if self.training else out

    model = Noisy()

    @mg.compile
    def predict(x):
        with mg.no_grad():
            return model(x)

    x = mg.randn(4, 3)
    train_out = predict(x)
    model.eval()
    eval_out = predict(x)
    assert predict.traces == 2
    assert torch.equal(train_out._data, eval_out._data * 2)
    model.train()
    assert torch.equal(predict(x)._data, train_out._data) and predict.traces == 2


# ---- what a replay cannot follow --------------------------------------------------------------


@pytest.mark.parametrize(
    "read",
    [lambda loss: loss.item(), lambda loss: float(loss), lambda loss: bool(loss > 0), print],
    ids=["item", "float", "if", "print"],
)
def test_reading_a_tensor_into_python_is_a_clear_error(read):
    weights, bias = fastbook_model()
    inner = fastbook_step(weights, bias)

    @mg.compile
    def step(xb, yb):
        loss = inner(xb, yb)
        read(loss)
        return loss

    with pytest.raises(CompileError, match=r"reads a tensor's numbers into Python.*outside"):
        step(*next(batches(1, 4)))


def test_a_step_must_return_tensors():
    @mg.compile
    def step(x):
        return [1.0]

    with pytest.raises(CompileError, match="returns Tensors"):
        step(mg.randn(2))


class Settings:  # an object of the user's own class: its attributes are out of the guards' sight
    scale = 1.0


def test_check_catches_a_step_that_depends_on_what_the_recording_cannot_see():
    settings = Settings()
    w = mg.randn(3, requires_grad=True)

    @mg.compile(check=True)
    def step(x):
        with mg.no_grad():
            w.mul_(settings.scale)  # a Python number: baked into the recording
        return w * x

    x = mg.randn(3)
    step(x)
    step(x)
    settings.scale = 2.0  # eager would now double w; the recording still multiplies by 1.0
    with pytest.raises(CompileError, match="call 3 of step: w differs between the eager step"):
        step(x)


def test_steps_do_not_nest():
    inner = mg.compile(lambda x: x * 2)

    @mg.compile
    def outer(x):
        return inner(x)

    with pytest.raises(CompileError, match="do not nest"):
        outer(mg.randn(2))


# ---- with torch.optim's optimizers and schedulers -----------------------------------------------


def mlp(seed: int = 0):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 5))


def assert_replays_as_eager(compiled, eager, compiled_model, eager_model, steps, seed):
    """Both steps fed the same batches of mlp()'s shape: equal losses, then equal parameters
    and gradients, bit for bit."""
    generator = torch.Generator().manual_seed(seed)
    for i in range(steps):
        xb = mg.Tensor(torch.randn(8, 20, generator=generator))
        yb = mg.Tensor(torch.randint(0, 5, (8,), generator=generator))
        same(compiled(xb, yb), eager(xb, yb), f"loss at step {i}")
    for (name, p), q in zip(compiled_model.named_parameters(), eager_model.parameters()):
        same(p, q, name)
        same(p.grad, q.grad, f"{name}.grad")


def optimizer_step(model, opt, scheduler=None, zero_first=False):
    def train_step(xb, yb):
        if zero_first:
            opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        if not zero_first:
            opt.zero_grad()
        return loss

    return train_step


OPTIMIZERS = {
    "sgd momentum decay": lambda ps: mg.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2),
    "sgd nesterov": lambda ps: mg.optim.SGD(ps, lr=0.05, momentum=0.5, nesterov=True),
    "adam": lambda ps: mg.optim.Adam(ps, lr=1e-2),
    "adamw amsgrad": lambda ps: mg.optim.AdamW(ps, lr=1e-2, amsgrad=True),
    "rmsprop centered": lambda ps: mg.optim.RMSprop(ps, lr=1e-3, centered=True, momentum=0.5),
    "adagrad": lambda ps: mg.optim.Adagrad(ps, lr=0.1),
    "adadelta decay": lambda ps: mg.optim.Adadelta(ps, rho=0.8, weight_decay=1e-2),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("zero_first", [False, True], ids=["zero_grad last", "zero_grad first"])
def test_optimizer_steps_replay_bit_for_bit_for_50_steps(name, zero_first):
    eager_model, compiled_model = mlp(), mlp()
    eager_opt = OPTIMIZERS[name](eager_model.parameters())
    compiled_opt = OPTIMIZERS[name](compiled_model.parameters())
    eager = optimizer_step(eager_model, eager_opt, zero_first=zero_first)
    compiled = mg.compile(optimizer_step(compiled_model, compiled_opt, zero_first=zero_first))
    assert_replays_as_eager(compiled, eager, compiled_model, eager_model, steps=50, seed=3)
    assert compiled_opt.state_dict()["param_groups"] == eager_opt.state_dict()["param_groups"]
    for ours, theirs in zip(compiled_opt.state.values(), eager_opt.state.values()):
        for key in theirs:
            assert torch.equal(ours[key], theirs[key]), f"state {key}"
    assert compiled.replays >= 47  # recorded for the first step and the second (state exists)


def _scale_grads_by_hand(model):
    with mg.no_grad():
        for p in model.parameters():
            p.grad /= 4  # as gradient accumulation over 4 batches does
            p.grad.mul_(0.5)


GRADIENT_CHANGES = {
    "clip_grad_norm_": lambda model: nn.utils.clip_grad_norm_(model.parameters(), 0.05),
    "clip_grad_value_": lambda model: nn.utils.clip_grad_value_(model.parameters(), 0.01),
    "/= and mul_ under no_grad": _scale_grads_by_hand,
}


@pytest.mark.parametrize("change", sorted(GRADIENT_CHANGES))
def test_gradients_changed_in_place_before_the_update_replay_as_eager(change):
    """Between backward and step, the step changes the .grad tensors in place (clipping,
    scaling): the replay must do it too. (It once skipped it: the .grad's copy from the
    engine was written as a renaming, and the in-place call on it with the copy.)"""

    def make(model, opt):
        def train_step(xb, yb):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            GRADIENT_CHANGES[change](model)
            opt.step()
            return loss

        return train_step

    eager_model, compiled_model = mlp(), mlp()
    eager = make(eager_model, mg.optim.SGD(eager_model.parameters(), lr=0.5, momentum=0.9))
    compiled_opt = mg.optim.SGD(compiled_model.parameters(), lr=0.5, momentum=0.9)
    compiled = mg.compile(make(compiled_model, compiled_opt))
    assert_replays_as_eager(compiled, eager, compiled_model, eager_model, steps=10, seed=5)
    assert compiled.replays >= 8


def test_a_scheduler_changing_lr_every_step_replays_bit_for_bit():
    def run(compiled: bool):
        model = mlp(1)
        opt = mg.optim.Adam(model.parameters(), lr=1e-3)
        scheduler = mg.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=60)
        step = optimizer_step(model, opt)
        step = mg.compile(step) if compiled else step
        generator, losses = torch.Generator().manual_seed(4), []
        for _ in range(60):
            xb = mg.Tensor(torch.randn(8, 20, generator=generator))
            yb = mg.Tensor(torch.randint(0, 5, (8,), generator=generator))
            losses.append(step(xb, yb)._data)
            scheduler.step()  # outside the step: a Python computation that sets group["lr"]
        return losses, model, step

    eager_losses, eager_model, _ = run(False)
    losses, model, step = run(True)
    assert all(torch.equal(a, b) for a, b in zip(losses, eager_losses))
    for p, q in zip(model.parameters(), eager_model.parameters()):
        assert torch.equal(p._data, q._data)
    assert step.traces == 2  # the lr is a tensor the replay refreshes: no new recording


def test_a_changed_option_or_a_new_optimizer_records_again():
    model = mlp()
    opt = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    holder = {"opt": opt}

    @mg.compile
    def step(xb, yb):
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        holder["opt"].step()
        holder["opt"].zero_grad()
        return loss

    xb, yb = mg.randn(4, 20), mg.tensor([0, 1, 2, 3])
    for _ in range(3):
        step(xb, yb)
    assert step.traces == 2
    opt.param_groups[0]["nesterov"] = True  # chooses other torch calls
    step(xb, yb)
    assert step.traces == 3
    opt.param_groups[0]["lr"] = 0.01  # only a number: refreshed, not recorded again
    step(xb, yb)
    assert step.traces == 3


# ---- the fuzzer's programs (in-place ops, views, numpy operands), compiled ----------------------


@settings(max_examples=80, deadline=None)
@given(program_and_data=fuzz.programs())
def test_random_programs_with_in_place_ops_replay_as_they_ran(program_and_data):
    """A step that runs one of test_fuzz_programs' programs on three parameters, backward
    included, must leave what the eager step leaves, call after call (as the values change)."""
    arrays, program, seed = program_and_data

    def parameters():
        return [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in arrays[:-1]]

    def make_step(leaves):
        def step(data):
            values = [*leaves, data]
            for line in program:
                fuzz.run_step(mg, values, line)
            loss = sum((v * (i + 1)).sum() for i, v in enumerate(values) if v.requires_grad)
            loss.backward()
            grads = [p.grad * 1 for p in leaves if p.grad is not None]
            for p in leaves:
                p.grad = None
            return [loss, *grads] if loss.requires_grad else grads

        return step

    eager_leaves, compiled_leaves = parameters(), parameters()
    eager, compiled = make_step(eager_leaves), mg.compile(make_step(compiled_leaves))

    def batch():  # a new one for each call: a program may change it in place
        return mg.tensor(arrays[-1], dtype=mg.float64)

    try:
        make_step(parameters())(batch())
    except Exception:  # a program that raises (torch raises there too): not this test's subject
        return
    for call in range(3):
        theirs, ours = eager(batch()), compiled(batch())
        assert len(theirs) == len(ours)
        for i, (a, b) in enumerate(zip(theirs, ours)):
            assert identical(a._data, b._data), f"result {i} of call {call}"
        for p, q in zip(eager_leaves, compiled_leaves):
            assert identical(p._data, q._data)
        with mg.no_grad():  # new values for the next call, the same way on both sides
            for p, q in zip(eager_leaves, compiled_leaves):
                p.mul_(-0.5)
                q.mul_(-0.5)


# ---- on a GPU: the replay captured in a CUDA graph ---------------------------------------------

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a GPU: CUDA graphs replay on one"
)


@needs_cuda
@pytest.mark.parametrize("graph", [True, False], ids=["CUDA graph", "no graph"])
@pytest.mark.parametrize("name", ["sgd momentum decay", "adam"])
def test_on_a_gpu_optimizer_steps_replay_as_eager_and_a_last_smaller_batch(name, graph):
    """A CUDA graph replays the kernels captured once, on the memory they used then: inputs are
    copied into its buffers, and parameters, .grad and optimizer state must end as eager's."""
    eager_model, compiled_model = mlp().to("cuda"), mlp().to("cuda")
    eager_opt = OPTIMIZERS[name](eager_model.parameters())
    compiled_opt = OPTIMIZERS[name](compiled_model.parameters())
    eager = optimizer_step(eager_model, eager_opt)
    compiled = mg.compile(optimizer_step(compiled_model, compiled_opt), cuda_graph=graph)
    generator = torch.Generator().manual_seed(3)
    for i, rows in enumerate([8] * 30 + [5, 5, 5]):
        xb = mg.Tensor(torch.randn(rows, 20, generator=generator).cuda())
        yb = mg.Tensor(torch.randint(0, 5, (rows,), generator=generator).cuda())
        same(compiled(xb, yb), eager(xb, yb), f"loss at step {i}")
        for (name_, p), q in zip(compiled_model.named_parameters(), eager_model.parameters()):
            same(p, q, f"{name_} after step {i}")
            same(p.grad, q.grad, f"{name_}.grad after step {i}")
    for ours, theirs in zip(compiled_opt.state.values(), eager_opt.state.values()):
        for key in theirs:
            assert torch.equal(ours[key], theirs[key]), f"state {key}"
    assert compiled.replays >= 29


@needs_cuda
def test_on_a_gpu_fastbook_and_a_scheduler_replay_in_a_cuda_graph():
    eager_params = [p.to("cuda").detach().requires_grad_() for p in fastbook_model()]
    compiled_params = [p.to("cuda").detach().requires_grad_() for p in fastbook_model()]
    eager = fastbook_step(*eager_params)
    compiled = mg.compile(fastbook_step(*compiled_params))
    for i, (xb, yb) in enumerate(batches(20, 64, last=17)):
        xb, yb = mg.Tensor(xb._data.cuda()), mg.Tensor(yb._data.cuda())
        same(compiled(xb, yb), eager(xb, yb), f"loss at step {i}")
        for p, q in zip(compiled_params, eager_params):
            same(p, q, f"parameter after step {i}")
            same(p.grad, q.grad, f"gradient after step {i}")

    def run(compiled: bool):
        model = mlp(1).to("cuda")
        opt = mg.optim.Adam(model.parameters(), lr=1e-3)
        scheduler = mg.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=30)
        step = optimizer_step(model, opt)
        step = mg.compile(step) if compiled else step
        generator, losses = torch.Generator().manual_seed(4), []
        for _ in range(30):
            xb = mg.Tensor(torch.randn(8, 20, generator=generator).cuda())
            yb = mg.Tensor(torch.randint(0, 5, (8,), generator=generator).cuda())
            losses.append(step(xb, yb)._data.clone())
            scheduler.step()  # the lr tensor is refreshed in place: the graph reads it
        return losses, model

    eager_losses, eager_model = run(False)
    losses, model = run(True)
    assert all(torch.equal(a, b) for a, b in zip(losses, eager_losses))
    for p, q in zip(model.parameters(), eager_model.parameters()):
        assert torch.equal(p._data, q._data)


def test_a_wgan_gp_step_with_create_graph_replays_bit_for_bit():
    """The benchmarks' WGAN-GP critic step (issue 19): autograd.grad(create_graph=True) inside
    the step, the penalty's gradient through the critic's backward pass, Adam. Recorded, then
    replayed: loss, weights and .grad equal to eager's bit for bit, and a last smaller batch."""
    from benchmarks.compiled import wgan_gp_step

    def critic_and_step():
        mg.manual_seed(0)
        critic = nn.Sequential(nn.Linear(6, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
        optimizer = mg.optim.Adam(critic.parameters(), 1e-2, (0.5, 0.9))
        return critic, wgan_gp_step(mg, critic, optimizer)

    (eager_critic, eager), (compiled_critic, step) = critic_and_step(), critic_and_step()
    compiled = mg.compile(step)
    generator = torch.Generator().manual_seed(0)
    for i, rows in enumerate([5] * 6 + [3]):
        real, fake = (mg.Tensor(torch.randn(rows, 6, generator=generator)) for _ in range(2))
        alpha = mg.Tensor(torch.rand(rows, 1, generator=generator))
        same(compiled(real, fake, alpha), eager(real, fake, alpha), f"loss at step {i}")
        for (name, p), q in zip(compiled_critic.named_parameters(), eager_critic.parameters()):
            same(p, q, f"{name} after step {i}")
            same(p.grad, q.grad, f"{name}.grad after step {i}")
    assert compiled.replays >= 4
