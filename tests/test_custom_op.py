"""An op of your own in a dozen lines, proven correct with minigrad.testing.

Softplus(x) = log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), which never overflows; its
derivative is e^x / (1 + e^x) = sigmoid(x). As torch's Functions, forward and backward get
minigrad Tensors and compute with minigrad's ops.
"""

import numpy as np
import pytest
import torch
from hypothesis import given

from minigrad import Function
from minigrad.testing import assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst


class Softplus(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0) + (-x.abs()).exp().log1p()  # e^x never overflows here

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sigmoid()


@given(x=mst.float_arrays(mst.shapes(), -20, 20))
def test_softplus_matches_torch(x):
    assert_matches_torch(Softplus.apply, torch.nn.functional.softplus, x)


@given(x=mst.float_arrays(mst.small_shapes(), -20, 20))
def test_softplus_passes_gradcheck(x):
    gradcheck(Softplus.apply, x)


# ---- the checks catch a wrong backward --------------------------------------------------------


class SoftplusIgnoringItsGradient(Softplus):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return x.sigmoid()  # wrong: forgets to multiply by the incoming gradient


def test_a_backward_that_ignores_its_gradient_fails_both_checks():
    x = np.linspace(-3, 3, 6).reshape(2, 3)
    with pytest.raises(AssertionError, match="gradient of argument 0"):
        assert_matches_torch(SoftplusIgnoringItsGradient.apply, torch.nn.functional.softplus, x)
    with pytest.raises(AssertionError, match="argument 0"):
        gradcheck(SoftplusIgnoringItsGradient.apply, x)
