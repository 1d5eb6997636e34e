"""layout: choose NCHW or NHWC for each chain of conv/pool/batch-norm ops, and cancel the
transposes that choice makes redundant.

A *chain* is a connected group of layout-sensitive ops (conv2d, max_pool2d, avg_pool2d,
global_avg_pool2d, batch_norm on 4-D images: their ``layout`` attribute says how their image is
laid out) linked through layout-agnostic ops on 4-D values:

- elementwise ops; an operand that is a constant (a per-channel ``[C, 1, 1]`` or ``[1, C, 1, 1]``
  bias, say) is permuted along with the image, by folding a permuted copy of its data;
- reductions (sum, mean, max, min, prod, argmax, argmin), whose axes are remapped; one that drops
  the image axes in an order both layouts share (``mean`` over H and W to ``[N, C]``) ends the
  chain with no transpose at all;
- ``transpose`` with perm ``[0, 2, 3, 1]`` (NCHW to NHWC) or ``[0, 3, 1, 2]`` (back).

Every 4-D value of a chain is labelled with the layout its data is in now. A value that enters
the chain from outside (a graph input, an op that is no member) or leaves it (to a graph output,
a property or an op that is no member) keeps that layout outside; choosing layout L for the
chain costs one transpose for each such value whose label is not L, and cancels every transpose
inside the chain. A conversion that moves only static size-1 dims (``[N, 1, 1, C]`` to
``[N, C, 1, 1]``) is a reshape and costs nothing. The cost of a layout is the bytes those
transposes move (compared with ``dim_lt``, else with every symbol = 1); ``prefer=auto`` picks
the cheaper layout (a tie keeps the chain's current one) and leaves a chain alone where its own
transposes already cost less; ``prefer=nchw`` / ``nhwc`` force one. A chain already in its
chosen form (every op in L, transposes only where values enter or leave) is not touched, so a
second run changes nothing. Finally transposes of transposes are merged (simplify's pattern),
dead nodes erased and the constant-table entries no node reads any more dropped.

Region bodies (``fused``) are not visited: run ``layout`` before ``fuse``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, PipelineError, register_pass
from axiom.compiler.passes.canonicalize import transpose_identity
from axiom.compiler.passes.simplify import transpose_transpose
from axiom.compiler.rewriter import apply_patterns
from axiom.ir.builder import Builder
from axiom.ir.dims import Dim, dim_lt, dim_product
from axiom.ir.graph import Graph, Node, Value
from axiom.ir.ops.conv_shapes import LAYOUTS, layout_perm
from axiom.ir.ops.reduction import normalize_axes

SENSITIVE = frozenset({"conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d", "batch_norm"})
CONVERTS = {layout_perm(a, b): (a, b) for a in LAYOUTS for b in LAYOUTS if a != b}
PREFER = {"auto": None, "nchw": "NCHW", "nhwc": "NHWC"}


@register_pass
@dataclass(frozen=True)
class Layout(Pass):
    """Give each conv chain one layout (``prefer``: auto, nchw or nhwc) and cancel transposes."""

    name = "layout"
    prefer: str = "auto"

    def __post_init__(self) -> None:
        if self.prefer not in PREFER:
            raise PipelineError(f"pass 'layout': prefer={self.prefer!r}; choose one of {', '.join(PREFER)}")

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        read_before = _constants_read(graph)
        changed = False
        for chain in find_chains(graph):
            ctx.count("layout.chains")
            target = self._choose(chain, ctx)
            if target is None or chain.settled(target):
                continue
            chain.rewrite(target)
            ctx.count(f"layout.to-{target.lower()}")
            changed = True
        if changed:
            apply_patterns(graph, [transpose_transpose, transpose_identity], ctx)  # erases dead nodes too
            for name in read_before - _constants_read(graph):
                graph.constants.pop(name, None)  # the data of constants that were permuted
        return changed

    def _choose(self, chain: Chain, ctx: PassContext) -> str | None:
        forced = PREFER[self.prefer]
        if forced is not None:
            return forced
        current = chain.current_layout()
        other = "NHWC" if current == "NCHW" else "NCHW"
        best = other if _less(chain.cost(other), chain.cost(current)) else current
        if _less(chain.own_cost(), chain.cost(best)):
            ctx.remark(f"kept the mixed layouts of the chain at {chain.where()}: its transposes move fewer "
                       f"bytes than making it all {best}")
            return None
        return best


def _constants_read(graph: Graph) -> set[str]:
    return {n.attrs["name"] for n in graph.nodes if n.op.name == "const"}


# ---- roles --------------------------------------------------------------------------------
def _role(graph: Graph, node: Node) -> str | None:
    """How ``node`` may take part in a chain: "sensitive", "transpose", "elementwise",
    "reduction", or None (it may not)."""
    name = node.op.name
    if len(node.results) != 1 or not node.inputs:
        return None
    if name in SENSITIVE:
        return "sensitive" if node.inputs[0].rank == 4 else None
    if name == "transpose":
        return "transpose" if _perm(node) in CONVERTS else None
    if "reduction" in node.op.traits:
        return "reduction" if node.inputs[0].rank == 4 and _reduction_ok(node) else None
    if "elementwise" not in node.op.traits or node.results[0].rank != 4:
        return None
    slots = [i for i, v in enumerate(node.inputs) if _is_image(graph, v)]
    others = [v for v in node.inputs if not _is_image(graph, v)]
    if not slots or any(graph.constant_of(v) is None and not _invariant(v.shape) for v in others):
        return None
    return "elementwise"


def _perm(node: Node) -> tuple[int, ...] | None:
    perm = node.attrs["perm"]
    return tuple(perm) if perm is not None and len(perm) == 4 else None


def _is_image(graph: Graph, value: Value) -> bool:
    """A 4-D operand that is not a constant with data (those are permuted, not converted)."""
    return value.rank == 4 and graph.constant_of(value) is None


def _reduced_axes(node: Node) -> tuple[int, ...]:
    x = node.inputs[0]
    axes = node.attrs["axes"] if "axes" in node.attrs else [node.attrs["axis"]]
    return normalize_axes(node.op.name, x.type, axes)


def _reduction_ok(node: Node) -> bool:
    """A reduction keeping its dims stays in the chain; one dropping them may end it only when
    the kept axes come out in the same order from both layouts."""
    if node.attrs["keepdims"]:
        return True
    kept = [a for i, a in enumerate("NCHW") if i not in _reduced_axes(node)]
    return [a for a in "NHWC" if a in kept] == kept


def _slots(graph: Graph, node: Node, role: str) -> list[int]:
    """The operand indices of ``node`` that hold chain values."""
    if role == "elementwise":
        return [i for i, v in enumerate(node.inputs) if _is_image(graph, v)]
    return [0]


def _chain_results(node: Node, role: str) -> list[Value]:
    if role == "reduction" and not node.attrs["keepdims"]:
        return []
    return [node.results[0]]


# ---- finding chains -------------------------------------------------------------------------
@dataclass
class Chain:
    """One chain: its member nodes (in graph order), their roles and every value's label."""

    graph: Graph
    members: list[Node] = field(default_factory=list)
    roles: dict[int, str] = field(default_factory=dict)
    label: dict[int, str] = field(default_factory=dict)  # id(value) -> the layout its data is in

    def values_of(self, node: Node) -> list[Value]:
        role = self.roles[id(node)]
        ins = [node.inputs[i] for i in _slots(self.graph, node, role)]
        return ins + _chain_results(node, role)

    def layout_of(self, node: Node) -> str:
        """The layout a member reads its (first) chain operand in."""
        return self.label[id(node.inputs[_slots(self.graph, node, self.roles[id(node)])[0]])]

    def inside(self, user: Node, index: int) -> bool:
        role = self.roles.get(id(user))
        return role is not None and index in _slots(self.graph, user, role)

    def entering(self) -> list[Value]:
        """Chain values made outside the chain, once each, in the order members read them."""
        seen: dict[int, Value] = {}
        for n in self.members:
            for v in self.values_of(n):
                if v.producer is None or id(v.producer) not in self.roles:
                    seen.setdefault(id(v), v)
        return list(seen.values())

    def outside_uses(self, value: Value) -> list[tuple[Node, int]]:
        return [(u, i) for u, i in value.uses if not self.inside(u, i)]

    def leaves(self, value: Value) -> bool:
        g = self.graph
        read = [*g.outputs, *(v for p in g.properties for v in p.args)]
        return bool(self.outside_uses(value)) or any(value is v for v in read)

    def leaving(self) -> list[Value]:
        return [r for n in self.members for r in _chain_results(n, self.roles[id(n)]) if self.leaves(r)]

    # ---- costs ------------------------------------------------------------------------------
    def cost(self, layout: str) -> tuple[Dim, int]:
        """Bytes moved by the transposes that laying the chain out as ``layout`` needs."""
        return _total((v, self.label[id(v)], layout) for v in self.entering() + self.leaving())

    def own_cost(self) -> tuple[Dim, int]:
        """Bytes moved by the chain's transposes as it is."""
        return _total((n.inputs[0], *CONVERTS[_perm(n)]) for n in self.members  # type: ignore[misc]
                      if self.roles[id(n)] == "transpose")

    def current_layout(self) -> str:
        """The layout most of the sensitive ops use (NCHW on a tie)."""
        layouts = [n.attrs["layout"] for n in self.members if self.roles[id(n)] == "sensitive"]
        return "NHWC" if layouts.count("NHWC") > layouts.count("NCHW") else "NCHW"

    def where(self) -> str:
        first = next(n for n in self.members if self.roles[id(n)] == "sensitive")
        return f"{first.op.name}" + (f" ({first.loc})" if first.loc else "")

    def settled(self, layout: str) -> bool:
        """Is every op already in ``layout``, with transposes only where values enter or leave?"""
        for n in self.members:
            role = self.roles[id(n)]
            if role == "sensitive" and n.attrs["layout"] != layout:
                return False
            if role in ("elementwise", "reduction") and self.layout_of(n) != layout:
                return False
            if role != "transpose":
                continue
            x, y = n.inputs[0], n.results[0]
            if self.label[id(x)] != layout and x.producer is not None and id(x.producer) in self.roles:
                return False
            if self.label[id(y)] != layout and any(self.inside(u, i) for u, i in y.uses):
                return False
        return True

    # ---- rewriting --------------------------------------------------------------------------
    def rewrite(self, layout: str) -> None:
        """Rebuild every member in ``layout``: conversions where values enter and leave, permuted
        constants, remapped axes; the old members are erased."""
        _Rewrite(self, layout).run()


