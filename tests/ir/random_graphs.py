"""Hypothesis strategies for random well-typed graphs.

Ops are picked from the registry at run time (every op with an elementwise, reduction or
shape trait), so the strategy grows with the op set. Attributes come from each op's schema,
shaped by the first operand where the name says what it means (axis, axes, perm, sizes,
shape, ...); a draw the op's type rule rejects is simply not added. Graphs get static and
symbolic dims, random value names (duplicates and digit strings included), constants of
every dtype with arbitrary bit patterns, locations and properties.
"""

from __future__ import annotations

import keyword
from typing import Any

import numpy as np
from hypothesis import strategies as st

from axiom.ir import (
    ALL_DTYPES,
    Attrs,
    DType,
    Graph,
    Loc,
    Node,
    PropertyDecl,
    TensorType,
    Value,
    all_ops,
    get_op,
)
from axiom.ir.dims import as_dim, sym
from axiom.ir.opdef import has_op

OP_TRAITS = {"elementwise", "reduction", "shape"}
_RESERVED = {"floor", "ceiling", "Max", "Min", "Mod"}

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True)
symbol_names = st.from_regex(r"[A-Z][A-Za-z0-9_]{0,3}", fullmatch=True).filter(
    lambda s: not keyword.iskeyword(s) and s not in _RESERVED)
dtypes = st.sampled_from(ALL_DTYPES)
free_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)


def candidate_ops() -> list[Any]:
    return [op for op in all_ops() if op.traits & OP_TRAITS and op.name != "const"]


