"""minigrad.linalg against torch.linalg (float64, rtol 1e-10, atol 1e-12): values, gradients,
and for det, slogdet, inv, solve, cholesky, eigh, svd, pinv and qr second derivatives
(create_graph=True); every option (ord, dim, keepdim, left, upper, UPLO, driver, mode); batched
and not; and the errors for what torch refuses.

Square matrices are kept well-conditioned by construction, not by filtering: M + (n + 1) I with
M's entries in [-1, 1] is strictly diagonally dominant (each |diagonal| exceeds its row's other
|entries| by at least 1), so it is invertible with a modest condition number; a random sign on
each row then gives determinants of both signs. Symmetric and rectangular matrices are built
from their eigen- or singular values, drawn apart from each other and from 0 (see each strategy).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.errors import ShapeError
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

TOL = {"rtol": 1e-10, "atol": 1e-12}
F64 = torch.float64

batches = st.sampled_from([(), (1,), (2,), (3, 2)])


@st.composite
def square_matrices(draw: st.DrawFn, batch: tuple[int, ...] | None = None, n: int | None = None):
    """A (batch..., n, n), well-conditioned (see the module's docstring)."""
    batch = draw(batches) if batch is None else batch
    n = draw(st.integers(1, 4)) if n is None else n
    m = draw(mst.float_arrays((*batch, n, n), -1.0, 1.0))
    signs = draw(mst.float_arrays((*batch, n, 1), -1.0, 1.0).map(lambda s: np.where(s < 0, -1, 1)))
    return signs * (m + (n + 1) * np.eye(n))


def check(mg_fn, torch_fn, *arrays, order=1, name=None):
    assert_matches_torch(mg_fn, torch_fn, *arrays, order=order, name=name, **TOL)


# ---- det, slogdet, inv: values, gradients, second derivatives ----------------------------------


@settings(max_examples=15)
@given(A=square_matrices(), order=st.sampled_from([1, 2]))
def test_det_matches_torch(A, order):
    check(mg.linalg.det, torch.linalg.det, A, order=order, name="det")


@settings(max_examples=15)
@given(A=square_matrices(), order=st.sampled_from([1, 2]))
def test_slogdet_matches_torch(A, order):
    check(
        lambda a: mg.linalg.slogdet(a).logabsdet,
        lambda a: torch.linalg.slogdet(a).logabsdet,
        A,
        order=order,
        name="slogdet's logabsdet",
    )
    sign, _ = mg.linalg.slogdet(mg.tensor(A))
    assert torch.equal(sign._data, torch.linalg.slogdet(torch.tensor(A)).sign)
    assert not sign.requires_grad


def test_slogdet_sign_gets_no_gradient_and_is_a_named_pair():
    A = mg.tensor([[0.0, 2.0], [3.0, 1.0]], dtype=mg.float64, requires_grad=True)
    result = mg.linalg.slogdet(A)
    assert result.sign.item() == -1.0 and not result.sign.requires_grad
    assert math.isclose(result.logabsdet.item(), math.log(6.0))
    (result.sign * 5 + result.logabsdet).backward()
    assert torch.allclose(A.grad._data, torch.linalg.inv(A._data).mT)


@settings(max_examples=15)
@given(A=square_matrices(), order=st.sampled_from([1, 2]))
def test_inv_matches_torch(A, order):
    check(mg.linalg.inv, torch.linalg.inv, A, order=order, name="inv")


def test_inv_of_a_non_symmetric_matrix_needs_its_transposes():
    """A^{-T} G A^{-T}, not A^{-1} G A^{-1}: they differ unless A is symmetric."""
    A = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 4.0]])
    check(mg.linalg.inv, torch.linalg.inv, A, name="inv")
    check(mg.linalg.det, torch.linalg.det, A, name="det")


def test_torchs_older_names_det_and_inverse_are_the_same_ops():
    """torch.det(A), A.det(), torch.inverse(A), A.inverse(): linalg.det and linalg.inv."""
    A = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 4.0]])
    check(mg.det, torch.det, A, order=2, name="det")
    check(lambda a: a.det(), lambda a: a.det(), A, name="Tensor.det")
    check(mg.inverse, torch.inverse, A, order=2, name="inverse")
    check(lambda a: a.inverse(), lambda a: a.inverse(), A, name="Tensor.inverse")


