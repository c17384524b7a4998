"""The warnings torch gives a learner, minigrad gives too: in torch's words (so that a search for
them finds the same answers), at the line of the learner's code that caused them.

- `.grad` of a tensor that is not a leaf, read when it holds nothing: the classic surprise of
  `h.grad` being None after `loss.backward()` (retain_grad() is the way to keep it);
- `float(t)` of a tensor in the graph (once per process, as torch's): the number has no history;
- `tensor(t)` of a tensor: a copy, out of the graph, better written `t.detach().clone()`. (A
  torch tensor given to minigrad.tensor is foreign data, as a NumPy array is to torch.tensor:
  no warning.)
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch

import minigrad as mg

NOT_A_LEAF = "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"


def _leaf(lib: Any) -> Any:
    return lib.tensor([1.0, 2.0], requires_grad=True)


def _backward_then(pick: Callable[[Any, Any], Any]) -> Callable[[Any], Any]:
    def case(lib: Any) -> Any:
        x = _leaf(lib)
        y = x * 2
        pick(x, y)
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
    "a non-leaf, after backward": _backward_then(lambda x, y: None),
    "a non-leaf that retains grad, before backward": lambda lib: _retaining(_leaf(lib) * 2),
    "a non-leaf that retains grad, after backward": _backward_then(lambda x, y: y.retain_grad()),
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
    tensor_module = sys.modules["minigrad.tensor"]  # (minigrad.tensor is the function)
    monkeypatch.setattr(tensor_module, "_warned_number_out_of_graph", False)
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