def find_chains(graph: Graph) -> list[Chain]:
    """The chains of ``graph``, each grown from a sensitive op through its values' producers and
    readers. A node whose layout constraints contradict the labels already given is left out
    (its chain values then leave or enter there)."""
    roles = {id(n): r for n in graph.nodes if (r := _role(graph, n)) is not None}
    label: dict[int, str] = {}
    owner: set[int] = set()
    chains = []
    order = {id(n): i for i, n in enumerate(graph.nodes)}
    for seed in graph.nodes:
        if roles.get(id(seed)) != "sensitive" or id(seed) in owner:
            continue
        chain = Chain(graph, label=label)
        work = deque([seed])
        while work:
            node = work.popleft()
            if id(node) in owner or not _join(chain, node, roles[id(node)]):
                continue
            owner.add(id(node))
            for v in chain.values_of(node):
                near = [v.producer] if v.producer is not None else []
                near += [u for u, i in v.uses if id(u) in roles and i in _slots(graph, u, roles[id(u)])]
                work.extend(n for n in near if id(n) in roles and id(n) not in owner)
        if chain.members:
            chain.members.sort(key=lambda n: order[id(n)])
            chains.append(chain)
    return chains


def _join(chain: Chain, node: Node, role: str) -> bool:
    """Add ``node`` to ``chain`` if its values can take the labels it needs; label them."""
    chain.roles[id(node)] = role
    values = chain.values_of(node)
    if role == "sensitive":
        want = [node.attrs["layout"]] * len(values)
    elif role == "transpose":
        want = list(CONVERTS[_perm(node)])  # type: ignore[index]
    else:
        known = [chain.label[id(v)] for v in values if id(v) in chain.label]
        want = [known[0] if known else ""] * len(values)
    if not all(w and chain.label.get(id(v), w) == w for v, w in zip(values, want, strict=True)):
        del chain.roles[id(node)]
        return False
    for v, w in zip(values, want, strict=True):
        chain.label[id(v)] = w
    chain.members.append(node)
    return True