# ---- solve ------------------------------------------------------------------------------------


@st.composite
def solve_operands(draw: st.DrawFn):
    """(A, B, left): B a batch of matrices (n, k) or (k, n) for left=False, or of vectors, with
    batch dims that broadcast against A's (missing, or 1)."""
    left = draw(st.booleans())
    batch = draw(batches)
    n, k = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    A = draw(square_matrices(batch, n))
    b_batch = draw(st.sampled_from([batch, batch[1:], tuple(1 for _ in batch)]))
    vector = left and draw(st.booleans())
    if vector:  # (n,) or A's shape less its last dim: torch's two vector cases
        shape = draw(st.sampled_from([(n,), (*batch, n)]))
    else:
        shape = (*b_batch, n, k) if left else (*b_batch, k, n)
    return A, draw(mst.float_arrays(shape, -3.0, 3.0)), left


@settings(max_examples=25)
@given(operands=solve_operands(), order=st.sampled_from([1, 2]))
@example(operands=(np.full((1, 1, 1), 2.0), np.array([0.5]), True), order=2)  # 1 x 1 systems:
@example(operands=(np.full((3, 1, 1), 2.0), np.array([0.5]), True), order=1)  # (found: seed 4242)
def test_solve_matches_torch(operands, order):
    A, B, left = operands
    if not left and B.shape == A.shape[:-1]:  # read as vectors: torch refuses them here
        raises_both(
            lambda: mg.linalg.solve(mg.tensor(A), mg.tensor(B), left=False),
            lambda: torch.linalg.solve(torch.tensor(A), torch.tensor(B), left=False),
            ShapeError,
            "reads as a vector",
        )
        return
    check(
        lambda a, b: mg.linalg.solve(a, b, left=left),
        lambda a, b: torch.linalg.solve(a, b, left=left),
        A,
        B,
        order=order,
        name=f"solve(left={left})",
    )


@pytest.mark.parametrize("left", [True, False])
def test_solve_of_a_non_symmetric_matrix(left):
    A = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 4.0]])
    B = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.0]])
    check(
        lambda a, b: mg.linalg.solve(a, b, left=left),
        lambda a, b: torch.linalg.solve(a, b, left=left),
        A,
        B if left else B.T,
        order=2,
    )


# ---- cholesky, eigh, eigvalsh, matrix_rank ---------------------------------------------------


@st.composite
def symmetric_matrices(draw: st.DrawFn, batch: tuple[int, ...] | None = None):
    """A = Q diag(s) Q^T (batch..., n, n), Q orthogonal (from a QR), eigenvalues s spread apart
    (k + a draw in [0.5, 1], k = 0, 1, ...) so that eigh's gradient (1 / (s_j - s_i)) is tame;
    a random sign per eigenvalue for eigh (positive ones for cholesky: see the tests)."""
    batch = draw(batches) if batch is None else batch
    n = draw(st.integers(1, 4))
    m = draw(mst.float_arrays((*batch, n, n), -1.0, 1.0)) + 3 * np.eye(n)  # invertible
    q, _ = np.linalg.qr(m)
    s = np.arange(n) + draw(mst.float_arrays((*batch, n), 0.5, 1.0))
    return (q * s[..., None, :]) @ np.swapaxes(q, -1, -2)


@settings(max_examples=15)
@given(A=symmetric_matrices(), order=st.sampled_from([1, 2]), upper=st.booleans())
def test_cholesky_matches_torch(A, order, upper):
    check(
        lambda a: mg.linalg.cholesky(a, upper=upper),
        lambda a: torch.linalg.cholesky(a, upper=upper),
        A,
        order=order,
        name="cholesky",
    )


