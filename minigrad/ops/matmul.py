"""Matrix multiplication, with torch's rules for 1-D, 2-D and batched operands; nn.Linear's
fused x @ W^T + b; and the linear algebra of square matrices that minigrad.linalg builds on:
the determinant (det, slogdet), the inverse, and solving A X = B."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..autograd.function import Context, Op, ShownTranspose
from ..errors import dtype_mismatch, matmul_mismatch, shape_str
from ..tensor import Tensor
from .shape import Cat


class MatMul(Op):
    """out = a @ b.   dL/da = G @ b^T,  dL/db = a^T @ G  (G = dL/dout).

    Shapes check it: a (n, k) @ b (k, m) = out (n, m), so G (n, m) @ b^T (m, k) is a's (n, k).
    A 1-D operand is treated as a matrix with one row (a) or one column (b), then that dim is
    dropped again; batch dims broadcast, and the engine sums their gradient back.
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        """torch's, which depends on the operands' dims: matrix @ matrix is MmBackward0."""
        names = {
            (2, 2): "MmBackward0",
            (2, 1): "MvBackward0",
            (1, 1): "DotBackward0",
            (1, 2): "SqueezeBackward4",  # (torch makes the vector a row, then drops that dim)
        }
        return names.get((ctx.a_ndim, ctx.b_ndim), "UnsafeViewBackward0")  # (batched: reshaped)

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a_needs, b_needs = ctx.needs_input_grad
        ctx.save_for_backward(a if b_needs else None, b if a_needs else None)
        ctx.a_ndim, ctx.b_ndim = a.ndim, b.ndim
        return a @ b

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        # Give 1-D operands (and the dims they removed from grad) back their matrix dim.
        if ctx.b_ndim == 1:
            grad = grad.unsqueeze(-1)
            b = b.unsqueeze(-1) if b is not None else None
        if ctx.a_ndim == 1:
            grad = grad.unsqueeze(-2)
            a = a.unsqueeze(0) if a is not None else None
        grad_a = grad @ b.mT if a_needs else None
        grad_b = a.mT @ grad if b_needs else None
        if ctx.a_ndim == 1 and grad_a is not None:
            grad_a = grad_a.squeeze(-2)
        if ctx.b_ndim == 1 and grad_b is not None:
            grad_b = grad_b.squeeze(-1)
        return grad_a, grad_b

    @staticmethod
    def explain_failure(a: Any, b: Any) -> str | Exception | None:
        return dtype_mismatch(a, b) or matmul_mismatch(tuple(a.shape), tuple(b.shape))


class Linear(Op):
    """out = x @ W^T + b, what nn.Linear computes (W: (out_features, in_features), b: (out,)).

    The same maths as MatMul then Add, in torch's one fused kernel (addmm), as torch's nn.Linear:
    dL/dx = G @ W,   dL/dW = G^T @ x,   dL/db = G summed over the batch,
    where every batch dim of x and G is first flattened into rows.
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        """torch's: a batch of rows makes one addmm (mm without a bias), other inputs a view."""
        if ctx.x_ndim != 2:
            return "ViewBackward0"
        return "MmBackward0" if ctx.parents[2] is None else "AddmmBackward0"

    @staticmethod
    def shown_links(ctx: Context, links: tuple[tuple[Any, int], ...]) -> tuple[Any, ...]:
        """As torch's addmm shows them: the bias first (none for mm), then x, then the weight
        through its transpose (TBackward0), for a batch of rows; other inputs as they are."""
        if ctx.x_ndim != 2:
            return links
        x, weight, bias = links
        if weight[0] is not None:
            weight = (ShownTranspose(weight), 0)
        return (x, weight) if ctx.parents[2] is None else (bias, x, weight)

    @staticmethod
    def shown_gradients(ctx: Context, grads: tuple[Any, ...], back: bool = False) -> tuple:
        """In the order of shown_links: the bias's, x's, then the weight's transposed (the
        gradient of torch's weight.T); back=True: from that order to (x, weight, bias)."""
        if ctx.x_ndim != 2:
            return grads
        if back:
            bias, x, weight = (None, *grads) if ctx.parents[2] is None else grads
            return x, weight.mT if weight is not None else None, bias
        x, weight, bias = grads
        weight = weight.mT if weight is not None else None
        return (x, weight) if ctx.parents[2] is None else (bias, x, weight)

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        x_needs, weight_needs = ctx.needs_input_grad[:2]
        ctx.save_for_backward(x if weight_needs else None, weight if x_needs else None)
        ctx.x_ndim = x.ndim
        return torch.nn.functional.linear(x, weight, bias)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, weight = ctx.saved_tensors
        x_needs, weight_needs, *bias_needs = ctx.needs_input_grad  # bias: if one was given
        rows = _rows(grad)  # one row per example, whatever the batch dims
        grad_x = grad @ weight if x_needs else None
        grad_weight = rows.mT @ _rows(x) if weight_needs else None
        if not bias_needs:  # no bias argument
            return grad_x, grad_weight
        grad_bias = rows.sum(0) if bias_needs[0] else None
        return grad_x, grad_weight, grad_bias

    @staticmethod
    def explain_failure(x: Any, weight: Any, bias: Any = None) -> str | Exception | None:
        problem = dtype_mismatch(x, weight, "the input", "the layer's weight")
        if problem:
            return problem
        shapes = f"x of shape {shape_str(x.shape)} and weight of shape {shape_str(weight.shape)}"
        if bias is not None:
            shapes = shapes.replace(" and", ",") + f" and bias of shape {shape_str(bias.shape)}"
        return (
            f"{shapes}: x's last dim must equal the weight's in_features (its dim 1), and "
            "the bias must have out_features (the weight's dim 0) elements."
        )


