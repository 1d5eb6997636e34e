"""The `axiom` command: dump, run, opt, export, viz, ops, demo."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

from axiom.cli_load import MODEL_HELP, CommandError, add_import_options, load_graph, load_model, one_line

__all__ = ["CommandError", "build_parser", "load_model", "main", "ops_table"]

# Facets shown by `axiom ops`; other packages register them under these names.
FACETS = ("llvm", "cuda", "interval")


def cmd_dump(args: argparse.Namespace) -> int:
    from axiom.ir.printer import print_graph

    graph = load_graph(args.model, args)
    print(print_graph(graph, constants="inline" if args.inline_constants else "elide"))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write any model the CLI reads as an ONNX file, checked by onnx.checker."""
    from axiom.api import to_onnx

    graph = load_graph(args.model, args)
    try:
        proto = to_onnx(graph, args.output, args.opset)
    except Exception as exc:  # noqa: BLE001 - reported on one line
        raise CommandError(f"cannot export {args.model} to ONNX: {one_line(exc)}") from exc
    print(f"axiom: wrote {args.output} (opset {args.opset}, {len(proto.graph.node)} nodes)")
    return 0


def _parse_bindings(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        if not value.isdigit():
            raise SystemExit(f"axiom: --dim expects NAME=INT, got {item!r}")
        out[name] = int(value)
    return out


def random_inputs(graph: Any, bindings: dict[str, int], seed: int = 0) -> list[np.ndarray]:
    """Deterministic random inputs for every graph input, with its symbolic dims bound."""
    from axiom.runtime.checks import output_shape

    rng = np.random.default_rng(seed)
    _bind_free_symbols(graph, bindings)
    arrays = []
    for v in graph.inputs:
        shape = output_shape(v.type, bindings)
        dt = v.type.dtype
        if dt.is_float:
            arrays.append(rng.standard_normal(shape).astype(dt.np_dtype))
        elif dt.is_bool:
            arrays.append(rng.integers(0, 2, shape).astype(bool))
        else:
            arrays.append(rng.integers(0, 10, shape).astype(dt.np_dtype))
    return arrays


def _bind_free_symbols(graph: Any, bindings: dict[str, int]) -> None:
    """Give every symbol no --dim bound the smallest value from 2 up that makes each input dim >= 1."""
    from axiom.ir.dims import evaluate_dim
    from axiom.ir.errors import AxiomError

    free = sorted({s.name for v in graph.inputs for s in v.type.symbols} - set(bindings))
    if not free:
        bad = [f"{v.name}: {v.type}" for v in graph.inputs
               if any(evaluate_dim(d, bindings) < 1 for d in v.type.shape)]
        if bad:
            raise AxiomError(f"with {bindings} an input dim is below 1 ({'; '.join(bad)})")
        return
    for value in range(2, 65):
        trial = {**bindings, **{name: value for name in free}}
        if all(evaluate_dim(d, trial) >= 1 for v in graph.inputs for d in v.type.shape):
            bindings.update(trial)
            return
    raise AxiomError(f"no value of {', '.join(free) or 'the --dim symbols'} up to 64 makes every input dim "
                     "positive; give them with --dim NAME=VALUE")


def cmd_run(args: argparse.Namespace) -> int:
    import axiom.api as api
    from axiom.ir.printer import name_values

    graph = load_graph(args.model, args)
    ins = instrumentation(args)
    exe = api.compile(graph, backend=args.backend, opt_level=args.opt_level, passes=args.passes,
                      verify=not args.no_verify, print_ir_before=ins.print_ir_before,
                      print_ir_after=ins.print_ir_after, print_ir_after_all=ins.print_ir_after_all,
                      print_ir_after_change=ins.print_ir_after_change, ir_dump_dir=ins.ir_dump_dir,
                      pass_timing=ins.pass_timing, out=sys.stderr)
    given = dict(item.split("=", 1) for item in args.input)
    bindings = _parse_bindings(args.dim)
    arrays = random_inputs(exe.ir, bindings, args.seed)
    for i, v in enumerate(exe.ir.inputs):
        if v.name in given:
            arrays[i] = np.load(given[v.name])
    outs = exe(*arrays)
    outs = outs if isinstance(outs, tuple) else (outs,)
    names = name_values(exe.ir)
    np.set_printoptions(precision=5, suppress=True, linewidth=110)
    for v, o in zip(exe.ir.outputs, outs, strict=True):
        print(f"%{names[id(v)]}: {o.dtype}{list(o.shape)}\n{o}")
    return 0


def ops_table() -> str:
    """A text table of every op and which facets it has."""
    from axiom.ir.opdef import all_ops, get_facet

    cols = ("op", "reference", "decompose", *FACETS)
    rows = [cols]
    for op in all_ops():
        marks = ["yes", "yes" if op.decompose else "-"]
        marks += ["yes" if get_facet(f, op) is not None else "-" for f in FACETS]
        rows.append((op.name, *marks))
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_ops(args: argparse.Namespace) -> int:
    _load_facet_packages()
    print(ops_table())
    return 0


def _load_facet_packages() -> None:
    """Import the packages that register facets, where they exist in this build."""
    for name in ("axiom.backends.llvm", "axiom.backends.cuda", "axiom.compiler.proofs.rules"):
        try:
            importlib.import_module(name)
        except ImportError:
            continue


def cmd_opt(args: argparse.Namespace) -> int:
    """Like mlir-opt: read IR (or a model), run a pipeline, write IR text."""
    from axiom.compiler.pipeline import run_pipeline
    from axiom.ir.printer import print_graph

    result = run_pipeline(load_graph(args.model, args), args.passes, args.opt_level, not args.no_verify,
                          instrumentation(args))
    text = print_graph(result.graph, constants="inline" if args.inline_constants else "elide")
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    for fact in result.context.assumptions:
        print(f"axiom: assumed {fact}", file=sys.stderr)
    return 0


def add_pipeline_options(p: argparse.ArgumentParser) -> None:
    """The pipeline and IR-instrumentation switches, named like MLIR's."""
    p.add_argument("--passes", default=None,
                   help='pipeline, e.g. "fold-constants,cse,dce" (default: the -O level\'s)')
    p.add_argument("-O", dest="opt_level", type=int, default=2, choices=range(4), help="optimisation level")
    p.add_argument("--no-verify", action="store_true", help="do not verify the IR after each pass")
    p.add_argument("--print-ir-before", action="append", default=[], metavar="PASS")
    p.add_argument("--print-ir-after", action="append", default=[], metavar="PASS")
    p.add_argument("--print-ir-after-all", action="store_true")
    p.add_argument("--print-ir-after-change", action="store_true")
    p.add_argument("--ir-dump-dir", metavar="DIR", help="write the IR after each pass to DIR/NN-pass.axir")
    p.add_argument("--pass-timing", action="store_true", help="print a table of pass times")
    p.add_argument("--load", action="append", default=[], metavar="FILE.py",
                   help="import a Python file first (to register passes of your own)")


def load_plugins(files: list[str]) -> None:
    """Import each file, so the passes it registers can be named in --passes."""
    from axiom.ir.errors import AxiomError

    for f in files:
        path = Path(f)
        if not path.exists():
            raise AxiomError(f"--load: no such file: {f}")
        spec = importlib.util.spec_from_file_location(f"axiom_plugin_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)


def instrumentation(args: argparse.Namespace):  # noqa: ANN201 - Instrumentation
    from axiom.compiler.manager import Instrumentation

    load_plugins(args.load)
    return Instrumentation(tuple(args.print_ir_before), tuple(args.print_ir_after), args.print_ir_after_all,
                           args.print_ir_after_change, args.ir_dump_dir, args.pass_timing, sys.stderr)


def cmd_viz(args: argparse.Namespace) -> int:
    """Draw a model's graph (after --passes, if given) as .svg/.png/.pdf, or write its .dot."""
    from axiom.viz import default_output, render_graph

    graph = load_graph(args.model, args)
    if args.passes is not None:
        from axiom.compiler.pipeline import run_pipeline

        graph = run_pipeline(graph, args.passes).graph
    result = render_graph(graph, args.output or default_output(graph), constants=not args.no_constants)
    print(f"axiom: {result.message}", file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from axiom.demo import run_demo

    return run_demo(backend=args.backend)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="axiom", description="Axiom tensor graph compiler")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="print the IR of a model (.axir, .onnx, .pt2, .pt, FILE.py:function)")
    d.add_argument("model", help=MODEL_HELP)
    d.add_argument("--inline-constants", action="store_true", help="print every constant's data")
    add_import_options(d)
    d.set_defaults(fn=cmd_dump)
    e = sub.add_parser("export", help="write a model as an ONNX file (checked with onnx.checker)")
    e.add_argument("model", help=MODEL_HELP)
    e.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    e.add_argument("--opset", type=int, default=18, help="the ONNX opset to target (default 18)")
    add_import_options(e)
    e.set_defaults(fn=cmd_export)
    r = sub.add_parser("run", help="compile and run a model on given or random inputs")
    r.add_argument("model", help=MODEL_HELP)
    add_import_options(r)
    r.add_argument("--backend", default="best")
    r.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy")
    r.add_argument("--dim", action="append", default=[], metavar="SYMBOL=INT",
                   help="value of a symbolic dim for random inputs (default 2)")
    r.add_argument("--seed", type=int, default=0)
    add_pipeline_options(r)
    r.set_defaults(fn=cmd_run)
    t = sub.add_parser("opt", help="run passes over IR text and print the result (like mlir-opt)")
    t.add_argument("model", help=MODEL_HELP)
    add_import_options(t)
    t.add_argument("-o", "--output", help="write the IR here instead of stdout")
    t.add_argument("--inline-constants", action="store_true", help="print every constant's data")
    add_pipeline_options(t)
    t.set_defaults(fn=cmd_opt)
    v = sub.add_parser("viz", help="draw a model's graph with Graphviz (.svg, .png, .pdf or .dot)")
    v.add_argument("model", help=MODEL_HELP)
    add_import_options(v)
    v.add_argument("-o", "--output", help="the picture to write (default: NAME.svg, NAME the graph's name)")
    v.add_argument("--passes", default=None, help='run this pipeline first, e.g. "fold-constants,cse,dce"')
    v.add_argument("--no-constants", action="store_true", help="leave constants (weights) out")
    v.set_defaults(fn=cmd_viz)
    o = sub.add_parser("ops", help="table of every op and the facets it has")
    o.set_defaults(fn=cmd_ops)
    m = sub.add_parser("demo", help="compile the bundled MNIST classifier and show every stage")
    m.add_argument("--backend", default="best")
    m.set_defaults(fn=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    from axiom.ir.errors import AxiomError

    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except CommandError as exc:
        print(f"axiom: error: {exc}", file=sys.stderr)
        return 2
    except AxiomError as exc:
        print(f"axiom: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
