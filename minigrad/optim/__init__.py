"""Optimizers: how parameters move after `backward()`. `SGD` and `Adam`, with torch's rules."""

from .adam import Adam
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adam", "Optimizer"]
