"""minigrad: a small autograd framework for learning how backpropagation works.

A `Tensor` wraps a torch tensor and records each op applied to it; `backward()` walks that
record in reverse and computes gradients by the chain rule. torch only does the maths.

Where things live:
    tensor.py            the Tensor class
    autograd/            Function (the op base class), the backward engine, no_grad
    ops/                 every op: forward and backward side by side
    creation.py          tensor(), randn(), zeros(), ...
    devices.py           CPU or CUDA
    nn/, optim/          layers and losses; SGD and Adam
    data/                MNIST, DataLoader, samplers
    learner.py           a fastai-shaped training loop
    testing/             gradient checks against torch and finite differences
    viz.py, trace.py, explain.py   see the graph, watch backward, read it as code
"""

from torch import bool, float16, float32, float64, int32, int64, uint8  # noqa: A004
from torch import device

from .tensor import Tensor  # noqa: I001  (first: the ops it imports need it defined)
from .autograd.function import Context, Function
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .creation import (
    arange,
    as_tensor,
    cat,
    exp,
    log,
    log_softmax,
    logsumexp,
    manual_seed,
    matmul,
    maximum,
    minimum,
    ones,
    ones_like,
    rand,
    pow,
    randn,
    randperm,
    relu,
    sigmoid,
    stack,
    tanh,
    tensor,
    where,
    zeros,
    zeros_like,
)
from .devices import default_device, set_default_device
from .errors import DeviceError, GradientError, ShapeError
from . import autograd, data, nn, optim  # as torch.nn and torch.optim: after `import minigrad`
from . import trace, viz
from .explain import explain  # minigrad.explain(loss): the backward pass as Python code

float = float32  # noqa: A001  (torch.float is float32 too)
double = float64
long = int64

__version__ = "0.1.0"

__all__ = [
    "Context",
    "DeviceError",
    "Function",
    "GradientError",
    "ShapeError",
    "Tensor",
    "arange",
    "as_tensor",
    "autograd",
    "bool",
    "cat",
    "data",
    "default_device",
    "device",
    "double",
    "enable_grad",
    "exp",
    "explain",
    "float",
    "float16",
    "float32",
    "float64",
    "int32",
    "inference_mode",
    "int64",
    "is_grad_enabled",
    "log",
    "log_softmax",
    "logsumexp",
    "long",
    "manual_seed",
    "matmul",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "pow",
    "rand",
    "randn",
    "randperm",
    "relu",
    "set_default_device",
    "set_grad_enabled",
    "sigmoid",
    "stack",
    "tanh",
    "trace",
    "tensor",
    "uint8",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]
