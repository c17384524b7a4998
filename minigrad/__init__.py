"""minigrad: a small autograd framework for learning how backpropagation works.

A `Tensor` wraps a torch tensor and records each op applied to it; `backward()` walks that
record in reverse and computes gradients by the chain rule. torch only does the maths.

Where things live, in layers: a module imports only from its own layer and the ones below it
(tests/test_layers.py checks this).

    4  the top      learner.py           a fastai-shaped training loop
    3  the tools    jit/                 minigrad.compile: record a training step, replay it
                    trace.py, viz/,      watch backward, see the graph, step through backward,
                    explain.py           read it as code: each listens to the core through
                                         autograd/events.py
    2  the library  nn/, optim/          layers and losses; SGD, Adam, schedulers
                    data/, utils/        MNIST, DataLoader, samplers
                    testing/             gradient checks against torch and finite differences
                    func.py              torch.func's transforms: grad, vjp, jacrev, hessian,
                                         jvp, vmap
                    linalg.py            torch.linalg's norms, det, inv, solve, matrix_exp...
                    special.py           torch.special's erfc, ndtr, ndtri, log_ndtr, gammaln...
                    distributions/       Normal, Categorical, ...: log_prob, rsample, kl_divergence
                    serialization.py, distributed.py, cuda.py, accelerator.py
    1  the core     tensor.py            the Tensor class
                    autograd/            Function (the op base class) and its graph node, the
                                         backward engine, events (what the core announces),
                                         in-place ops, grad mode, anomaly mode, autograd.grad
                    ops/                 every op: forward and backward side by side
                    creation.py          tensor(), randn(), zeros(), linspace(), ...
                    functions.py         minigrad.sin(x), minigrad.sum(x, 1): methods as functions
                    return_types.py      x.max(1)'s (values, indices), named and printed as torch's
    0  the base     errors.py, devices.py   errors that teach; CPU or CUDA

The core never knows who watches it: it announces what happens (an op ran, a node's backward
began and ended, a .grad was read) to whoever listens (`autograd/events.py`), and the tools of
layer 3 are those listeners. (docs/surface.py lists the torch names minigrad covers.)
"""

# torch's dtypes, under torch's names (torch.float is float32, torch.long int64, torch.half
# float16), and the pieces of torch that hold no tensor data: minigrad uses them as they are.
from torch import (  # noqa: A004
    bfloat16,
    bool,
    cdouble,
    cfloat,
    chalf,
    complex32,
    complex64,
    complex128,
    double,
    float,
    float16,
    float32,
    float64,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from torch import Generator, Size, device, dtype, finfo, iinfo
from torch import channels_last, channels_last_3d, contiguous_format, memory_format
from torch import preserve_format  # (the layouts in memory that memory_format= names)
from torch import broadcast_shapes, can_cast, promote_types  # (shapes and dtypes: no tensors)
from torch import get_default_dtype, get_rng_state, initial_seed, seed, set_default_dtype
from torch import set_printoptions, set_rng_state
from torch import get_num_threads, set_num_threads  # (torch's kernels are minigrad's maths)
from torch import get_num_interop_threads, set_num_interop_threads, set_flush_denormal
from torch import get_float32_matmul_precision, set_float32_matmul_precision
from torch import are_deterministic_algorithms_enabled, use_deterministic_algorithms

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
    asarray,
    bartlett_window,
    bernoulli,
    blackman_window,
    cat,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    hamming_window,
    hann_window,
    kaiser_window,
    linspace,
    logspace,
    manual_seed,
    maximum,
    minimum,
    multinomial,
    normal,
    ones,
    ones_like,
    poisson,
    pow,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    scalar_tensor,
    stack,
    tensor,
    tril_indices,
    triu_indices,
    where,
    zeros,
    zeros_like,
)
from .functions import *  # noqa: F403  (minigrad.sin(x) is x.sin(): every such function form)
from .functions import __all__ as _function_names
from .devices import default_device, set_default_device
from .devices import default_device as get_default_device
from .errors import DeviceError, DtypeError, GradientError, ShapeError
from . import autograd, cuda, data, func, nn, optim  # torch.nn...: there after `import minigrad`
from .func import vmap  # torch.vmap is torch.func.vmap
from . import trace, viz
from . import linalg  # minigrad.linalg.det(A): torch.linalg's functions
from . import return_types  # minigrad.return_types.max: what x.max(1) returns, as torch's
from . import distributions  # minigrad.distributions.Normal(loc, scale): torch.distributions'
from . import special  # minigrad.special.ndtr(x): torch.special's functions with gradients
from .explain import explain  # minigrad.explain(loss): the backward pass as Python code

