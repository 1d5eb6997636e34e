"""``@axiom.model``: trace a typed Python function once into an IR Graph, and the Model around it.

The function's parameters are annotated ``Tensor[dtype, dims...]``; they become the graph's
inputs (named after the parameters). The body runs once, at decoration time, so shape errors
surface where the model is defined. Layer parameters become the graph's constants.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import linecache
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from axiom.frontends.dsl import params as P
from axiom.frontends.dsl.locations import ParamError, Site, TraceError, site_of
from axiom.frontends.dsl.tensor import Tensor, TensorSpec
from axiom.frontends.dsl.trace import Trace, tracing
from axiom.ir.dims import dims_equal
from axiom.ir.errors import ShapeError
from axiom.ir.graph import Graph, PropertyDecl
from axiom.ir.types import TensorType


class Model:
    """A traced model: its ``graph`` (params are its constants), ``params`` and a reference ``__call__``."""

    def __init__(self, fn: Callable[..., Any], seed: int = 0, name: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"@axiom.model decorates a function, got {type(fn).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"@axiom.model: seed must be an int >= 0, got {seed!r}")
        self.fn = fn
        self.seed = seed
        trace = trace_function(fn, seed, name)
        self.graph: Graph = trace.graph
        self.param_names: tuple[str, ...] = tuple(trace.param_names)
        self._executable: Any = None  # compiled on the first call, dropped by load_params
        functools.update_wrapper(self, fn)

    # ---- description --------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def input_names(self) -> list[str]:
        return [v.name or f"arg{i}" for i, v in enumerate(self.graph.inputs)]

    @property
    def input_types(self) -> list[TensorType]:
        return [v.type for v in self.graph.inputs]

    @property
    def output_types(self) -> list[TensorType]:
        return [v.type for v in self.graph.outputs]

    @property
    def properties(self) -> list[PropertyDecl]:
        return list(self.graph.properties)

    def to_graph(self) -> Graph:
        """A copy of the graph, for the compiler to transform without touching this model."""
        return self.graph.copy()

    def __repr__(self) -> str:
        ins = ", ".join(f"{n}: {t}" for n, t in zip(self.input_names, self.input_types, strict=True))
        outs = ", ".join(str(t) for t in self.output_types)
        count = sum(int(a.size) for a in self.params.values())
        return f"<axiom.Model @{self.name}({ins}) -> ({outs}): {count} parameters>"

    # ---- parameters ---------------------------------------------------------------------
    @property
    def params(self) -> dict[str, np.ndarray]:
        """Parameter name -> array, in creation order (the graph's own arrays: use load_params to change)."""
        return {n: self.graph.constants[n] for n in self.param_names}

    def load_params(self, params: Mapping[str, Any], strict: bool = True) -> None:
        """Replace parameter values; names, shapes and dtypes must match (all names when ``strict``)."""
        given = {str(k): _to_numpy(v) for k, v in params.items()}
        problems = []
        for name in sorted(set(given) - set(self.param_names)):
            close = difflib.get_close_matches(name, self.param_names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown parameter {name!r}{hint}")
        if strict:
            problems += [f"missing parameter {n!r}" for n in self.param_names if n not in given]
        for name in (n for n in self.param_names if n in given):
            want, got = self.graph.constants[name], given[name]
            if got.shape != want.shape:
                problems.append(f"parameter {name!r}: expected shape {list(want.shape)}, "
                                f"got {list(got.shape)}")
            elif got.dtype != want.dtype:
                problems.append(f"parameter {name!r}: expected dtype {want.dtype}, got {got.dtype}")
        if problems:
            raise ParamError(f"cannot load parameters into @{self.name}:\n  - " + "\n  - ".join(problems)
                             + f"\n  parameters of @{self.name}: {', '.join(self.param_names) or '(none)'}")
        for name in self.param_names:
            if name in given:
                self.graph.constants[name] = np.array(given[name], copy=True)
        self._executable = None

    def save_params(self, path: str | os.PathLike[str]) -> None:
        """Write the parameters to an .npz file (read back with ``axiom.load_params``)."""
        P.save_params(self.params, path)

    # ---- running ------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run on numpy arrays (or torch tensors) with the numpy reference backend.

        This is ``axiom.compile(model, backend="numpy")(...)``: the same input checks and errors.
        """
        if any(isinstance(a, Tensor) for a in (*args, *kwargs.values())):
            raise TraceError(f"@{self.name} is a traced Model and cannot be called inside another "
                             "model's trace; call a plain function or reuse its layers instead")
        if self._executable is None:
            from axiom.api import compile as compile_model  # wiring at call time: dsl stays backend-free

            self._executable = compile_model(self, backend="numpy")
        return self._executable(*args, **kwargs)


def model(fn: Callable[..., Any] | None = None, *, seed: int = 0, name: str | None = None) -> Any:
    """Trace ``fn`` into a :class:`Model`: ``@model``, ``@model()`` or ``@model(seed=1, name="net")``."""
    if fn is None:
        return lambda f: Model(f, seed=seed, name=name)
    return Model(fn, seed=seed, name=name)


# ---- tracing ----------------------------------------------------------------------------
def trace_function(fn: Callable[..., Any], seed: int, name: str | None = None) -> Trace:
    """Run ``fn`` once on symbolic inputs built from its annotations; the trace holds the graph."""
    site = def_site(fn)
    fname = getattr(fn, "__name__", "model")
    fname = fname if fname.isidentifier() else "model"  # a lambda's "<lambda>" is no graph name
    try:
        sig = inspect.signature(fn, eval_str=True)
    except (NameError, TypeError, SyntaxError) as exc:
        raise TraceError(site.format(f"cannot read the signature of {fname}: {exc}")) from None
    trace = Trace(name or fname, seed)
    args = []
    for p in sig.parameters.values():
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            raise TraceError(site.format(f"{fname}: parameter {p.name!r} must be a plain positional one"))
        if not isinstance(p.annotation, TensorSpec):
            raise TraceError(site.format(f"{fname}: parameter {p.name!r} needs a tensor type, e.g. "
                                         f'{p.name}: Tensor[f32, "N", 784]'))
        args.append(trace.input(p.name, p.annotation.type))
    with tracing(trace):
        result = fn(*args)
    outputs = _outputs(fname, result, site)
    for t in outputs:
        trace.value_of(t, None)  # outputs must belong to this trace
    _check_declared(fname, sig.return_annotation, outputs, site)
    trace.graph.set_outputs(t.value for t in outputs)
    return trace


def def_site(fn: Callable[..., Any]) -> Site:
    """The ``def`` line of ``fn`` (its code starts at the first decorator)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return Site(None, None)
    line = code.co_firstlineno
    for k in range(line, line + 50):
        text = linecache.getline(code.co_filename, k).lstrip()
        if text.startswith(("def ", "async def ")):
            line = k
            break
    return site_of(code.co_filename, line)


def _outputs(fname: str, result: Any, site: Site) -> list[Tensor]:
    items = list(result) if isinstance(result, (tuple, list)) else [result]
    if not items or not all(isinstance(t, Tensor) for t in items):
        got = type(result).__name__ if not isinstance(result, (tuple, list)) else \
            "(" + ", ".join(type(t).__name__ for t in items) + ")"
        raise TraceError(site.format(f"{fname} must return a Tensor or a tuple of Tensors, got {got}"))
    return items


def _declared(fname: str, ann: Any, site: Site) -> list[TensorSpec] | None:
    if ann is inspect.Signature.empty or ann is None:
        return None
    if isinstance(ann, TensorSpec):
        return [ann]
    items = ann if isinstance(ann, tuple) else getattr(ann, "__args__", None)
    if getattr(ann, "__origin__", tuple) is tuple and items and all(isinstance(a, TensorSpec) for a in items):
        return list(items)
    raise TraceError(site.format(f"{fname}: unsupported return annotation {ann!r}; use Tensor[...] or "
                                 "tuple[Tensor[...], ...]"))


def _check_declared(fname: str, ann: Any, outputs: list[Tensor], site: Site) -> None:
    specs = _declared(fname, ann, site)
    if specs is None:
        return
    declared = ", ".join(str(s.type) for s in specs)
    traced = ", ".join(str(t.type) for t in outputs)
    if len(specs) != len(outputs):
        raise ShapeError(site.format(f"{fname}: declared return type ({declared}) has {len(specs)} "
                                     f"result(s) but the traced result ({traced}) has {len(outputs)}"))
    for spec, t in zip(specs, outputs, strict=True):
        if spec.type.dtype != t.dtype or not dims_equal(spec.type.shape, t.shape).proved:
            raise ShapeError(site.format(f"{fname}: declared return type {spec.type} does not match the "
                                         f"traced result {t.type}"))


# ---- inputs -----------------------------------------------------------------------------
def _to_numpy(v: Any) -> np.ndarray:
    if hasattr(v, "detach") and hasattr(v, "cpu"):  # a torch tensor
        v = v.detach().cpu().numpy()
    return np.asarray(v)