class Det(Op):
    """out = det(A).   dL/dA = G det(A) A^{-T}  (G = dL/dout, A^{-T} the inverse transposed).

    Expanding det(A) along row i gives det(A) = sum over j of A[i, j] C[i, j], where the
    cofactor C[i, j] does not contain A[i, j]: so dout/dA[i, j] = C[i, j]. The cofactors,
    transposed, are the adjugate, and adj(A) = det(A) A^{-1}; so the whole matrix of slopes is
    C = det(A) A^{-T}, and dL/dA = G det(A) A^{-T}. A batch of matrices (..., n, n) gives a
    batch of determinants (...), each with its own G. The formula needs A invertible (where
    det(A) = 0, torch takes another route through the SVD; minigrad does not).
    """

    torch_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx: Context, A: torch.Tensor) -> torch.Tensor:
        out = torch.linalg.det(A)
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        A, out = ctx.saved_tensors
        scale = (grad * out).unsqueeze(-1).unsqueeze(-1)  # one number per matrix of the batch
        return scale * inverse(A).mT

    @staticmethod
    def explain_failure(A: Any) -> str | None:
        return needs_square_matrices("det", A)


class SlogDet(Op):
    """(sign, out) = (sign of det(A), log |det(A)|).   dL/dA = G A^{-T}; the sign has no gradient.

    log |det A| has derivative (1 / det A) ddet/dA = (1 / det A) det(A) A^{-T} = A^{-T} (Det's
    rule; the sign cancels out), so dL/dA = G A^{-T}. The sign is +1 or -1 (0 for a singular
    A), flat wherever it is defined: no gradient. Working with the log keeps a determinant
    that over- or underflows (det of a 500 x 500 matrix) in range.
    """

    torch_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx: Context, A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sign, logabsdet = torch.linalg.slogdet(A)
        ctx.save_for_backward(A)
        ctx.mark_non_differentiable(sign)
        return sign, logabsdet

    @staticmethod
    def backward(ctx: Context, grad_sign: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        (A,) = ctx.saved_tensors
        return grad.unsqueeze(-1).unsqueeze(-1) * inverse(A).mT

    @staticmethod
    def explain_failure(A: Any) -> str | None:
        return needs_square_matrices("slogdet", A)


class Inv(Op):
    """out = A^{-1}.   dL/dA = -A^{-T} G A^{-T}  (G = dL/dout).

    Differentiate A A^{-1} = I: dA A^{-1} + A d(A^{-1}) = 0, so d(A^{-1}) = -A^{-1} dA A^{-1}.
    Then dL = sum of G * d(A^{-1}) = -trace(G^T A^{-1} dA A^{-1}) = trace((-A^{-T} G A^{-T})^T dA),
    which reads off dL/dA = -A^{-T} G A^{-T}: out^T, G, out^T. Only the output is kept.
    """

    torch_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx: Context, A: torch.Tensor) -> torch.Tensor:
        out = torch.linalg.inv(A)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return -(out.mT @ grad @ out.mT)

    @staticmethod
    def explain_failure(A: Any) -> str | Exception | None:
        return needs_square_matrices("inv", A) or _singular("inv", "A", A)


