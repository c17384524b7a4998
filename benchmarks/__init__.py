"""Benchmarks: minigrad against plain PyTorch autograd, side by side on the same device.

Run `python -m benchmarks` (add `--quick` for a run under two minutes, `--device cuda` for a GPU).
Every case times minigrad and torch in turn (A B A B ...), after a warm-up, and reports the
median, the spread and the ratio minigrad / torch. A ratio of 1.0 means "as fast as torch".

Where things live:
    timing.py     the interleaved timer and its statistics
    machine.py    what machine ran it (CPU, GPU, versions, date)
    ops.py        forward + backward of single ops, small to large
    graph.py      the cost of each recorded op, and how it grows with graph size
    training.py   one epoch of real models (fours against eights; the ten-digit MLP)
    memory.py     peak memory during training, and whether it grows from step to step
    peers.py      tinygrad and micrograd on the same workloads, when installed
    report.py     the JSON file and the Markdown tables
"""
