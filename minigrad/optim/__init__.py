"""Optimizers: how parameters move after `backward()`, with torch.optim's names and rules.

SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta; parameter groups and state_dict in `Optimizer`;
learning-rate schedules in `minigrad.optim.lr_scheduler`.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