class MatrixExp(Op):
    """out = e^A = I + A + A^2/2! + A^3/3! + ...   dL/dA = the top-right block of
    exp([[A^T, G], [0, A^T]]) (G = dL/dout).

    Each term A^k has slope sum over j of A^j dA A^(k-1-j), so dL/dA = sum over k of 1/k! sum
    over j of (A^T)^j G (A^T)^(k-1-j). That double sum is exactly what the top-right block of
    the exponential of the block matrix M = [[A^T, G], [0, A^T]] holds: M^k's top-right block
    is sum over j of (A^T)^j G (A^T)^(k-1-j) (Van Loan's trick). So the gradient is one more
    matrix exponential, of twice the size, and it differentiates again the same way.
    """

    torch_name = "LinalgMatrixExpBackward0"

    @staticmethod
    def forward(ctx: Context, A: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(A)
        return torch.linalg.matrix_exp(A)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (A,) = ctx.saved_tensors
        n = A.shape[-1]
        top = cat_last([A.mT, grad])
        bottom = cat_last([grad * 0, A.mT])
        block = cat_last([top, bottom], dim=-2)
        return matrix_exp(block)[..., :n, n:]

    @staticmethod
    def explain_failure(A: Any) -> str | None:
        return needs_square_matrices("matrix_exp", A)


def matrix_exp(A: Any) -> Any:
    """e^A: torch's on torch tensors (backward()), MatrixExp on Tensors (create_graph)."""
    return MatrixExp.apply(A) if isinstance(A, Tensor) else torch.linalg.matrix_exp(A)


def cat_last(parts: list[Any], dim: int = -1) -> Any:
    """torch.cat on torch tensors, minigrad's Cat on Tensors (so that create_graph records it)."""
    if any(isinstance(p, Tensor) for p in parts):
        return Cat.apply(*parts, dim=dim)
    return torch.cat(parts, dim=dim)


class Solve(Op):
    """X = A^{-1} B, the solution of A X = B.   dL/dB = A^{-T} G,  dL/dA = -(dL/dB) X^T.

    B = A X is a matmul, so differentiate it: dB = dA X + A dX, dX = A^{-1} (dB - dA X).
    dL = sum of G * dX = trace(G^T A^{-1} dB) - trace(G^T A^{-1} dA X). With
    dL/dB = A^{-T} G (itself a solve, with A^T: no inverse is formed), the first term is
    trace((dL/dB)^T dB) and the second trace((dL/dB X^T)^T dA): dL/dA = -(dL/dB) X^T, the
    outer-product shape of a matmul's gradient. Here B is a matrix (..., n, k); the batch
    dims of A and B broadcast, and the engine sums their gradients back.
    """

    torch_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx: Context, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        X = solved_for_matrices(A, B)
        ctx.save_for_backward(A, X if ctx.needs_input_grad[0] else None)
        return X

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        A, X = ctx.saved_tensors
        A_needs, B_needs = ctx.needs_input_grad
        grad_B = solve(A.mT, grad)
        grad_A = -(grad_B @ X.mT) if A_needs else None
        return grad_A, grad_B if B_needs else None

    @staticmethod
    def explain_failure(A: Any, B: Any) -> str | Exception | None:
        problem = needs_square_matrices("solve", A) or dtype_mismatch(A, B, "A", "B")
        if problem:
            return problem
        if B.ndim < 2 or B.shape[-2] != A.shape[-1]:
            return (
                f"solve: A of shape {shape_str(A.shape)} and B of shape {shape_str(B.shape)}: "
                f"A X = B needs B's rows (dim -2, {B.shape[-2] if B.ndim >= 2 else '-'}) to "
                f"match A's size n = {A.shape[-1]}: B is (..., n, k), or a vector (..., n)."
            )
        problem = broadcast_batch(A, B)
        return problem or _singular("solve", "A", A)


def inverse(A: Any) -> Any:
    """A^{-1}: torch's on torch tensors (backward()), minigrad's Inv on Tensors (create_graph)."""
    return Inv.apply(A) if isinstance(A, Tensor) else torch.linalg.inv(A)


def solve(A: Any, B: Any) -> Any:
    """A^{-1} B, as inverse(): Solve on Tensors, so that create_graph records it."""
    if isinstance(A, Tensor) or isinstance(B, Tensor):
        return Solve.apply(A, B)
    return solved_for_matrices(A, B)


def solved_for_matrices(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """torch.linalg.solve(A, B) with B read as matrices (..., n, k), always: torch reads a B of
    A's shape less its last dim as a batch of vectors (a 1 x 1 system's B of shape (1, 1) under
    an A of shape (1, 1, 1), say), so B first gets the batch dims it broadcasts to (a view)."""
    if B.ndim == A.ndim - 1:
        batch = torch.broadcast_shapes(A.shape[:-2], B.shape[:-2])
        B = B.expand(*batch, *B.shape[-2:])
    return torch.linalg.solve(A, B)


def needs_square_matrices(name: str, A: Any) -> str | None:
    """Why A is no (batch of) square matrix, or None when it is one."""
    if A.ndim >= 2 and A.shape[-1] == A.shape[-2]:
        return None
    got = f"{A.shape[-2]} x {A.shape[-1]} matrices" if A.ndim >= 2 else f"{A.ndim} dim(s)"
    return (
        f"linalg.{name}: A of shape {shape_str(A.shape)} has {got}; {name} takes square "
        "matrices, A of shape (..., n, n) (the last two dims equal, any batch dims before)."
    )


def broadcast_batch(A: Any, B: Any) -> str | None:
    """Why A's and B's batch dims (all but the last two) do not broadcast, or None."""
    a, b = tuple(A.shape[:-2]), tuple(B.shape[:-2])
    try:
        torch.broadcast_shapes(a, b)
    except RuntimeError:
        return (
            f"A of shape {shape_str(A.shape)} and B of shape {shape_str(B.shape)}: their batch "
            f"dims {shape_str(a)} and {shape_str(b)} do not broadcast (lined up from the right, "
            "each pair equal or one of them 1)."
        )
    return None


def _singular(name: str, argument: str, A: Any) -> Exception | None:
    """torch's LinAlgError, in words, when A has a matrix with no inverse."""
    data = A._data if isinstance(A, Tensor) else A
    if not bool((torch.linalg.matrix_rank(data) < data.shape[-1]).any()):
        return None
    return torch.linalg.LinAlgError(
        f"linalg.{name}: {argument} of shape {shape_str(data.shape)} is singular (a matrix of "
        "it has determinant 0: its rows are linearly dependent), so it has no inverse and "
        f"{argument} X = B no unique solution. Check how {argument} was built (a column "
        "repeated, a row of zeros)."
    )


class Cholesky(Op):
    """C = cholesky(A), lower triangular with A = C C^T.   dL/dA = C^{-T} Phi(C^T G) C^{-1}.

    (C for the factor torch calls L, which here is the loss.) A is symmetric positive-definite.
    Differentiate A = C C^T: dA = dC C^T + C dC^T, so C^{-1} dA C^{-T} = C^{-1} dC +
    (C^{-1} dC)^T, a lower triangular matrix plus its transpose: C^{-1} dC is that symmetric
    matrix's lower triangle with the diagonal halved. Carried back through trace(G^T dC), this
    gives dL/dA = C^{-T} Phi(C^T G) C^{-1}, where for P = tril(C^T G),
    Phi(P) = (P + tril(P, -1)^T) / 2 is P with its strict lower triangle mirrored above, all
    halved (torch's form: only symmetric changes of A are considered).
    """

    torch_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx: Context, A: torch.Tensor) -> torch.Tensor:
        C = torch.linalg.cholesky(A)
        ctx.save_for_backward(C)
        return C

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (C,) = ctx.saved_tensors
        P = (C.mT @ grad).tril()
        phi = 0.5 * (P + P.tril(-1).mT)
        left = solve(C.mT, phi)  # C^{-T} Phi
        return solve(C.mT, left.mT).mT  # (C^{-T} Phi) C^{-1} = (C^{-T} (C^{-T} Phi)^T)^T

    @staticmethod
    def explain_failure(A: Any) -> str | Exception | None:
        problem = needs_square_matrices("cholesky", A)
        if problem:
            return problem
        return torch.linalg.LinAlgError(
            f"linalg.cholesky: A of shape {shape_str(A.shape)} is not positive-definite (a "
            "matrix of it has an eigenvalue <= 0, or is not symmetric), so there is no L with "
            "A = L L^T. A = M M^T + eps I is one that is."
        )


class Eigh(Op):
    """(w, V) = eigh(A), A = V diag(w) V^T.   dL/dA = V (diag(G_w) + skew(V^T G_V) / E) V^T.

    A is symmetric; w its eigenvalues in ascending order, V's columns the unit eigenvectors.
    Differentiate A V = V diag(w) with V^T V = I: V^T dA V = V^T dV diag(w) - diag(w) V^T dV
    + diag(dw). Its diagonal gives dw_i = v_i^T dA v_i (so dL/dA = V diag(G_w) V^T from w),
    and off the diagonal (V^T dV)_ij = (V^T dA V)_ij / (w_j - w_i). Carried back through
    trace(G_V^T dV): the skew-symmetric part of V^T G_V, skew(X) = (X - X^T) / 2, divided
    elementwise by E_ij = w_j - w_i (1 on the diagonal, where skew is 0). Repeated
    eigenvalues (E_ij = 0) have no gradient for V, as torch warns.
    """

    torch_name = "LinalgEighBackward0"

    @staticmethod
    def forward(
        ctx: Context, A: torch.Tensor, UPLO: str = "L"
    ) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: N803
        w, V = torch.linalg.eigh(A, UPLO)  # reads A's lower ('L') or upper triangle
        ctx.save_for_backward(w, V)
        return w, V

    @staticmethod
    def backward(ctx: Context, grad_w: torch.Tensor, grad_V: torch.Tensor) -> torch.Tensor:
        w, V = ctx.saved_tensors
        eye = torch.eye(w.shape[-1], dtype=w.dtype, device=w.device)
        VtG = V.mT @ grad_V
        E = w.unsqueeze(-2) - w.unsqueeze(-1) + eye  # E[i, j] = w_j - w_i, 1 on the diagonal
        inner = 0.5 * (VtG - VtG.mT) / E + grad_w.unsqueeze(-1) * eye
        return V @ inner @ V.mT

    @staticmethod
    def explain_failure(A: Any, UPLO: str = "L") -> str | None:  # noqa: N803
        return needs_square_matrices("eigh", A)


class Svd(Op):
    """(U, S, Vh) = svd(A).   dL/dA = U [(skew(U^T G_U) S + S skew(V^T G_V)) / E + diag(G_S)] Vh,
    plus the parts of G_U and G_V outside U's and V's columns.

    The reduced SVD: A (m, n), k = min(m, n), U (m, k) and V = Vh^T (n, k) with orthonormal
    columns, S (k) descending. Differentiate A = U S V^T: U^T dA V = U^T dU S + dS + S dV^T V.
    U^T dU and V^T dV are skew-symmetric (from U^T U = I), so the diagonal gives dS_i =
    u_i^T dA v_i: from S alone, dL/dA = U diag(G_S) V^T. Off the diagonal, solving the 2 x 2
    systems for (U^T dU)_jk and (V^T dV)_jk divides by E_jk = S_k^2 - S_j^2 (E_jj = 1; skew(X) =
    X - X^T). When m > n, U misses m - k directions; a G_U there adds (I - U U^T) G_U S^{-1} V^T
    (m < n: U S^{-1} G_V^T (I - V V^T)). Repeated or zero singular values have no gradient for
    U and V (division by 0), as in torch.
    """

    torch_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx: Context, A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        U, S, Vh = torch.linalg.svd(A, full_matrices=False)
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx: Context, grad_U: Any, grad_S: Any, grad_Vh: Any) -> Any:
        U, S, Vh = ctx.saved_tensors
        m, n = U.shape[-2], Vh.shape[-1]
        V, grad_V = Vh.mT, grad_Vh.mT
        eye = torch.eye(S.shape[-1], dtype=S.dtype, device=S.device)
        UtgU, VtgV = U.mT @ grad_U, V.mT @ grad_V
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + eye  # E[j, k] = S_k^2 - S_j^2, 1 on the diagonal
        inner = ((UtgU - UtgU.mT) * S.unsqueeze(-2) + S.unsqueeze(-1) * (VtgV - VtgV.mT)) / E
        inner = inner + grad_S.unsqueeze(-1) * eye
        if m > n:  # G_U's part outside U's columns: (I - U U^T) G_U S^{-1}
            gU_Sinv = grad_U / S.unsqueeze(-2)
            return (U @ inner + gU_Sinv - U @ (U.mT @ gU_Sinv)) @ Vh
        if m < n:  # G_V's part outside V's columns: S^{-1} G_V^T (I - V V^T)
            Sinv_gVh = grad_Vh / S.unsqueeze(-1)
            return U @ (inner @ Vh + Sinv_gVh - (Sinv_gVh @ V) @ Vh)
        return U @ inner @ Vh

    @staticmethod
    def explain_failure(A: Any) -> str | None:
        if A.ndim >= 2:
            return None
        return (
            f"linalg.svd: A of shape {shape_str(A.shape)} has {A.ndim} dim(s); svd takes "
            "matrices, A of shape (..., m, n)."
        )


