"""Four small corners of torch's surface, against torch:

1. nn.init's structured initialisers (trunc_normal_, orthogonal_, sparse_, eye_, dirac_): the
   same numbers as torch's for the same seed (and generator), on Parameters, outside the graph.
2. The function forms of the in-place methods (minigrad.exp_(x) is x.exp_()): values and
   gradients through backward (float64, rtol 1e-10), on a tensor of the graph and on a view of
   one, version counters, and the in-place rules' refusals.
3. torch's older linear-algebra names (svd, qr, cholesky, cholesky_solve, cholesky_inverse,
   logdet, slogdet, pinverse), as functions and Tensor methods: values and gradients against
   torch autograd in float64 over well-conditioned matrices, built so by construction (the
   strategies of test_linalg.py: singular and eigenvalues drawn apart from each other and 0).
4. out= on the function forms (torch.matmul(a, b, out=c), as "Learn the Basics" writes it):
   the result written into out, which is returned; resizing, dtypes and autograd as torch's.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_linalg import raises_both, spread_matrices, square_matrices, symmetric_matrices

import minigrad as mg
from minigrad import nn
from minigrad.errors import ShapeError
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

TOL = {"rtol": 1e-10, "atol": 1e-12}
F64 = torch.float64

# ---- 1. nn.init: the structured initialisers -------------------------------------------------


@st.composite
def init_calls(draw: st.DrawFn):
    """(name, shape, settings) for one of the structured initialisers."""
    name = draw(st.sampled_from(["trunc_normal_", "orthogonal_", "sparse_", "eye_", "dirac_"]))
    sides = st.integers(1, 6)
    if name == "trunc_normal_":
        shape = tuple(draw(st.lists(sides, min_size=1, max_size=3)))
        mean, std = draw(st.floats(-1, 1)), draw(st.floats(0.1, 2))
        # [a, b] as a number of stds from the mean: narrow windows (or ones far in a tail) hold
        # under 30% of the normal's mass and take torch's other sampler (rejection)
        start, width = draw(st.floats(-3, 2)), draw(st.sampled_from([0.05, 0.5, 1.0, 4.0]))
        a = mean + start * std
        return name, shape, {"mean": mean, "std": std, "a": a, "b": a + width * std}
    if name == "orthogonal_":
        shape = tuple(draw(st.lists(sides, min_size=2, max_size=4)))
        return name, shape, {"gain": draw(st.floats(0.5, 2))}
    if name == "sparse_":
        return name, (draw(sides), draw(sides)), {"sparsity": draw(st.floats(0, 1)), "std": 0.5}
    if name == "eye_":
        return name, (draw(sides), draw(sides)), {}
    groups = draw(st.integers(1, 3))
    kernel = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    return name, (groups * draw(st.integers(1, 3)), draw(sides), *kernel), {"groups": groups}


@given(call=init_calls(), seed=st.integers(0, 2**16), dtype=st.sampled_from([F64, torch.float32]))
def test_structured_inits_draw_torchs_numbers_for_the_same_seed(call, seed, dtype):
    name, shape, options = call
    if name in ("trunc_normal_", "orthogonal_", "sparse_"):  # the ones that draw
        options = {**options, "generator": torch.Generator().manual_seed(seed + 1)}
    p = nn.Parameter(torch.full(shape, 7.0, dtype=dtype))
    expected = torch.full(shape, 7.0, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trunc_normal_'s, when the mean is far from [a, b]
        torch.manual_seed(seed)
        getattr(torch.nn.init, name)(expected, **options)
        their_state = torch.get_rng_state()
        if "generator" in options:
            options["generator"] = torch.Generator().manual_seed(seed + 1)
        mg.manual_seed(seed)
        out = getattr(nn.init, name)(p, **options)
    assert out is p and p.is_leaf and p.requires_grad and p.grad is None and p.grad_fn is None
    assert torch.equal(p._data, expected), f"{name}{shape} {options}"
    # the global generator left where torch leaves it (sparse_ draws its rows there)
    assert torch.equal(torch.get_rng_state(), their_state)
    assert p._version > 0  # written in place (torch counts its writes differently: per column)


def test_structured_inits_on_the_device_draw_as_torch_does_there(device):
    calls = [
        ("trunc_normal_", (30, 20), {}),
        ("trunc_normal_", (30, 20), {"a": 1.5, "b": 3.0}),
        ("orthogonal_", (5, 8), {"gain": 2.0}),
        ("sparse_", (6, 4), {"sparsity": 0.5}),
        ("eye_", (3, 5), {}),
        ("dirac_", (4, 2, 3, 3), {"groups": 2}),
    ]
    for name, shape, options in calls:
        torch.manual_seed(4)
        expected = getattr(torch.nn.init, name)(torch.empty(shape, device=device), **options)
        mg.manual_seed(4)
        p = getattr(nn.init, name)(nn.Parameter(torch.empty(shape, device=device)), **options)
        assert p.device.type == device and torch.equal(p._data, expected), name


def test_trunc_normal_takes_both_of_torchs_samplers():
    """A window holding most of the normal's mass (redraw outside it) and one in its tail
    (rejection from a uniform draw), with the global generator: torch's numbers, all in [a, b]."""
    for a, b in [(-2.0, 2.0), (1.5, 3.0), (-0.1, 0.1)]:
        torch.manual_seed(3)
        expected = torch.nn.init.trunc_normal_(torch.empty(50, 40, dtype=F64), 0.2, 1.1, a, b)
        mg.manual_seed(3)
        got = nn.init.trunc_normal_(nn.Parameter(torch.empty(50, 40, dtype=F64)), 0.2, 1.1, a, b)
        assert torch.equal(got._data, expected)
        assert bool(((got._data >= a) & (got._data <= b)).all())
    with pytest.warns(UserWarning, match="more than 2 std"):
        nn.init.trunc_normal_(nn.Parameter(torch.empty(3)), mean=5.0, std=1.0, a=-1.0, b=1.0)


