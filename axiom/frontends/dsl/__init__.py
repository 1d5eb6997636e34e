"""The native Python DSL: typed model functions traced into the IR.

```
@model(seed=0)
def mlp(x: Tensor[f32, "N", 784]) -> Tensor[f32, "N", 10]:
    return x | Dense(784, 128) | ReLU() | Dense(128, 10) | Softmax()
```

Parameters are named ``<layer name or kind_k>.<param>`` (``dense_0.weight``, ``conv2d_1.bias``),
numbered per kind in the order layers are first applied; ``Dense(..., name="fc1")`` gives ``fc1.weight``.
"""

from axiom.frontends.dsl import functional as ops
from axiom.frontends.dsl import nn
from axiom.frontends.dsl.locations import ParamError, TraceError
from axiom.frontends.dsl.model import Model, model
from axiom.frontends.dsl.nn import (
    GELU,
    AvgPool,
    BatchNorm,
    Conv2d,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool,
    Identity,
    Layer,
    LayerNorm,
    LeakyReLU,
    LogSoftmax,
    MaxPool,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from axiom.frontends.dsl.params import load_params, save_params
from axiom.frontends.dsl.properties import (
    InBox,
    Property,
    bounded,
    ensure,
    finite,
    in_box,
    nonnegative,
    prove,
    valid_probabilities,
)
from axiom.frontends.dsl.tensor import Tensor, TensorSpec

__all__ = [
    "GELU", "AvgPool", "BatchNorm", "Conv2d", "Dense", "Dropout", "Embedding", "Flatten", "GlobalAvgPool",
    "Identity", "InBox", "Layer", "LayerNorm", "LeakyReLU", "LogSoftmax", "MaxPool", "Model", "ParamError",
    "Property", "ReLU", "Sequential", "Sigmoid", "Softmax", "Softplus", "Tanh", "Tensor", "TensorSpec",
    "TraceError", "bounded", "ensure", "finite", "in_box", "load_params", "model", "nn", "nonnegative", "ops",
    "prove", "save_params", "valid_probabilities",
]
