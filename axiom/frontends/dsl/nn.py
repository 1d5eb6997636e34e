"""Every DSL layer in one import location (re-exported as ``axiom.nn``)."""

from axiom.frontends.dsl.activations import (
    GELU,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from axiom.frontends.dsl.layer import Layer, Sequential
from axiom.frontends.dsl.layers import (
    AvgPool,
    BatchNorm,
    Conv2d,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool,
    LayerNorm,
    MaxPool,
)

__all__ = [
    "GELU", "AvgPool", "BatchNorm", "Conv2d", "Dense", "Dropout", "Embedding", "Flatten", "GlobalAvgPool",
    "Identity", "Layer", "LayerNorm", "LeakyReLU", "LogSoftmax", "MaxPool", "ReLU", "Sequential", "Sigmoid",
    "Softmax", "Softplus", "Tanh",
]
