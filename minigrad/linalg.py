"""minigrad.linalg: torch.linalg's most used functions, under torch's names and signatures.

Most are compositions of ops minigrad already has, so their gradients come for free: a norm is
abs, sum, pow and amax; a matrix power is matmuls. Nine need an op of their own, whose gradient
is derived in its docstring (ops/matmul.py): det, slogdet, inv, solve, cholesky, eigh, svd,
pinv and qr. lstsq is pinv's; the norms of singular values ('nuc', 2) and cond are built on
svd; matrix_rank, a count, has no gradient. Every function takes a batch of matrices
(..., n, n) as torch's do: the last two dims are the matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from . import ops, return_types
from .errors import ShapeError, shape_str
from .ops.matmul import needs_square_matrices
from .tensor import Tensor

__all__ = [
    "cholesky",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_exp",
    "matrix_rank",
    "matrix_norm",
    "matrix_power",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vecdot",
    "vector_norm",
]

# The orders matrix_norm has: each maps to (the dim summed over, then the reduction across).
MATRIX_ORDERS = ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)


def vector_norm(
    x: Tensor,
    ord: float = 2,  # noqa: A002  (torch's name)
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    *,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """(sum of |x_i|^ord)^(1/ord) over dim (every element when dim is None): ord 2 the
    Euclidean length, 1 the sum of |x|, inf the largest |x|, -inf the smallest, 0 the count of
    nonzeros. x is a flat list of numbers here, whatever its shape (matrix_norm for matrices)."""
    if isinstance(ord, str) or not isinstance(ord, (int, float)):
        raise TypeError(
            f"linalg.vector_norm: ord={ord!r}, but a vector norm's ord is a number (2, 1, inf, "
            "0.5...). 'fro' and 'nuc' are matrix norms: linalg.matrix_norm(A, ord=...)."
        )
    return x.norm(float(ord), dim=_dims(dim), keepdim=keepdim, dtype=dtype)


def matrix_norm(
    A: Tensor,
    ord: float | str = "fro",  # noqa: A002
    dim: tuple[int, int] = (-2, -1),
    keepdim: bool = False,
    *,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """A norm of each matrix over the two dims `dim` = (rows, columns):
    'fro' sqrt(sum of A_ij^2);  inf the largest row sum of |A|;  1 the largest column sum of |A|;
    -inf and -1 the smallest of those; 'nuc' the sum of the singular values, 2 the largest,
    -2 the smallest."""
    if dtype is not None:
        A = A.to(dtype)
    rows, columns = _matrix_dims(A, ord, dim)
    if ord == "fro":
        return A.norm(2.0, dim=(rows, columns), keepdim=keepdim)
    if ord in ("nuc", 2, -2):  # the singular values of the matrices moved to the last two dims
        S = svdvals(A.movedim((rows, columns), (-2, -1)))
        out = S.sum(-1) if ord == "nuc" else S.amax(-1) if ord == 2 else S.amin(-1)
        if keepdim:  # the two dims back, as size 1, where they were
            for d in sorted((rows, columns)):
                out = out.unsqueeze(d)
        return out
    # inf: sum |A| along each row (over the columns), then the largest; 1: the other way round
    along, across = (columns, rows) if abs(ord) == math.inf else (rows, columns)
    sums = A.abs().sum(along, keepdim=True)
    # across both dims (one of size 1 now), so that keepdim=False drops both
    if ord > 0:
        return sums.amax((rows, columns), keepdim=keepdim)
    return sums.amin((rows, columns), keepdim=keepdim)


def norm(
    A: Tensor,
    ord: float | str | None = None,  # noqa: A002
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    *,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """A vector norm or a matrix norm, picked as torch does: dim an int (or a 1-tuple), a vector
    norm; dim a pair, a matrix norm; no dim: with no ord the 2-norm of all of A flattened,
    with an ord a vector norm of a 1-D A or a matrix norm of a 2-D one."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        raise ShapeError(
            f"linalg.norm: dim={dim} names {len(dims)} dims; a norm is over 1 dim (a vector "
            "norm) or 2 (a matrix norm). For more, use linalg.vector_norm, which takes any dims."
        )
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise ShapeError(
        f"linalg.norm(ord={ord!r}) without dim: A of shape {shape_str(A.shape)} has {A.ndim} "
        "dims, but with an ord and no dim A must be 1-D (a vector norm) or 2-D (a matrix norm). "
        "Give dim= (one dim or two)."
    )


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix of A (..., n, n): a tensor of shape (...)."""
    return ops.Det.apply(A)


def slogdet(A: Tensor) -> return_types.linalg_slogdet:
    """(sign, logabsdet): det(A) = sign * exp(logabsdet), without det's overflow."""
    sign, logabsdet = ops.SlogDet.apply(A)
    return return_types.linalg_slogdet(sign, logabsdet)


