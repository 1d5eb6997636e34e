"""Memory planning: liveness of every value a kernel writes, in-place elementwise ops, and a
greedy best-fit assignment of those values to buffers of one arena, with symbolic sizes.

Planned values are node results, except constants (the weights table holds them) and graph
inputs (the caller owns them); a ``fused`` node is one kernel, so only its results are planned.
A value lives from the step (index in ``graph.nodes``) of its producer to the step of its last
reader; graph outputs and property arguments live to the end (step ``len(graph.nodes)``).
A value reuses a freed buffer only when its size is *proved* to fit (``dim_le``), or when the
buffer is proved no larger than the value and grows to it; an unknown comparison never reuses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sympy

from axiom.ir.dims import Dim, dim_le, dim_str, dims_equal
from axiom.ir.graph import Graph, Node, Value
from axiom.ir.printer import name_values
from axiom.ir.types import TensorType

RANKING_VALUE = 64  # the value of every symbol when ranking candidate buffers (never for soundness)


def value_bytes(t: TensorType) -> Dim:
    """``prod(shape) * itemsize``: an int, or a sympy expression when a dim is symbolic."""
    n = t.numel * t.dtype.itemsize
    return n if isinstance(n, int) else sympy.expand(n)


def align_up(size: Dim, alignment: int) -> Dim:
    """``size`` rounded up to a multiple of ``alignment`` (``a * floor((size + a - 1) / a)``)."""
    if isinstance(size, int):
        return -(-size // alignment) * alignment
    if sympy.Mod(size, alignment) == 0:
        return size
    return alignment * sympy.floor((size + alignment - 1) / alignment)


def evaluate(expr: Dim, bindings: Mapping[str, int] | None = None) -> int:
    """The integer value of a size or offset; every symbol ``bindings`` does not name is 1."""
    if isinstance(expr, int):
        return expr
    given = bindings or {}
    v = expr.subs({s: given.get(s.name, 1) for s in expr.free_symbols})
    if not v.is_Integer:
        raise ValueError(f"{dim_str(expr)} is not an integer at {dict(given)}")
    return int(v)


@dataclass(frozen=True)
class Slot:
    """Where one planned value lives: its bytes, buffer and offset in the arena, its live steps
    ``start..end`` (inclusive), and the operand whose buffer it took in place, if any."""

    value: Value
    name: str
    bytes: Dim
    buffer: int
    offset: Dim
    start: int
    end: int
    in_place_of: Value | None = None


@dataclass(frozen=True)
class Buffer:
    """A region of the arena holding values whose lifetimes do not overlap, one after another."""

    id: int
    offset: Dim
    capacity: Dim  # aligned bytes


@dataclass
class MemoryPlan:
    """Every planned value's slot, the buffers, and the peaks: ``peak_before`` (each value its own
    buffer), ``peak_after`` (the arena), ``lower_bound`` (most bytes live at one step). All
    sizes are aligned; they are ints or sympy expressions, :meth:`evaluate` makes them ints."""

    graph_name: str
    steps: int
    alignment: int
    slots: list[Slot]
    buffers: list[Buffer]
    peak_before: Dim
    peak_after: Dim
    lower_bound: Dim
    names: dict[int, str] = field(default_factory=dict, repr=False)  # id(value) -> printed name

    def slot(self, value: Value) -> Slot | None:
        """The slot of ``value``, or None for a graph input, a constant or a value not planned."""
        return next((s for s in self.slots if s.value is value), None)

    @property
    def in_place(self) -> list[Slot]:
        """The slots written into an operand's buffer (their producers run in place)."""
        return [s for s in self.slots if s.in_place_of is not None]

    @property
    def in_place_nodes(self) -> list[Node]:
        out: list[Node] = []
        for s in self.in_place:
            if s.value.producer is not None and all(s.value.producer is not n for n in out):
                out.append(s.value.producer)
        return out

    @property
    def symbols(self) -> set[str]:
        exprs = [self.peak_before, *(s.bytes for s in self.slots)]
        return {s.name for e in exprs if not isinstance(e, int) for s in e.free_symbols}

    def evaluate(self, bindings: Mapping[str, int] | None = None) -> dict[str, int]:
        """``peak_before``, ``peak_after`` and ``lower_bound`` in bytes, with symbols bound by
        name (every symbol not named is 1)."""
        return {"peak_before": evaluate(self.peak_before, bindings),
                "peak_after": evaluate(self.peak_after, bindings),
                "lower_bound": evaluate(self.lower_bound, bindings)}

    def layout(self, bindings: Mapping[str, int] | None = None) -> dict[int, tuple[int, int]]:
        """``id(value) -> (offset, bytes)`` of every planned value, with symbols bound."""
        return {id(s.value): (evaluate(s.offset, bindings), evaluate(s.bytes, bindings)) for s in self.slots}

    def __str__(self) -> str:
        head = (f"memory plan of @{self.graph_name}: {_count(len(self.slots), 'value')} in "
                f"{_count(len(self.buffers), 'buffer')}, {len(self.in_place)} in place; "
                f"alignment {self.alignment}\n"
                f"  peak before {dim_str(self.peak_before)} bytes, after {dim_str(self.peak_after)}, "
                f"lower bound {dim_str(self.lower_bound)}")
        rows = [("value", "type", "bytes", "buffer", "offset", "live", "in-place")]
        for s in self.slots:
            end = "end" if s.end >= self.steps else str(s.end)
            of = "" if s.in_place_of is None else "%" + self.names.get(id(s.in_place_of), "?")
            rows.append(("%" + s.name, str(s.value.type), dim_str(s.bytes), str(s.buffer), dim_str(s.offset),
                         f"{s.start}..{end}", of))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        return head + "\n" + "\n".join("  " + line for line in lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def live_ranges(graph: Graph) -> dict[int, tuple[Value, int, int]]:
    """``id(value) -> (value, start, end)`` for every planned value, in definition order: start is
    its producer's step, end its last reader's (``len(graph.nodes)`` for outputs and property
    arguments; the start itself for a value nobody reads)."""
    ranges: dict[int, tuple[Value, int, int]] = {}
    for step, node in enumerate(graph.nodes):
        for v in node.inputs:
            if id(v) in ranges:
                value, start, _ = ranges[id(v)]
                ranges[id(v)] = (value, start, step)
        if node.op.name == "const":
            continue
        for r in node.results:
            ranges[id(r)] = (r, step, step)
    end = len(graph.nodes)
    for v in [*graph.outputs, *(a for p in graph.properties for a in p.args)]:
        if id(v) in ranges:
            ranges[id(v)] = (v, ranges[id(v)][1], end)
    return ranges


def in_place_operand(node: Node, result: Value, step: int, ranges: Mapping[int, tuple[Value, int, int]],
                     taken: Iterable[Value] = ()) -> Value | None:
    """The operand whose buffer ``result`` may overwrite, or None.

    The operand must be planned (not a graph input or a constant), read for the last time by
    this node (so not a graph output), have the result's dtype and shape, and be read element
    by element: by an elementwise op, or, in a ``fused`` body, only through elementwise ops of
    its shape (then the kernel reads element i before it writes element i).
    """
    if node.region is None and "elementwise" not in node.op.traits:
        return None
    for v in node.inputs:
        if id(v) not in ranges or ranges[id(v)][2] != step or any(v is t for t in taken):
            continue
        if v.dtype != result.dtype or not _same_shape(v.shape, result.shape):
            continue
        body = node.region
        if body is not None and not all(_elementwise_cone(body, body.inputs[j])
                                        for j, w in enumerate(node.inputs) if w is v):
            continue
        return v
    return None


def _same_shape(a: tuple, b: tuple) -> bool:
    return a == b or dims_equal(a, b).proved


def _elementwise_cone(body: Graph, start: Value) -> bool:
    """Is every body node that depends on ``start`` an elementwise op with ``start``'s shape?"""
    cone = {id(start)}
    for node in body.nodes:
        if not any(id(v) in cone for v in node.inputs):
            continue
        if node.region is not None or "elementwise" not in node.op.traits:
            return False
        if not all(_same_shape(r.shape, start.shape) for r in node.results):
            return False
        cone.update(id(r) for r in node.results)
    return True


def nonnegative(e: Dim) -> bool:
    """A sufficient test that ``e >= 0`` for every positive value of its symbols: built from
    non-negative numbers and symbols by ``+``, ``*``, integer powers and ``floor``."""
    if isinstance(e, int) or e.is_Number:
        return bool(e >= 0)
    if e.is_Symbol:
        return bool(e.is_positive)
    if e.is_Add or e.is_Mul:
        return all(nonnegative(a) for a in e.args)
    if e.is_Pow:
        return nonnegative(e.base) and e.exp.is_Integer and e.exp > 0
    if isinstance(e, sympy.floor):
        return nonnegative(e.args[0])
    return False


def plan_memory(graph: Graph, alignment: int = 64, in_place: bool = True) -> MemoryPlan:
    """A plan for ``graph`` (which is not changed): liveness, in-place ops, greedy best-fit buffers."""
    if alignment < 1:
        raise ValueError(f"alignment must be >= 1, got {alignment}")
    return _Planner(graph, alignment, in_place).plan()


@dataclass
class _Buf:
    raw: Dim  # the largest occupant's bytes; the capacity is these aligned
    end: int  # the last step at which an occupant is live


class _Planner:
    """Walks the values in definition order; each takes, in this order: its operand's buffer
    (in place), the smallest free buffer it provably fits, the largest free buffer provably no
    larger than it (grown to it), or a new buffer."""

    def __init__(self, graph: Graph, alignment: int, in_place: bool) -> None:
        self.graph = graph
        self.alignment = alignment
        self.allow_in_place = in_place
        self.ranges = live_ranges(graph)
        self.buffers: list[_Buf] = []
        self.where: dict[int, int] = {}  # id(value) -> buffer index
        self.in_place_of: dict[int, Value] = {}
        self.raw: dict[int, Dim] = {id(v): value_bytes(v.type) for v, _, _ in self.ranges.values()}
        self.size: dict[int, Dim] = {k: align_up(n, alignment) for k, n in self.raw.items()}
        self._le: dict[tuple[Dim, Dim, bool], bool] = {}
        self._rank: dict[Dim, float] = {}

    def plan(self) -> MemoryPlan:
        for step, node in enumerate(self.graph.nodes):
            results = [r for r in node.results if id(r) in self.ranges]
            if self.allow_in_place:
                for r in results:
                    self.try_in_place(step, node, r)
            for r in results:
                if id(r) not in self.where:
                    self.allocate(r)
        return self.finish()

    def try_in_place(self, step: int, node: Node, r: Value) -> None:
        operand = in_place_operand(node, r, step, self.ranges, self.in_place_of.values())
        if operand is None:
            return
        b = self.where[id(operand)]
        self.where[id(r)] = b
        self.in_place_of[id(r)] = operand
        self.buffers[b].end = self.ranges[id(r)][2]

    def allocate(self, v: Value) -> None:
        # Sizes are compared before alignment: rounding up is monotone, so it keeps every proof.
        _, start, end = self.ranges[id(v)]
        need = self.raw[id(v)]
        free = [i for i, b in enumerate(self.buffers) if b.end < start]
        fits = [i for i in free if self.le(need, self.buffers[i].raw)]
        smaller = [i for i in free if i not in fits and self.le(self.buffers[i].raw, need)]
        if fits:
            chosen = min(fits, key=lambda i: self.rank(self.buffers[i].raw))
        elif smaller:
            chosen = max(smaller, key=lambda i: self.rank(self.buffers[i].raw))
            self.buffers[chosen].raw = need
        else:
            chosen = len(self.buffers)
            self.buffers.append(_Buf(need, end))
        self.buffers[chosen].end = end
        self.where[id(v)] = chosen

    def le(self, a: Dim, b: Dim, thorough: bool = True) -> bool:
        """Is ``a <= b`` proved? Refuted at once by a sample binding where ``a > b``, proved at
        once when ``b - a`` has no negative term, else (when ``thorough``) asked of ``dim_le``.
        Cached: the same sizes meet again and again."""
        if isinstance(a, int) and isinstance(b, int):
            return a <= b
        key = (a, b, thorough)
        if key not in self._le:
            if a == b:
                self._le[key] = True
            elif any(evaluate(a, s) > evaluate(b, s) for s in self.samples(a, b)):
                self._le[key] = False
            else:
                quick = nonnegative(sympy.expand(b - a))
                self._le[key] = quick or (thorough and dim_le(a, b).proved)
        return self._le[key]

    @staticmethod
    def samples(a: Dim, b: Dim) -> list[dict[str, int]]:
        names = sorted({s.name for e in (a, b) if not isinstance(e, int) for s in e.free_symbols})
        return [{n: 1 for n in names}, {n: RANKING_VALUE for n in names},
                {n: 2 + 3 * i for i, n in enumerate(names)}, {n: 97 - 5 * i for i, n in enumerate(names)}]

    def rank(self, e: Dim) -> float:
        """A size at a typical binding: only to choose among buffers that are all sound."""
        if isinstance(e, int):
            return e
        if e not in self._rank:
            self._rank[e] = float(e.subs({s: RANKING_VALUE for s in e.free_symbols}))
        return self._rank[e]

    def finish(self) -> MemoryPlan:
        offsets: list[Dim] = []
        total: Dim = 0
        for b in self.buffers:
            offsets.append(total)
            total = total + align_up(b.raw, self.alignment)
        names = name_values(self.graph)
        slots = [Slot(v, names.get(id(v), "?"), value_bytes(v.type), self.where[id(v)],
                      offsets[self.where[id(v)]], start, end, self.in_place_of.get(id(v)))
                 for v, start, end in self.ranges.values()]
        buffers = [Buffer(i, offsets[i], align_up(b.raw, self.alignment)) for i, b in enumerate(self.buffers)]
        before: Dim = sum((self.size[id(s.value)] for s in slots), start=0)
        return MemoryPlan(self.graph.name, len(self.graph.nodes), self.alignment, slots, buffers,
                          before, total, self.lower_bound(slots), names)

    def lower_bound(self, slots: list[Slot]) -> Dim:
        """The most bytes live at one step (an in-place pair counted once): no plan of these
        values, with these in-place choices, needs fewer. Only cheap proofs prune the steps
        that cannot be the maximum: one left in is harmless, as ``Max`` is exact."""
        replaced = {id(s.in_place_of) for s in slots if s.in_place_of is not None}
        frontier: list[Dim] = []
        for step in range(len(self.graph.nodes)):
            live: Dim = sum((self.size[id(s.value)] for s in slots if s.start <= step <= s.end
                             and not (id(s.value) in replaced and s.end == step)), start=0)
            if any(self.le(live, f, thorough=False) for f in frontier):
                continue
            frontier = [f for f in frontier if not self.le(f, live, thorough=False)] + [live]
        if not frontier:
            return 0
        return frontier[0] if len(frontier) == 1 else sympy.Max(*frontier)