@settings(max_examples=15)
@given(
    A=symmetric_matrices(),
    order=st.sampled_from([1, 2]),
    UPLO=st.sampled_from("LU"),
    shift=st.floats(-5.0, 0.0),
)
@pytest.mark.parametrize("which", ["eigenvalues", "eigenvectors"])
def test_eigh_matches_torch(which, A, order, UPLO, shift):
    A = A + shift * np.eye(A.shape[-1])  # negative eigenvalues too
    check(
        lambda a: getattr(mg.linalg.eigh(a, UPLO), which),
        lambda a: getattr(torch.linalg.eigh(a, UPLO), which),
        A,
        order=order,
        name=f"eigh's {which}",
    )
    if which == "eigenvalues":
        check(
            lambda a: mg.linalg.eigvalsh(a, UPLO),
            lambda a: torch.linalg.eigvalsh(a, UPLO),
            A,
            order=order,
            name="eigvalsh",
        )


def test_eigh_of_both_outputs_at_once_matches_torch():
    """A loss that uses both eigenvalues and eigenvectors: both gradients add up in A's."""
    A = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, -1.0]])
    A = np.stack([A, -2 * A[::-1, ::-1]])  # a batch of two
    check(
        lambda a: (lambda r: r.eigenvectors * r.eigenvalues.unsqueeze(-2))(mg.linalg.eigh(a)),
        lambda a: (lambda r: r.eigenvectors * r.eigenvalues.unsqueeze(-2))(torch.linalg.eigh(a)),
        A,
        order=2,
    )


@pytest.mark.parametrize("hermitian", [False, True])
def test_matrix_rank_counts_as_torch_with_no_gradient(hermitian):
    A = torch.tensor([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 3.0]]], dtype=F64)
    got = mg.linalg.matrix_rank(mg.Tensor(A, requires_grad=True), hermitian=hermitian)
    assert torch.equal(got._data, torch.linalg.matrix_rank(A, hermitian=hermitian))
    assert got.tolist() == [1, 2] and not got.requires_grad
    assert mg.linalg.matrix_rank(mg.Tensor(A), atol=2.5).tolist() == [1, 1]


def test_cholesky_refuses_what_is_not_positive_definite():
    A = torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=F64)  # eigenvalues 3 and -1
    raises_both(
        lambda: mg.linalg.cholesky(mg.Tensor(A)),
        lambda: torch.linalg.cholesky(A),
        torch.linalg.LinAlgError,
        r"cholesky: A of shape \(2, 2\) is not positive-definite",
        torch.linalg.LinAlgError,
    )
    raises_both(
        lambda: mg.linalg.cholesky(mg.ones(2, 3)),
        lambda: torch.linalg.cholesky(torch.ones(2, 3)),
        ShapeError,
        "takes square",
    )
    raises_both(
        lambda: mg.linalg.eigh(mg.ones(2, 3)),
        lambda: torch.linalg.eigh(torch.ones(2, 3)),
        ShapeError,
        "takes square",
    )


# ---- svd, svdvals, the norms of singular values, cond, pinv -------------------------------------


@st.composite
def spread_matrices(draw: st.DrawFn, square: bool = False):
    """A = U diag(s) V^T (batch..., m, n): U, V with orthonormal columns (from QRs), singular
    values s distinct and at least 0.5 apart and from 0 (k - i + a draw in [0.5, 1]), so that
    svd's gradient (1 / (s_k^2 - s_j^2), 1 / s) is tame."""
    batch = draw(batches)
    m = draw(st.integers(1, 4))
    n = m if square else draw(st.integers(1, 4))
    k = min(m, n)
    u, _ = np.linalg.qr(draw(mst.float_arrays((*batch, m, m), -1.0, 1.0)) + 3 * np.eye(m))
    v, _ = np.linalg.qr(draw(mst.float_arrays((*batch, n, n), -1.0, 1.0)) + 3 * np.eye(n))
    s = np.arange(k, 0, -1) + draw(mst.float_arrays((*batch, k), 0.5, 1.0))
    return (u[..., :k] * s[..., None, :]) @ np.swapaxes(v[..., :k], -1, -2)


@settings(max_examples=20)
@given(A=spread_matrices(), order=st.sampled_from([1, 2]))
@pytest.mark.parametrize("which", ["U", "S", "Vh"])
def test_svd_matches_torch(which, A, order):
    check(
        lambda a: getattr(mg.linalg.svd(a, full_matrices=False), which),
        lambda a: getattr(torch.linalg.svd(a, full_matrices=False), which),
        A,
        order=order,
        name=f"svd's {which}",
    )
    if which == "S":
        check(mg.linalg.svdvals, torch.linalg.svdvals, A, order=order, name="svdvals")


