"""Layers with parameters or shape logic: Dense, Conv2d, pooling, norms, Dropout, Flatten, Embedding.

Arguments and parameter layouts follow PyTorch (Dense weight [out, in], Conv2d weight OIHW,
Kaiming-uniform initialisation), so weights move between the two unchanged. Each layer checks
its input against its own configuration and names itself in the error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from axiom.frontends.dsl import functional as F
from axiom.frontends.dsl.layer import Layer, describe
from axiom.frontends.dsl.params import kaiming_uniform, normal, ones, zeros
from axiom.frontends.dsl.tensor import Tensor
from axiom.ir.dtypes import DType


def _positive(cls: str, **values: int) -> None:
    for key, v in values.items():
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"{cls}: {key} must be a positive int, got {v!r}")


class Dense(Layer):
    """y = x @ weight.T + bias, weight [out_features, in_features] (PyTorch's nn.Linear)."""

    kind = "dense"

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: DType | str | None = None, name: str | None = None) -> None:
        super().__init__(name, dtype)
        _positive("Dense", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features, self.bias = int(in_features), int(out_features), bias

    def forward(self, x: Tensor) -> Tensor:
        self.require_float(x)
        if x.ndim < 1:
            raise self.error(x, f"expects [..., {self.in_features}] input, got a scalar {x.type}")
        self.require_dim(x, x.ndim - 1, self.in_features, "in_features")
        init = kaiming_uniform(self.in_features)
        w = self.param(x, "weight", (self.out_features, self.in_features), init)
        b = self.param(x, "bias", (self.out_features,), init) if self.bias else None
        return F.linear(x, w, b)

    def __repr__(self) -> str:
        opts = {} if self.bias else {"bias": False}
        return describe("Dense", self.in_features, self.out_features, **opts)


class Conv2d(Layer):
    """2-D convolution over NCHW input, weight [out, in/groups, kh, kw] (PyTorch's nn.Conv2d).

    ``padding``: an int, an (h, w) pair, a (top, left, bottom, right) 4-tuple, "same" or "valid".
    """

    kind = "conv2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True,
                 dtype: DType | str | None = None, name: str | None = None) -> None:
        super().__init__(name, dtype)
        _positive("Conv2d", in_channels=in_channels, out_channels=out_channels, groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) "
                             f"must both divide by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.dilation = _pair(dilation, "dilation")
        self.padding = padding
        self.bias = bias
        if padding == "same" and self.stride != (1, 1):
            raise ValueError(f"Conv2d: padding='same' needs stride 1, got stride={stride!r}")

    def forward(self, x: Tensor) -> Tensor:
        self.require_float(x)
        self.require_rank(x, 4, "NCHW")
        self.require_dim(x, 1, self.in_channels, "in_channels")
        kh, kw = self.kernel_size
        fan_in = self.in_channels // self.groups * kh * kw
        init = kaiming_uniform(fan_in)
        w = self.param(x, "weight", (self.out_channels, self.in_channels // self.groups, kh, kw), init)
        b = self.param(x, "bias", (self.out_channels,), init) if self.bias else None
        return F.conv2d(x, w, b, stride=self.stride, padding=self.padding, dilation=self.dilation,
                        groups=self.groups)

    def __repr__(self) -> str:
        opts = {k: v for k, v, d in (("stride", self.stride, (1, 1)), ("padding", self.padding, 0),
                                      ("dilation", self.dilation, (1, 1)), ("groups", self.groups, 1),
                                      ("bias", self.bias, True)) if v != d}
        k = self.kernel_size[0] if self.kernel_size[0] == self.kernel_size[1] else self.kernel_size
        return describe("Conv2d", self.in_channels, self.out_channels, k, **opts)


class MaxPool(Layer):
    """Max pooling over NCHW windows; stride defaults to the kernel."""

    def __init__(self, kernel: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, x: Tensor) -> Tensor:
        self.require_rank(x, 4, "NCHW")
        return F.max_pool2d(x, self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode)

    def __repr__(self) -> str:
        opts = {k: v for k, v, d in (("stride", self.stride, None), ("padding", self.padding, 0),
                                      ("dilation", self.dilation, 1), ("ceil_mode", self.ceil_mode, False))
                if v != d}
        return describe("MaxPool", self.kernel, **opts)


class AvgPool(Layer):
    """Average pooling over NCHW windows; padded zeros count unless count_include_pad=False (PyTorch)."""

    def __init__(self, kernel: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        self.require_rank(x, 4, "NCHW")
        return F.avg_pool2d(x, self.kernel, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def __repr__(self) -> str:
        opts = {k: v for k, v, d in (("stride", self.stride, None), ("padding", self.padding, 0),
                                      ("ceil_mode", self.ceil_mode, False),
                                      ("count_include_pad", self.count_include_pad, True)) if v != d}
        return describe("AvgPool", self.kernel, **opts)


class GlobalAvgPool(Layer):
    """Mean over H and W: [N, C, H, W] -> [N, C, 1, 1]."""

    def forward(self, x: Tensor) -> Tensor:
        self.require_rank(x, 4, "NCHW")
        return F.global_avg_pool2d(x)


class BatchNorm(Layer):
    """Inference batch norm over channel axis 1: weight, bias, running_mean, running_var, all [C]."""

    kind = "batch_norm"

    def __init__(self, num_features: int, eps: float = 1e-5, dtype: DType | str | None = None,
                 name: str | None = None) -> None:
        super().__init__(name, dtype)
        _positive("BatchNorm", num_features=num_features)
        self.num_features, self.eps = int(num_features), float(eps)

    def forward(self, x: Tensor) -> Tensor:
        self.require_float(x)
        if x.ndim < 2:
            raise self.error(x, f"expects an [N, C, ...] input, got {x.type}")
        self.require_dim(x, 1, self.num_features, "channels")
        c = (self.num_features,)
        scale, bias = self.param(x, "weight", c, ones), self.param(x, "bias", c, zeros)
        mean, var = self.param(x, "running_mean", c, zeros), self.param(x, "running_var", c, ones)
        return F.batch_norm(x, scale, bias, mean, var, epsilon=self.eps)

    def __repr__(self) -> str:
        return describe("BatchNorm", self.num_features, **({} if self.eps == 1e-5 else {"eps": self.eps}))


class LayerNorm(Layer):
    """Normalise over the trailing ``shape`` dims, then scale (weight) and shift (bias)."""

    kind = "layer_norm"

    def __init__(self, shape: int | Sequence[int], eps: float = 1e-5, dtype: DType | str | None = None,
                 name: str | None = None) -> None:
        super().__init__(name, dtype)
        self.shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
        _positive("LayerNorm", **{f"shape[{i}]": d for i, d in enumerate(self.shape)})
        if not self.shape:
            raise ValueError("LayerNorm: shape must name at least one dim")
        self.eps = float(eps)

    def forward(self, x: Tensor) -> Tensor:
        self.require_float(x)
        k = len(self.shape)
        if x.ndim < k:
            raise self.error(x, f"normalises the last {k} dims {list(self.shape)}, but the input is {x.type}")
        for i, d in enumerate(self.shape):
            self.require_dim(x, x.ndim - k + i, d, "normalized dim")
        w, b = self.param(x, "weight", self.shape, ones), self.param(x, "bias", self.shape, zeros)
        return F.layer_norm(x, w, b, axis=x.ndim - k, epsilon=self.eps)

    def __repr__(self) -> str:
        shape = self.shape[0] if len(self.shape) == 1 else list(self.shape)
        return describe("LayerNorm", shape, **({} if self.eps == 1e-5 else {"eps": self.eps}))


class Dropout(Layer):
    """Identity at inference; the rate is kept for export."""

    def __init__(self, rate: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.rate)

    def __repr__(self) -> str:
        return describe("Dropout", self.rate)


class Flatten(Layer):
    """[d0, ..., dn] -> [prod(d[:axis]), prod(d[axis:])]; axis 1 keeps the batch dim."""

    def __init__(self, axis: int = 1) -> None:
        super().__init__()
        self.axis = int(axis)

    def forward(self, x: Tensor) -> Tensor:
        return F.flatten(x, self.axis)

    def __repr__(self) -> str:
        return describe("Flatten", **({} if self.axis == 1 else {"axis": self.axis}))


class Embedding(Layer):
    """Rows of a [num, dim] table picked by integer indices (i32/i64); N(0, 1) init like PyTorch."""

    kind = "embedding"

    def __init__(self, num: int, dim: int, dtype: DType | str | None = None, name: str | None = None) -> None:
        super().__init__(name, dtype)
        _positive("Embedding", num=num, dim=dim)
        self.num, self.dim = int(num), int(dim)

    def forward(self, x: Tensor) -> Tensor:
        if x.dtype.name not in ("i32", "i64"):
            raise self.error(x, f"takes i32/i64 indices, got {x.type}")
        table = self.param(x, "weight", (self.num, self.dim), normal(1.0))
        return F.gather(table, x, axis=0)

    def __repr__(self) -> str:
        return describe("Embedding", self.num, self.dim)


def _pair(v: int | Sequence[int], what: str) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    items = tuple(int(i) for i in v)
    if len(items) != 2:
        raise ValueError(f"{what} must be an int or a pair, got {v!r}")
    return items  # type: ignore[return-value]
