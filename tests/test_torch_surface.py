"""The torch surface, as code written for torch meets it: `import minigrad as torch`.

Namespaces (autograd.Function, cuda, accelerator, utils.data, the dtypes), creation functions
with torch's arguments and defaults, `generator=` giving torch's own random numbers, the
function forms (`minigrad.sin(x)`), missing names that say so, and docs/torch-surface.md, which
must match the code. (The gradients of the ops are proven in tests/test_ops_*.py.)
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import functions
from minigrad.tensor import name_what_only_torch_has
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

DOCS = Path(__file__).resolve().parent.parent / "docs" / "torch-surface.md"
# The page's generator lives with the docs' build, not in the package.
_spec = importlib.util.spec_from_file_location("docs_surface", DOCS.parent / "surface.py")
surface = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(surface)


# ---- docs/torch-surface.md --------------------------------------------------------------------


def test_the_surface_table_in_the_docs_matches_the_code():
    expected = surface.surface_table()
    assert DOCS.read_text() == expected, (
        "docs/torch-surface.md is out of date with the code: regenerate it with "
        "`python docs/surface.py` and commit the result."
    )


def test_the_table_says_not_yet_for_what_is_missing_and_yes_for_what_is_there():
    table = surface.surface_table()
    assert "| `sin` | yes | yes |" in table
    assert "| `linspace` | yes | - |" in table  # torch has no Tensor.linspace
    missing = _a_torch_function_minigrad_lacks()
    assert not surface.has(f"torch.{missing}")
    assert surface.has("torch.nn.functional.cross_entropy")
    assert surface.has("torch.utils.data.DataLoader")


# ---- missing names say so -------------------------------------------------------------------


def _a_torch_function_minigrad_lacks() -> str:
    candidates = ["lgamma", "digamma", "erfinv", "polygamma", "i0", "special_gammaln"]
    return next(n for n in candidates if hasattr(torch, n) and not hasattr(mg, n))


def test_a_torch_function_minigrad_lacks_says_how_to_add_it():
    name = _a_torch_function_minigrad_lacks()
    with pytest.raises(AttributeError) as error:
        getattr(mg, name)
    message = str(error.value)
    assert f"torch.{name} exists, but minigrad does not have it yet" in message
    assert "Prove an op of your own" in message
    assert "docs/torch-surface.md" in message
    assert error.value.name == name


def test_a_tensor_method_minigrad_lacks_says_so():
    name = next(n for n in ["lgamma", "digamma", "erfinv", "i0"] if not hasattr(mg.Tensor, n))
    with pytest.raises(AttributeError, match=f"torch.Tensor.{name} exists, but minigrad.Tensor"):
        getattr(mg.tensor([1.0]), name)()


def test_a_missing_in_place_method_points_at_its_out_of_place_twin(monkeypatch):
    # (every in-place method torch has beside one minigrad has exists now: one taken away)
    monkeypatch.delattr(mg.Tensor, "rsqrt_")
    name_what_only_torch_has()  # (as at import: rsqrt_ is now a name only torch's Tensor has)
    with pytest.raises(AttributeError, match=r"write x = x\.rsqrt\(\.\.\.\) instead"):
        _ = mg.tensor([1.0]).rsqrt_


def test_missing_layers_and_functions_of_nn_say_so():
    layer = next(
        n
        for n in ["CTCLoss", "SyncBatchNorm", "Conv3d", "CrossMapLRN2d", "NLLLoss2d"]
        if not hasattr(mg.nn, n)
    )
    with pytest.raises(AttributeError, match=f"torch.nn.{layer} exists.*subclass minigrad.nn"):
        getattr(mg.nn, layer)
    candidates = ["fractional_max_pool2d", "ctc_loss", "grid_sample", "conv_tbc"]
    function = next(n for n in candidates if not hasattr(mg.nn.functional, n))
    with pytest.raises(AttributeError, match=f"torch.nn.functional.{function} exists"):
        getattr(mg.nn.functional, function)


def test_names_that_torch_lacks_too_fail_plainly():
    for owner, name in [(mg, "no_such_thing"), (mg.nn, "x")]:
        with pytest.raises(AttributeError, match="and neither has torch") as error:
            getattr(owner, name)
        assert error.value.name == name
    x = mg.tensor(1.0)
    with pytest.raises(AttributeError, match="'Tensor' object has no attribute 'no_such'") as error:
        x.no_such  # noqa: B018  (Python's own error: a Tensor has no __getattr__, below)
    assert error.value.name == "no_such" and error.value.obj is x
    assert not hasattr(x, "__array_interface__")  # probes still get False


def test_names_only_torch_has_are_neither_there_nor_listed_and_tensor_has_no_getattr():
    x = mg.tensor([1.0])
    name = next(n for n in ["lgamma", "digamma", "erfinv", "i0"] if not hasattr(mg.Tensor, n))
    assert hasattr(torch.Tensor, name) and not hasattr(x, name)
    assert name not in dir(x) and "sin" in dir(x)  # tab completion offers what works
    assert "does not have it yet" in inspect.getattr_static(mg.Tensor, name).__doc__  # help()
    # A class with __getattr__ has every attribute of its objects read the slow way in Python
    # 3.11 (x._data: 25 ns, not 6.5): the names only torch has are TorchOnly descriptors instead.
    assert "__getattr__" not in vars(mg.Tensor)


def test_a_private_name_torch_has_is_said_to_be_torchs_internals():
    name = next(
        n
        for n in ("_cdata", "_backward_hooks", "_grad_fn", "_is_view")
        if hasattr(torch.Tensor, n) and not hasattr(mg.Tensor, n)
    )
    with pytest.raises(AttributeError, match=rf"torch.Tensor.{name} exists, but it belongs to"):
        getattr(mg.tensor(1.0), name)
    assert mg.tensor(1.0)._version == 0  # torch's version counter: minigrad has it


def test_minigrads_own_submodules_load_on_first_use():
    assert mg.testing.gradcheck is not None  # not imported by `import minigrad`, as in torch
    assert mg.utils.data.DataLoader is mg.data.DataLoader


# ---- namespaces ---------------------------------------------------------------------------


def test_autograd_function_is_the_op_base_class_itself():
    assert mg.autograd.Function is mg.Function
    assert mg.autograd.no_grad is mg.no_grad

    class Cube(mg.autograd.Function):  # a torch-style custom Function, unchanged
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x**2

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    Cube.apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]


def test_cuda_and_accelerator_answer_as_torch_does():
    assert mg.cuda.is_available() == torch.cuda.is_available()
    assert mg.cuda.device_count() == torch.cuda.device_count()
    assert mg.accelerator.is_available() == torch.accelerator.is_available()
    assert mg.accelerator.current_accelerator() == torch.accelerator.current_accelerator()
    mg.cuda.manual_seed(0)
    mg.cuda.manual_seed_all(0)
    if mg.cuda.is_available():
        mg.cuda.synchronize()
        assert mg.cuda.current_device() == torch.cuda.current_device()


@pytest.mark.parametrize(
    "name",
    ["bfloat16", "float16", "half", "float", "float32", "double", "int8", "int16", "short", "int"]
    + ["int32", "long", "int64", "uint8", "bool", "complex64", "cfloat", "complex128"],
)
def test_torchs_dtypes_are_there_under_their_names(name):
    assert getattr(mg, name) is getattr(torch, name)


def test_default_dtype_is_torchs():
    assert mg.get_default_dtype() == torch.float32
    mg.set_default_dtype(torch.float64)
    try:
        assert mg.tensor([1.5]).dtype == mg.Tensor([1.5]).dtype == mg.zeros(1).dtype == mg.float64
    finally:
        mg.set_default_dtype(torch.float32)


def test_is_tensor_and_numel():
    x = mg.zeros(2, 3)
    assert mg.is_tensor(x) and not mg.is_tensor(torch.zeros(1)) and not mg.is_tensor([1])
    assert mg.numel(x) == x.nelement() == 6


# ---- Tensor(...) as torch.Tensor(...) --------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [([-4.0],), ([[1, 2], [3, 4]],), (2, 3), (), ((2.0, 3.0),), (np.array([1.0, 2.0]),)],
    ids=["floats", "ints", "sizes", "empty", "tuple", "numpy"],
)
def test_tensor_class_builds_what_torch_tensor_builds(args):
    ours, theirs = mg.Tensor(*args), torch.Tensor(*args)
    assert isinstance(ours, mg.Tensor)
    assert ours.dtype == theirs.dtype == torch.float32
    assert ours.shape == theirs.shape
    if args and not isinstance(args[0], int):  # Tensor(2, 3) is uninitialised memory
        assert ours.tolist() == theirs.tolist()


def test_tensor_class_wraps_a_tensor_without_copying():
    data = torch.tensor([1, 2])
    ours = mg.Tensor(data)
    assert ours._data is data and ours.dtype == torch.int64  # torch.Tensor(t) aliases t too
    again = mg.Tensor(ours)
    again[0] = 7
    assert ours.tolist() == [7, 2]


def test_tensor_class_with_a_number_says_what_it_takes():
    with pytest.raises(TypeError, match=r"sizes \(Tensor\(2, 3\)\).*minigrad.tensor\(data\)"):
        mg.Tensor(2.5)


def test_micrograds_way_of_making_a_leaf_works():
    x = mg.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    y = (z * z).relu() + z * x
    y.backward()
    assert x.grad.item() == torch.autograd.grad(*_micrograd_torch())[0].item()


def _micrograd_torch():
    x = torch.Tensor([-4.0]).double().requires_grad_()
    z = 2 * x + 2 + x
    return ((z * z).relu() + z * x), x


# ---- creation functions -----------------------------------------------------------------


CREATIONS = {
    "linspace": lambda lib: lib.linspace(-3.0, 3.0, 7),
    "linspace(dtype)": lambda lib: lib.linspace(0, 1, 5, dtype=lib.float64),
    "logspace": lambda lib: lib.logspace(0, 2, 3),
    "arange": lambda lib: lib.arange(5),
    "arange(start, end, step)": lambda lib: lib.arange(1, 2, 0.25),
    "arange(end=)": lambda lib: lib.arange(start=2, end=6),
    "full": lambda lib: lib.full((2, 3), 1.5),
    "full(int)": lambda lib: lib.full((2,), 7),
    "full(())": lambda lib: lib.full((), -1.0, dtype=lib.float64),
    "eye": lambda lib: lib.eye(3),
    "eye(n, m)": lambda lib: lib.eye(2, 4, dtype=lib.int64),
    "zeros(size=)": lambda lib: lib.zeros(size=(2, 1)),
    "ones((2, 3))": lambda lib: lib.ones((2, 3)),
    "empty.shape": lambda lib: lib.zeros(lib.empty(2, 3).shape),
    "zeros_like(dtype)": lambda lib: lib.zeros_like(lib.ones(2, 2), dtype=lib.int32),
    "ones_like": lambda lib: lib.ones_like(lib.zeros(3, dtype=lib.float64)),
    "full_like": lambda lib: lib.full_like(lib.zeros(2, dtype=lib.int64), 3),
    "empty_like.shape": lambda lib: lib.zeros(lib.empty_like(lib.ones(2, 5)).shape),
}


@pytest.mark.parametrize("name", CREATIONS)
def test_creation_functions_match_torch(name):
    ours, theirs = CREATIONS[name](mg), CREATIONS[name](torch)
    assert isinstance(ours, mg.Tensor)
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    assert ours.tolist() == theirs.tolist()


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.linspace(0, 1, 3, requires_grad=True),
        lambda lib: lib.arange(3.0, requires_grad=True),
        lambda lib: lib.full((2,), 0.5, requires_grad=True),
        lambda lib: lib.eye(2, requires_grad=True),
        lambda lib: lib.zeros_like(lib.ones(2), requires_grad=True),
        lambda lib: lib.randn_like(lib.ones(2), requires_grad=True),
        lambda lib: lib.empty(2, requires_grad=True),
    ],
)
def test_creation_functions_take_requires_grad(make):
    ours = make(mg)
    assert ours.requires_grad and ours.is_leaf
    assert make(torch).requires_grad


def test_like_functions_keep_their_inputs_device_and_dtype(device):
    x = mg.ones(2, 3, dtype=mg.float64, device=device)
    for like in (mg.zeros_like, mg.ones_like, mg.empty_like, mg.rand_like, mg.randn_like):
        out = like(x)
        assert out.device == x.device and out.dtype == mg.float64 and out.shape == (2, 3)
    assert mg.full_like(x, 2).device == x.device


def test_from_numpy_shares_memory_as_in_torch():
    array = np.ones(3, dtype=np.float32)
    x = mg.from_numpy(array)
    array[0] = 5.0
    assert x.tolist() == [5.0, 1.0, 1.0]
    assert x.dtype == torch.float32 and x.device.type == "cpu"


AS_TENSOR = {  # what as_tensor is given (data, dtype asked), as each library takes it
    "an array": lambda lib: (np.zeros(3, dtype=np.float32), None),
    "an array, another dtype asked": lambda lib: (np.zeros(3, dtype=np.float32), torch.float64),
    "a float64 array": lambda lib: (np.zeros(3), None),
    "a torch tensor": lambda lib: (torch.zeros(3), None),
    "a list": lambda lib: ([0.0, 0.0, 0.0], None),
    "its own tensor": lambda lib: (lib.zeros(3), None),
    "its own tensor, another dtype asked": lambda lib: (lib.zeros(3), torch.float64),
}


@pytest.mark.parametrize("given", sorted(AS_TENSOR))
def test_as_tensor_copies_only_where_torch_s_does(given):
    """as_tensor shares memory with what it is given unless it must convert it, as torch's:
    a change to the array (or tensor) shows in the result exactly where it does in torch's."""
    seen = []
    for lib in (torch, mg):
        data, dtype = AS_TENSOR[given](lib)
        out = lib.as_tensor(data, dtype=dtype)
        if isinstance(data, list):
            data[0] = 5.0
        else:
            (data._data if isinstance(data, mg.Tensor) else data)[0] = 5.0
        values = out._data if isinstance(out, mg.Tensor) else out
        returned_as_is = out is data if given.startswith("its own") else None
        seen.append((values[0].item(), values.dtype, returned_as_is))
    assert seen[1] == seen[0]