def test_svd_of_all_three_outputs_at_once_matches_torch():
    A = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, -1.0], [1.0, 0.0, 0.2]])
    for a in (A, A.T):

        def loss(svd, a):
            U, S, Vh = svd(a, full_matrices=False)
            return U @ (S.unsqueeze(-1) * Vh) + U.sum() * Vh.sum()

        check(lambda x: loss(mg.linalg.svd, x), lambda x: loss(torch.linalg.svd, x), a, order=2)


@settings(max_examples=20)
@given(data=st.data(), ord=st.sampled_from(["nuc", 2, -2]), keepdim=st.booleans())
def test_matrix_norms_of_singular_values_match_torch(data, ord, keepdim):
    A = data.draw(spread_matrices())
    ndim = A.ndim
    rows = data.draw(st.integers(-ndim, ndim - 1))
    columns = data.draw(st.integers(-ndim, ndim - 1).filter(lambda d: d % ndim != rows % ndim))
    # the spread matrices moved to the dims (rows, columns) the norm reads: the matrices read
    # over other dims could be singular, where these norms have no derivative
    A = np.moveaxis(A, (-2, -1), (rows, columns))
    check(
        lambda a: mg.linalg.matrix_norm(a, ord, (rows, columns), keepdim),
        lambda a: torch.linalg.matrix_norm(a, ord, (rows, columns), keepdim),
        A,
        name=f"matrix_norm(ord={ord}, dim={(rows, columns)}, keepdim={keepdim})",
    )


# torch's cond is not differentiable for these p (its backward finds a tensor changed in
# place): its values are compared as they are, the gradients with its formula, composed.
COND_BY_NORMS = ("fro", math.inf, -math.inf, 1, -1)


@settings(max_examples=20)
@given(data=st.data(), p=st.sampled_from([None, 2, -2, "nuc", *COND_BY_NORMS]))
def test_cond_matches_torch(data, p):
    A = data.draw(spread_matrices(square=p not in (None, 2, -2)))
    torch_fn = lambda a: torch.linalg.cond(a, p)  # noqa: E731
    if p in COND_BY_NORMS:
        with torch.no_grad():
            expected = torch.linalg.cond(torch.tensor(A), p)
        got = mg.linalg.cond(mg.tensor(A), p)._data
        assert torch.allclose(got, expected, **TOL)
        norm = torch.linalg.matrix_norm
        torch_fn = lambda a: norm(a, p) * norm(torch.linalg.inv(a), p)  # noqa: E731
    check(lambda a: mg.linalg.cond(a, p), torch_fn, A, name=f"cond({p})")


@settings(max_examples=20)
@given(A=spread_matrices(), order=st.sampled_from([1, 2]))
def test_pinv_matches_torch(A, order):
    check(mg.linalg.pinv, torch.linalg.pinv, A, order=order, name="pinv")


def test_pinv_drops_the_singular_values_under_the_cutoff_as_torch():
    A = np.array([[1.0, 2.0], [2.0, 4.0], [0.5, -1.0]])  # rank 2; with atol 2.5, rank 1
    check(mg.linalg.pinv, torch.linalg.pinv, A, name="pinv")
    check(
        lambda a: mg.linalg.pinv(a, atol=2.5),
        lambda a: torch.linalg.pinv(a, atol=2.5),
        A,
        name="pinv(atol=2.5)",
    )
    check(
        lambda a: mg.linalg.pinv(a, rtol=0.5),
        lambda a: torch.linalg.pinv(a, rtol=0.5),
        A,
        name="pinv(rtol=0.5)",
    )


def test_svd_full_matrices_of_a_non_square_matrix_is_refused_in_words():
    with pytest.raises(NotImplementedError, match="pass full_matrices=False"):
        mg.linalg.svd(mg.ones(3, 2))
    U, S, Vh = mg.linalg.svd(mg.eye(2) * 3)  # square: full and reduced are the same
    assert S.tolist() == [3.0, 3.0]