class Pinv(Op):
    """out = A^+, the pseudo-inverse.   dL/dA = -P^T G P^T + (I - A P) G^T P P^T
    + P^T P G^T (I - P A)  (P = A^+).

    P is V diag(1/S) U^T from the SVD, the singular values under a cutoff counted as 0. For a
    change dA that keeps A's rank (Golub and Pereyra): dP = -P dA P + P P^T dA^T (I - A P)
    + (I - P A) dA^T P^T P. The first term is the inverse's rule (Inv); the other two are 0
    for an invertible A, where A P = P A = I. Each term carried back through trace(G^T dP)
    gives one term of dL/dA (trace(G^T X dA Y) gives X^T G Y^T; a dA^T gives it transposed).
    """

    torch_name = "LinalgPinvBackward0"

    @staticmethod
    def forward(
        ctx: Context, A: torch.Tensor, atol: Any = None, rtol: Any = None, hermitian: bool = False
    ) -> torch.Tensor:
        out = torch.linalg.pinv(A, atol=atol, rtol=rtol, hermitian=hermitian)
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        A, P = ctx.saved_tensors
        Pt, Gt = P.mT, grad.mT
        K = Gt @ P  # (n, n) pieces where m <= n, as torch orders them
        return -(P @ K).mT + (K @ Pt - A @ P @ K @ Pt) + Pt @ P @ (Gt - K @ A)

    @staticmethod
    def explain_failure(
        A: Any, atol: Any = None, rtol: Any = None, hermitian: bool = False
    ) -> str | None:
        if A.ndim >= 2:
            return None
        return f"linalg.pinv: A of shape {shape_str(A.shape)} is no matrix; A is (..., m, n)."


