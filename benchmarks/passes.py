"""What each pass buys on the reference models: ops, peak memory and latency with that pass ablated.

    python -m benchmarks.passes [--models mlp mnist resnet18 transformer] [--batch 1]
                                [--image 224] [--seq 128] [--repeats 10] [--level 2]

For each model the first row is the whole pipeline of ``--level``; every further row drops one
pass from it (``-fuse``: the same pipeline without ``fuse``); the last row is O0 (no pass).
Columns: ``ops`` is the number of top-level nodes other than constants (what a backend runs,
one kernel each; a fused region counts once), ``peak KiB`` the activation memory of one call
(the memory plan's arena when the pipeline runs ``memory-plan``, else every value in a buffer
of its own), ``ms`` the numpy backend's median latency, ``compile s`` the pipeline's time, and
``max |diff|`` the largest output difference to O0 (every row must compute the same model).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.timing import median_ms


@dataclass
class Row:
    label: str
    ops: int
    peak_kib: float
    ms: float
    compile_s: float
    diff: float


def reference_models(names: list[str], batch: int, image: int, seq: int) -> list[tuple[str, Any, np.ndarray]]:
    """(name, model, input) of each reference model asked for."""
    from axiom.examples import mlp, mnist, resnet18, transformer

    makers: dict[str, Callable[[], tuple[Any, np.ndarray]]] = {
        "mlp": lambda: (mlp.build_mlp(), mlp.fake_inputs(batch)),
        "mnist": lambda: (mnist.mnist, mnist.fake_digits(batch)[0]),
        "resnet18": lambda: (resnet18.resnet18(image), resnet18.fake_images(batch, image)),
        "transformer": lambda: (transformer.transformer_encoder(), transformer.fake_sequences(batch, seq)),
    }
    unknown = sorted(set(names) - set(makers))
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; choose from {sorted(makers)}")
    return [(name, *makers[name]()) for name in names]


def measure(label: str, graph: Any, pipeline: list[str], x: np.ndarray, expected: list[np.ndarray] | None,
            repeats: int) -> tuple[Row, list[np.ndarray]]:
    import axiom
    from axiom.compiler.memory import plan_memory

    start = time.perf_counter()
    exe = axiom.compile(graph, backend="numpy", passes=",".join(pipeline))
    compile_s = time.perf_counter() - start
    outs = exe(x)
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    diff = 0.0 if expected is None else max(float(np.max(np.abs(a - b))) for a, b in zip(outs, expected,
                                                                                          strict=True))
    bindings = bind_from(exe.ir, x)
    peaks = plan_memory(exe.ir).evaluate(bindings)
    peak = peaks["peak_after"] if "memory-plan" in pipeline else peaks["peak_before"]
    ops = sum(1 for n in exe.ir.nodes if n.op.name != "const")
    ms = median_ms(lambda: exe(x), repeats)
    return Row(label, ops, peak / 2**10, ms, compile_s, diff), outs


def bind_from(graph: Any, x: np.ndarray) -> dict[str, int]:
    """Symbol -> size, read off the (single) input's shape."""
    out = {}
    for d, n in zip(graph.inputs[0].type.shape, x.shape, strict=True):
        if not isinstance(d, int) and d.is_Symbol:
            out[d.name] = int(n)
    return out


def ablations(level: int) -> list[tuple[str, list[str]]]:
    """The level's pipeline, then that pipeline without each of its passes (each name once)."""
    from axiom.compiler.levels import pipeline_for
    from axiom.compiler.passbase import parse_pipeline

    items = [str(p) for p in parse_pipeline(pipeline_for(level))]
    names = [i.split("{", 1)[0] for i in items]
    rows = [(f"O{level}", items)]
    for name in dict.fromkeys(names):
        rows.append((f"-{name}", [i for i, n in zip(items, names, strict=True) if n != name]))
    return rows


def table(model: str, rows: list[Row]) -> str:
    head = f"{model:<14}{'ops':>6}{'peak KiB':>10}{'ms':>10}{'vs O':>7}{'compile s':>11}{'max |diff|':>12}"
    base = rows[0].ms
    lines = [head]
    for r in rows:
        lines.append(f"{r.label:<14}{r.ops:>6}{r.peak_kib:>10.0f}{r.ms:>10.2f}{r.ms / base:>7.2f}"
                     f"{r.compile_s:>11.2f}{r.diff:>12.2e}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["mlp", "mnist", "resnet18", "transformer"])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--image", type=int, default=224, help="ResNet-18 input height and width")
    ap.add_argument("--seq", type=int, default=128, help="transformer sequence length")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--level", type=int, default=2)
    args = ap.parse_args(argv)
    for name, model, x in reference_models(args.models, args.batch, args.image, args.seq):
        graph = model.to_graph()
        o0, expected = measure("O0", graph, [], x, None, args.repeats)
        rows = [measure(label, graph, pipeline, x, expected, args.repeats)[0]
                for label, pipeline in ablations(args.level)]
        print(table(name, [*rows, o0]))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
