"""collate follows torch's default_collate rule by rule, and names what it cannot batch.

Each rule has a test of its own; a property test then draws nested samples (dicts of tuples of
arrays, numbers, strings...) and compares the whole batch with torch.utils.data.default_collate:
the same structure, container types, dtypes and values.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch.utils.data import default_collate

import minigrad as mg
from minigrad.data import DataLoader, collate

Point = namedtuple("Point", ["x", "y"])


def assert_same_batch(got: Any, expected: Any, where: str = "batch") -> None:
    """The same nesting, container types, tensor dtypes and shapes, and values."""
    assert type(got) is type(expected), f"{where}: {type(got)} vs torch's {type(expected)}"
    if isinstance(expected, torch.Tensor):
        assert got.dtype == expected.dtype and got.shape == expected.shape, where
        torch.testing.assert_close(got, expected, rtol=0, atol=0, equal_nan=True, msg=where)
    elif isinstance(expected, dict):
        assert list(got) == list(expected), where
        for key in expected:
            assert_same_batch(got[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), where
        for i, (a, b) in enumerate(zip(got, expected)):
            assert_same_batch(a, b, f"{where}[{i}]")
    else:
        assert got == expected, where


# ---- one rule at a time ------------------------------------------------------------------------


def test_tensors_are_stacked_along_a_new_first_dim():
    samples = [torch.full((2, 3), float(i)) for i in range(4)]
    assert_same_batch(collate(samples), default_collate(samples))
    minigrad_samples = [mg.tensor(t) for t in samples]
    assert_same_batch(collate(minigrad_samples), torch.stack(samples))


def test_numpy_arrays_keep_their_dtype_and_numpy_numbers_too():
    for dtype in (np.uint8, np.int32, np.float32, np.float64, np.bool_):
        arrays = [np.arange(3).astype(dtype) for _ in range(2)]
        assert_same_batch(collate(arrays), default_collate(arrays))
        scalars = [dtype(1), dtype(0)]
        assert_same_batch(collate(scalars), default_collate(scalars))


def test_python_numbers_ints_to_int64_floats_to_float64_bools_to_bool():
    for samples in ([1, 2, 3], [0.5, 1.5], [True, False], [1, 2.5], [2.5, 1]):
        assert_same_batch(collate(samples), default_collate(samples))
    assert collate([1, 2]).dtype == torch.int64 and collate([0.5]).dtype == torch.float64


def test_strings_and_bytes_stay_as_they_are_in_a_list():
    assert_same_batch(collate(["a", "b"]), default_collate(["a", "b"]))
    assert_same_batch(collate([b"a", b"b"]), default_collate([b"a", b"b"]))


def test_dicts_are_collated_key_by_key_and_keep_their_type():
    samples = [{"image": torch.zeros(2), "label": i} for i in range(3)]
    assert_same_batch(collate(samples), default_collate(samples))
    ordered = [OrderedDict(b=i, a=float(i)) for i in range(2)]
    assert_same_batch(collate(ordered), default_collate(ordered))


def test_tuples_and_lists_become_lists_of_fields_and_namedtuples_stay_namedtuples():
    pairs = [(torch.ones(2) * i, i) for i in range(3)]
    assert_same_batch(collate(pairs), default_collate(pairs))
    lists = [[i, float(i)] for i in range(3)]
    assert_same_batch(collate(lists), default_collate(lists))
    points = [Point(i, float(i)) for i in range(3)]
    assert_same_batch(collate(points), default_collate(points))


# ---- nested samples, against torch -------------------------------------------------------------


def leaves(n: int) -> st.SearchStrategy[list[Any]]:
    """n samples of one kind of leaf: what default_collate can batch."""
    shape = hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)
    dtypes = st.sampled_from([np.uint8, np.int64, np.float32, np.float64, np.bool_])
    arrays = st.tuples(shape, dtypes).flatmap(
        lambda sd: st.lists(hnp.arrays(sd[1], sd[0]), min_size=n, max_size=n)
    )
    tensors = arrays.map(lambda xs: [torch.as_tensor(x) for x in xs])
    floats = st.floats(-1e6, 1e6, allow_nan=False)
    return st.one_of(
        arrays,
        tensors,
        st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n),
        st.lists(floats, min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.text(max_size=3), min_size=n, max_size=n),
        dtypes.flatmap(lambda d: st.lists(st.integers(0, 1).map(d), min_size=n, max_size=n)),
    )


def batches_of_samples(n: int, depth: int = 2) -> st.SearchStrategy[list[Any]]:
    """n samples of the same structure: leaves, or dicts, tuples, lists, namedtuples of them."""
    if depth == 0:
        return leaves(n)
    child = batches_of_samples(n, depth - 1)

    def zip_fields(fields: list[list[Any]], make) -> list[Any]:
        return [make([field[i] for field in fields]) for i in range(n)]

    fields = st.lists(child, min_size=1, max_size=3)
    keys = st.lists(st.sampled_from("abcd"), min_size=1, max_size=3, unique=True)
    return st.one_of(
        leaves(n),
        fields.map(lambda fs: zip_fields(fs, tuple)),
        fields.map(lambda fs: zip_fields(fs, list)),
        st.tuples(child, child).map(lambda fs: zip_fields(list(fs), lambda v: Point(*v))),
        st.tuples(keys, fields).map(
            lambda kf: zip_fields(kf[1][: len(kf[0])], lambda v, k=kf[0]: dict(zip(k, v)))
        ),
    )


@given(samples=st.integers(1, 4).flatmap(batches_of_samples))
def test_nested_samples_collate_as_torch_collates_them(samples):
    assert_same_batch(collate(samples), default_collate(samples))


# ---- what cannot be batched --------------------------------------------------------------------


def test_none_is_refused_with_where_it_was_and_what_to_do():
    with pytest.raises(TypeError) as error:
        collate([(torch.zeros(2), None), (torch.ones(2), None)])
    message = str(error.value)
    assert "cannot batch NoneType" in message and "sample[1]" in message
    assert "collate_fn=" in message and "tensors, NumPy arrays, numbers" in message
    with pytest.raises(TypeError, match="cannot batch NoneType .found as a sample"):
        collate([None, None])
    with pytest.raises(TypeError, match="cannot batch object"):
        collate([{"x": object()}])


def test_a_none_among_numbers_names_both_samples():
    named = r"sample 0\['label'\] is an int but sample 2\['label'\] is None"
    with pytest.raises(TypeError, match=named):
        collate([{"label": 1}, {"label": 2}, {"label": None}])
    with pytest.raises(TypeError, match=r"sample 0 is a Tensor of shape \(2,\) but sample 1 is No"):
        collate([mg.zeros(2), None])


def test_shapes_that_do_not_stack_and_uneven_fields_are_named():
    with pytest.raises(RuntimeError, match=r"sample 0\[0\] has shape \(2,\) but sample 1\[0\]"):
        collate([(torch.zeros(2), 1), (torch.zeros(3), 2)])
    with pytest.raises(RuntimeError, match="sample 0 has 2 fields but sample 1 has 3 fields"):
        collate([(1, 2), (1, 2, 3)])
    with pytest.raises(RuntimeError, match="same keys"):
        collate([{"a": 1}, {"b": 1}])
    with pytest.raises(TypeError, match="NumPy array of dtype <U1"):
        collate([np.array(["a"]), np.array(["b"])])


def test_the_loader_wraps_every_tensor_of_a_nested_batch_and_takes_a_collate_fn():
    samples = [{"x": np.ones(2, np.float32) * i, "pair": (i, "s")} for i in range(5)]
    batch = next(iter(DataLoader(samples, batch_size=4, device="cpu")))
    assert isinstance(batch["x"], mg.Tensor) and batch["x"].shape == (4, 2)
    assert isinstance(batch["pair"][0], mg.Tensor) and batch["pair"][1] == ("s",) * 4

    def count(samples):
        return torch.tensor(len(samples))

    x = mg.zeros(5, 2)
    sizes = [b.item() for b in DataLoader(mg.data.TensorDataset(x), batch_size=2, collate_fn=count)]
    assert sizes == [2, 2, 1]
