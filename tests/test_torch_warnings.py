"""The warnings torch gives a learner, minigrad gives too: in torch's words (so that a search for
them finds the same answers), at the line of the learner's code that caused them.

- `.grad` of a tensor that is not a leaf, read when it holds nothing: the classic surprise of
  `h.grad` being None after `loss.backward()` (retain_grad() is the way to keep it);
- `float(t)` of a tensor in the graph (once per process, as torch's): the number has no history;
- `tensor(t)` of a tensor: a copy, out of the graph, better written `t.detach().clone()`. (A
  torch tensor given to minigrad.tensor is foreign data, as a NumPy array is to torch.tensor:
  no warning.)
- `.T` of other than a matrix: deprecated in torch, which reverses all the dims (warned once);
- older code's spellings that torch still runs with a FutureWarning: nn.init's names without
  the underscore (`xavier_uniform`), `nn.utils.clip_grad_norm`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch

import minigrad as mg

NOT_A_LEAF = "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"


def _leaf(lib: Any) -> Any:
    return lib.tensor([1.0, 2.0], requires_grad=True)


def _after_backward(prepare: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A non-leaf y, prepared (or not) before a backward through it."""

    def case(lib: Any) -> Any:
        y = _leaf(lib) * 2
        prepare(y)
        (y * y).sum().backward()
        return y

    return case


def _with_grad_set(lib: Any) -> Any:
    y = _leaf(lib) * 2
    y.grad = lib.ones(2)
    return y


def _retaining(t: Any) -> Any:
    t.retain_grad()
    return t


def _leaf_after_backward(lib: Any) -> Any:
    x = _leaf(lib)
    (x * x).sum().backward()
    return x


# name: the tensor whose .grad is read
GRAD_READS: dict[str, Callable[[Any], Any]] = {
    "a non-leaf": lambda lib: _leaf(lib) * 2,
    "a non-leaf, after backward": _after_backward(lambda y: None),
    "a non-leaf that retains grad, before backward": lambda lib: _retaining(_leaf(lib) * 2),
    "a non-leaf that retains grad, after backward": _after_backward(lambda y: y.retain_grad()),
    "a non-leaf whose .grad was set": _with_grad_set,
    "a leaf that requires grad": _leaf,
    "a leaf that requires grad, after backward": _leaf_after_backward,
    "a tensor outside the graph": lambda lib: _leaf(lib).detach() * 2,
}


def _warnings_of(read: Callable[[], Any]) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read()
    return [w for w in caught if NOT_A_LEAF in str(w.message)]


@pytest.mark.parametrize("case", GRAD_READS)
def test_reading_the_grad_of_a_non_leaf_warns_where_torch_warns(case):
    theirs_tensor, ours_tensor = GRAD_READS[case](torch), GRAD_READS[case](mg)
    theirs = _warnings_of(lambda: theirs_tensor.grad)
    ours = _warnings_of(lambda: ours_tensor.grad)
    assert len(ours) == len(theirs), (
        f"{case}: torch warned {len(theirs)} times, minigrad {len(ours)}"
    )
    for mine, reference in zip(ours, theirs):
        assert str(reference.message).startswith(str(mine.message))  # torch adds a link
        assert mine.filename == __file__  # the line that read .grad, not minigrad's


def test_float_of_a_tensor_in_the_graph_warns_once(monkeypatch):
    monkeypatch.setattr(mg.errors, "_given_once", set())
    y = _leaf(mg).sum() * 2
    with mg.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(y) == 6.0  # no graph is recorded here: nothing to warn about
        assert float(y.detach()) == 6.0
    with pytest.warns(UserWarning, match="Converting a tensor with requires_grad=True") as caught:
        float(y)
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        float(y)  # once, as torch's (TORCH_WARN_ONCE)
        assert isinstance(y.item(), float) and int(y) == 6  # these never warn, in torch either


@pytest.mark.parametrize("lib", [torch, mg], ids=["torch", "minigrad"])
def test_tensor_of_a_tensor_warns_and_copies(lib):
    source = _leaf(lib)
    with pytest.warns(UserWarning, match=r"recommended to use sourceTensor\.detach\(\)\.clone\(\)"):
        copy = lib.tensor(source)
    assert not copy.requires_grad and copy.grad_fn is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lib.tensor([1.0, 2.0])
        lib.as_tensor(source)


