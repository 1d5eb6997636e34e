"""The console lines and the Markdown page (docs/performance.md) of benchmarks/cpu_compare.py."""

from __future__ import annotations

import datetime
import os
from importlib import metadata
from typing import Any

NA = "n/a"


def cpu_name() -> str:
    """The first "model name" of /proc/cpuinfo, else "unknown"."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def versions() -> str:
    out = []
    for package in ("torch", "onnxruntime", "llvmlite", "numpy", "onnx"):
        try:
            out.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            out.append(f"{package} not installed")
    return ", ".join(out)


def _ms(row: Any, engine: str) -> str:
    return f"{row.ms[engine]:.3f}" if engine in row.ms else NA


def _ratio(row: Any) -> str:
    return NA if row.ratio is None else f"{row.ratio:.2f}"


def _worst_error(row: Any) -> str:
    """The largest relative error to eager among the other engines, and a mark when it is too large."""
    others = {e: err for e, err in row.errors.items() if e != "eager"}
    if not others:
        return NA
    text = f"{max(others.values()):.1e}"
    return text + (f" MISMATCH ({', '.join(row.mismatched)})" if row.mismatched else "")


def console_header(engines: list[str]) -> str:
    cells = "".join(f"{e:>15}" for e in engines)
    return f"{'model':<12}{'batch':>6}{cells}{'axiom/ort':>11}{'rounds':>8}  max rel err (median ms)"


def console_row(row: Any, engines: list[str]) -> str:
    cells = "".join(f"{_ms(row, e):>15}" for e in engines)
    lines = [f"{row.model:<12}{row.batch:>6}{cells}{_ratio(row):>11}{row.rounds:>8}  {_worst_error(row)}"]
    others = [f"{e} {err:.1e}" for e, err in row.errors.items() if e != "eager"]
    if others:
        lines.append("    rel err to eager: " + ", ".join(others))
    lines += [f"    {NA} {e}: {why}" for e, why in row.missing.items()]
    return "\n".join(lines)


def _setup(found: Any) -> list[list[str]]:
    """Per model: seconds each engine spent building (axiom compile, ORT session, each torch.compile)."""
    out = []
    for model, setup in found.setup_s.items():
        cells = [" / ".join(f"{s:.2f}" for s in setup[e]) if e in setup else NA
                 for e in ("axiom", "torch.compile", "onnxruntime")]
        out.append([model, *cells])
    return out


def _compile_cells(found: Any) -> list[str]:
    if isinstance(found.compile_s, str):
        return [found.compile_s, ""]
    return [f"{s:.2f}" for s in found.compile_s]


def _sgemm_rows(found: Any) -> list[list[str]]:
    if isinstance(found.sgemm, str):
        return [[found.sgemm, "", "", ""]]
    return [[str(n), f"{ours:.1f}", f"{theirs:.1f}", f"{ours / theirs:.2f}"]
            for n, ours, theirs in found.sgemm]


def console_footer(found: Any, geomean: float | None) -> str:
    lines = [f"geometric mean axiom/onnxruntime: {NA if geomean is None else f'{geomean:.2f}'}",
             f"load average (1 min) at the start and the end: {_load(found)}", "",
             "setup s (axiom compile, torch.compile per batch with 2 warm-up calls, onnxruntime session):"]
    lines += [f"  {m:<12} axiom {a:>8}   torch.compile {t:>14}   onnxruntime {o:>6}"
              for m, a, t, o in _setup(found)]
    cold, warm = _compile_cells(found)
    compiled = f"cold {cold} s, warm {warm} s" if warm else cold
    lines += ["", f"ResNet-18 llvm compile: {compiled}",
              "", f"{'sgemm n':>8}{'axiom GFLOP/s':>15}{'OpenBLAS GFLOP/s':>18}{'ratio':>8}"]
    lines += [f"{n:>8}{a:>15}{b:>18}{r:>8}" for n, a, b, r in _sgemm_rows(found)]
    return "\n".join(lines)


def _spinning(found: Any) -> list[str]:
    if found.ort_spinning:
        return ["- onnxruntime's idle workers spin (`--ort-spinning`)."]
    return ["- onnxruntime's idle workers do not spin (`session.intra_op.allow_spinning = 0`): a spinning",
            "  worker holds a core while the next engine of the round runs (with it, eager on the MLP at",
            "  batch 32 took 50 ms instead of 0.5 here). `--ort-spinning` turns spinning back on."]


def _load(found: Any) -> str:
    return " / ".join(f"{x:.2f}" for x in found.load)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def markdown(found: Any, engines: list[str], geomean: float | None) -> str:
    """The whole page: how it was made, the model table, setup and compile times, sgemm."""
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = [[r.model, str(r.batch), *(_ms(r, e) for e in engines), _ratio(r), str(r.rounds), _worst_error(r)]
            for r in found.rows]
    missing = [f"- {r.model} b{r.batch}, {e}: {why}" for r in found.rows for e, why in r.missing.items()]
    lines = [
        "# Performance on the CPU", "",
        "Made by `benchmarks/cpu_compare.py` (do not edit by hand; run it again):", "",
        "```sh", found.command, "```", "",
        f"- {date}; CPU: {cpu_name()} ({os.cpu_count()} cores); {found.threads} threads for every engine",
        f"- {versions()}",
        "- Each zoo model (tests/zoo/zoo_models.py, seed 0) is exported once to ONNX (TorchScript",
        "  exporter, opset 17, a dynamic batch); Axiom compiles that file on `llvm`, onnxruntime runs it",
        "  (ORT_ENABLE_ALL, one inter-op thread); eager and torch.compile (inductor, default mode,",
        "  compiled per batch) run the module under `torch.inference_mode`. Transformers: sequence 128.",
        *_spinning(found),
        "- Median ms per call, the engines timed round-robin in one process (one call each per round) until",
        "  the row's round or time budget ran out. The first call of each engine is not timed; it is checked",
        "  against eager (max |a - b| / max |b|; above 1e-3 marks the row MISMATCH).",
        f"- Load average (1 min) at the start / the end: {_load(found)} on {os.cpu_count()} cores. Other",
        "  processes running at the same time slow every engine, the multi-threaded ones most (a call",
        "  waits for its slowest thread to get a core: eager, whose OpenMP threads sync after every op,",
        "  suffers most); compare ratios within a row, and rerun on a quiet machine.",
        "",
        "## Models (median ms, lower is better)", "",
        *_table(["model", "batch", *engines, "axiom/ort", "rounds", "max rel err"], rows), "",
        f"Geometric mean of axiom/ort: **{NA if geomean is None else f'{geomean:.2f}'}** "
        "(issue 5's bar: at most 1.25 on every row and 1.0 in geometric mean).", "",
    ]
    if missing:
        lines += ["Not available:", "", *missing, ""]
    lines += ["## Setup seconds", "",
              "Axiom's compile of the .onnx file (the first, in a cache that may be warm), torch.compile per",
              "batch (compile and two warm-up calls), onnxruntime's session creation.", "",
              *_table(["model", "axiom", "torch.compile", "onnxruntime"], _setup(found)), "",
              "## ResNet-18 compile on llvm", "",
              "`axiom.compile(resnet18.onnx, backend=\"llvm\")` into a fresh `AXIOM_CACHE_DIR` (cold), then",
              "again (warm: object code from the cache), in a process that has already imported everything.",
              "",
              *_table(["cold s", "warm s"], [_compile_cells(found)]), "",
              "## sgemm against numpy (OpenBLAS), one thread", "",
              *_table(["n", "axiom GFLOP/s", "OpenBLAS GFLOP/s", "ratio"], _sgemm_rows(found)), ""]
    return "\n".join(lines)