# ---- costs --------------------------------------------------------------------------------
def _total(moves) -> tuple[Dim, int]:  # noqa: ANN001 - an iterable of (Value, src, dst)
    """The bytes that converting each value from layout src to dst moves, as a symbolic sum and
    as a number with every symbol = 1; a conversion that moves only static size-1 dims counts
    nothing (it is a reshape)."""
    exact: Dim = 0
    approx = 0
    for v, src, dst in moves:
        if src == dst or _unit_move(v.shape, src, dst):
            continue
        exact = exact + dim_product(v.shape) * v.dtype.itemsize
        approx += int(np.prod([max(1, _at_one(d)) for d in v.shape])) * v.dtype.itemsize
    return exact, approx


def _at_one(d: Dim) -> int:
    return d if isinstance(d, int) else int(d.subs({s: 1 for s in d.free_symbols}))


def _less(a: tuple[Dim, int], b: tuple[Dim, int]) -> bool:
    """Is cost ``a`` below cost ``b``: proved with ``dim_lt``, else at every symbol = 1."""
    t = dim_lt(a[0], b[0])
    if t.proved or t.disproved:
        return t.proved
    return a[1] < b[1]


def _unit_move(shape: tuple[Dim, ...], src: str, dst: str) -> bool:
    """Does converting ``shape`` (4-D, laid out as ``src``) to ``dst`` keep every axis that is not
    a static 1 in its order? Then the conversion is a reshape (the flat data is the same)."""
    axes = [i for i in layout_perm(src, dst) if shape[i] != 1]
    return axes == sorted(axes)


