"""Every differentiable op: one small class each, forward and backward side by side.

arithmetic.py   + - * / unary - ** maximum minimum where
unary.py        exp log sigmoid tanh relu clamp_min abs
reductions.py   sum mean max logsumexp log_softmax nll_loss
matmul.py       @
shape.py        reshape transpose permute unsqueeze squeeze expand indexing cat stack
conversion.py   .to(dtype or device), clone
assign.py       what in-place changes record: x[key] = v, copy_/fill_/zero_, a write through a view
"""

from .arithmetic import Add, Div, Maximum, Minimum, Mul, Neg, Pow, Sub, Where
from .assign import Copy, CopySlices, SetItem
from .conversion import Clone, To
from .matmul import Linear, MatMul
from .reductions import LogSoftmax, LogSumExp, Max, MaxAlongDim, Mean, NLLLoss, Sum
from .shape import Cat, Expand, Index, Permute, Reshape, Squeeze, Stack, Transpose, Unsqueeze
from .unary import Abs, ClampMin, Exp, Log, ReLU, Sigmoid, Tanh

__all__ = [
    "Abs",
    "Add",
    "Cat",
    "ClampMin",
    "Clone",
    "Copy",
    "CopySlices",
    "Div",
    "Exp",
    "Expand",
    "Index",
    "Linear",
    "Log",
    "LogSoftmax",
    "LogSumExp",
    "MatMul",
    "Max",
    "MaxAlongDim",
    "Maximum",
    "Mean",
    "Minimum",
    "Mul",
    "Neg",
    "NLLLoss",
    "Permute",
    "Pow",
    "ReLU",
    "Reshape",
    "SetItem",
    "Sigmoid",
    "Squeeze",
    "Stack",
    "Sub",
    "Sum",
    "Tanh",
    "To",
    "Transpose",
    "Unsqueeze",
    "Where",
]