def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain():
    for shape in [(3, 7), (7, 3), (4, 2, 3)]:
        W = nn.init.orthogonal_(nn.Parameter(torch.empty(shape, dtype=F64)), gain=2.0)._data
        W = W.reshape(shape[0], -1)
        small = W @ W.T if shape[0] < W.shape[1] else W.T @ W
        torch.testing.assert_close(small, 4 * torch.eye(min(W.shape), dtype=F64), **TOL)


def test_init_errors_are_torchs():
    cases = [
        ("eye_", (2, 3, 4), {}),
        ("dirac_", (2, 3), {}),
        ("dirac_", (3, 2, 3), {"groups": 2}),
        ("sparse_", (2, 3, 4), {"sparsity": 0.5}),
        ("orthogonal_", (5,), {}),
    ]
    for name, shape, options in cases:
        with pytest.raises(ValueError) as theirs:
            getattr(torch.nn.init, name)(torch.empty(shape), **options)
        with pytest.raises(ValueError) as ours:
            getattr(nn.init, name)(nn.Parameter(torch.empty(shape)), **options)
        assert str(shape) in str(ours.value) or "groups" in str(ours.value), theirs.value


# ---- 2. the in-place functions ---------------------------------------------------------------

ARGUMENTS = {  # the other arguments each takes here (none for the rest)
    "clamp_": (-1.0, 1.0),
    "clip_": (-1.0, 1.0),
    "clamp_min_": (0.5,),
    "clamp_max_": (0.5,),
    "fill_": (2.5,),
    "nan_to_num_": (0.0, 9.0, -9.0),
}
POSITIVE_ONLY = {"log_", "log10_", "log1p_", "rsqrt_", "sqrt_"}  # drawn as |x|
IN_PLACE = [
    "abs_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "deg2rad_", "erf_",
    "erfc_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "log_", "log10_", "log1p_",
    "nan_to_num_", "neg_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_",
    "sin_", "sinc_", "sqrt_", "square_", "tanh_", "trunc_", "xlogy_", "zero_",
]  # fmt: skip

# |x| in [0.2, 0.9] or [1.1, 3], either sign: off 0 (abs, relu, sinc, reciprocal) and off the
# clamps' bounds (+-1, and 0.5 for clamp_min_ and clamp_max_), by construction
magnitudes = st.one_of(st.floats(0.2, 0.45), st.floats(0.55, 0.9), st.floats(1.1, 3.0))
signed = st.tuples(magnitudes, st.booleans()).map(lambda p: -p[0] if p[1] else p[0])