def _invariant(shape: tuple[Dim, ...]) -> bool:
    """Does a lower-rank operand broadcast the same in both layouts (only size-1 dims)?"""
    return all(d == 1 for d in shape)


# ---- the rewrite ------------------------------------------------------------------------------
class _Rewrite:
    """Builds the chain's members again in one layout, member by member in graph order."""

    def __init__(self, chain: Chain, layout: str) -> None:
        self.chain, self.layout, self.graph = chain, layout, chain.graph
        self.new: dict[int, Value] = {}  # id(old chain value) -> the value holding it in layout
        self.consts: dict[tuple[int, str], Value] = {}

    def run(self) -> None:
        chain = self.chain
        for node in chain.members:
            b = Builder(self.graph, before=node, loc=node.loc)
            for v in (node.inputs[i] for i in _slots(self.graph, node, chain.roles[id(node)])):
                if id(v) not in self.new:
                    self.new[id(v)] = convert(b, v, chain.label[id(v)], self.layout)
            self._rebuild(b, node, chain.roles[id(node)])
            for r in _chain_results(node, chain.roles[id(node)]):
                if chain.leaves(r):
                    self._redirect(r, convert(b, self.new[id(r)], self.layout, chain.label[id(r)]))
        for node in reversed(chain.members):
            self.graph.erase(node)

    def _rebuild(self, b: Builder, node: Node, role: str) -> None:
        old = self.chain.layout_of(node)
        if role == "transpose":
            self.new[id(node.results[0])] = self.new[id(node.inputs[0])]
            return
        attrs = node.attrs
        if role == "sensitive":
            attrs = attrs.replace(layout=self.layout)
        if role == "reduction" and old != self.layout:
            axes = sorted(self.layout.index(old[a]) for a in _reduced_axes(node))
            attrs = attrs.replace(axes=tuple(axes)) if "axes" in attrs else attrs.replace(axis=axes[0])
        slots = _slots(self.graph, node, role)
        inputs = [self.new[id(v)] if i in slots else v for i, v in enumerate(node.inputs)]
        if role == "elementwise" and old != self.layout:
            inputs = [v if i in slots else self._permuted(b, v, old) for i, v in enumerate(inputs)]
        made = b.node(node.op, inputs, attrs).results[0]
        if _chain_results(node, role):
            self.new[id(node.results[0])] = made
        else:
            self._redirect(node.results[0], made)

    def _permuted(self, b: Builder, value: Value, old: str) -> Value:
        """A constant operand laid out for the new layout (its data permuted, folded)."""
        data = self.graph.constant_of(value)
        if data is None:
            return value  # a lower-rank operand of size-1 dims only: it broadcasts alike
        shape = (1,) * (4 - data.ndim) + data.shape
        moved = np.ascontiguousarray(data.reshape(shape).transpose(layout_perm(old, self.layout)))
        while moved.ndim > data.ndim and moved.shape[0] == 1:
            moved = moved.reshape(moved.shape[1:])
        if moved.shape == data.shape and np.array_equal(moved, data):
            return value
        key = (id(value), old)
        if key not in self.consts:
            name = value.producer.attrs["name"]  # type: ignore[union-attr]
            self.consts[key] = b.constant(moved, f"{name}_{self.layout.lower()}")
        return self.consts[key]

    def _redirect(self, old: Value, new: Value) -> None:
        """Point the outside readers of ``old`` (nodes, outputs, properties) at ``new``."""
        for user, i in self.chain.outside_uses(old):
            user.set_input(i, new)
        self.graph.outputs = [new if v is old else v for v in self.graph.outputs]
        for p in self.graph.properties:
            p.args = [new if v is old else v for v in p.args]


def convert(b: Builder, value: Value, src: str, dst: str) -> Value:
    """``value`` (4-D, laid out as ``src``) laid out as ``dst``: itself, a reshape when only
    size-1 dims move, else a transpose."""
    if src == dst:
        return value
    perm = layout_perm(src, dst)
    if _unit_move(value.shape, src, dst):
        return b.op("reshape", value, shape=tuple(value.shape[i] for i in perm))
    return b.op("transpose", value, perm=perm)
