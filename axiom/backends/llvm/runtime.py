"""Calling compiled code: one foreign call per run. Intermediates live in one workspace laid out by the
memory plan (its offsets evaluated once per distinct set of symbol values), followed by the scratch
region the kernels share (the largest any kernel asks for); outputs are fresh arrays;
constants are held as contiguous arrays for the life of the run function."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from axiom.backends.llvm.conv_direct import pack_direct
from axiom.backends.llvm.gemm import aligned_zeros, pack_a, pack_b
from axiom.backends.llvm.render import Rendered
from axiom.backends.llvm.target import Compiled
from axiom.compiler.memory import plan_memory
from axiom.ir.dims import evaluate_dim
from axiom.ir.errors import AxiomError
from axiom.ir.graph import Graph, Value

MAIN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
STATUS_MESSAGES = {1: "gather: an index is out of range for its axis"}


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
    "gemm_a": lambda a, _: pack_a(a), "gemm_b": lambda b, _: pack_b(b), "conv_a": _pack_conv_weights,
    "gemm_bt": lambda w, _: pack_b(np.ascontiguousarray(w.T)), "conv_direct": lambda w, _: pack_direct(w)}


MAX_FRAMES = 8


@dataclass
class _Frame:
    """What a call needs for one set of symbol values, reused by every call with those values."""

    workspace: np.ndarray
    ptrs: ctypes.Array
    dims: ctypes.Array
    status: ctypes.Array
    fresh: list[tuple[int, int, tuple[int, ...], np.dtype]]  # (value id, slot, shape, dtype) per new array
    inputs: list[int]  # the slot of each graph input
    lock: threading.Lock
    order: dict[int, int]  # value id -> its index in ``fresh``


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
                self.constants[id(r)] = np.require(np.asarray(data, r.dtype.np_dtype), requirements="C")
        for key, how in rendered.packed.items():
            name, _, arg = how.partition("/")
            self.constants[key] = PACKERS[name](self.constants[key], arg)
        self.symbols = rendered.symbols
        self._frames: dict[tuple[int, ...], _Frame] = {}
        # The input shapes and frame of the last call that took the checked path, for ``fast``.
        self._hit: tuple[tuple[tuple[int, ...], ...], _Frame] | None = None
        self._dtypes = [v.dtype.np_dtype for v in graph.inputs]
        self._fresh_outputs = len({id(v) for v in graph.outputs}) == len(graph.outputs) and not any(
            id(v) in self.constants or any(v is i for i in graph.inputs) for v in graph.outputs)
        # Nanoseconds spent in each kernel over every call so far (profiled modules only).
        self.kernel_ns = [0] * (len(rendered.kernels) if rendered.profiled else 0)

    def _frame(self, key: tuple[int, ...], bindings: Mapping[str, int]) -> _Frame:
        """The call frame for these symbol values: workspace, pointer table with the constants and
        intermediates filled in, output shapes; made once per distinct set of values."""
        layout = self.plan.layout(bindings)
        size = max((o + b for o, b in layout.values()), default=0)
        size += -size % 64  # the kernels' scratch region follows, 64-byte aligned
        scratch = max((evaluate_dim(d, bindings) for d in self.rendered.scratch), default=0)
        workspace = np.empty(size + scratch + 64, np.uint8)
        base = workspace.ctypes.data + (-workspace.ctypes.data % 64)
        ptrs = (ctypes.c_void_p * (self.n + 1))()
        ptrs[self.n] = base + size
        slots = self.rendered.slots
        fresh: list[tuple[int, int, tuple[int, ...], np.dtype]] = []
        for v in self.rendered.values[len(self.graph.inputs):]:
            const = self.constants.get(id(v))
            if const is not None:
                ptrs[slots[id(v)]] = const.ctypes.data
            elif id(v) in self.outputs or id(v) not in layout:
                fresh.append((id(v), slots[id(v)], _shape(v, bindings), v.dtype.np_dtype))
            else:
                ptrs[slots[id(v)]] = base + layout[id(v)][0]
        dims = (ctypes.c_int64 * max(len(self.symbols), 1))(*key)
        status = (ctypes.c_int64 * (1 + len(self.kernel_ns)))()
        inputs = [slots[id(v)] for v in self.graph.inputs]
        order = {key: i for i, (key, _, _, _) in enumerate(fresh)}
        return _Frame(workspace, ptrs, dims, status, fresh, inputs, threading.Lock(), order)

    def __call__(self, arrays: list[np.ndarray], bindings: dict[str, int]) -> list[np.ndarray]:
        key = tuple(bindings.get(s, 1) for s in self.symbols)
        frame = self._frames.get(key)
        if frame is None:
            if len(self._frames) >= MAX_FRAMES:  # keep the workspaces of the most recent shapes only
                self._frames.pop(next(iter(self._frames)))
            frame = self._frames[key] = self._frame(key, bindings)
        if not frame.lock.acquire(blocking=False):  # another thread is inside this frame: use a private one
            frame = self._frame(key, bindings)
            frame.lock.acquire()
        try:
            return self._run(frame, arrays)
        finally:
            frame.lock.release()

    def fast(self, args: tuple) -> list[np.ndarray] | None:
        """The common call in as few Python steps as it can take (its cost is most of a small model's
        call): numpy arrays of exactly the dtypes and shapes of the last checked call, C-contiguous, every
        output a fresh array; None when the call must take the checked path (``Executable`` then does)."""
        hit = self._hit
        if hit is None or len(args) != len(self._dtypes):
            return None
        shapes, frame = hit
        for a, shape, dtype in zip(args, shapes, self._dtypes, strict=True):
            if type(a) is not np.ndarray or a.shape != shape or a.dtype is not dtype:
                return None
            if not a.flags.c_contiguous:
                return None
        if not frame.lock.acquire(blocking=False):
            return None
        try:
            ptrs = frame.ptrs
            for slot, a in zip(frame.inputs, args, strict=True):
                ptrs[slot] = _address(a)
            outs = []
            for _, slot, shape, dtype in frame.fresh:
                arr = np.empty(shape, dtype)
                ptrs[slot] = _address(arr)
                outs.append(arr)
            self._call(frame)
        finally:
            frame.lock.release()
        return outs if len(frame.fresh) == 1 else [outs[frame.order[id(v)]] for v in self.graph.outputs]

    def _call(self, frame: _Frame) -> None:
        status = frame.status
        status[0] = 0
        self.fn(frame.ptrs, frame.dims, status)
        if status[0]:
            raise AxiomError(f"native code of @{self.graph.name} stopped: "
                             f"{STATUS_MESSAGES.get(status[0], f'status {status[0]}')}")
        for i in range(len(self.kernel_ns)):
            self.kernel_ns[i] += status[i + 1]
            status[i + 1] = 0

    def _run(self, frame: _Frame, arrays: list[np.ndarray]) -> list[np.ndarray]:
        ptrs = frame.ptrs
        keep = []
        exact = True  # every input as fast() takes it
        for slot, a, dtype in zip(frame.inputs, arrays, self._dtypes, strict=True):
            if not a.flags.c_contiguous:
                a = np.ascontiguousarray(a)
                keep.append(a)
                exact = False
            exact = exact and type(a) is np.ndarray and a.dtype is dtype
            ptrs[slot] = a.ctypes.data
        fresh: dict[int, np.ndarray] = {}
        for key, slot, shape, dtype in frame.fresh:
            arr = fresh[key] = np.empty(shape, dtype)
            ptrs[slot] = arr.ctypes.data
        self._call(frame)
        if exact and self._fresh_outputs and len(fresh) == len(self.graph.outputs):
            self._hit = (tuple(a.shape for a in arrays), frame)
        if len(self.graph.outputs) == 1 and id(self.graph.outputs[0]) in fresh:
            return [fresh[id(self.graph.outputs[0])]]
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


def _address(a: np.ndarray) -> int:
    """Where ``a``'s data starts: through ctypes' buffer view (a fraction of ``a.ctypes.data``'s cost),
    or ``a.ctypes.data`` for an array that view refuses (read-only, empty)."""
    try:
        return ctypes.addressof(_BYTE.from_buffer(a))
    except (TypeError, ValueError):
        return a.ctypes.data


_BYTE = ctypes.c_char


def _shape(v: Value, bindings: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else evaluate_dim(d, dict(bindings)) for d in v.shape)