# ---- random numbers: generator= gives torch's own numbers ----------------------------------

RANDOM = {
    "randn": lambda lib, g: lib.randn(3, 2, generator=g),
    "randn(size=)": lambda lib, g: lib.randn(size=(4,), generator=g),
    "rand": lambda lib, g: lib.rand((2, 2), generator=g, dtype=lib.float64),
    "randint(high, size)": lambda lib, g: lib.randint(10, (5,), generator=g),
    "randint(low, high, size)": lambda lib, g: lib.randint(-3, 3, size=(2, 3), generator=g),
    "randperm": lambda lib, g: lib.randperm(6, generator=g),
    "normal": lambda lib, g: lib.normal(2.0, 0.5, (3,), generator=g),
    "rand_like": lambda lib, g: lib.rand_like(lib.zeros(3), generator=g),
    "randn_like": lambda lib, g: lib.randn_like(lib.zeros(2), generator=g),
    "multinomial": lambda lib, g: lib.multinomial(
        lib.tensor([0.1, 0.5, 0.4]), 5, replacement=True, generator=g
    ),
    "x.multinomial": lambda lib, g: lib.tensor([[1.0, 2.0], [3.0, 0.0]]).multinomial(
        1, generator=g
    ),
    "normal_": lambda lib, g: lib.zeros(3).normal_(1.0, 2.0, generator=g),
    "uniform_": lambda lib, g: lib.zeros(2, 2).uniform_(-1.0, 1.0, generator=g),
}


