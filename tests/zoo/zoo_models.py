"""Five hand-written PyTorch models for the zoo tests (no torchvision): an MLP, an MNIST CNN, ResNet-18,
a 4-layer transformer encoder and a GPT-2-style block. ``build(name)`` gives a seeded model in eval mode,
``example_input(name, batch)`` a seeded input; the zoo tests import them through every frontend."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """784-256-256-10 with ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 256), nn.Linear(256, 256), nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class MnistCNN(nn.Module):
    """conv-relu-maxpool twice, flatten, linear-relu, linear: [B, 1, 28, 28] -> [B, 10]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1, self.fc2 = nn.Linear(32 * 7 * 7, 128), nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class BasicBlock(nn.Module):
    """Two 3x3 conv-bn layers with a residual; a 1x1 conv-bn downsample when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet18(nn.Module):
    """The standard ResNet-18 layout (torchvision's, 11,689,512 parameters): [B, 3, 224, 224] -> [B, 1000]."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths, cin, layers = (64, 128, 256, 512), 64, []
        for i, width in enumerate(widths):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, width, stride), BasicBlock(width, width, 1)))
            cin = width
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
              mask: torch.Tensor | None = None) -> torch.Tensor:
    """Scaled dot-product attention with matmul + softmax over [B, S, D] inputs split into heads."""
    b, s, d = q.shape
    split = [b, s, heads, d // heads]
    q, k, v = (t.reshape(split).transpose(1, 2) for t in (q, k, v))
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d // heads)
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    out = torch.matmul(torch.softmax(scores, dim=-1), v)
    return out.transpose(1, 2).reshape(b, s, d)


class EncoderLayer(nn.Module):
    """Post-LayerNorm encoder layer (as the original transformer): self-attention, then a GELU FFN."""

    def __init__(self, d: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff1, self.ff2 = nn.Linear(d, ffn), nn.Linear(ffn, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.ln1(x + self.o(attention(self.q(x), self.k(x), self.v(x), self.heads)))
        return self.ln2(x + self.ff2(F.gelu(self.ff1(x))))


class TransformerEncoder(nn.Module):
    """Four encoder layers, d_model 256, 4 heads, FFN 1024: float embeddings [B, S, 256] -> [B, S, 256]."""

    def __init__(self, d: int = 256, heads: int = 4, ffn: int = 1024, layers: int = 4) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(d, heads, ffn) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class GPT2Block(nn.Module):
    """A GPT-2 block: pre-LayerNorm causal self-attention (fused qkv) and a tanh-GELU MLP, [B, S, 768]."""

    def __init__(self, d: int = 768, heads: int = 12) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.shape[1]
        causal = torch.tril(torch.ones(s, s, dtype=torch.bool, device=x.device))
        q, k, v = self.c_attn(self.ln_1(x)).chunk(3, dim=-1)
        x = x + self.c_proj(attention(q, k, v, self.heads, mask=~causal))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


@dataclass(frozen=True)
class ZooModel:
    """A model class and the shape of one input sample (``None`` marks the sequence dim)."""

    make: Callable[[], nn.Module]
    sample_shape: tuple[int | None, ...]
    batches: tuple[int, int]  # the two batch sizes the zoo tests run
    seq: tuple[int, int] | None = None  # the sequence length at each of those runs


ZOO = {
    "mlp": ZooModel(MLP, (784,), (1, 3)),
    "mnist_cnn": ZooModel(MnistCNN, (1, 28, 28), (1, 3)),
    "resnet18": ZooModel(ResNet18, (3, 224, 224), (1, 2)),
    "transformer": ZooModel(TransformerEncoder, (None, 256), (1, 3), (16, 24)),
    "gpt2_block": ZooModel(GPT2Block, (None, 768), (1, 3), (16, 24)),
}


def _randomise_batch_norm(model: nn.Module, gen: torch.Generator) -> None:
    """Give every BatchNorm non-trivial affine parameters and running statistics."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = 1.0 + 0.1 * torch.randn(n, generator=gen)
            m.bias.data = 0.1 * torch.randn(n, generator=gen)
            m.running_mean = 0.1 * torch.randn(n, generator=gen)
            m.running_var = 0.5 + torch.rand(n, generator=gen)


def _randomise_layer_norm(model: nn.Module, gen: torch.Generator) -> None:
    """Move every LayerNorm off the identity affine map, so a dropped weight or bias shows."""
    for m in model.modules():
        if isinstance(m, nn.LayerNorm):
            m.weight.data = 1.0 + 0.1 * torch.randn(m.normalized_shape, generator=gen)
            m.bias.data = 0.1 * torch.randn(m.normalized_shape, generator=gen)


def build(name: str, seed: int = 0) -> nn.Module:
    """The zoo model ``name`` in eval mode, its weights drawn from ``seed``."""
    if name not in ZOO:
        raise KeyError(f"no zoo model {name!r}; have {', '.join(ZOO)}")
    torch.manual_seed(seed)
    model = ZOO[name].make()
    gen = torch.Generator().manual_seed(seed + 1)
    _randomise_batch_norm(model, gen)
    _randomise_layer_norm(model, gen)
    return model.eval()


def example_input(name: str, batch: int = 1, seq: int = 16, seed: int = 0) -> torch.Tensor:
    """A seeded float32 input for ``name``: [batch, *sample], the sequence dim (if any) set to ``seq``."""
    shape = [batch, *(seq if d is None else d for d in ZOO[name].sample_shape)]
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def sizes(name: str) -> list[tuple[int, int]]:
    """The (batch, seq) pairs the zoo tests run ``name`` at (seq is 16 for models without one)."""
    zoo = ZOO[name]
    seqs = zoo.seq or (16, 16)
    return list(zip(zoo.batches, seqs, strict=True))
