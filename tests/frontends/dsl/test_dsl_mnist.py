"""The MNIST classifier of the brief: traced with a symbolic batch, run against a hand-built PyTorch twin."""

import numpy as np
import pytest
import torch
from torch import nn as tnn

from axiom.backends.numpy import run_graph
from axiom.frontends.dsl import (
    Conv2d,
    Dense,
    Dropout,
    Flatten,
    MaxPool,
    ReLU,
    Sequential,
    Softmax,
    Tensor,
    ensure,
    model,
    valid_probabilities,
)
from axiom.ir import f32


def build_mnist(seed=0):
    @model(seed=seed)
    def mnist(x: Tensor[f32, "N", 1, 28, 28]) -> Tensor[f32, "N", 10]:  # noqa: F821
        features = (Conv2d(1, 32, 3, padding=1) | ReLU() | MaxPool(2)
                    | Conv2d(32, 64, 3, padding=1) | ReLU() | MaxPool(2))
        classifier = Sequential(Flatten(), Dense(3136, 128), ReLU(), Dropout(0.5), Dense(128, 10), Softmax())
        probs = x | features | classifier
        ensure(valid_probabilities(probs))
        return probs

    return mnist


def torch_twin(params):
    """The same network written by hand in PyTorch, with the DSL model's weights copied in."""
    conv1, conv2 = tnn.Conv2d(1, 32, 3, padding=1), tnn.Conv2d(32, 64, 3, padding=1)
    fc1, fc2 = tnn.Linear(3136, 128), tnn.Linear(128, 10)
    net = tnn.Sequential(conv1, tnn.ReLU(), tnn.MaxPool2d(2), conv2, tnn.ReLU(), tnn.MaxPool2d(2),
                         tnn.Flatten(), fc1, tnn.ReLU(), tnn.Dropout(0.5), fc2, tnn.Softmax(dim=-1)).eval()
    pairs = {"conv2d_0": conv1, "conv2d_1": conv2, "dense_0": fc1, "dense_1": fc2}
    with torch.no_grad():
        for prefix, mod in pairs.items():
            mod.weight.copy_(torch.from_numpy(params[f"{prefix}.weight"].copy()))
            mod.bias.copy_(torch.from_numpy(params[f"{prefix}.bias"].copy()))
    return net


@pytest.fixture(scope="module")
def mnist():
    return build_mnist()


def test_traces_with_symbolic_batch(mnist):
    assert [str(t) for t in mnist.input_types] == ["f32[N, 1, 28, 28]"]
    assert [str(t) for t in mnist.output_types] == ["f32[N, 10]"]
    assert mnist.graph.name == "mnist"
    assert [v.name for v in mnist.graph.inputs] == ["x"]
    ops = [n.op.name for n in mnist.graph.nodes if n.op.name != "const"]
    assert ops == ["conv2d", "relu", "max_pool2d", "conv2d", "relu", "max_pool2d", "flatten", "linear",
                   "relu", "dropout", "linear", "softmax"]


def test_param_names_and_shapes(mnist):
    shapes = {k: v.shape for k, v in mnist.params.items()}
    assert shapes == {"conv2d_0.weight": (32, 1, 3, 3), "conv2d_0.bias": (32,),
                      "conv2d_1.weight": (64, 32, 3, 3), "conv2d_1.bias": (64,),
                      "dense_0.weight": (128, 3136), "dense_0.bias": (128,),
                      "dense_1.weight": (10, 128), "dense_1.bias": (10,)}
    assert all(a.dtype == np.float32 for a in mnist.params.values())


@pytest.mark.parametrize("batch", [1, 3])
def test_matches_pytorch(mnist, batch):
    x = np.random.default_rng(batch).standard_normal((batch, 1, 28, 28)).astype(np.float32)
    ours = mnist(x)
    with torch.no_grad():
        ref = torch_twin(mnist.params)(torch.from_numpy(x)).numpy()
    assert ours.shape == (batch, 10) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(run_graph(mnist.graph, [x])[0], ours)


def test_declares_valid_probabilities(mnist):
    [prop] = mnist.graph.properties
    assert (prop.kind, prop.name, dict(prop.params)) == ("ensure", "valid_probabilities", {"axis": -1})
    assert prop.args == mnist.graph.outputs
    assert prop.loc is not None and prop.loc.file.endswith("test_dsl_mnist.py")


def test_every_node_points_at_the_model_source(mnist):
    lines = {n.loc.line for n in mnist.graph.nodes}
    first = build_mnist.__code__.co_firstlineno
    assert all(n.loc.file.endswith("test_dsl_mnist.py") for n in mnist.graph.nodes)
    assert lines and all(first < line < first + 10 for line in lines)
