"""An op of your own in a dozen lines, proven correct with minigrad.testing.

Softplus(x) = log(1 + e^x) = log(e^x + e^0), computed without overflow by logaddexp; its
derivative is e^x / (1 + e^x) = sigmoid(x).
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
        return torch.logaddexp(x, torch.zeros_like(x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * torch.sigmoid(x)


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
        return torch.sigmoid(x)  # wrong: forgets to multiply by the incoming gradient


def test_a_backward_that_ignores_its_gradient_fails_both_checks():
    x = np.linspace(-3, 3, 6).reshape(2, 3)
    with pytest.raises(AssertionError, match="gradient of argument 0"):
        assert_matches_torch(SoftplusIgnoringItsGradient.apply, torch.nn.functional.softplus, x)
    with pytest.raises(AssertionError, match="argument 0"):
        gradcheck(SoftplusIgnoringItsGradient.apply, x)