@st.composite
def tall_matrices(draw: st.DrawFn):
    """A (batch..., m, n), m >= n, with well-spread singular values (a tall spread_matrices)."""
    A = draw(spread_matrices())
    return A if A.shape[-2] >= A.shape[-1] else np.swapaxes(A, -1, -2)


@settings(max_examples=20)
@given(A=tall_matrices(), order=st.sampled_from([1, 2]))
@pytest.mark.parametrize("which", ["Q", "R"])
def test_qr_matches_torch(which, A, order):
    mode = "complete" if A.shape[-1] == A.shape[-2] else "reduced"
    check(
        lambda a: getattr(mg.linalg.qr(a, mode), which),
        lambda a: getattr(torch.linalg.qr(a, mode), which),
        A,
        order=order,
        name=f"qr's {which}",
    )


def test_qr_of_both_outputs_at_once_matches_torch():
    A = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, -1.0], [1.0, 0.0, 0.2]])

    def loss(qr, a):
        Q, R = qr(a)
        return Q @ R.exp() + Q.sum() * (Q @ R)

    check(lambda x: loss(mg.linalg.qr, x), lambda x: loss(torch.linalg.qr, x), A, order=2)


def test_qr_refuses_what_it_does_not_have_in_words():
    with pytest.raises(NotImplementedError, match=r"m >= n"):
        mg.linalg.qr(mg.ones(2, 3))
    with pytest.raises(NotImplementedError, match="use mode='reduced'"):
        mg.linalg.qr(mg.ones(3, 2), mode="complete")
    with pytest.raises(ValueError, match="mode='raw'"):
        mg.linalg.qr(mg.ones(3, 2), mode="raw")


@settings(max_examples=20)
@given(data=st.data(), driver=st.sampled_from([None, "gelsd", "gelss", "gelsy", "gels"]))
def test_lstsq_matches_torch(data, driver):
    A = data.draw(tall_matrices())  # full rank: m >= n, singular values >= 0.5
    m, k = A.shape[-2], data.draw(st.integers(1, 3))
    vector = data.draw(st.booleans())
    B = data.draw(mst.float_arrays((*A.shape[:-2], m) if vector else (*A.shape[:-2], m, k), -3, 3))
    for which in ("solution", "residuals"):
        check(
            lambda a, b, which=which: getattr(mg.linalg.lstsq(a, b, driver=driver), which),
            lambda a, b, which=which: getattr(torch.linalg.lstsq(a, b, driver=driver), which),
            A,
            B,
            name=f"lstsq's {which} (driver {driver})",
        )
    got = mg.linalg.lstsq(mg.tensor(A), mg.tensor(B), driver=driver)
    expected = torch.linalg.lstsq(torch.tensor(A), torch.tensor(B), driver=driver)
    assert torch.equal(got.rank._data, expected.rank)
    assert torch.allclose(got.singular_values._data, expected.singular_values, **TOL)


# ---- matrix_power, multi_dot, cross, vecdot, diagonal, matmul ---------------------------------


@settings(max_examples=20)
@given(A=square_matrices(), n=st.integers(-3, 4))
def test_matrix_power_matches_torch(A, n):
    check(
        lambda a: mg.linalg.matrix_power(a, n),
        lambda a: torch.linalg.matrix_power(a, n),
        A,
        name=f"matrix_power(A, {n})",
    )


@settings(max_examples=15)
@given(data=st.data(), count=st.integers(2, 4))
def test_multi_dot_matches_torch(data, count):
    sides = data.draw(st.lists(st.integers(1, 4), min_size=count + 1, max_size=count + 1))
    shapes = [(sides[i], sides[i + 1]) for i in range(count)]
    if data.draw(st.booleans()):
        shapes[0] = shapes[0][1:]  # a row vector first
    if data.draw(st.booleans()):
        shapes[-1] = shapes[-1][:1]  # a column vector last
    arrays = [data.draw(mst.float_arrays(s, -2.0, 2.0)) for s in shapes]
    check(
        lambda *t: mg.linalg.multi_dot(list(t)),
        lambda *t: torch.linalg.multi_dot(list(t)),
        *arrays,
        name="multi_dot",
    )