def test_tensor_of_a_torch_tensor_is_foreign_data_and_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        copy = mg.tensor(torch.ones(2, requires_grad=True))
    assert isinstance(copy, mg.Tensor) and not copy.requires_grad


def test_T_of_other_than_a_matrix_warns_once_each_as_torch(monkeypatch):
    """torch's two warnings for `.T` (0-d, and any number of dims but 2), each once a process."""
    monkeypatch.setattr(mg.errors, "_given_once", set())

    def warned(make: Callable[[], Any], shape: tuple[int, ...]) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert make().T.shape == shape
        assert {w.filename for w in caught} <= {__file__}
        return [str(w.message)[:40] for w in caught]

    assert warned(lambda: mg.ones(2, 3), (3, 2)) == []
    assert warned(lambda: mg.ones(3), (3,)) == ["The use of `x.T` on tensors of dimension"]
    assert warned(lambda: mg.ones(2, 3, 4), (4, 3, 2)) == []  # (once)
    assert warned(lambda: mg.tensor(1.0), ()) == ["Tensor.T is deprecated on 0-D tensors. T"]
    assert warned(lambda: mg.tensor(2.0), ()) == []


# the old names without the underscore: (arguments after the tensor, the tensor's shape)
DEPRECATED_INITS = {
    "uniform": ((), (3, 4)),
    "normal": ((), (3, 4)),
    "constant": ((0.5,), (3, 4)),
    "eye": ((), (3, 4)),
    "dirac": ((), (4, 2, 3)),
    "xavier_uniform": ((), (3, 4)),
    "xavier_normal": ((), (3, 4)),
    "kaiming_uniform": ((), (3, 4)),
    "kaiming_normal": ((), (3, 4)),
    "orthogonal": ((), (3, 4)),
    "sparse": ((0.5,), (3, 4)),
}


@pytest.mark.parametrize("name", DEPRECATED_INITS)
def test_init_s_old_names_draw_torch_s_numbers_and_warn_as_torch(name):
    args, shape = DEPRECATED_INITS[name]
    drawn = []
    for lib in (torch, mg):
        lib.manual_seed(0)
        tensor = lib.empty(shape, device="cpu")  # (the CPU's random numbers, on both sides)
        with pytest.warns(FutureWarning) as caught:
            getattr(lib.nn.init, name)(tensor, *args)
        message = f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`."
        assert [str(w.message) for w in caught] == [message]
        assert caught[0].filename == __file__
        drawn.append(torch.as_tensor(tensor.detach().numpy()))
    assert torch.equal(*drawn)


def test_clip_grad_norm_the_old_name_clips_and_warns_as_torch():
    norms = []
    for lib in (torch, mg):
        p = lib.nn.Parameter(lib.tensor([3.0, 4.0]))
        (p * p).sum().backward()
        with pytest.warns(FutureWarning, match=r"clip_grad_norm` is now deprecated") as caught:
            norms.append(float(lib.nn.utils.clip_grad_norm([p], 1.0)))
        assert caught[0].filename == __file__
        assert float(p.grad.norm()) == pytest.approx(1.0, rel=1e-5)
    assert norms == [10.0, 10.0]


@pytest.mark.parametrize("args", [(1, 4), (0, 1, 0.25), (-2, 2, 0.5), (5, 1, -2)])
def test_range_includes_its_end_and_warns_as_torch_s(args):
    """torch.range, deprecated for arange (which leaves the end out): older code still calls
    it. The same numbers and dtype, and torch's warning, at the caller's line."""
    with pytest.warns(UserWarning, match="torch.range is deprecated") as theirs:
        expected = torch.range(*args)
    with pytest.warns(UserWarning, match="torch.range is deprecated") as ours:
        got = mg.range(*args)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert ours[0].filename == __file__
    assert got.dtype == expected.dtype and torch.equal(got._data, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (said above)
        doubles = mg.range(*args, dtype=mg.float64)._data, torch.range(*args, dtype=torch.float64)
    assert torch.equal(*doubles)