class Qr(Op):
    """(Q, R) = qr(A), A = Q R.   dL/dA = (G_Q + Q copyup(triu(G_R R^T - Q^T G_Q))) R^{-T}.

    A (m, n) with m >= n: Q (m, n) with orthonormal columns, R (n, n) upper triangular. From
    A = Q R: Q^T dA R^{-1} = Q^T dQ + dR R^{-1}, where Q^T dQ is skew-symmetric and dR R^{-1}
    upper triangular; so the strict lower triangle of X = Q^T dA R^{-1} fixes Q^T dQ, and the
    rest is dR R^{-1}. Carried back through trace(G_Q^T dQ) + trace(G_R^T dR), with
    M = triu(G_R R^T - Q^T G_Q) and copyup(M) = M + triu(M, 1)^T (its strict upper triangle
    mirrored below): dL/dA = (G_Q + Q copyup(M)) R^{-T}, as torch's.
    """

    torch_name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx: Context, A: torch.Tensor, mode: str = "reduced") -> tuple:
        Q, R = torch.linalg.qr(A, mode=mode)
        ctx.save_for_backward(Q, R)
        return Q, R

    @staticmethod
    def backward(ctx: Context, grad_Q: Any, grad_R: Any) -> Any:
        Q, R = ctx.saved_tensors
        M = (grad_R @ R.mT - Q.mT @ grad_Q).triu()
        inner = Q @ (M + M.triu(1).mT) + grad_Q
        return solve(R, inner.mT).mT  # inner R^{-T} = (R^{-1} inner^T)^T

    @staticmethod
    def explain_failure(A: Any, mode: str = "reduced") -> str | None:
        if A.ndim >= 2:
            return None
        return f"linalg.qr: A of shape {shape_str(A.shape)} is no matrix; A is (..., m, n)."


def _rows(t: torch.Tensor) -> torch.Tensor:
    """(..., k) -> (rows, k), the batch dims flattened. The number of rows is spelled out, not
    -1: with k = 0 (a layer of no features) -1 would be ambiguous."""
    return t.reshape(math.prod(t.shape[:-1]), t.shape[-1])