@pytest.mark.parametrize("name", IN_PLACE)
@settings(max_examples=5)  # each of the 35
@given(
    values=st.lists(signed, min_size=2, max_size=6),
    through_view=st.booleans(),
    upstream_seed=st.integers(0, 2**16),
)
def test_in_place_functions_are_the_methods_through_backward(
    name, values, through_view, upstream_seed
):
    x = np.array(values)
    if name in POSITIVE_ONLY:
        x = np.abs(x)
    y = np.abs(x[::-1]).copy()  # xlogy_'s other operand: positive
    w = torch.randn(len(x), dtype=F64, generator=torch.Generator().manual_seed(upstream_seed))

    def run(lib, tensor, function):
        a, b = tensor(x, requires_grad=True), tensor(y, requires_grad=True)
        h = a.clone()
        target = h[1:] if through_view else h
        args = (b[1:] if through_view else b,) if name == "xlogy_" else ARGUMENTS.get(name, ())
        out = function(target, *args)
        assert out is target
        (h * (w if lib is torch else mg.tensor(w))).sum().backward()
        return h, a.grad, b.grad, target._version

    theirs = run(torch, lambda v, **k: torch.tensor(v, dtype=F64, **k), getattr(torch, name))
    ours = run(mg, lambda v, **k: mg.tensor(v, dtype=F64, **k), getattr(mg, name))
    torch.testing.assert_close(ours[0]._data, theirs[0].detach(), **TOL)
    torch.testing.assert_close(ours[1]._data, theirs[1], **TOL, msg=f"{name}: a's gradient")
    if name == "xlogy_":
        torch.testing.assert_close(ours[2]._data, theirs[2], **TOL, msg="xlogy_: b's gradient")
    assert (ours[2] is None) == (theirs[2] is None)
    assert ours[3] == theirs[3], f"{name}: version {ours[3]}, torch's {theirs[3]}"


def test_in_place_functions_keep_the_in_place_rules():
    """A leaf that requires grad is refused, and a value saved for backward that was changed
    since fails backward: as the methods do, as torch does."""
    for lib in (torch, mg):
        leaf = lib.ones(3, dtype=F64, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            lib.exp_(leaf)
        h = leaf * 2
        y = h * h  # keeps h for its gradient
        lib.sin_(h)
        with pytest.raises(RuntimeError, match="modified"):
            y.sum().backward()
    x = mg.tensor([1.5, -2.5])
    assert mg.round_(x, decimals=0) is x and x.tolist() == [2.0, -2.0]
    assert mg.fill_(x, 3).tolist() == [3.0, 3.0] and mg.zero_(x).tolist() == [0.0, 0.0]


# ---- 3. torch's older linear-algebra names ---------------------------------------------------


def check(mg_fn, torch_fn, *arrays, order=1, name=None):
    assert_matches_torch(mg_fn, torch_fn, *arrays, order=order, name=name, **TOL)


def both(name, form, *options, **keywords):
    """(minigrad's, torch's) call of `name`, as a function or as a Tensor method."""
    if form == "function":
        return (
            lambda *a: getattr(mg, name)(*a, *options, **keywords),
            lambda *a: getattr(torch, name)(*a, *options, **keywords),
        )
    call = lambda *a: getattr(a[0], name)(*a[1:], *options, **keywords)  # noqa: E731
    return call, call


forms = st.sampled_from(["function", "method"])


@settings(max_examples=20)
@given(A=spread_matrices(), which=st.sampled_from(["U", "S", "V"]), form=forms)
def test_svd_gives_V_and_matches_torch(A, which, form):
    mine, theirs = both("svd", form)
    check(lambda a: getattr(mine(a), which), lambda a: getattr(theirs(a), which), A, name=which)


def test_svd_without_u_and_v_and_of_all_three_outputs():
    A = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, -1.0], [1.0, 0.0, 0.2]])
    for a in (A, A.T, np.stack([A[:3], -A[1:]])):

        def uses_all(svd, a):
            U, S, V = svd(a)
            return U @ (S.unsqueeze(-1) * V.mT) + U.sum() * V.sum()

        check(lambda x: uses_all(mg.svd, x), lambda x: uses_all(torch.svd, x), a, order=2)
        check(lambda x: mg.svd(x, compute_uv=False).S, lambda x: torch.svd(x, False, False).S, a)
        ours = mg.svd(mg.tensor(a), compute_uv=False)
        theirs = torch.svd(torch.tensor(a), compute_uv=False)
        for got, want in ((ours.U, theirs.U), (ours.V, theirs.V)):
            assert torch.equal(got._data, want) and not got.requires_grad
    assert mg.svd(mg.tensor(A[:3]), some=False).V.shape == (3, 3)  # square: full is reduced
    with pytest.raises(NotImplementedError, match="some=True"):
        mg.svd(mg.tensor(A), some=False)