@settings(max_examples=15)
@given(data=st.data())
def test_cross_vecdot_diagonal_matmul_match_torch(data):
    shape = list(data.draw(mst.shapes(1, 3, max_side=4)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] = 3
    x = data.draw(mst.float_arrays(tuple(shape), -3.0, 3.0))
    y = data.draw(
        mst.float_arrays(
            tuple(
                1 if data.draw(st.booleans()) and i != dim % len(shape) else s
                for i, s in enumerate(shape)
            ),
            -3.0,
            3.0,
        )
    )
    check(
        lambda a, b: mg.linalg.cross(a, b, dim=dim),
        lambda a, b: torch.linalg.cross(a, b, dim=dim),
        x,
        y,
        name="cross",
    )
    check(
        lambda a, b: mg.linalg.vecdot(a, b, dim=dim),
        lambda a, b: torch.linalg.vecdot(a, b, dim=dim),
        x,
        y,
        name="vecdot",
    )
    if len(shape) >= 2:
        offset = data.draw(st.integers(-2, 2))
        check(
            lambda a: mg.linalg.diagonal(a, offset=offset),
            lambda a: torch.linalg.diagonal(a, offset=offset),
            x,
            name="diagonal",
        )
        check(
            lambda a: mg.linalg.diagonal(a, dim1=0, dim2=-1),
            lambda a: torch.linalg.diagonal(a, dim1=0, dim2=-1),
            x,
            name="diagonal",
        )
        check(mg.linalg.matmul, torch.linalg.matmul, x, x.swapaxes(-1, -2), name="matmul")


# ---- norms ------------------------------------------------------------------------------------


@settings(max_examples=40)
@given(
    data=st.data(),
    ord=st.sampled_from([2, 1, 3, 0.5, math.inf, -math.inf, 0]),
    keepdim=st.booleans(),
)
def test_vector_norm_matches_torch(data, ord, keepdim):
    shape = data.draw(mst.shapes(1, 3, max_side=4))
    dim = data.draw(
        st.one_of(
            st.none(),
            st.integers(-len(shape), len(shape) - 1),
            st.lists(
                st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True
            ).map(tuple),
        )
    )
    # off 0 by 0.25: |x| has a kink there, and p < 1 has no slope at 0 (both tested below)
    x = data.draw(mst.float_arrays(shape, 0.25, 3.0)) * data.draw(
        mst.float_arrays(shape, -1.0, 1.0).map(lambda s: np.where(s < 0, -1.0, 1.0))
    )
    check(
        lambda a: mg.linalg.vector_norm(a, ord, dim, keepdim),
        lambda a: torch.linalg.vector_norm(a, ord, dim, keepdim),
        x,
        name=f"vector_norm(ord={ord}, dim={dim}, keepdim={keepdim})",
    )


@pytest.mark.parametrize("ord", [2, 1, math.inf, -math.inf])
def test_vector_norm_at_zeros_and_ties_matches_torch(ord):
    x = np.array([[0.0, 2.0, -2.0], [1.0, 0.0, 0.0]])
    check(
        lambda a: mg.linalg.vector_norm(a, ord, 1),
        lambda a: torch.linalg.vector_norm(a, ord, 1),
        x,
        name=f"vector_norm(ord={ord})",
    )


def test_vector_norm_dtype_casts_first():
    x = mg.tensor([3.0, 4.0])
    out = mg.linalg.vector_norm(x, dtype=mg.float64)
    assert out.dtype == torch.float64 == torch.linalg.vector_norm(x._data, dtype=F64).dtype
    assert out.item() == 5.0


@settings(max_examples=40)
@given(
    data=st.data(), ord=st.sampled_from(["fro", math.inf, -math.inf, 1, -1]), keepdim=st.booleans()
)
def test_matrix_norm_matches_torch(data, ord, keepdim):
    shape = data.draw(mst.shapes(2, 4, max_side=4))
    ndim = len(shape)
    rows = data.draw(st.integers(-ndim, ndim - 1))
    columns = data.draw(st.integers(-ndim, ndim - 1).filter(lambda d: d % ndim != rows % ndim))
    x = data.draw(mst.distinct_arrays(shape, -3.0, 3.0))  # no ties for the largest row sum
    check(
        lambda a: mg.linalg.matrix_norm(a, ord, (rows, columns), keepdim),
        lambda a: torch.linalg.matrix_norm(a, ord, (rows, columns), keepdim),
        x,
        name=f"matrix_norm(ord={ord}, dim={(rows, columns)}, keepdim={keepdim})",
    )


@pytest.mark.parametrize("ord", [math.inf, -math.inf, 1, -1])
def test_matrix_norm_with_tied_row_sums_shares_the_gradient_as_torch(ord):
    x = np.array([[1.0, -2.0], [3.0, 0.0], [-1.5, 1.5]])  # row sums 3, 3, 3; column sums 5.5, 3.5
    check(
        lambda a: mg.linalg.matrix_norm(a, ord),
        lambda a: torch.linalg.matrix_norm(a, ord),
        x,
        name=f"matrix_norm(ord={ord})",
    )


@pytest.mark.parametrize(
    ("ord", "dim", "shape"),
    [
        (None, None, (2, 3, 4)),  # every element, flattened
        (None, 1, (2, 3, 4)),
        (3, (0, 2), (2, 3, 4)),  # a pair of dims: a matrix norm... with ord 3, refused below
        (1, None, (5,)),
        (math.inf, None, (3, 4)),  # 2-D, an ord: a matrix norm
        ("fro", (0, 1), (3, 4)),
        (-1, (1, -1), (2, 3, 4)),
        (0.5, (2,), (2, 3, 4)),
    ],
)
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm_dispatches_as_torch(ord, dim, shape, keepdim):
    x = np.linspace(-2.0, 3.0, math.prod(shape)).reshape(shape)[..., ::-1] ** 3
    if ord == 3 and dim == (0, 2):
        with pytest.raises(ValueError, match="ord=3 is not a matrix norm"):
            mg.linalg.norm(mg.tensor(x), ord, dim, keepdim)
        with pytest.raises(RuntimeError):
            torch.linalg.norm(torch.tensor(x), ord, dim, keepdim)
        return
    check(
        lambda a: mg.linalg.norm(a, ord, dim, keepdim),
        lambda a: torch.linalg.norm(a, ord, dim, keepdim),
        x.copy(),
        name=f"norm(ord={ord}, dim={dim}, keepdim={keepdim})",
    )


# ---- errors in minigrad's words, where torch raises -------------------------------------------


def raises_both(mg_call, torch_call, error, match, torch_error=RuntimeError):
    with pytest.raises(torch_error):
        torch_call()
    with pytest.raises(error, match=match):
        mg_call()


@pytest.mark.parametrize("name", ["det", "slogdet", "inv"])
def test_non_square_matrices_are_refused(name):
    A = torch.ones(2, 2, 3, dtype=F64)
    raises_both(
        lambda: getattr(mg.linalg, name)(mg.Tensor(A, requires_grad=True)),
        lambda: getattr(torch.linalg, name)(A),
        ShapeError,
        rf"A of shape \(2, 2, 3\) has 2 x 3 matrices; {name} takes square",
    )
    raises_both(
        lambda: getattr(mg.linalg, name)(mg.ones(3)),
        lambda: getattr(torch.linalg, name)(torch.ones(3)),
        ShapeError,
        r"shape \(3,\) has 1 dim",
    )


def test_matrix_power_refuses_a_non_square_matrix():
    raises_both(
        lambda: mg.linalg.matrix_power(mg.ones(2, 3), 2),
        lambda: torch.linalg.matrix_power(torch.ones(2, 3), 2),
        ShapeError,
        r"matrix_power: A of shape \(2, 3\) has 2 x 3 matrices",
    )


def test_singular_matrices_are_refused_as_torch_refuses_them():
    singular = torch.tensor([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 1.0]]], dtype=F64)
    LinAlgError = torch.linalg.LinAlgError
    raises_both(
        lambda: mg.linalg.inv(mg.Tensor(singular)),
        lambda: torch.linalg.inv(singular),
        LinAlgError,
        r"inv: A of shape \(2, 2, 2\) is singular",
        LinAlgError,
    )
    b = torch.ones(2, 2, dtype=F64)
    raises_both(
        lambda: mg.linalg.solve(mg.Tensor(singular), mg.Tensor(b)),
        lambda: torch.linalg.solve(singular, b),
        LinAlgError,
        r"solve: A of shape \(2, 2, 2\) is singular",
        LinAlgError,
    )
    assert mg.linalg.det(mg.Tensor(singular)).tolist() == [0.0, 1.0]  # det does not refuse