@pytest.mark.parametrize("name", RANDOM)
def test_random_functions_with_a_generator_draw_torchs_numbers(name):
    ours = RANDOM[name](mg, mg.Generator().manual_seed(2147483647))
    theirs = RANDOM[name](torch, torch.Generator().manual_seed(2147483647))
    assert isinstance(ours, mg.Tensor)
    assert ours.dtype == theirs.dtype
    assert ours.tolist() == theirs.tolist()


def test_a_cpu_generator_gives_the_cpus_numbers_on_any_device(device):
    ours = mg.randn(4, generator=mg.Generator().manual_seed(0), device=device)
    assert ours.device.type == device
    assert ours.tolist() == torch.randn(4, generator=torch.Generator().manual_seed(0)).tolist()
    x = mg.zeros(3, device=device).normal_(generator=mg.Generator().manual_seed(1))
    assert x.tolist() == torch.zeros(3).normal_(generator=torch.Generator().manual_seed(1)).tolist()


def test_the_global_seed_repeats_the_numbers_as_in_torch():
    mg.manual_seed(3)
    ours = [mg.rand(2, device="cpu").tolist(), mg.randint(0, 5, (3,), device="cpu").tolist()]
    torch.manual_seed(3)
    assert ours == [torch.rand(2).tolist(), torch.randint(0, 5, (3,)).tolist()]


