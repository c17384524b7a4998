"""linalg.matrix_exp (and x.matrix_exp(), minigrad.matrix_exp) against torch in float64 over
matrices Hypothesis draws: values, gradients and second derivatives (the gradient is one more
matrix exponential, of a block matrix twice the size); and what e^A must be: e^(skew) is a
rotation, e^(diagonal) the exponentials of the diagonal."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.errors import ShapeError
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

RTOL, ATOL = 1e-7, 1e-9

matrices = st.tuples(st.lists(st.integers(1, 3), max_size=2), st.integers(1, 4)).flatmap(
    lambda batch_n: mst.float_arrays((*batch_n[0], batch_n[1], batch_n[1]), -1.5, 1.5)
)


@given(matrices, st.sampled_from([1, 2]))
def test_matrix_exp_and_its_derivatives_match_torch(A, order):
    assert_matches_torch(
        mg.linalg.matrix_exp, torch.linalg.matrix_exp, A, rtol=RTOL, atol=ATOL, order=order
    )
    assert_matches_torch(
        lambda t: t.matrix_exp(), torch.matrix_exp, A, rtol=RTOL, atol=ATOL, name="x.matrix_exp()"
    )


@given(matrices)
def test_the_exponential_of_a_skew_matrix_is_a_rotation(A):
    skew = mg.tensor(A - np.swapaxes(A, -1, -2))
    Q = mg.matrix_exp(skew)._data
    eye = torch.eye(A.shape[-1], dtype=torch.float64).expand(Q.shape)
    torch.testing.assert_close(Q @ Q.mT, eye, rtol=0, atol=1e-10)
    diagonal = torch.diag_embed(torch.as_tensor(A).diagonal(dim1=-2, dim2=-1))
    exp_diagonal = mg.matrix_exp(mg.Tensor(diagonal))._data
    expected = torch.diag_embed(torch.as_tensor(A).diagonal(dim1=-2, dim2=-1).exp())
    # to torch's kernel's own accuracy (a Taylor polynomial whose degree it picks from the
    # norm: measured up to 2.4e-10 relative over 2,000 random diagonals in [-1.5, 1.5])
    torch.testing.assert_close(exp_diagonal, expected, rtol=1e-9, atol=1e-12)


def test_a_matrix_that_is_not_square_is_refused():
    with pytest.raises(ShapeError, match="matrix_exp takes square matrices"):
        mg.linalg.matrix_exp(mg.zeros(2, 3))