def test_solve_refuses_mismatched_shapes():
    A, B = torch.eye(2, dtype=F64), torch.ones(3, dtype=F64)
    raises_both(
        lambda: mg.linalg.solve(mg.Tensor(A), mg.Tensor(B)),
        lambda: torch.linalg.solve(A, B),
        ShapeError,
        r"A of shape \(2, 2\) and B of shape \(3, 1\): A X = B needs B's rows",
    )
    A, B = torch.eye(2, dtype=F64).expand(3, 2, 2), torch.ones(4, 2, 1, dtype=F64)
    raises_both(
        lambda: mg.linalg.solve(mg.Tensor(A), mg.Tensor(B)),
        lambda: torch.linalg.solve(A, B),
        ShapeError,
        r"batch dims \(3,\) and \(4,\) do not broadcast",
    )
    raises_both(
        lambda: mg.linalg.solve(mg.eye(2), mg.ones(2), left=False),
        lambda: torch.linalg.solve(torch.eye(2), torch.ones(2), left=False),
        ShapeError,
        r"left=False\): B of shape \(2,\) reads as a vector",
    )


def test_norms_refuse_what_torch_refuses():
    x = torch.ones(3, 3)
    raises_both(
        lambda: mg.linalg.vector_norm(mg.Tensor(x), "fro"),
        lambda: torch.linalg.vector_norm(x, "fro"),
        TypeError,
        "a vector norm's ord is a number",
        TypeError,
    )
    raises_both(
        lambda: mg.linalg.matrix_norm(mg.Tensor(x), 3),
        lambda: torch.linalg.matrix_norm(x, 3),
        ValueError,
        "ord=3 is not a matrix norm",
    )
    raises_both(
        lambda: mg.linalg.matrix_norm(mg.ones(3)),
        lambda: torch.linalg.matrix_norm(torch.ones(3)),
        ShapeError,
        r"shape \(3,\) has 1 dim",
    )
    raises_both(
        lambda: mg.linalg.matrix_norm(mg.Tensor(x), dim=(0, -2)),
        lambda: torch.linalg.matrix_norm(x, dim=(0, -2)),
        ShapeError,
        "two different dims",
    )
    raises_both(
        lambda: mg.linalg.norm(mg.ones(2, 2, 2), 1),
        lambda: torch.linalg.norm(torch.ones(2, 2, 2), 1),
        ShapeError,
        r"A of shape \(2, 2, 2\) has 3 dims, but with an ord and no dim",
    )