def test_randint_with_a_bad_size_says_how_to_call_it():
    with pytest.raises(TypeError, match=r"randint\(0, 10, size=\(3,\)\)"):
        mg.randint(0, 10, 3)


def test_random_fills_refuse_a_tensor_in_the_graph():
    w = mg.zeros(3, requires_grad=True)
    with pytest.raises(mg.GradientError, match="in-place normal_"):
        w.normal_()
    with mg.no_grad():
        w.uniform_(0.0, 1.0)
    assert ((w._data >= 0) & (w._data < 1)).all()


# ---- function forms ------------------------------------------------------------------------


def test_every_function_form_is_its_method():
    x = mg.tensor([[0.5, 1.5, 2.5], [3.5, 0.25, 1.0]])
    names = [n for n in functions.__all__ if hasattr(mg.Tensor, n)]
    takes_no_argument = ["abs", "exp", "log", "sin", "cos", "sqrt", "rsqrt", "sum", "mean", "t"]
    for name in takes_no_argument:
        assert name in names
        assert getattr(mg, name)(x).tolist() == getattr(x, name)().tolist(), name
        assert getattr(mg, name)(x).tolist() == getattr(torch, name)(x._data).tolist(), name
    assert mg.max(x, 1).values.tolist() == torch.max(x._data, 1).values.tolist()
    assert mg.clamp(x, min=1.0).tolist() == torch.clamp(x._data, min=1.0).tolist()
    assert mg.flip(x, (0,)).tolist() == torch.flip(x._data, (0,)).tolist()
    assert mg.logit(x / 4).tolist() == torch.logit(x._data / 4).tolist()
    assert mg.is_floating_point(x) and not mg.is_floating_point(mg.tensor([1]))
    leaf = mg.tensor([1.0, 2.0], requires_grad=True)
    assert mg.clone(leaf).grad_fn is not None and mg.detach(leaf).grad_fn is None
    with pytest.raises(TypeError, match=r"minigrad.sin\(\) takes a minigrad Tensor"):
        mg.sin(2.0)


