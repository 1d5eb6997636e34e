"""Calling compiled code: one foreign call per run. Intermediates live in one workspace laid out by the
memory plan (its offsets evaluated once per distinct set of symbol values); outputs are fresh arrays;
constants are held as contiguous arrays for the life of the run function."""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping

import numpy as np

from axiom.backends.llvm.gemm import aligned_zeros, pack_a, pack_b
from axiom.backends.llvm.render import Rendered
from axiom.backends.llvm.target import Compiled
from axiom.compiler.memory import plan_memory
from axiom.ir.dims import evaluate_dim
from axiom.ir.errors import AxiomError
from axiom.ir.graph import Graph, Value

MAIN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
STATUS_MESSAGES = {1: "gather: an index is out of range for its axis",
                   2: "out of memory for a convolution's scratch buffer"}


def _pack_conv_weights(w: np.ndarray, groups: str) -> np.ndarray:
    """Each group's [og, cg*kh*kw] weight matrix packed as the GEMM's A operand, groups one after another."""
    g = int(groups)
    mats = w.reshape(g, w.shape[0] // g, -1)
    packed = [pack_a(m) for m in mats]
    out = aligned_zeros((sum(p.size for p in packed),))
    out[...] = np.concatenate([p.ravel() for p in packed])
    return out


# How a kernel may ask for a constant to be packed (Kernel.prepack): name -> (array, argument) -> array.
PACKERS: dict[str, Callable[[np.ndarray, str], np.ndarray]] = {
    "gemm_a": lambda a, _: pack_a(a), "gemm_b": lambda b, _: pack_b(b), "conv_a": _pack_conv_weights}


class NativeRun:
    """The run function of an Executable on the llvm backend."""

    def __init__(self, graph: Graph, rendered: Rendered, compiled: Compiled) -> None:
        self.graph, self.rendered, self.compiled = graph, rendered, compiled
        self.fn = MAIN(compiled.address)
        self.n = len(rendered.values)
        self.outputs = {id(v) for v in graph.outputs}
        self.plan = plan_memory(graph)
        self.constants: dict[int, np.ndarray] = {}
        for node in graph.nodes:
            if node.op.name == "const":
                r = node.results[0]
                data = graph.constants[node.attrs["name"]]
                self.constants[id(r)] = np.ascontiguousarray(data, r.dtype.np_dtype)
        for key, how in rendered.packed.items():
            name, _, arg = how.partition("/")
            self.constants[key] = PACKERS[name](self.constants[key], arg)
        self._layouts: dict[tuple, tuple[int, dict[int, tuple[int, int]]]] = {}

    def _layout(self, bindings: Mapping[str, int]) -> tuple[int, dict[int, tuple[int, int]]]:
        key = tuple(bindings.get(s, 1) for s in self.rendered.symbols)
        if key not in self._layouts:
            layout = self.plan.layout(bindings)
            size = max((o + b for o, b in layout.values()), default=0)
            self._layouts[key] = (size, layout)
        return self._layouts[key]

    def __call__(self, arrays: list[np.ndarray], bindings: dict[str, int]) -> list[np.ndarray]:
        size, layout = self._layout(bindings)
        workspace = np.empty(max(size, 1), np.uint8)
        base = workspace.ctypes.data
        ptrs = (ctypes.c_void_p * self.n)()
        slots = self.rendered.slots
        keep: list[np.ndarray] = [workspace]
        for v, a in zip(self.graph.inputs, arrays, strict=True):
            a = np.ascontiguousarray(a)
            keep.append(a)
            ptrs[slots[id(v)]] = a.ctypes.data
        fresh: dict[int, np.ndarray] = {}
        for v in self.rendered.values[len(self.graph.inputs):]:
            const = self.constants.get(id(v))
            if const is not None:
                ptrs[slots[id(v)]] = const.ctypes.data
            elif id(v) in self.outputs or id(v) not in layout:
                arr = np.empty(_shape(v, bindings), v.dtype.np_dtype)
                fresh[id(v)] = arr
                ptrs[slots[id(v)]] = arr.ctypes.data
            else:
                ptrs[slots[id(v)]] = base + layout[id(v)][0]
        dims = (ctypes.c_int64 * max(len(self.rendered.symbols), 1))(
            *(bindings[s] for s in self.rendered.symbols))
        status = ctypes.c_int64(0)
        self.fn(ptrs, dims, ctypes.byref(status))
        if status.value:
            raise AxiomError(f"native code of @{self.graph.name} stopped: "
                             f"{STATUS_MESSAGES.get(status.value, f'status {status.value}')}")
        outs: list[np.ndarray] = []
        for v in self.graph.outputs:
            out = self._output(v, fresh, arrays)
            outs.append(out.copy() if any(o is out for o in outs) else out)  # a value returned twice
        return outs

    def _output(self, v: Value, fresh: dict[int, np.ndarray], arrays: list[np.ndarray]) -> np.ndarray:
        """A graph output's array (a copy when it is an input or a constant)."""
        if id(v) in fresh:
            return fresh[id(v)]
        if id(v) in self.constants:
            return self.constants[id(v)].copy()
        pairs = zip(self.graph.inputs, arrays, strict=True)
        return next(np.array(a, copy=True) for inp, a in pairs if inp is v)


def _shape(v: Value, bindings: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else evaluate_dim(d, dict(bindings)) for d in v.shape)
