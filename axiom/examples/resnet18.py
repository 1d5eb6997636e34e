"""ResNet-18 in the Axiom DSL (He et al. 2015, the torchvision layout), on NCHW images.

The standard architecture: a 7x7/2 convolution + BatchNorm + ReLU + 3x3/2 max pool stem, four
stages of two BasicBlocks (3x3 conv + BN + ReLU, 3x3 conv + BN, residual add, ReLU) with 64,
128, 256 and 512 channels, a 1x1/2 conv + BN on the shortcut where a stage halves the
resolution, global average pooling and a fully connected layer giving logits. Convolutions
have no bias, as in torchvision.

``resnet18(image_size, num_classes, seed)`` traces one over f32[N, 3, image_size, image_size]
with a symbolic batch N (``image_size=None``: symbolic H and W as well). BatchNorm runs in
inference mode; its four parameters (scale, shift, running mean and running variance) are
drawn from the seed after tracing instead of being left at 1, 0, 0, 1, so that a pass folding
batch norm into the convolutions has real numbers to get wrong. Convolution weights are
redrawn He-normal as torchvision does. ``resnet18_small`` (64x64 input, 10 classes) is the
instance tests use: it keeps them fast (the 224x224, 1000-class network takes about a second
per image on the numpy reference, and each compile copies its 47 MB of weights). Parameter names are
torchvision's with ``_`` for ``.`` (the DSL allows no ``.`` in a layer name):
``layer2_0_downsample_0.weight`` is torchvision's ``layer2.0.downsample.0.weight``.
``torch_reference`` is the same network written by hand.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

import axiom
from axiom import Tensor, f32
from axiom.nn import BatchNorm, Conv2d, Dense, Flatten, GlobalAvgPool, MaxPool, ReLU

STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))  # (channels, stride of the stage's first block)
BLOCKS_PER_STAGE = 2


def _conv_bn(x: Any, cin: int, cout: int, kernel: int, stride: int, conv: str, bn: str) -> Any:
    """A bias-free convolution (padding kernel // 2) named ``conv``, then inference BatchNorm named ``bn``."""
    x = x | Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False, name=conv)
    return x | BatchNorm(cout, name=bn)