@settings(max_examples=10)
@given(A=spread_matrices(), some=st.booleans(), form=forms)
def test_qr_matches_torch(A, some, form):
    if A.shape[-2] < A.shape[-1]:
        A = np.swapaxes(A, -1, -2).copy()  # tall: minigrad's qr takes m >= n
    if not some:
        A = A[..., : A.shape[-1], :]  # square: where the complete Q has its gradient
    mine, theirs = both("qr", form, some)
    uses_both = lambda r: r.Q @ (r.R * r.R) + r.Q.sum() * r.R.sum()  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn that qr is deprecated
        check(lambda a: uses_both(mine(a)), lambda a: uses_both(theirs(a)), A)
    with pytest.warns(UserWarning, match="deprecated"):
        mg.qr(mg.tensor(A))


@st.composite
def cholesky_factors(draw: st.DrawFn):
    """(A's Cholesky factor L, lower triangular, B (batch..., n, k)) for an A of
    symmetric_matrices with positive eigenvalues (at least 0.5)."""
    A = draw(symmetric_matrices())
    n = A.shape[-1]
    B = draw(mst.float_arrays((*A.shape[:-2], n, draw(st.integers(1, 3))), -2.0, 2.0))
    return np.linalg.cholesky(A), B


@settings(max_examples=15)
@given(factors=cholesky_factors(), upper=st.booleans(), form=forms)
def test_cholesky_solve_and_inverse_match_torch(factors, upper, form):
    L, B = factors
    factor = np.swapaxes(L, -1, -2).copy() if upper else L
    mine, theirs = both("cholesky_solve", form, upper=upper)
    check(mine, theirs, B, factor, name="cholesky_solve")
    mine, theirs = both("cholesky_inverse", form, upper=upper)
    check(mine, theirs, factor, name="cholesky_inverse")


@settings(max_examples=10)
@given(A=symmetric_matrices(), upper=st.booleans(), form=forms)
def test_cholesky_matches_torch(A, upper, form):
    mine, theirs = both("cholesky", form, upper=upper)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn that cholesky is deprecated
        check(mine, theirs, A, order=2, name="cholesky")


@settings(max_examples=15)
@given(A=square_matrices(), form=forms)
def test_logdet_and_slogdet_match_torch(A, form):
    """square_matrices have determinants of both signs: logdet is NaN for the negative ones,
    with no gradient there, as torch's."""
    check(*both("logdet", form), A, order=2, name="logdet")
    mine, theirs = both("slogdet", form)
    check(lambda a: mine(a).logabsdet, lambda a: theirs(a).logabsdet, A, name="slogdet")
    sign = mine(mg.tensor(A, requires_grad=True)).sign
    assert torch.equal(sign._data, theirs(torch.tensor(A)).sign) and not sign.requires_grad


@settings(max_examples=15)
@given(A=spread_matrices(), form=forms)
def test_pinverse_matches_torch(A, form):
    check(*both("pinverse", form), A, name="pinverse")


def test_pinverse_cuts_at_rcond_times_the_largest_singular_value():
    u, _ = np.linalg.qr(np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [1.5, 0.2, -0.7]]))
    v = np.array([[0.6, -0.8], [0.8, 0.6]])
    A = (u[:, :2] * np.array([2.0, 0.01])) @ v.T  # singular values 2 and 0.01
    for rcond in (1e-15, 0.1):  # 0.01 kept, then cut (under 0.1 * 2)
        check(*both("pinverse", "function", rcond), A, name=f"pinverse(rcond={rcond})")
    assert math.isclose(
        float(mg.pinverse(mg.tensor(A), 0.1).norm()), 0.5, rel_tol=1e-10
    )  # 1 / 2 alone