VALUES = st.sampled_from([0.0, 0.5, -1.0, 2.0, float("inf"), float("-inf"), float("nan")])

# Tests on values, bool tensors out: each as a method (x.eq(y)) and a function (minigrad.eq(x, y)).
TESTS = {
    "eq": lambda x, y: (y,),
    "ne": lambda x, y: (y,),
    "lt": lambda x, y: (y,),
    "le": lambda x, y: (y,),
    "gt": lambda x, y: (y,),
    "ge": lambda x, y: (y,),
    "eq a number": lambda x, y: (0.5,),
    "logical_and": lambda x, y: (y,),
    "logical_or": lambda x, y: (y,),
    "logical_not": lambda x, y: (),
    "isinf": lambda x, y: (),
    "isfinite": lambda x, y: (),
    "isnan": lambda x, y: (),
    "nonzero": lambda x, y: (),
    "count_nonzero": lambda x, y: (),
    "clamp_max": lambda x, y: (0.5,),
}


@pytest.mark.parametrize("name", sorted(TESTS))
@given(
    arrays=mst.broadcastable_shapes(2).flatmap(
        lambda shapes: st.tuples(*[hnp.arrays(np.float64, s, elements=VALUES) for s in shapes])
    )
)
def test_comparisons_and_tests_on_values_match_torch_as_methods_and_functions(name, arrays):
    """Values drawn among a few (0, 0.5, inf, NaN...), so that ties, zeros and non-finite
    values come up often."""
    method = name.split()[0]
    a, b = arrays
    theirs_x, ours_x = torch.from_numpy(a), mg.tensor(a)
    args = TESTS[name](theirs_x, torch.from_numpy(b))
    expected = getattr(theirs_x, method)(*args)
    ours_args = [mg.tensor(arg.numpy()) if isinstance(arg, torch.Tensor) else arg for arg in args]
    for got in (getattr(ours_x, method)(*ours_args), getattr(mg, method)(ours_x, *ours_args)):
        torch.testing.assert_close(got._data, expected, rtol=0, atol=0, equal_nan=True)


