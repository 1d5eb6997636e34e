"""`axiom demo`: compile the bundled MNIST classifier and show every stage of it."""

from __future__ import annotations

import time

import numpy as np


def run_demo(backend: str = "best", batch: int = 4) -> int:
    """Compile the DSL MNIST model with a symbolic batch, print IR, passes, properties, outputs."""
    import axiom
    from axiom.examples.mnist import fake_digits, mnist

    exe = axiom.compile(mnist, backend=backend)
    print(f"== compiled {exe!r}\n")
    print("== IR (constants elided)")
    print(exe.as_text())
    print(f"\n== passes run: {', '.join(exe.passes) or 'none'}")
    print("\n== declared properties")
    for result in exe.properties:
        print(f"  {result}")
    print(f"\n== outputs on {batch} fake digits (untrained weights, seed {mnist.seed})")
    images, labels = fake_digits(batch)
    start = time.perf_counter()
    probs = exe(images)
    elapsed = time.perf_counter() - start
    np.set_printoptions(precision=4, suppress=True, linewidth=110)
    for label, row in zip(labels, probs, strict=True):
        print(f"  digit {label}: predicted {int(row.argmax())}  row sum {row.sum():.6f}  {row}")
    print(f"\n  one call took {elapsed * 1e3:.1f} ms on backend '{exe.backend}'")
    return 0