def matrix_exp(A: Tensor) -> Tensor:
    """e^A = I + A + A^2/2! + ... of each square matrix of A (..., n, n)."""
    return ops.MatrixExp.apply(A)


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix of A: A @ inv(A) is the identity."""
    return ops.Inv.apply(A)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (left=True) or X A = B (left=False), without forming A's inverse.

    B is a batch of matrices (..., n, k), or of vectors (..., n) when it is 1-D or has A's
    shape less its last dim (torch's rule); batch dims broadcast."""
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if not left:  # X A = B is A^T X^T = B^T
        if vector:  # torch refuses B that its rule reads as vectors, with left=False
            raise ShapeError(
                f"linalg.solve(left=False): B of shape {shape_str(B.shape)} reads as a vector "
                f"(1-D, or A's shape {shape_str(A.shape)} less its last dim), but X A = B "
                "takes a matrix B (..., k, n); for vectors, B / A is what torch suggests."
            )
        return ops.Solve.apply(A.mT, B.mT).mT
    if vector:  # a column: (..., n) -> (..., n, 1) and back
        return ops.Solve.apply(A, B.unsqueeze(-1)).squeeze(-1)
    return ops.Solve.apply(A, B)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L, lower triangular, with A = L L^T, for a symmetric positive-definite A (upper=True:
    U = L^T, with A = U^T U)."""
    L = ops.Cholesky.apply(A)
    return L.mT if upper else L


def eigh(A: Tensor, UPLO: str = "L") -> return_types.linalg_eigh:  # noqa: N803  (torch's)
    """(eigenvalues, eigenvectors) of a symmetric A: w ascending, V's columns unit vectors,
    A = V diag(w) V^T. UPLO says which triangle of A is read ('L' lower, 'U' upper)."""
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO={UPLO!r}; it is 'L' (the lower triangle) or 'U'.")
    w, V = ops.Eigh.apply(A, UPLO=UPLO)
    return return_types.linalg_eigh(w, V)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """The eigenvalues of a symmetric A, ascending: eigh's first half."""
    return eigh(A, UPLO).eigenvalues


def matrix_rank(
    A: Tensor,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    hermitian: bool = False,
) -> Tensor:
    """How many singular values of A exceed max(atol, rtol * the largest): an integer count,
    with no gradient (a small change of A does not change it)."""
    data = torch.linalg.matrix_rank(A._data, atol=atol, rtol=rtol, hermitian=hermitian)
    return Tensor(data)


def svd(A: Tensor, full_matrices: bool = True) -> return_types.linalg_svd:
    """(U, S, Vh) with A = U diag(S) Vh: U's columns and Vh's rows orthonormal, S >= 0 descending.

    minigrad computes the reduced SVD (full_matrices=False: U (m, k), Vh (k, n), k = min(m, n));
    for a square A both are the same. The full one of a non-square A adds columns that no
    gradient reaches (torch refuses their gradient too): ask for full_matrices=False."""
    if full_matrices and A.ndim >= 2 and A.shape[-1] != A.shape[-2]:
        raise NotImplementedError(
            f"linalg.svd(full_matrices=True) of A of shape {shape_str(A.shape)}: minigrad has the "
            "reduced SVD only (the extra columns of the full U or Vh have no gradient); pass "
            "full_matrices=False."
        )
    U, S, Vh = ops.Svd.apply(A)
    return return_types.linalg_svd(U, S, Vh)


