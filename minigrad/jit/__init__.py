"""minigrad.compile: record a training step once, replay it as straight-line torch code.

    recording.py   the Recorder: every torch call a step makes, and what each is for
    codegen.py     a recording as readable Python (the replay runs that text)
    step.py        compile(step): guards, the cache of recordings, the replay and what it leaves
    check.py       a replay against the eager step, from the same state
    cuda_graph.py  a replay on a GPU, as one CUDA graph

A JIT ("just in time" compiler) in its simplest form: the first call shows what the step does;
later calls do only that. (`minigrad.explain` writes the backward pass out from a recording too.)
"""

from .recording import CompileError
from .step import CompiledStep, compile

__all__ = ["CompileError", "CompiledStep", "compile"]