def test_nonzero_as_tuple_indexes_what_it_found():
    x = torch.tensor([[0.0, 2.0], [3.0, 0.0]])
    ours = mg.tensor(x).nonzero(as_tuple=True)
    assert [o.tolist() for o in ours] == [t.tolist() for t in x.nonzero(as_tuple=True)]
    assert mg.tensor(x)[ours].tolist() == [2.0, 3.0]


@given(
    x=mst.distinct_arrays(mst.shapes(min_rank=1)),
    keep=st.data(),
)
def test_masked_select_matches_torch_and_sends_the_gradient_to_the_elements_picked(x, keep):
    """x[mask] after broadcasting both, as one row: the mask may broadcast x too."""
    mask_shape = keep.draw(st.sampled_from([x.shape, x.shape[1:], (1, *x.shape)]), label="mask")
    mask = torch.from_numpy(keep.draw(hnp.arrays(np.bool_, mask_shape), label="values"))
    fn = lambda t: t.masked_select(mask) * 2  # noqa: E731
    assert_matches_torch(fn, fn, x, order=2, name="masked_select")
    ours = mg.masked_select(mg.tensor(x), mask)  # the function form
    assert torch.equal(ours._data, torch.from_numpy(x).masked_select(mask))


def test_var_mean_and_std_mean_match_torch():
    x = torch.arange(12.0).reshape(3, 4)
    for name in ("var_mean", "std_mean"):
        for args, kwargs in [((), {}), ((1,), {"keepdim": True}), ((0, False), {})]:
            ours = getattr(mg, name)(mg.tensor(x), *args, **kwargs)
            theirs = getattr(torch, name)(x, *args, **kwargs)
            assert [t.tolist() for t in ours] == [t.tolist() for t in theirs], (name, args)


def test_named_matrix_products_check_their_shapes():
    a, b, v = mg.ones(2, 3), mg.ones(3, 4), mg.ones(3)
    assert mg.mm(a, b).shape == (2, 4) and mg.mv(a, v).shape == (2,) and mg.dot(v, v).item() == 3
    assert mg.bmm(a.unsqueeze(0), b.unsqueeze(0)).shape == (1, 2, 4)
    with pytest.raises(ValueError, match=r"mm takes 2-D and 2-D operands, got shapes \(2, 3\)"):
        a.mm(v)
    with pytest.raises(ValueError, match="dot takes 1-D and 1-D"):
        mg.dot(a, v)


def test_add_and_sub_take_alpha():
    x, y = mg.tensor([1.0, 2.0]), mg.tensor([10.0, 20.0])
    assert mg.add(x, y, alpha=0.5).tolist() == torch.add(x._data, y._data, alpha=0.5).tolist()
    assert x.sub(y, alpha=2).tolist() == [-19.0, -38.0]


def test_comparisons_and_histogram_match_torch():
    x, y = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 3.0001])
    ours_x, ours_y = mg.tensor(x), mg.tensor(y)
    assert mg.allclose(ours_x, ours_y, atol=1e-3) and not mg.allclose(ours_x, ours_y, rtol=0)
    assert mg.isclose(ours_x, ours_y, rtol=0).tolist() == torch.isclose(x, y, rtol=0).tolist()
    assert mg.equal(ours_x, ours_x) and not ours_x.equal(ours_y)
    assert (ours_x > 1).any().item() and not (ours_x > 1).all().item()
    assert (ours_x > 0).all(dim=0).tolist() == (x > 0).all(dim=0).tolist()
    ours, theirs = mg.histogram(ours_x, 2, density=True), torch.histogram(x, 2, density=True)
    assert ours.hist.tolist() == theirs.hist.tolist()
    assert ours.bin_edges.tolist() == theirs.bin_edges.tolist()


