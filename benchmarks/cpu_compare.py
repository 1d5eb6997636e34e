"""Axiom's llvm backend against PyTorch eager, torch.compile (inductor) and onnxruntime on the CPU.

    python -m benchmarks.cpu_compare [--models mlp,cnn,resnet18,transformer,gpt2] [--batches small|large|both]
                                     [--repeats 30] [--budget-s 10] [--threads 2] [--out docs/performance.md]
                                     [--engines axiom,eager,torch.compile,onnxruntime] [--no-compile-times]
                                     [--sgemm-sizes 256 512 1024]  (no sizes: no sgemm)

Each zoo model (tests/zoo/zoo_models.py) is exported to ONNX once (a dynamic batch) and run at batch 1
and its large batch (32 for mlp/cnn, 8 for the others; sequence 128 for the transformers) by every
engine, timed round-robin in this one process (one call of each engine per round, so machine noise hits
all alike) until ``--repeats`` rounds or ``--budget-s`` seconds per row, whichever comes first (at least
3 rounds). Prints median ms per engine, Axiom/onnxruntime per row and their geometric mean; then
ResNet-18's cold and warm compile times on llvm and sgemm against numpy (OpenBLAS, one thread). Every
engine's output is checked once against eager; a relative error above 1e-3 marks the row. An engine
that fails or is not installed is "n/a" with the reason.
"""

from __future__ import annotations

try:  # first: it pins OpenBLAS to one thread before numpy loads (it refuses once numpy is loaded)
    from benchmarks import sgemm
    SGEMM_NA = ""
except SystemExit as exc:
    sgemm, SGEMM_NA = None, f"n/a: {exc}"

import argparse
import functools
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import cpu_engines as engines
from benchmarks import cpu_report as report

MISMATCH = 1e-3  # relative error to eager that marks a row


@dataclass
class Row:
    """One model at one batch: each engine's median ms, its error to eager, or why it is n/a."""

    model: str
    batch: int
    ms: dict[str, float] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    rounds: int = 0

    @property
    def ratio(self) -> float | None:
        if "axiom" in self.ms and "onnxruntime" in self.ms:
            return self.ms["axiom"] / self.ms["onnxruntime"]
        return None

    @property
    def mismatched(self) -> list[str]:
        return [e for e, err in self.errors.items() if not err <= MISMATCH]


@dataclass
class Sections:
    """Everything one run measured, for the console and the Markdown page."""

    command: str
    threads: int
    ort_spinning: bool
    rows: list[Row] = field(default_factory=list)
    setup_s: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # model -> engine -> s
    compile_s: tuple[float, float] | str = "not run"  # ResNet-18 (cold, warm), or why not
    sgemm: list[tuple[int, float, float]] | str = "not run"  # (n, axiom GFLOP/s, OpenBLAS GFLOP/s)
    load: list[float] = field(default_factory=list)  # the 1-minute load average at the start and the end