@st.composite
def dims(draw: Any, syms: list[Any]) -> Any:
    s = draw(st.sampled_from(syms))
    t = draw(st.sampled_from(syms))
    k = draw(st.integers(1, 3))
    form = draw(st.integers(0, 6))
    exprs = [draw(st.integers(1, 4)), s, s + k, k * s, (s + k) // (k + 1) + 1, s * t, 2 * (s // 2)]
    return as_dim(exprs[form])


@st.composite
def shapes(draw: Any, syms: list[Any], max_rank: int = 3) -> tuple[Any, ...]:
    return tuple(draw(st.lists(dims(syms), max_size=max_rank)))


@st.composite
def arrays(draw: Any, dtype: DType, shape: tuple[int, ...]) -> np.ndarray:
    """Any bit pattern of ``dtype`` (NaN payloads, -0.0, subnormals); bools are 0/1."""
    n = int(np.prod(shape, dtype=np.int64))
    raw = draw(st.binary(min_size=n * dtype.itemsize, max_size=n * dtype.itemsize))
    if dtype.is_bool:
        return (np.frombuffer(raw, np.uint8) % 2).astype(np.bool_).reshape(shape)
    return np.frombuffer(raw, np.dtype(f"u{dtype.itemsize}")).view(dtype.np_dtype).reshape(shape).copy()


@st.composite
def locs(draw: Any) -> Loc | None:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return None
    file = draw(st.sampled_from(["model.py", "a/b.py", "my model.py"]))
    name = draw(st.one_of(identifiers, free_text))
    line = draw(st.integers(1, 999))
    return [None, Loc(file, line), Loc(file, line, name), Loc(None, None, name)][kind]


def _value_name(draw: Any, taken: list[str]) -> str | None:
    choice = draw(st.integers(0, 9))
    if choice <= 4:
        return None
    if choice == 5 and taken:
        return draw(st.sampled_from(taken))  # a duplicate: both print numbered
    if choice == 6:
        return str(draw(st.integers(0, 12)))  # a digit name: later numbering skips it
    if choice == 7:
        return draw(free_text)  # often not an identifier: prints numbered
    return draw(identifiers)


def _attr(draw: Any, name: str, spec: Any, x: Value, chosen: dict[str, Any]) -> Any:
    if spec.optional and draw(st.integers(0, 3)) == 0:
        return None
    rank = x.rank
    axes = st.integers(-rank, rank - 1) if rank else st.just(0)
    kind = spec.kind
    if kind == "int":
        return draw(axes) if name == "axis" else draw(st.integers(-2, 4))
    if kind == "bool":
        return draw(st.booleans())
    if kind == "float":
        return draw(st.floats(allow_nan=True, allow_infinity=True))
    if kind == "floats":
        return draw(st.lists(st.floats(), max_size=3))
    if kind == "dtype":
        return draw(dtypes)
    if kind == "str":
        return draw(st.sampled_from(["constant", "reflect", "edge"])) if name == "mode" else draw(free_text)
    if kind == "dims":
        numel = x.type.numel
        options = [list(x.shape), [numel], [1, *x.shape], [2, *x.shape]]
        return draw(st.sampled_from(options))
    return _ints_attr(draw, name, x, chosen)


def _ints_attr(draw: Any, name: str, x: Value, chosen: dict[str, Any]) -> list[int]:
    rank = x.rank
    if name == "perm":
        return draw(st.permutations(list(range(rank))))
    if name == "axes":
        return draw(st.lists(st.integers(0, rank) if rank else st.just(0), max_size=rank or 1, unique=True))
    if name == "sizes":
        axis = chosen.get("axis", 0)
        dim = x.shape[axis] if rank and -rank <= axis < rank else 1
        total = dim if isinstance(dim, int) else 2
        cuts = sorted(draw(st.lists(st.integers(0, total), max_size=2)))
        bounds = [0, *cuts, total]
        return [b - a for a, b in zip(bounds, bounds[1:], strict=False)]
    if name == "pads":
        return draw(st.lists(st.integers(0, 2), min_size=2 * rank, max_size=2 * rank))
    if name in ("starts", "ends", "steps"):
        n = len(chosen.get("axes") or range(rank))
        lo = 1 if name == "steps" else -3
        return draw(st.lists(st.integers(lo, 3), min_size=n, max_size=n))
    return draw(st.lists(st.integers(-1, 3), max_size=3))


class _Builder:
    """Grows one graph; operands are chosen so that multi-operand ops often type-check."""

    def __init__(self, draw: Any, syms: list[Any]) -> None:
        self.draw = draw
        self.syms = syms
        self.graph = Graph(draw(st.one_of(identifiers, free_text)))
        self.pool: list[Value] = []
        self.names: list[str] = []

    def add_input(self, t: TensorType) -> Value:
        name = self.draw(st.one_of(identifiers, st.from_regex(r"[0-9]{1,2}", fullmatch=True)))
        if any(v.name == name for v in self.graph.inputs):
            name = f"in{len(self.graph.inputs)}"
        v = self.graph.add_input(name, t)
        self.pool.append(v)
        self.names.append(name)
        return v

    def add_constant(self) -> None:
        dtype = self.draw(dtypes)
        shape = tuple(self.draw(st.lists(st.integers(0, 5), max_size=3)))
        name = self.draw(st.one_of(identifiers, free_text.filter(lambda s: "\x00" not in s)))
        v = self.graph.add_constant(self.draw(arrays(dtype, shape)), name, self.draw(locs()))
        v.name = _value_name(self.draw, self.names)
        self.pool.append(v)

    def operand_like(self, first: Value) -> Value:
        same = [v for v in self.pool if v.shape == first.shape]
        if same and self.draw(st.booleans()):
            return self.draw(st.sampled_from(same))
        dims = [1 if self.draw(st.integers(0, 3)) == 0 else d for d in first.shape]
        dtype = first.dtype if self.draw(st.integers(0, 3)) else self.draw(dtypes)
        return self.add_input(TensorType(dtype, dims))

    def try_node(self, op: Any, first: Value | None = None, chosen: dict[str, Any] | None = None) -> None:
        draw = self.draw
        first = first or draw(st.sampled_from(self.pool))
        count = op.min_inputs if op.max_inputs == op.min_inputs else draw(st.integers(op.min_inputs, 3))
        inputs = [first] + [self.operand_like(first) for _ in range(count - 1)]
        if chosen is None:
            chosen = {}
            for name in sorted(op.attrs):
                chosen[name] = _attr(draw, name, op.attrs[name], first, chosen)
        try:
            attrs = op.make_attrs(chosen)
            n = op.results_for(attrs)
            names = [_value_name(draw, self.names) for _ in range(n)]
            node = Node(op, inputs, attrs, draw(locs()), result_names=names)
        except Exception:  # noqa: BLE001 - a draw the op rejects is just not added
            return
        self.graph.append(node)
        self.pool.extend(node.results)
        self.names.extend(r.name for r in node.results if r.name)

    def add_split(self) -> None:
        """A multi-result split along a static dim (the op set decides whether split exists)."""
        if not has_op("split"):
            return
        static = [(v, i) for v in self.pool for i, d in enumerate(v.shape) if isinstance(d, int) and d > 0]
        if not static:
            return
        x, axis = self.draw(st.sampled_from(static))
        dim = x.shape[axis]
        cuts = sorted(self.draw(st.lists(st.integers(0, dim), min_size=1, max_size=3)))
        sizes = [b - a for a, b in zip([0, *cuts], [*cuts, dim], strict=True)]
        self.try_node(get_op("split"), x, {"axis": axis, "sizes": sizes})

    def add_property(self) -> None:
        draw = self.draw
        params = draw(st.dictionaries(identifiers, _param_values(self.syms), max_size=3))
        args = draw(st.lists(st.sampled_from(self.pool), min_size=1, max_size=2))
        name = draw(st.one_of(identifiers, free_text))
        kind = draw(st.sampled_from(["ensure", "prove"]))
        self.graph.properties.append(PropertyDecl(kind, name, args, Attrs(params), draw(locs())))


def _param_values(syms: list[Any]) -> Any:
    scalars = st.one_of(st.integers(-10, 10), st.floats(), st.booleans(), st.none(), free_text, dtypes,
                        st.sampled_from(syms))
    return st.one_of(scalars, st.lists(scalars, max_size=3).map(tuple))


@st.composite
def graphs(draw: Any, max_nodes: int = 8, max_constants: int = 3) -> Graph:
    """A random well-typed graph (it passes the verifier by construction)."""
    names = draw(st.lists(symbol_names, min_size=1, max_size=3, unique=True))
    syms = [sym(n) for n in names]
    b = _Builder(draw, syms)
    for _ in range(draw(st.integers(1, 3))):
        b.add_input(TensorType(draw(dtypes), draw(shapes(syms))))
    for _ in range(draw(st.integers(0, max_constants))):
        b.add_constant()
    ops = candidate_ops()
    rnd = draw(st.randoms(use_true_random=False))  # uniform over ops (sampled_from favours the first)
    for _ in range(draw(st.integers(0, max_nodes)) * 3):
        if len(b.graph.nodes) >= max_nodes + max_constants:
            break
        b.try_node(rnd.choice(ops))
    for _ in range(draw(st.integers(0, 2))):
        b.add_split()
    for _ in range(draw(st.integers(0, 2))):
        b.add_property()
    b.graph.set_outputs(draw(st.lists(st.sampled_from(b.pool), min_size=1, max_size=3)))
    return b.graph


# ---- fused regions ---------------------------------------------------------------------------
def outline_run(graph: Graph, start: int, stop: int) -> Node:
    """Outline ``graph.nodes[start:stop]`` (consecutive, so no cycle can form) into one ``fused``
    node standing where they stood."""
    from axiom.compiler.passes.fuse import outline

    fused = outline(graph, graph.nodes[start:stop])
    graph.nodes[start:stop] = [fused]
    return fused


def _outline_some(draw: Any, graph: Graph, count: int, depth: int) -> None:
    for _ in range(count):
        free = [i for i, n in enumerate(graph.nodes) if n.op.name != "const"]
        if not free:
            return
        start = draw(st.sampled_from(free))
        stop = start + 1
        while stop < len(graph.nodes) and graph.nodes[stop].op.name != "const" and draw(st.booleans()):
            stop += 1
        fused = outline_run(graph, start, stop)
        if depth > 1 and draw(st.booleans()):  # a region inside this region's body
            assert fused.region is not None
            _outline_some(draw, fused.region, 1, depth - 1)


@st.composite
def outlined(draw: Any, graph: Graph, max_regions: int = 3, depth: int = 2) -> Graph:
    """A copy of ``graph`` in which random runs of consecutive nodes (no constants: a body reads
    them as operands) are ``fused`` regions, some nested up to ``depth``; it computes the same."""
    g = graph.copy()
    _outline_some(draw, g, draw(st.integers(1, max_regions)), depth)
    return g


# ---- graphs for the fuse pass ----------------------------------------------------------------
_UNARY = ("relu", "exp", "neg", "tanh", "sigmoid")
_BINARY = ("add", "mul", "sub", "maximum")


@st.composite
def fusable_graphs(draw: Any, max_nodes: int = 12) -> Graph:
    """Random f32 graphs of [S, S] and [S, 1] values (S static or the symbol N) made of what the
    fuse pass groups (matmul, softmax, layer_norm, keepdims reductions, elementwise ops, with
    broadcasts) and what it must leave out (transpose, reshape), so anchors, epilogues, prologues,
    values used outside a group and diamonds through opaque ops all occur. Some values are
    outputs and some are read by an ``ensure``."""
    s = draw(st.sampled_from([3, sym("N")]))
    square, column = TensorType("f32", [s, s]), TensorType("f32", [s, 1])
    g = Graph("fusable")
    pool = [g.add_input(f"x{i}", square) for i in range(draw(st.integers(1, 3)))]
    pool.append(g.add_input("col", column))
    for _ in range(draw(st.integers(1, max_nodes))):
        kind = draw(st.integers(0, 7))
        squares = [v for v in pool if v.type == square]
        x = draw(st.sampled_from(squares))
        if kind <= 1:
            node = Node(draw(st.sampled_from(_UNARY)), [draw(st.sampled_from(pool))])
        elif kind <= 3:
            operands = [draw(st.sampled_from(pool)), draw(st.sampled_from(pool))]
            node = Node(draw(st.sampled_from(_BINARY)), operands)
        elif kind == 4:
            node = Node("matmul", [x, draw(st.sampled_from(squares))])
        elif kind == 5:
            op = draw(st.sampled_from(["softmax", "log_softmax", "layer_norm"]))
            node = Node(op, [x])
        elif kind == 6:
            node = Node(draw(st.sampled_from(["sum", "max"])), [x], {"axes": [1], "keepdims": True})
        else:
            node = Node("transpose", [x]) if draw(st.booleans()) else Node("reshape", [x], {"shape": [s, s]})
        g.append(node)
        pool.append(node.results[0])
    made = [n.results[0] for n in g.nodes]
    g.set_outputs(draw(st.lists(st.sampled_from(made), min_size=1, max_size=3)))
    if draw(st.booleans()):
        g.properties.append(PropertyDecl("ensure", "finite", [draw(st.sampled_from(made))], Attrs({})))
    return g


def random_inputs(graph: Graph, seed: int, size: int = 2) -> list[np.ndarray]:
    """Arguments for ``graph``: its symbols bound to ``size`` or ``size + 1`` (alternately, in name
    order), small integers and bools, floats in [-2, 2)."""
    from axiom.ir.dims import evaluate_dim

    rng = np.random.default_rng(seed)
    symbols = sorted({s.name for v in graph.inputs for s in v.type.symbols})
    bindings = {s: size + i % 2 for i, s in enumerate(symbols)}
    out = []
    for v in graph.inputs:
        shape = tuple(evaluate_dim(d, bindings) for d in v.shape)
        if v.dtype.is_bool or v.dtype.is_int:
            out.append(rng.integers(0, 2 if v.dtype.is_bool else 4, shape).astype(v.dtype.np_dtype))
        else:
            out.append(rng.uniform(-2, 2, shape).astype(v.dtype.np_dtype))
    return out


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
