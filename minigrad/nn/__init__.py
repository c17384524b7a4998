"""Neural-network building blocks: layers as Modules (`modules.py`, more activations in
`activation.py`; convolution, pooling, batch norm, layer and group norm, dropout, embedding,
cosine similarity, recurrent (RNN, LSTM, GRU and their cells) and resizing layers in
`conv.py`, `pooling.py`, `batchnorm.py`, `normalization.py`, `dropout.py`, `embedding.py`,
`distance.py`, `rnn.py`, `upsampling.py`; padding and pixel shuffle layers in `padding.py` and
`pixelshuffle.py`; multi-head attention in `attention.py`; transformer encoder and decoder
layers and stacks in `transformer.py`), functions and losses
(`functional.py`, imported as `F`), the losses as modules (`losses.py`), weight initialisation
(`init.py`), gradient clipping (`utils.py`), and data-parallel training over several processes
(`parallel.py`)."""

from ..errors import missing_name_getattr as _missing_name_getattr
from . import functional, init, parallel, utils
from . import functional as F  # noqa: N812  (torch's spelling: nn.functional as F)
from .activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU6,
    SiLU,
    Softmax,
    Softmax2d,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from .attention import MultiheadAttention
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .distance import CosineSimilarity
from .dropout import Dropout, Dropout1d, Dropout2d
from .embedding import Embedding
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .modules import (
    Flatten,
    Identity,
    Linear,
    Module,
    ModuleDict,
    ModuleList,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Unflatten,
)
from .normalization import GroupNorm, LayerNorm
from .padding import (
    ConstantPad1d,
    ConstantPad2d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    ZeroPad2d,
)
from .pixelshuffle import PixelShuffle, PixelUnshuffle
from .pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = [
    "AdaptiveAvgPool1d",
    "ConstantPad1d",
    "ConstantPad2d",
    "Dropout1d",
    "Dropout2d",
    "PixelShuffle",
    "PixelUnshuffle",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ZeroPad2d",
    "CELU",
    "GLU",
    "Hardsigmoid",
    "Hardswish",
    "LogSigmoid",
    "Mish",
    "PReLU",
    "SELU",
    "Softmax2d",
    "Softmin",
    "Softplus",
    "Softsign",
    "Tanhshrink",
    "Threshold",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "CosineSimilarity",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Embedding",
    "F",
    "Flatten",
    "Unflatten",
    "GELU",
    "GroupNorm",
    "Hardtanh",
    "HuberLoss",
    "Identity",
    "KLDivLoss",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "Module",
    "MultiheadAttention",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "ReLU6",
    "Sequential",
    "Sigmoid",
    "SiLU",
    "SmoothL1Loss",
    "Softmax",
    "Tanh",
    "Upsample",
    "RNN",
    "RNNCell",
    "LSTM",
    "LSTMCell",
    "GRU",
    "GRUCell",
    "Transformer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
    "functional",
    "init",
    "parallel",
    "utils",
]

# nn.RReLU, a torch name minigrad lacks, raises an AttributeError that says so (errors.py).
__getattr__ = _missing_name_getattr(__name__, "torch.nn")