def _basic_block(x: Any, cin: int, cout: int, stride: int, prefix: str) -> Any:
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the shortcut a 1x1 conv + BN if shapes change."""
    y = _conv_bn(x, cin, cout, 3, stride, f"{prefix}_conv1", f"{prefix}_bn1") | ReLU()
    y = _conv_bn(y, cout, cout, 3, 1, f"{prefix}_conv2", f"{prefix}_bn2")
    shortcut = x
    if stride != 1 or cin != cout:
        shortcut = _conv_bn(x, cin, cout, 1, stride, f"{prefix}_downsample_0", f"{prefix}_downsample_1")
    return (y + shortcut) | ReLU()


def resnet18(image_size: int | None = 224, num_classes: int = 1000, seed: int = 0) -> axiom.Model:
    """Trace ResNet-18 over f32[N, 3, image_size, image_size] -> logits f32[N, num_classes].

    ``image_size=None`` makes the spatial dims symbolic too (f32[N, 3, H, W]): the graph then
    carries the conv/pool output-size expressions all the way down to the global pool. That
    instance is a stress test of symbolic shape inference more than a model to run in tests:
    today sympy's simplification of the nested floor expressions in the conv/pool type rules
    makes tracing take tens of seconds and compiling (each verifier run re-infers every type)
    minutes on 2 cores.
    """
    size = ("H", "W") if image_size is None else (image_size, image_size)

    def resnet18(x: Tensor[f32, "N", 3, *size]) -> Tensor[f32, "N", num_classes]:  # noqa: F821
        h = _conv_bn(x, 3, 64, 7, 2, "conv1", "bn1") | ReLU() | MaxPool(3, stride=2, padding=1)
        cin = 64
        for s, (cout, stride) in enumerate(STAGES, start=1):
            for b in range(BLOCKS_PER_STAGE):
                h = _basic_block(h, cin, cout, stride if b == 0 else 1, f"layer{s}_{b}")
                cin = cout
        return h | GlobalAvgPool() | Flatten() | Dense(cin, num_classes, name="fc")

    model = axiom.model(resnet18, seed=seed)
    model.load_params(initial_values(model.params, seed), strict=False)
    return model


def initial_values(params: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """Values drawn from ``seed`` that replace the DSL's defaults: convolution weights He-normal
    over fan-out (torchvision's ResNet init, which keeps activations near unit scale through the
    18 layers), and for every BatchNorm (a layer with a running_mean) scale in [0.5, 1.5], shift
    and running mean N(0, 0.1), running variance in [0.5, 2] instead of 1, 0, 0, 1."""
    rng = np.random.default_rng([seed, 18])
    norm = {"weight": lambda n: rng.uniform(0.5, 1.5, n),
            "bias": lambda n: rng.normal(0.0, 0.1, n),
            "running_mean": lambda n: rng.normal(0.0, 0.1, n),
            "running_var": lambda n: rng.uniform(0.5, 2.0, n)}
    norms = {name.rsplit(".", 1)[0] for name in params if name.endswith(".running_mean")}
    out = {}
    for name, value in params.items():
        layer, kind = name.rsplit(".", 1)
        if layer in norms:
            out[name] = norm[kind](value.shape[0]).astype(value.dtype)
        elif value.ndim == 4:  # a conv weight [out, in, kh, kw]
            fan_out = value.shape[0] * value.shape[2] * value.shape[3]
            out[name] = rng.normal(0.0, np.sqrt(2.0 / fan_out), value.shape).astype(value.dtype)
    return out


resnet18_small = resnet18(image_size=64, num_classes=10)


def fake_images(batch: int = 2, image_size: int = 64, seed: int = 0) -> np.ndarray:
    """A deterministic f32[batch, 3, image_size, image_size] of normalised-image-like values:
    smooth per-channel gradients plus N(0, 0.5) noise, roughly zero mean and unit scale."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(-1.0, 1.0, image_size, dtype=np.float32)
    slope_y, slope_x = rng.uniform(-1.0, 1.0, (2, batch, 3, 1, 1))
    base = slope_y * ramp[:, None] + slope_x * ramp
    noise = rng.normal(0.0, 0.5, (batch, 3, image_size, image_size))
    return (base + noise).astype(np.float32)


def torch_reference(params: dict[str, np.ndarray]) -> Callable[[Any], Any]:
    """The same ResNet-18 written by hand with torch.nn.functional, using the Axiom parameters by name
    (any image size; the class count comes from ``fc.weight``)."""
    import torch
    import torch.nn.functional as F

    p = {k: torch.from_numpy(v) for k, v in params.items()}

    def conv_bn(x: torch.Tensor, conv: str, bn: str, stride: int, padding: int) -> torch.Tensor:
        x = F.conv2d(x, p[f"{conv}.weight"], stride=stride, padding=padding)
        return F.batch_norm(x, p[f"{bn}.running_mean"], p[f"{bn}.running_var"],
                            p[f"{bn}.weight"], p[f"{bn}.bias"], training=False, eps=1e-5)

    def block(x: torch.Tensor, prefix: str, stride: int) -> torch.Tensor:
        y = F.relu(conv_bn(x, f"{prefix}_conv1", f"{prefix}_bn1", stride, 1))
        y = conv_bn(y, f"{prefix}_conv2", f"{prefix}_bn2", 1, 1)
        if f"{prefix}_downsample_0.weight" in p:
            x = conv_bn(x, f"{prefix}_downsample_0", f"{prefix}_downsample_1", stride, 0)
        return F.relu(y + x)

    @torch.no_grad()
    def forward(x: torch.Tensor) -> torch.Tensor:
        h = F.max_pool2d(F.relu(conv_bn(x, "conv1", "bn1", 2, 3)), 3, stride=2, padding=1)
        for s, (_, stride) in enumerate(STAGES, start=1):
            for b in range(BLOCKS_PER_STAGE):
                h = block(h, f"layer{s}_{b}", stride if b == 0 else 1)
        h = F.adaptive_avg_pool2d(h, 1).flatten(1)
        return F.linear(h, p["fc.weight"], p["fc.bias"])

    return forward
