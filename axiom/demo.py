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
    regions = {k.split(".", 1)[1]: n for k, n in exe.stats.items() if k.startswith("fuse.") and "+" in k}
    if regions:
        print("  fused: " + ", ".join(f"{n} x {kind}" for kind, n in sorted(regions.items())))
    plan = exe.context.memory_plan if exe.context is not None else None
    if plan is not None:
        peaks = plan.evaluate({"N": batch})
        print(f"  memory plan at batch {batch}: {peaks['peak_before'] / 1024:.0f} KiB of activations without "
              f"reuse, {peaks['peak_after'] / 1024:.0f} KiB with ({len(plan.buffers)} buffers)")
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