def svdvals(A: Tensor) -> Tensor:
    """The singular values of A, descending: svd's S. dL/dA = U diag(G) Vh."""
    return svd(A, full_matrices=False).S


def cond(A: Tensor, p: float | str | None = None) -> Tensor:
    """How much A can stretch an error: norm(A) * norm(A^{-1}) in the norm p. p None or 2:
    the largest singular value over the smallest (-2: the smallest over the largest)."""
    if p in (None, 2, -2):
        S = svdvals(A)
        largest, smallest = S[..., 0], S[..., -1]
        return largest / smallest if p != -2 else smallest / largest
    if p not in MATRIX_ORDERS:
        raise ValueError(
            f"linalg.cond: p={p!r}; it is None, 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2."
        )
    problem = needs_square_matrices("cond", A)
    if problem:
        raise ShapeError(problem)
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def pinv(
    A: Tensor,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    hermitian: bool = False,
) -> Tensor:
    """The pseudo-inverse V diag(1/S) U^T, from the SVD: the singular values above
    max(atol, rtol * the largest) kept (rtol by default max(m, n) * the dtype's eps, as torch),
    the others counted as 0. For a full-rank square A, inv(A); A^+ b is the least-squares
    solution of A x = b."""
    return ops.Pinv.apply(A, atol=atol, rtol=rtol, hermitian=hermitian)


def qr(A: Tensor, mode: str = "reduced") -> return_types.linalg_qr:
    """(Q, R) with A = Q R: Q's columns orthonormal, R upper triangular. minigrad has the
    gradient where torch has it simply, for A (..., m, n) with m >= n ('reduced'; 'complete'
    is the same there only when m == n)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(
            f"linalg.qr: mode={mode!r}; minigrad has 'reduced' (Q (m, k), R (k, n)) and "
            "'complete' (Q (m, m)); 'r' (R alone, no gradient in torch) is not here."
        )
    if A.ndim >= 2 and A.shape[-2] < A.shape[-1]:
        raise NotImplementedError(
            f"linalg.qr of A of shape {shape_str(A.shape)}: minigrad's qr takes m >= n (at "
            "least as many rows as columns); for a wide A, qr(A.mT) gives the QR of A^T."
        )
    if mode == "complete" and A.ndim >= 2 and A.shape[-2] != A.shape[-1]:
        raise NotImplementedError(
            f"linalg.qr(mode='complete') of A of shape {shape_str(A.shape)}: the extra columns of "
            "Q have no gradient (torch refuses it too); use mode='reduced'."
        )
    Q, R = ops.Qr.apply(A, mode=mode)
    return return_types.linalg_qr(Q, R)


def lstsq(
    A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None
) -> return_types.linalg_lstsq:
    """The X that makes ||A X - B|| smallest: X = A^+ B (pinv), for A (..., m, n) and B
    (..., m, k), or vectors (..., m). Its gradient is pinv's and matmul's, as torch's.

    residuals (the squared lengths of the columns of A X - B), rank and singular_values are
    given where torch's driver gives them (empty otherwise): the residuals computed from X, so
    they have a gradient; rank and singular_values are torch's numbers, with none."""
    try:  # torch's checks, and the rank and singular values its driver gives
        reference = torch.linalg.lstsq(A._data, _data(B), rcond, driver=driver)
    except RuntimeError as error:
        if A.ndim < 2 or B.ndim < 1 or A.shape[-2] != B.shape[-1 if B.ndim == A.ndim - 1 else -2]:
            raise ShapeError(
                f"linalg.lstsq: A of shape {shape_str(A.shape)} and B of shape "
                f"{shape_str(B.shape)}: A is (..., m, n) and B (..., m, k) or (..., m), the same "
                "m (one row of B per equation, a row of A)."
            ) from error
        raise
    vector = B.ndim == A.ndim - 1
    X = pinv(A, rtol=rcond) @ (B.unsqueeze(-1) if vector else B)
    residuals = Tensor(reference.residuals)
    if reference.residuals.numel():  # torch gives them (m > n, full rank, not gelsy); a
        # vector B keeps its one column here, as torch's
        residuals = ((A @ X - (B.unsqueeze(-1) if vector else B)) ** 2).sum(-2)
    solution = X.squeeze(-1) if vector else X
    return return_types.linalg_lstsq(
        solution, residuals, Tensor(reference.rank), Tensor(reference.singular_values)
    )