def test_vmap_is_func_s_and_the_dtype_predicates_have_function_forms():
    """torch.vmap is torch.func.vmap (tutorials write either); torch.is_complex(x) and
    torch.is_signed(x) are the methods."""
    assert mg.vmap is mg.func.vmap
    rows = torch.randn(3, 4, dtype=torch.float64)
    ours = mg.vmap(lambda row: (row * row).sum())(mg.Tensor(rows))
    torch.testing.assert_close(ours._data, torch.vmap(lambda row: (row * row).sum())(rows))
    for data in (torch.ones(2), torch.ones(2, dtype=torch.uint8), torch.ones(2, dtype=torch.int8)):
        x = mg.Tensor(data)
        assert mg.is_complex(x) is torch.is_complex(data) is False
        assert mg.is_signed(x) is torch.is_signed(data) is x.is_signed()


WINDOWS = {  # name: its parameters past (window_length, periodic)
    "hann_window": st.tuples(),
    "hamming_window": st.tuples(st.floats(0, 1), st.floats(0, 1)),
    "blackman_window": st.tuples(),
    "bartlett_window": st.tuples(),
    "kaiser_window": st.tuples(st.floats(0, 20)),
}


@pytest.mark.parametrize("name", WINDOWS)
@given(data=st.data())
def test_window_functions_give_torch_s_numbers(name, data):
    length = data.draw(st.integers(0, 40), label="window_length")
    periodic = data.draw(st.booleans(), label="periodic")
    extra = data.draw(WINDOWS[name], label="parameters")
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]), label="dtype")
    ours = getattr(mg, name)(length, periodic, *extra, dtype=dtype, requires_grad=True)
    theirs = getattr(torch, name)(length, periodic, *extra, dtype=dtype)
    assert torch.equal(ours._data.cpu(), theirs) and ours.requires_grad


@given(data=st.data())
def test_unravel_index_matches_torch(data):
    shape = data.draw(mst.shapes(min_rank=1), label="shape")
    size = int(np.prod(shape))
    flat = data.draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=6), label="indices")
    ours = mg.unravel_index(mg.tensor(flat), shape)
    theirs = torch.unravel_index(torch.tensor(flat), shape)
    assert len(ours) == len(theirs) == len(shape)
    assert all(torch.equal(a._data.cpu(), b) for a, b in zip(ours, theirs))


@given(data=st.data())
def test_split_with_sizes_and_output_nr_match_torch(data):
    x = data.draw(mst.float_arrays(mst.shapes(min_rank=1)), label="x")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    cuts = sorted(data.draw(st.lists(st.integers(0, x.shape[dim]), max_size=3), label="cuts"))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, x.shape[dim]])]
    piece = data.draw(st.integers(0, len(sizes) - 1), label="piece")

    def pick(t):
        pieces = t.split_with_sizes(sizes, dim)
        assert [p.output_nr for p in pieces] == list(range(len(sizes)))
        return pieces[piece] * 2

    assert_matches_torch(pick, pick, x, name=f"split_with_sizes({sizes}, {dim})[{piece}]")
    leaf = mg.ones(2, requires_grad=True)
    assert leaf.output_nr == (leaf * 2).output_nr == 0