def test_older_names_refuse_what_torch_refuses_and_say_what_minigrad_lacks():
    raises_both(  # B must be a matrix with as many rows as the factor
        lambda: mg.cholesky_solve(mg.ones(3, 2, dtype=F64), mg.eye(2, dtype=F64)),
        lambda: torch.cholesky_solve(torch.ones(3, 2, dtype=F64), torch.eye(2, dtype=F64)),
        ShapeError,
        r"cholesky_solve: B \(self\) of shape \(3, 2\)",
    )
    raises_both(
        lambda: mg.ones(2, 3).logdet(), lambda: torch.ones(2, 3).logdet(), ShapeError, "square"
    )
    with pytest.raises(NotImplementedError, match="m >= n"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mg.qr(mg.ones(2, 3))  # (torch has it: minigrad's qr gradient is for tall matrices)


# ---- 4. out= ---------------------------------------------------------------------------------

A = torch.arange(6.0).reshape(2, 3) / 4 - 0.5
OUT_CALLS = {  # name: (call with out=, the out= to give: made by `empty`)
    "matmul": (lambda m, a, out: m.matmul(a, a.T, out=out), lambda e: e(2, 2)),
    "mul": (lambda m, a, out: m.mul(a, a, out=out), lambda e: e(2, 3)),
    "add alpha": (lambda m, a, out: m.add(a, 1.5, alpha=2, out=out), lambda e: e(2, 3)),
    "exp": (lambda m, a, out: m.exp(a, out=out), lambda e: e(2, 3)),
    "sum dim": (lambda m, a, out: m.sum(a, 1, out=out), lambda e: e(2)),
    "max dim": (
        lambda m, a, out: m.max(a, 1, out=out),
        lambda e: (e(2), e(2, dtype=torch.long)),
    ),
}


def _empty(library):
    return lambda *shape, dtype=None: library.empty(*shape, dtype=dtype)


@pytest.mark.parametrize("name", OUT_CALLS)
def test_out_receives_the_result_and_is_returned(name):
    call, make_out = OUT_CALLS[name]
    theirs_out, ours_out = make_out(_empty(torch)), make_out(_empty(mg))
    theirs = call(torch, A.clone(), theirs_out)
    ours = call(mg, mg.tensor(A.clone()), ours_out)
    pairs = zip(ours_out, theirs_out) if isinstance(ours_out, tuple) else [(ours_out, theirs_out)]
    for mine, reference in pairs:
        assert torch.equal(mine._data, reference)
    if isinstance(ours_out, tuple):  # (values, indices), named as torch's
        assert ours.values is ours_out[0] and ours.indices is ours_out[1]
    else:
        assert ours is ours_out and theirs is theirs_out


def test_out_of_another_shape_is_resized_with_torch_s_warning_unless_empty():
    for library, wrap in ((torch, lambda t: t), (mg, mg.tensor)):
        a = wrap(A.clone())
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # none for an out of 0 elements
            empty = library.mul(a, a, out=library.empty(0))
        assert tuple(empty.shape) == (2, 3)
        with pytest.warns(UserWarning, match="resiz"):
            full = library.mul(a, a, out=library.empty(5))
        assert tuple(full.shape) == (2, 3)


def test_out_dtypes_as_torch_a_result_cast_up_not_down():
    for library, wrap in ((torch, lambda t: t), (mg, mg.tensor)):
        a = wrap(A.clone())
        wider = library.mul(a, a, out=library.empty(2, 3, dtype=torch.float64))
        assert wider.dtype == torch.float64
        with pytest.raises(RuntimeError, match="can't be cast"):
            library.mul(a, a, out=library.empty(2, 3, dtype=torch.long))


def test_out_takes_no_part_in_autograd_as_torch():
    for library, wrap in ((torch, lambda t: t), (mg, mg.tensor)):
        w = wrap(A.clone()).requires_grad_()
        with pytest.raises(RuntimeError, match="requires grad"):
            library.mul(w, w, out=library.empty(2, 3))
        with pytest.raises(RuntimeError, match="requires grad"):
            library.exp(wrap(A.clone()), out=w)
        with library.no_grad():  # outside autograd: allowed, and nothing is recorded
            written = library.mul(w, w, out=library.empty(2, 3))
            library.exp(wrap(A.clone()), out=w)
        assert not written.requires_grad and w.is_leaf


def test_out_of_the_wrong_kind_says_what_it_takes():
    a = mg.tensor(A.clone())
    with pytest.raises(TypeError, match="a tuple of 2 Tensors"):
        mg.max(a, 1, out=mg.empty(2))
    with pytest.raises(TypeError, match="out must be a minigrad Tensor"):
        mg.exp(a, out=torch.empty(2, 3))