def round_robin(calls: dict[str, Callable[[], Any]], repeats: int, budget_s: float,
                missing: dict[str, str]) -> tuple[dict[str, float], int]:
    """Median ms of each call, one call of each per round, until ``repeats`` rounds or ``budget_s`` seconds
    (at least 3 rounds, unless ``repeats`` is fewer). A call that raises drops out into ``missing``."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    start, rounds = time.perf_counter(), 0
    while calls and rounds < repeats and (rounds < 3 or time.perf_counter() - start < budget_s):
        for name, call in list(calls.items()):
            t0 = time.perf_counter()
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - an engine failure becomes an n/a cell
                missing[name] = engines.reason(exc)
                del calls[name]
                continue
            times[name].append((time.perf_counter() - t0) * 1e3)
        rounds += 1
    return {name: statistics.median(times[name]) for name in calls}, rounds


def run_row(model: engines.Model, batch: int, names: list[str], repeats: int, budget_s: float) -> Row:
    """Bind every engine to the row's input, check each output once against eager (also the warm-up
    call), then time them round-robin."""
    row = Row(model.name, batch)
    x = engines.example_input(model.name, batch)
    expected = engines.as_numpy(model.module(x))
    calls = {}
    for name in names:
        try:
            call = engines.bind(name, model, x)
            row.errors[name] = engines.max_rel_error(engines.as_numpy(call()), expected)
            calls[name] = call
        except Exception as exc:  # noqa: BLE001 - an engine failure becomes an n/a cell
            row.missing[name] = engines.reason(exc)
    row.ms, row.rounds = round_robin(calls, repeats, budget_s, row.missing)
    return row


def compile_times(model: engines.Model) -> tuple[float, float]:
    """Seconds of axiom.compile(.onnx, backend="llvm") into a fresh AXIOM_CACHE_DIR, then again (a hit)."""
    old = os.environ.get("AXIOM_CACHE_DIR")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["AXIOM_CACHE_DIR"] = cache
        try:
            seconds = []
            for _ in range(2):
                start = time.perf_counter()
                engines.axiom_compile(model.onnx_path, model.threads)
                seconds.append(time.perf_counter() - start)
        finally:
            if old is None:
                os.environ.pop("AXIOM_CACHE_DIR", None)
            else:
                os.environ["AXIOM_CACHE_DIR"] = old
    return seconds[0], seconds[1]


def sgemm_rows(sizes: list[int], repeats: int = 21) -> list[tuple[int, float, float]]:
    """(n, axiom GFLOP/s, OpenBLAS GFLOP/s) of square sgemm, with benchmarks/sgemm.py's kernel and timing."""
    kernel, _keep = sgemm.compile_sgemm()
    rng = np.random.default_rng(0)
    out = []
    for n in sizes:
        a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        c, c_ref = np.empty((n, n), np.float32), np.empty((n, n), np.float32)
        ours = functools.partial(kernel, n, n, n, a.ctypes.data, n, b.ctypes.data, n, c.ctypes.data, n,
                                 None, 0, 0)
        t_ours, t_theirs = sgemm.interleaved_seconds([ours, functools.partial(np.matmul, a, b, out=c_ref)],
                                                     repeats)
        np.testing.assert_allclose(c, c_ref, rtol=1e-3, atol=1e-3 * np.sqrt(n))
        out.append((n, 2.0 * n**3 / t_ours / 1e9, 2.0 * n**3 / t_theirs / 1e9))
    return out


def geomean(values: list[float]) -> float | None:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(engines.MODELS),
                    help=f"comma-separated, from {','.join(engines.MODELS)}")
    ap.add_argument("--batches", choices=["small", "large", "both"], default="both")
    ap.add_argument("--repeats", type=int, default=30, help="most rounds per row")
    ap.add_argument("--budget-s", type=float, default=10.0,
                    help="seconds per row before it stops (>= 3 rounds)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ort-spinning", action=argparse.BooleanOptionalAction, default=False,
                    help="let onnxruntime's idle workers spin (off: they take a core from the next engine)")
    ap.add_argument("--engines", default=",".join(engines.ENGINES), help="comma-separated subset")
    ap.add_argument("--compile-times", action=argparse.BooleanOptionalAction, default=True,
                    help="ResNet-18 cold and warm compile on llvm")
    ap.add_argument("--sgemm-sizes", type=int, nargs="*", default=[256, 512, 1024], help="none skips sgemm")
    ap.add_argument("--out", type=Path, help="write the Markdown page here (e.g. docs/performance.md)")
    args = ap.parse_args(argv)
    for option, known in (("models", engines.MODELS), ("engines", engines.ENGINES)):
        names = [n for n in getattr(args, option).split(",") if n]
        unknown = sorted(set(names) - set(known))
        if unknown:
            ap.error(f"unknown {option} {unknown}; choose from {','.join(known)}")
        setattr(args, option, names)
    return args


def main(argv: list[str] | None = None) -> int:
    import torch

    args = parse_args(argv)
    command = "python -m benchmarks.cpu_compare " + " ".join(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    found = Sections(command.strip(), args.threads, args.ort_spinning, load=[os.getloadavg()[0]])
    print(report.console_header(args.engines))
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            model = engines.load_model(name, Path(folder), args.threads, args.ort_spinning)
            for batch in {"small": [1], "large": [engines.LARGE_BATCH[name]],
                          "both": [1, engines.LARGE_BATCH[name]]}[args.batches]:
                with torch.inference_mode():
                    row = run_row(model, batch, args.engines, args.repeats, args.budget_s)
                found.rows.append(row)
                print(report.console_row(row, args.engines), flush=True)
            found.setup_s[name] = model.setup_s
        if args.compile_times:
            try:
                found.compile_s = compile_times(engines.load_model("resnet18", Path(folder), args.threads))
            except Exception as exc:  # noqa: BLE001 - reported as n/a
                found.compile_s = f"n/a: {engines.reason(exc)}"
    if args.sgemm_sizes:
        found.sgemm = SGEMM_NA or sgemm_rows(args.sgemm_sizes)
    found.load.append(os.getloadavg()[0])
    mean = geomean([r.ratio for r in found.rows if r.ratio])
    print(report.console_footer(found, mean))
    if args.out:
        args.out.write_text(report.markdown(found, args.engines, mean))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