# torch's top-level forms of functions of torch.nn.functional, called as torch's take them
# (positionally, in torch's order): each name, the input shapes, and the other arguments
TOP_LEVEL_FUNCTIONS = {
    "conv1d": ([(2, 3, 7), (4, 3, 3), (4,)], (1, 1)),  # stride, padding
    "conv2d": ([(2, 3, 6, 6), (4, 3, 3, 3), (4,)], (2, 1)),
    "conv3d": ([(1, 2, 4, 4, 4), (3, 2, 2, 2, 2), (3,)], (1, 0)),
    "conv_transpose1d": ([(2, 3, 5), (3, 4, 3), (4,)], (2, 1)),
    "conv_transpose2d": ([(2, 3, 4, 4), (3, 2, 3, 3), (2,)], (2, 1)),
    "conv_transpose3d": ([(1, 2, 3, 3, 3), (2, 2, 2, 2, 2), (2,)], (1, 0)),
    "max_pool1d": ([(2, 3, 8)], (2, 2, 1)),  # kernel, stride, padding
    "max_pool2d": ([(2, 3, 6, 6)], (3, 2, 1)),
    "max_pool3d": ([(1, 2, 4, 4, 4)], (2, 2)),
    "avg_pool1d": ([(2, 3, 8)], (3, 2, 1)),
    "adaptive_avg_pool1d": ([(2, 3, 8)], (3,)),
    "pixel_shuffle": ([(2, 8, 3, 3)], (2,)),
    "pixel_unshuffle": ([(2, 2, 4, 4)], (2,)),
    "prelu": ([(2, 3, 4), (3,)], ()),
    "selu": ([(3, 4)], ()),
    "celu": ([(3, 4)], (0.7,)),
    "hardshrink": ([(3, 4)], (0.3,)),
    "threshold": ([(3, 4)], (0.1, -2.0)),
    "pairwise_distance": ([(3, 4), (3, 4)], (2.0,)),
    "pdist": ([(4, 3)], (2.0,)),
    "bilinear": ([(3, 4), (3, 5), (2, 4, 5), (2,)], ()),
    "channel_shuffle": ([(2, 6, 2, 2)], (3,)),
    "group_norm": ([(2, 6, 3), (6,), (6,)], ()),  # (num_groups comes between: see below)
    "layer_norm": ([(2, 3, 4)], ([4],)),
    "rms_norm": ([(2, 3, 4)], ([4],)),
    "dropout": ([(3, 4)], (0.5, False)),  # train=False: the identity
    "alpha_dropout": ([(3, 4)], (0.5, False)),
    "feature_alpha_dropout": ([(2, 3, 4)], (0.5, False)),
}


@pytest.mark.parametrize("name", TOP_LEVEL_FUNCTIONS)
def test_torch_s_top_level_forms_of_functional_take_torch_s_arguments(name):
    shapes, options = TOP_LEVEL_FUNCTIONS[name]
    generator = torch.Generator().manual_seed(0)
    arrays = [torch.rand(shape, generator=generator, dtype=torch.float64).numpy() + 0.25
              for shape in shapes]  # fmt: skip

    def call(lib):
        def run(*tensors):
            if name == "group_norm":  # torch.group_norm(input, num_groups, weight, bias)
                return getattr(lib, name)(tensors[0], 3, *tensors[1:])
            return getattr(lib, name)(*tensors, *options)

        return run

    assert getattr(mg, name) is getattr(mg.nn.functional, name)
    assert_matches_torch(call(mg), call(torch), *arrays, name=f"torch.{name}")


@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "feature_alpha_dropout"])
def test_torch_s_top_level_dropouts_draw_torch_s_masks_when_training(name):
    x = torch.rand(2, 3, 4, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(3)
    theirs = getattr(torch, name)(x, 0.5, True)
    mg.manual_seed(3)
    ours = getattr(mg, name)(mg.tensor(x), 0.5, True)
    assert torch.equal(ours._data, theirs)


@pytest.mark.parametrize(
    "args", [(2, 3), ((2, 3),), ([1, 2],), (torch.Size([2, 4]),), (), (2,)], ids=repr
)
def test_new_is_torch_s_oldest_constructor(args):
    """x.new(2, 3) is an uninitialised (2, 3) tensor of x's dtype and device; x.new([1, 2]) and
    x.new((2, 3)) are data, as torch reads them."""
    theirs = torch.zeros(3, dtype=torch.float64).new(*args)
    ours = mg.zeros(3, dtype=mg.float64).new(*args)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype and not ours.requires_grad
    if args and type(args[0]) in (list, tuple):  # data (a torch.Size is a shape): the same values
        assert torch.equal(ours._data, theirs)
