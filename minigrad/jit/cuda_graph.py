"""A replay on a GPU, captured in a CUDA graph: the whole step launched as one.

A small model's step on a GPU is a few hundred tiny kernels, each launched by the CPU: the GPU
waits for the launches, not the maths. A CUDA graph records the launches once and replays them
with one call. It replays on the same memory, so the inputs are copied into fixed buffers first,
and the results are copied out (the next replay overwrites them).

The first call runs the function as it is (it warms up cuBLAS and the allocator, and it is a real
step); the second captures the graph (capturing runs nothing) and replays it at once.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch


class GraphedFunction:
    def __init__(self, function: Callable[..., tuple[torch.Tensor, ...]]) -> None:
        self.function = function
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.inputs: list[torch.Tensor] = []
        self.outputs: tuple[torch.Tensor, ...] = ()
        self.failed = False

    def __call__(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        self.calls += 1
        if self.failed or self.calls == 1:
            return self.function(*inputs)
        if self.graph is None:
            self._capture(inputs)
            if self.failed:
                return self.function(*inputs)
        for buffer, value in zip(self.inputs, inputs):
            buffer.copy_(value)
        self.graph.replay()
        return tuple(out.clone() for out in self.outputs)

    def _capture(self, inputs: tuple[torch.Tensor, ...]) -> None:
        self.inputs = [x.clone() for x in inputs]
        graph = torch.cuda.CUDAGraph()
        try:
            torch.cuda.synchronize()
            with torch.cuda.graph(graph):
                self.outputs = self.function(*self.inputs)
        except Exception as error:  # a call that cannot be captured: replay without a graph
            warnings.warn(
                f"minigrad.compile: the step could not be captured in a CUDA graph ({error}); "
                "replaying it without one.",
                stacklevel=3,
            )
            self.failed = True
            return
        self.graph = graph
        self.outputs_are_static = True
