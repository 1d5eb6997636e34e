"""A multilayer perceptron in the Axiom DSL: 784 -> 256 -> 256 -> 10 with a softmax output.

The smallest of the reference models the passes, backends and benchmarks are measured on: two
hidden layers (GELU by default, ReLU on request), so a graph of a few `linear` nodes, two
activations and a softmax, all over a symbolic batch N. ``mlp`` is the default instance (GELU,
seed 0); ``build_mlp`` makes others. ``fake_inputs`` gives flattened image-like rows and
``torch_reference`` the same network written by hand in PyTorch eager.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

import axiom
from axiom import Tensor, ensure, f32, valid_probabilities
from axiom.nn import GELU, Dense, ReLU, Softmax

IN_FEATURES, HIDDEN, CLASSES = 784, 256, 10
ACTIVATIONS = {"gelu": GELU, "relu": ReLU}


def build_mlp(activation: str = "gelu", seed: int = 0) -> axiom.Model:
    """Trace the MLP with the given hidden activation ("gelu" or "relu"); parameters fc1..fc3."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"build_mlp: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    act = ACTIVATIONS[activation]

    def mlp(x: Tensor[f32, "N", IN_FEATURES]) -> Tensor[f32, "N", CLASSES]:  # noqa: F821 ("N" is a dim name)
        h = x | Dense(IN_FEATURES, HIDDEN, name="fc1") | act()
        h = h | Dense(HIDDEN, HIDDEN, name="fc2") | act()
        probs = h | Dense(HIDDEN, CLASSES, name="fc3") | Softmax()
        ensure(valid_probabilities(probs))
        return probs

    return axiom.model(mlp, seed=seed)


mlp = build_mlp()


def fake_inputs(batch: int = 4, seed: int = 0) -> np.ndarray:
    """A deterministic f32[batch, 784] of values in [0, 1], like flattened 28x28 grey images."""
    return np.random.default_rng(seed).random((batch, IN_FEATURES), dtype=np.float32)


def torch_reference(params: dict[str, np.ndarray], activation: str = "gelu") -> Callable[[Any], Any]:
    """The same MLP written by hand with torch.nn.functional, using the Axiom parameters by name."""
    import torch
    import torch.nn.functional as F

    p = {k: torch.from_numpy(v) for k, v in params.items()}
    act = {"gelu": F.gelu, "relu": F.relu}[activation]

    @torch.no_grad()
    def forward(x: torch.Tensor) -> torch.Tensor:
        h = act(F.linear(x, p["fc1.weight"], p["fc1.bias"]))
        h = act(F.linear(h, p["fc2.weight"], p["fc2.bias"]))
        return F.softmax(F.linear(h, p["fc3.weight"], p["fc3.bias"]), dim=-1)

    return forward
