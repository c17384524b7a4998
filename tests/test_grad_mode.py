"""Grad mode, as torch's: per thread; set_grad_enabled as a call, a block and a decorator;
no_grad, enable_grad and inference_mode as blocks and decorators, generators included."""

from __future__ import annotations

import threading

import minigrad as mg


def records(x: mg.Tensor) -> bool:
    return (x * 2).requires_grad


def test_no_grad_in_another_thread_does_not_stop_this_one():
    x = mg.tensor([1.0], requires_grad=True)
    held, release = threading.Event(), threading.Event()

    def evaluate():
        with mg.no_grad():
            held.set()
            release.wait(10)

    worker = threading.Thread(target=evaluate)
    worker.start()
    try:
        assert held.wait(10)
        assert mg.is_grad_enabled() and records(x)  # was False: one switch for the process
    finally:
        release.set()
        worker.join(10)


def test_a_new_thread_starts_with_grad_on():
    seen = []
    with mg.no_grad():
        thread = threading.Thread(target=lambda: seen.append(mg.is_grad_enabled()))
        thread.start()
        thread.join(10)
    assert seen == [True]


def test_set_grad_enabled_is_a_call_a_block_and_a_decorator():
    x = mg.tensor([1.0], requires_grad=True)
    mg.set_grad_enabled(False)  # a plain call switches now, as in torch
    try:
        assert not records(x)
    finally:
        mg.set_grad_enabled(True)
    assert records(x)
    with mg.set_grad_enabled(False):
        assert not records(x)
    assert records(x)

    @mg.set_grad_enabled(False)
    def evaluate():
        return records(x)

    assert mg.is_grad_enabled()  # decorating does not switch
    assert evaluate() is False and mg.is_grad_enabled()


def test_no_grad_and_enable_grad_nest_and_decorate():
    x = mg.tensor([1.0], requires_grad=True)

    @mg.no_grad
    def bare():
        return records(x)

    @mg.no_grad()
    def called():
        with mg.enable_grad():
            inner = records(x)
        return inner, records(x)

    assert bare() is False
    assert called() == (True, False)
    assert records(x)


def test_decorated_generators_switch_only_while_they_run():
    x = mg.tensor([1.0], requires_grad=True)
    seen = []

    @mg.no_grad()
    def batches():
        for _ in range(2):
            seen.append(mg.is_grad_enabled())
            yield records(x)

    outside = []
    for inside in batches():
        outside.append(mg.is_grad_enabled())  # the caller's own mode between steps
        assert inside is False
    assert seen == [False, False] and outside == [True, True]


def test_inference_mode_records_nothing():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.inference_mode():
        assert not records(x)
    with mg.inference_mode(False):
        assert records(x)

    @mg.inference_mode()
    def predict():
        return records(x)

    assert predict() is False
    assert records(x)
