"""An MNIST classifier in the Axiom DSL, and fake digits to feed it.

The model is traced once, when this module is imported: its graph takes f32[N, 1, 28, 28] for
any batch size N and declares that its output rows are probability distributions.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

import axiom
from axiom import Tensor, ensure, f32, valid_probabilities
from axiom.nn import Conv2d, Dense, Dropout, Flatten, MaxPool, ReLU, Sequential, Softmax


@axiom.model(seed=0)
def mnist(x: Tensor[f32, "N", 1, 28, 28]) -> Tensor[f32, "N", 10]:  # noqa: F821 ("N" is a dim name)
    features = (Conv2d(1, 32, 3, padding=1) | ReLU() | MaxPool(2)
                | Conv2d(32, 64, 3, padding=1) | ReLU() | MaxPool(2))
    classifier = Sequential(Flatten(), Dense(3136, 128), ReLU(), Dropout(0.5), Dense(128, 10), Softmax())
    probs = x | features | classifier
    ensure(valid_probabilities(probs))
    return probs


# Seven-segment strokes (row0, row1, col0, col1) in a 20x12 box, and the segments of each digit.
_SEGMENTS = {"a": (0, 2, 0, 12), "b": (0, 10, 10, 12), "c": (10, 20, 10, 12), "d": (18, 20, 0, 12),
             "e": (10, 20, 0, 2), "f": (0, 10, 0, 2), "g": (9, 11, 0, 12)}
_DIGITS = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg"]


def fake_digits(batch: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic batch of digit-like images in [0, 1], f32[batch, 1, 28, 28], and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=batch)
    images = np.zeros((batch, 1, 28, 28), np.float32)
    for i, digit in enumerate(labels):
        top, left = 4 + rng.integers(-2, 3), 8 + rng.integers(-2, 3)
        ink = rng.uniform(0.7, 1.0)
        for seg in _DIGITS[digit]:
            r0, r1, c0, c1 = _SEGMENTS[seg]
            images[i, 0, top + r0:top + r1, left + c0:left + c1] = ink
    noise = rng.normal(0.0, 0.05, size=images.shape).astype(np.float32)
    return np.clip(images + noise, 0.0, 1.0), labels.astype(np.int64)


def torch_reference(params: dict[str, np.ndarray]) -> Callable[[Any], Any]:
    """The same classifier written by hand in PyTorch eager, with the given (Axiom) weights;
    the oracle of the end-to-end tests and the baseline of benchmarks/mnist.py."""
    import torch
    import torch.nn.functional as F

    p = {k: torch.from_numpy(v) for k, v in params.items()}

    @torch.no_grad()
    def forward(x: torch.Tensor) -> torch.Tensor:
        y = F.max_pool2d(F.relu(F.conv2d(x, p["conv2d_0.weight"], p["conv2d_0.bias"], padding=1)), 2)
        y = F.max_pool2d(F.relu(F.conv2d(y, p["conv2d_1.weight"], p["conv2d_1.bias"], padding=1)), 2)
        y = F.relu(F.linear(y.flatten(1), p["dense_0.weight"], p["dense_0.bias"]))
        return F.softmax(F.linear(y, p["dense_1.weight"], p["dense_1.bias"]), dim=-1)

    return forward


def main(batch: int = 4) -> int:
    """Classify a batch of fake digits with the (untrained) model and print what happened."""
    images, labels = fake_digits(batch)
    probs = mnist(images)
    print(f"model  @{mnist.name}: {', '.join(map(str, mnist.input_types))} -> "
          f"{', '.join(map(str, mnist.output_types))}")
    print(f"params {len(mnist.params)} tensors, {sum(a.size for a in mnist.params.values())} weights "
          f"(seed {mnist.seed}, untrained: predictions are arbitrary)")
    print(f"graph  {len(mnist.graph.nodes)} nodes; declared: "
          + ", ".join(f"{p.kind} {p.name}" for p in mnist.graph.properties))
    for label, row in zip(labels, probs, strict=True):
        print(f"digit {label}: predicted {int(row.argmax())} (p={row.max():.3f}, sum={row.sum():.6f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
