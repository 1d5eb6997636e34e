"""Activation layers: parameter-free wrappers of the elementwise and softmax ops."""

from __future__ import annotations

from axiom.frontends.dsl import functional as F
from axiom.frontends.dsl.layer import Layer, describe
from axiom.frontends.dsl.tensor import Tensor


class ReLU(Layer):
    """max(x, 0)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Layer):
    """x if x >= 0 else alpha * x."""

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.alpha)

    def __repr__(self) -> str:
        return describe("LeakyReLU", self.alpha)


class GELU(Layer):
    """x * Phi(x); approximate="tanh" uses the tanh formula (PyTorch's argument)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def __repr__(self) -> str:
        return describe("GELU", **({} if self.approximate == "none" else {"approximate": self.approximate}))


class Sigmoid(Layer):
    """1 / (1 + exp(-x))."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Layer):
    """Hyperbolic tangent."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Softplus(Layer):
    """log(1 + exp(x))."""

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x)


class Softmax(Layer):
    """Probabilities along ``axis`` (default the last)."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = int(axis)

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.axis)

    def __repr__(self) -> str:
        return describe("Softmax", **({} if self.axis == -1 else {"axis": self.axis}))


class LogSoftmax(Layer):
    """Log-probabilities along ``axis`` (default the last)."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = int(axis)

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.axis)

    def __repr__(self) -> str:
        return describe("LogSoftmax", **({} if self.axis == -1 else {"axis": self.axis}))


class Identity(Layer):
    """Returns its input unchanged."""

    def forward(self, x: Tensor) -> Tensor:
        return x