def _data(x: Any) -> torch.Tensor:
    return x._data if isinstance(x, Tensor) else torch.as_tensor(x)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A @ A @ ... @ A, n times; n = 0 the identity, n < 0 the inverse's power (-n) times."""
    return A.matrix_power(n)


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """tensors[0] @ tensors[1] @ ... : the first may be a vector (a row), the last a vector (a
    column), the others matrices. (torch picks the cheapest order; the result is the same.)"""
    if len(tensors) < 2:
        raise ShapeError(
            f"linalg.multi_dot takes a list of at least 2 tensors, got {len(tensors)}; for one, "
            "the product is the tensor itself."
        )
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            where = "the first and last may be 1-D or 2-D" if len(tensors) > 2 else "1-D or 2-D"
            raise ShapeError(
                f"linalg.multi_dot: tensor {i} has shape {shape_str(t.shape)}; {where}, every "
                "other must be 2-D (no batch dims)."
            )
    out = tensors[0]
    for t in tensors[1:]:
        out = out @ t
    return out


def cross(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of the 3-vectors along dim (the last by default); other dims broadcast."""
    if x.ndim != y.ndim:
        raise ShapeError(
            f"linalg.cross: x of shape {shape_str(x.shape)} and y of shape "
            f"{shape_str(y.shape)} have different numbers of dims; torch's cross takes the same "
            "number (it broadcasts sizes, not ranks). Add dims with unsqueeze(0) first."
        )
    return x.cross(y, dim=dim)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of the vectors along dim: sum of x_i y_i (other dims broadcast)."""
    return (x * y).sum(dim)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal A[..., i, i + offset] of each matrix, as the last dim (torch.diagonal with
    linalg's default dims, the last two)."""
    return A.diagonal(offset, dim1, dim2)


def matmul(x: Tensor, y: Tensor) -> Tensor:
    """x @ y, the same as minigrad.matmul."""
    return x @ y


def _dims(dim: Any) -> Any:
    """dim as Norm takes it: None, an int, or a tuple."""
    return tuple(dim) if isinstance(dim, (list, tuple)) else dim


def _matrix_dims(A: Tensor, ord: Any, dim: Any) -> tuple[int, int]:  # noqa: A002
    """matrix_norm's checks, where torch makes them: the order, A's rank, the pair of dims.
    Returns the two dims made non-negative."""
    if ord not in MATRIX_ORDERS or isinstance(ord, bool):
        raise ValueError(
            f"linalg.matrix_norm: ord={ord!r} is not a matrix norm torch has; ord is one of "
            "'fro', 'nuc', inf, -inf, 1, -1, 2, -2. For a vector norm with another ord, "
            "linalg.vector_norm."
        )
    if A.ndim < 2:
        raise ShapeError(
            f"linalg.matrix_norm: A of shape {shape_str(A.shape)} has {A.ndim} dim(s); a matrix "
            "norm needs at least 2 (the matrix, over dim)."
        )
    dims = tuple(dim) if isinstance(dim, (list, tuple)) else (dim,)
    if len(dims) != 2:
        raise ShapeError(f"linalg.matrix_norm: dim={dim} must be a pair of dims (rows, columns).")
    rows, columns = (d + A.ndim if d < 0 else d for d in dims)
    if not (0 <= rows < A.ndim and 0 <= columns < A.ndim) or rows == columns:
        raise ShapeError(
            f"linalg.matrix_norm: dim={dim} for A of shape {shape_str(A.shape)}: two different "
            f"dims, each in [-{A.ndim}, {A.ndim - 1}], one for the rows and one for the columns."
        )
    return rows, columns
