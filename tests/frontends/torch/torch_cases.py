"""Shared helpers of the PyTorch import tests: import a module, run it with our interpreter and
compare with torch eager."""

from __future__ import annotations

import numpy as np
import torch

from axiom.backends.numpy.interpreter import run_graph
from axiom.frontends.torch import from_pytorch


def check(module, *inputs, dynamic_shapes=None, rtol=1e-5, atol=1e-5):  # noqa: ANN001, ANN201
    """Import ``module`` with ``inputs`` as example inputs, run it on them, compare with eager."""
    graph = from_pytorch(module, inputs, dynamic_shapes=dynamic_shapes)
    compare(graph, module, *inputs, rtol=rtol, atol=atol)
    return graph


def compare(graph, module, *inputs, rtol=1e-5, atol=1e-5) -> None:  # noqa: ANN001
    """Our interpreter on ``graph`` equals ``module``'s eager outputs (dtype, shape and values)."""
    with torch.no_grad():
        want = module.eval()(*inputs)
    want = [want] if isinstance(want, torch.Tensor) else list(want)
    got = run_graph(graph, [t.numpy() for t in inputs])
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        w = w.numpy()
        assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, g.shape, w.dtype, w.shape)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


class Fn(torch.nn.Module):
    """A module whose forward is ``fn`` (so each test case is one lambda)."""

    def __init__(self, fn) -> None:  # noqa: ANN001
        super().__init__()
        self.fn = fn

    def forward(self, *args):  # noqa: ANN002, ANN201
        return self.fn(*args)
