"""MNIST classifier: Axiom backends side by side with PyTorch eager, in one process run.

    python -m benchmarks.mnist [--batches 1 32] [--repeats 30]

Prints the median latency of each runner and its ratio to PyTorch eager (lower is better).
The numpy backend is the reference interpreter: it is here as the baseline the native
backends are measured against, not to be fast.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.timing import median_ms


def main() -> int:
    import torch

    import axiom
    from axiom.backends import backend_names
    from axiom.examples.mnist import fake_digits, mnist, torch_reference

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    reference = torch_reference(mnist.params)
    runners = {f"axiom[{b}]": axiom.compile(mnist, backend=b) for b in backend_names()}
    print(f"{'runner':<16}{'batch':>6}{'median ms':>12}{'vs eager':>10}")
    for batch in args.batches:
        x, _ = fake_digits(batch)
        xt = torch.from_numpy(x)
        eager = median_ms(lambda xt=xt: reference(xt), args.repeats)
        print(f"{'torch eager':<16}{batch:>6}{eager:>12.3f}{1.0:>10.2f}")
        for name, exe in runners.items():
            np.testing.assert_allclose(exe(x), reference(xt).numpy(), rtol=1e-4, atol=1e-6)
            ms = median_ms(lambda exe=exe, x=x: exe(x), args.repeats)
            print(f"{name:<16}{batch:>6}{ms:>12.3f}{ms / eager:>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
