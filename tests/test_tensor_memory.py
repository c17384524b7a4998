"""A tensor's memory as torch shows it: the storage a view shares with its base (what the
PyTorch docs' "tensor views" page prints), the layout and kind predicates, memory shared between
processes, and page-locked (pinned) memory. Each against torch on the same values."""

from __future__ import annotations

import warnings

import pytest
import torch

import minigrad as mg

PREDICATES = ["is_sparse", "is_meta", "is_quantized", "layout"]


def test_a_view_shares_its_base_s_storage_as_in_torch():
    for lib in (torch, mg):
        base = lib.arange(12.0).reshape(3, 4)
        views = [base[1], base.t(), base.view(12), base[:, 1:]]
        copy = base.clone()
        memory = base.untyped_storage().data_ptr()
        assert all(v.untyped_storage().data_ptr() == memory for v in views)
        assert copy.untyped_storage().data_ptr() != memory
        assert base[1].storage_offset() == 4 and base.untyped_storage().nbytes() == 48


def test_storage_is_torch_s_typed_storage_and_warns_once_as_torch(monkeypatch):
    monkeypatch.setattr(mg.errors, "_given_once", set())
    # (torch's own once-a-process flag, as a fresh process has it: minigrad's warning replaces
    # torch's, which would point into minigrad)
    monkeypatch.setitem(torch.storage._warn_typed_storage_removal.__dict__, "has_warned", False)
    x = mg.arange(6.0)
    with pytest.warns(UserWarning, match="TypedStorage is deprecated") as caught:
        storage = x.storage()
    assert len(caught) == 1 and caught[0].filename == __file__  # the user's line, as torch's
    assert storage.data_ptr() == x[2:].storage().data_ptr() and storage.tolist() == x.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.storage()  # once a process, as torch's


@pytest.mark.parametrize("name", PREDICATES)
def test_the_layout_and_kind_predicates_are_torch_s(name):
    assert getattr(mg.ones(2), name) == getattr(torch.ones(2), name)
    assert mg.ones(2).is_inference() is torch.ones(2).is_inference() is False


def test_share_memory__moves_the_numbers_into_shared_memory():
    x = mg.arange(4.0, requires_grad=True)
    assert not x.is_shared()
    assert x.share_memory_() is x and x.is_shared()
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0] and x.requires_grad


def test_pinned_memory_as_torch_s():
    assert mg.ones(2).is_pinned() is torch.ones(2).is_pinned() is False
    if not torch.cuda.is_available():  # torch pins only where there is a GPU: the same refusal
        with pytest.raises(RuntimeError) as theirs:
            torch.ones(2).pin_memory()
        with pytest.raises(RuntimeError) as ours:
            mg.ones(2).pin_memory()
        assert str(ours.value) == str(theirs.value)
        return
    pinned = mg.ones(2, requires_grad=True).pin_memory()
    assert pinned.is_pinned() and not pinned.requires_grad and pinned.tolist() == [1.0, 1.0]
