"""Every differentiable op: one small class each, forward and backward side by side.

arithmetic.py   + - * / unary - ** maximum minimum where, // % fmod div(rounding_mode) lerp
unary.py        exp log sigmoid tanh relu leaky_relu silu elu hardtanh gelu erf clamp_min abs sign
                sin cos sqrt rsqrt log10 log1p expm1 softplus clamp, floor ceil round trunc frac
                reciprocal
reductions.py   sum mean var std norm max amax amin logsumexp prod softmax log_softmax cumsum
                cumprod
                nll_loss
losses.py       binary_cross_entropy
matmul.py       @
products.py     einsum (and the diagonal its backward writes) outer
shape.py        reshape transpose permute flip unsqueeze squeeze expand indexing gather repeat
                cat stack, and the adjoints of indexing and gather (an accumulating index-put,
                scatter-add)
conversion.py   .to(dtype or device), clone
assign.py       what in-place changes record: x[key] = v, copy_/fill_/zero_, a write through a view
conv.py         convolution (conv1d, conv2d) and its adjoint, the transposed convolution
                (conv_transpose1d, conv_transpose2d), unfold, fold, pad
pool.py         max_pool2d avg_pool2d adaptive_avg_pool2d
interpolate.py  interpolate (F.interpolate's linear modes; the positions of its nearest modes)
normalization.py  batch_norm layer_norm dropout
embedding.py    embedding (a row lookup; repeated rows add up their gradients) and its adjoint,
                index_add (rows added into a table)
triangular.py   tril triu
"""

from .arithmetic import (
    Add,
    Div,
    DivRounded,
    FloorDivide,
    Fmod,
    Lerp,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Remainder,
    Sub,
    Where,
)
from .assign import Copy, CopySlices, SetItem
from .conv import ConstantPad, Convolution, ConvTranspose, CopyPad, Fold, Unfold
from .conversion import Clone, To
from .embedding import Embedding, IndexAdd
from .losses import BinaryCrossEntropy
from .matmul import Linear, MatMul
from .normalization import BatchNorm, Dropout, LayerNorm
from .pool import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    LinearInterpolate,
    MaxPool2d,
    NearestInterpolate,
)
from .products import Einsum, OntoDiagonal, Outer
from .reductions import (
    AMax,
    AMin,
    CumProd,
    CumSum,
    LogSoftmax,
    LogSumExp,
    Max,
    MaxAlongDim,
    Mean,
    NLLLoss,
    Norm,
    Prod,
    Softmax,
    Std,
    Sum,
    Var,
)
from .shape import (
    AddAt,
    Cat,
    Expand,
    Flip,
    Gather,
    Index,
    Permute,
    Repeat,
    Reshape,
    ScatterAdd,
    Squeeze,
    Stack,
    Transpose,
    Unsqueeze,
    View,
)
from .triangular import Tril, Triu
from .unary import (
    ELU,
    GELU,
    Abs,
    Ceil,
    Clamp,
    ClampMin,
    Cos,
    Erf,
    Exp,
    Expm1,
    Floor,
    Frac,
    Hardtanh,
    LeakyReLU,
    Log,
    Log1p,
    Log10,
    LogSigmoid,
    Reciprocal,
    ReLU,
    Round,
    Rsqrt,
    Sigmoid,
    Sign,
    SiLU,
    Sin,
    Softplus,
    Sqrt,
    Tanh,
    Trunc,
)

__all__ = [
    "AMax",
    "AMin",
    "Abs",
    "AdaptiveAvgPool2d",
    "Add",
    "AddAt",
    "AvgPool2d",
    "BatchNorm",
    "BinaryCrossEntropy",
    "Cat",
    "Ceil",
    "Clamp",
    "ClampMin",
    "Clone",
    "ConstantPad",
    "ConvTranspose",
    "Convolution",
    "Copy",
    "CopyPad",
    "CopySlices",
    "Cos",
    "CumProd",
    "CumSum",
    "Div",
    "DivRounded",
    "Dropout",
    "ELU",
    "Einsum",
    "Embedding",
    "Erf",
    "Exp",
    "Expand",
    "Expm1",
    "Flip",
    "Floor",
    "FloorDivide",
    "Fmod",
    "Fold",
    "Frac",
    "GELU",
    "Gather",
    "Hardtanh",
    "Index",
    "IndexAdd",
    "LayerNorm",
    "LeakyReLU",
    "LinearInterpolate",
    "NearestInterpolate",
    "Lerp",
    "Linear",
    "Log",
    "Log10",
    "Log1p",
    "LogSoftmax",
    "LogSumExp",
    "MatMul",
    "Max",
    "MaxAlongDim",
    "MaxPool2d",
    "Maximum",
    "Mean",
    "Minimum",
    "Mul",
    "NLLLoss",
    "Neg",
    "Norm",
    "OntoDiagonal",
    "Outer",
    "Permute",
    "Pow",
    "Prod",
    "ReLU",
    "Reciprocal",
    "Remainder",
    "Repeat",
    "Reshape",
    "Round",
    "Rsqrt",
    "ScatterAdd",
    "SetItem",
    "Sigmoid",
    "Sign",
    "SiLU",
    "Sin",
    "Softmax",
    "LogSigmoid",
    "Softplus",
    "Sqrt",
    "Squeeze",
    "Stack",
    "Std",
    "Sub",
    "Sum",
    "Tanh",
    "To",
    "Transpose",
    "Tril",
    "Triu",
    "Trunc",
    "Unfold",
    "Unsqueeze",
    "Var",
    "View",
    "Where",
]