def test_lstsq_refuses_mismatched_rows():
    raises_both(
        lambda: mg.linalg.lstsq(mg.ones(4, 2), mg.ones(3, 1)),
        lambda: torch.linalg.lstsq(torch.ones(4, 2), torch.ones(3, 1)),
        ShapeError,
        r"A of shape \(4, 2\) and B of shape \(3, 1\): A is \(..., m, n\)",
    )


def test_multi_dot_and_cross_refuse_what_torch_refuses():
    raises_both(
        lambda: mg.linalg.multi_dot([mg.ones(2, 2)]),
        lambda: torch.linalg.multi_dot([torch.ones(2, 2)]),
        ShapeError,
        "at least 2",
    )
    raises_both(
        lambda: mg.linalg.multi_dot([mg.ones(2, 2), mg.ones(2), mg.ones(2, 2)]),
        lambda: torch.linalg.multi_dot([torch.ones(2, 2), torch.ones(2), torch.ones(2, 2)]),
        ShapeError,
        r"tensor 1 has shape \(2,\)",
    )
    raises_both(
        lambda: mg.linalg.cross(mg.ones(3), mg.ones(2, 3)),
        lambda: torch.linalg.cross(torch.ones(3), torch.ones(2, 3)),
        ShapeError,
        "different numbers of dims",
    )