# torch.conv2d(x, w, padding=1) is F.conv2d(x, w, padding=1): torch's top-level names for the
# functions of torch.nn.functional that take the same arguments in the same order there
from .creation import range_inclusive as range  # noqa: A004  (torch.range, deprecated there)

from .nn.functional import (
    adaptive_avg_pool1d, alpha_dropout, avg_pool1d, bilinear, celu, channel_shuffle, conv1d,
    conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, cosine_similarity,
    dropout, feature_alpha_dropout, group_norm, hardshrink, layer_norm, max_pool1d, max_pool2d,
    max_pool3d, pairwise_distance, pdist, pixel_shuffle, pixel_unshuffle, prelu, rms_norm, rrelu,
    selu, threshold,
)  # fmt: skip
from .jit import compile  # minigrad.compile(step): record a training step, replay it
from .serialization import load, save
from .errors import missing_name_getattr as _missing_name_getattr

try:
    from . import accelerator  # torch.accelerator: torch 2.6 and later
except ImportError:
    pass

__version__ = "0.1.0"

# `minigrad.testing` loads on first use; `minigrad.cumsum`, a torch name minigrad lacks, raises an
# AttributeError that says so and how to add it (errors.missing_attribute).
__getattr__ = _missing_name_getattr(__name__, "torch")

__all__ = [
    "adaptive_avg_pool1d",
    "alpha_dropout",
    "arange",
    "are_deterministic_algorithms_enabled",
    "as_tensor",
    "asarray",
    "autograd",
    "avg_pool1d",
    "bartlett_window",
    "bernoulli",
    "bfloat16",
    "bilinear",
    "blackman_window",
    "bool",
    "broadcast_shapes",
    "can_cast",
    "cat",
    "cdouble",
    "celu",
    "cfloat",
    "chalf",
    "channels_last",
    "channels_last_3d",
    "channel_shuffle",
    "compile",
    "complex128",
    "complex32",
    "complex64",
    "contiguous_format",
    "Context",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "cosine_similarity",
    "cuda",
    "data",
    "default_device",
    "device",
    "DeviceError",
    "distributions",
    "double",
    "dropout",
    "dtype",
    "DtypeError",
    "empty",
    "empty_like",
    "enable_grad",
    "explain",
    "eye",
    "feature_alpha_dropout",
    "finfo",
    "float",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "Function",
    "Generator",
    "get_default_device",
    "get_default_dtype",
    "get_float32_matmul_precision",
    "get_num_interop_threads",
    "get_num_threads",
    "get_rng_state",
    "GradientError",
    "group_norm",
    "half",
    "hamming_window",
    "hann_window",
    "hardshrink",
    "iinfo",
    "inference_mode",
    "initial_seed",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "is_grad_enabled",
    "kaiser_window",
    "layer_norm",
    "linalg",
    "linspace",
    "load",
    "logspace",
    "long",
    "manual_seed",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "maximum",
    "memory_format",
    "minimum",
    "multinomial",
    "nn",
    "no_grad",
    "normal",
    "ones",
    "ones_like",
    "optim",
    "pairwise_distance",
    "pdist",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson",
    "pow",
    "preserve_format",
    "prelu",
    "promote_types",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "range",
    "return_types",
    "rms_norm",
    "rrelu",
    "save",
    "scalar_tensor",
    "seed",
    "selu",
    "set_default_device",
    "set_default_dtype",
    "set_float32_matmul_precision",
    "set_flush_denormal",
    "set_grad_enabled",
    "set_num_interop_threads",
    "set_num_threads",
    "set_printoptions",
    "set_rng_state",
    "ShapeError",
    "short",
    "Size",
    "special",
    "stack",
    "tensor",
    "Tensor",
    "threshold",
    "trace",
    "tril_indices",
    "triu_indices",
    "uint8",
    "use_deterministic_algorithms",
    "viz",
    "vmap",
    "where",
    "zeros",
    "zeros_like",
    *_function_names,
]
