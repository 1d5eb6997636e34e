"""shape-infer: re-derive every value's type from the graph inputs through the ops' type rules.

Types are inferred when a node is built, so a graph is always typed; this pass is what makes a
*changed* input type flow through the graph. It rebuilds each node whose operands changed (a new
``Node`` with the same op, attributes and location), so every type comes from the op's rule and
none is ever patched in place.

Options (both strings, so that they fit a pipeline; items are separated by ``,``, ``;`` or
spaces, and since a pipeline string splits options at commas, write ``;`` there:
``shape-infer{bind=N=8;H=32}``):

``bind="N=8,H=32"``
    Specialise symbols to positive ints: in the input types, hence in every type downstream,
    and in symbolic ``dims`` attributes (a reshape to ``[N, 3136]`` becomes ``[8, 3136]``).
    Binding a symbol the graph does not use is an error (it is almost always a typo).

``symbolic="0:N"``
    Make a static batch dim symbolic: what a user who exported a model at batch 8 wants is the
    same model for any batch. So ``AXIS:NAME`` takes the first input whose dim ``AXIS`` is
    static, reads its value ``v`` (the batch size it was exported with), and turns dim ``AXIS``
    of *every* input whose dim ``AXIS`` equals ``v`` into the symbol ``NAME``; inputs whose dim
    differs (a table, a mask of another length) are left alone, and a remark names them. Write
    ``INPUT:AXIS:NAME`` to change one named input only (when a value like 1 is a batch size in
    one input and a broadcast dim in another). Static copies of the old batch size that the
    graph itself carries are generalised where that is provably the same computation: a
    ``reshape`` target whose leading dims match the input's (``[8, 64, 7, 7] -> [8, 3136]``
    becomes ``[N, 3136]``: the element counts are equal, so row ``i`` stays row ``i``) and an
    ``expand`` target at the positions the input's new symbol sits in. Anything else that
    still holds the old value (a constant of batch size, a reshape that mixes the batch into
    other dims) fails its op's rule, and the pass stops with a ShapeError at that node:
    such a model is not batch-polymorphic, and guessing would change what it computes.
    ``symbolic`` is applied before ``bind``.

Assumptions: every dim of every value must be >= 1 for the graph to make sense (symbols are
positive, but ``H - 2``, the height after a 3x3 convolution without padding, need not be).
For each dim expression not proved >= 1, the pass records ``"H - 2 >= 1"`` with
``ctx.assume`` (once each) and a remark naming the first node that needs it;
:func:`shape_assumptions` returns the same list for any graph, so that callers (``compile``)
can show it. A dim expression that is never >= 1 is a ShapeError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy

from axiom.compiler.context import PassContext
from axiom.compiler.passbase import Pass, PipelineError, register_pass
from axiom.ir.dims import Dim, as_dim, dim_eq, dim_le, dim_str, sym
from axiom.ir.errors import AttributeError_, ShapeError
from axiom.ir.graph import Graph, Node, Value
from axiom.ir.opdef import Attrs
from axiom.ir.types import TensorType

_SEPARATORS = re.compile(r"[,;\s]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class SymbolicDim:
    """One item of the ``symbolic`` option: dim ``axis`` of ``input`` (None: of every input
    that agrees with the first static one) becomes the symbol ``name``."""

    input: str | None
    axis: int
    name: str

    def __str__(self) -> str:
        return f"{self.input + ':' if self.input is not None else ''}{self.axis}:{self.name}"


def parse_bind(text: str) -> dict[str, int]:
    """``"N=8,H=32"`` (or ``;``/space separated) as ``{"N": 8, "H": 32}``; PipelineError if malformed."""
    out: dict[str, int] = {}
    for item in filter(None, _SEPARATORS.split(text.strip())):
        name, eq, value = item.partition("=")
        if not eq or not _NAME.fullmatch(name) or not re.fullmatch(r"\d+", value):
            raise PipelineError(f"shape-infer: bind item {item!r} must be NAME=INT, as in 'N=8'")
        if int(value) < 1:
            raise PipelineError(f"shape-infer: bind {item!r}: symbols are positive, bind them to >= 1")
        if name in out and out[name] != int(value):
            raise PipelineError(f"shape-infer: bind gives {name} twice ({out[name]} and {value})")
        out[name] = int(value)
    return out


def parse_symbolic(text: str) -> list[SymbolicDim]:
    """``"0:N"`` or ``"x:0:N"`` items as SymbolicDims; PipelineError if malformed."""
    out: list[SymbolicDim] = []
    for item in filter(None, _SEPARATORS.split(text.strip())):
        parts = item.split(":")
        if len(parts) not in (2, 3) or not parts[-2].isdigit() or not _NAME.fullmatch(parts[-1]):
            raise PipelineError(f"shape-infer: symbolic item {item!r} must be AXIS:NAME or INPUT:AXIS:NAME "
                                "with AXIS >= 0, as in '0:N' (the batch dim of every input becomes N)")
        out.append(SymbolicDim(parts[0] if len(parts) == 3 else None, int(parts[-2]), parts[-1]))
    return out


@register_pass
@dataclass(frozen=True)
class ShapeInfer(Pass):
    """Re-derive every type from the inputs; optionally bind symbols or make static dims symbolic.

    The options are validated when the pass is made and kept in a canonical form (items joined
    by ``;``), so ``str(pass)`` is a pipeline item that parses back.
    """

    name = "shape-infer"
    bind: str = ""
    symbolic: str = ""

    def __post_init__(self) -> None:
        canonical_bind = ";".join(f"{k}={v}" for k, v in parse_bind(self.bind).items())
        object.__setattr__(self, "bind", canonical_bind)
        object.__setattr__(self, "symbolic", ";".join(map(str, parse_symbolic(self.symbolic))))

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        widened: dict[sympy.Symbol, int] = {}
        types = _symbolize_inputs(graph, parse_symbolic(self.symbolic), widened, ctx)
        bindings = {sym(k): v for k, v in parse_bind(self.bind).items()}
        if bindings:
            _check_bound_symbols(graph, types, bindings)
            types = [_bind_type(t, bindings) for t in types]
        old_types = {id(n): [v.type for v in n.inputs] for n in graph.nodes}
        changed = _replace_inputs(graph, types)
        rebuilt = _rederive(graph, bindings, widened, old_types, self._hint())
        ctx.count("shape-infer.rebuilt", rebuilt)
        for fact, where in _assumptions_with_sites(graph):
            if fact not in ctx.assumptions:
                ctx.remark(f"assumed {fact}: needed by {where}")
            ctx.assume(fact)
        return changed or rebuilt > 0

    def _hint(self) -> str:
        if self.symbolic:
            return ("a static dim of this node (in an attribute, or a constant it reads) still holds the "
                    "old value of a dim that `symbolic` made symbolic, or the node mixes that dim with "
                    "others (a reshape across the batch): make that part of the model symbolic too, or "
                    "leave this dim static")
        if self.bind:
            return "the values in `bind` do not satisfy this op's shape rule; bind others"
        return "the op's rule rejects the operand types it has now; fix the producer of its operands"


def shape_assumptions(graph: Graph) -> list[str]:
    """The facts the graph's types rely on: ``"<dim> >= 1"`` for each dim expression of a value
    (inputs and results, in graph order) that is not proved >= 1, each once.

    Symbols are positive, so ``N`` and ``2*N`` need nothing, but ``H - 2`` (a 3x3 convolution
    without padding) only makes sense for ``H >= 3``. The shape-infer pass records this list
    in ``PassContext.assumptions``; callers such as ``compile`` can show it to the user.
    Raises ShapeError for a dim that is never >= 1 (the graph makes sense for no input).
    """
    return [fact for fact, _ in _assumptions_with_sites(graph)]


# ---- input types ----------------------------------------------------------------------------
def _symbolize_inputs(graph: Graph, specs: Sequence[SymbolicDim], widened: dict[sympy.Symbol, int],
                      ctx: PassContext) -> list[TensorType]:
    """The input types with the ``symbolic`` items applied; ``widened`` gets symbol -> old value."""
    types = [v.type for v in graph.inputs]
    names = [v.name for v in graph.inputs]
    for spec in specs:
        if spec.input is not None and spec.input not in names:
            raise ShapeError(f"shape-infer: symbolic {spec} names input %{spec.input}, but graph "
                             f"@{graph.name} has inputs {', '.join('%' + str(n) for n in names) or 'none'}")
        chosen = [i for i, n in enumerate(names) if spec.input in (None, n) and types[i].rank > spec.axis]
        if not chosen:
            raise ShapeError(f"shape-infer: symbolic {spec}: no input of graph @{graph.name} has a dim "
                             f"{spec.axis} (input types: {', '.join(map(str, types)) or 'none'}); "
                             "hint: axes count from 0")
        static = [types[i].shape[spec.axis] for i in chosen if isinstance(types[i].shape[spec.axis], int)]
        if not static:
            continue  # already symbolic everywhere: nothing to do (running the pass twice is harmless)
        value, symbol = static[0], sym(spec.name)
        widened[symbol] = value
        for i in chosen:
            shape = list(types[i].shape)
            if shape[spec.axis] == value:
                shape[spec.axis] = symbol
                types[i] = types[i].with_shape(shape)
            elif isinstance(shape[spec.axis], int):
                ctx.remark(f"symbolic {spec}: input %{names[i]} keeps dim {spec.axis} = "
                           f"{shape[spec.axis]}, which is not the {value} of the other inputs")
    return types


def _bind_type(t: TensorType, bindings: Mapping[sympy.Symbol, int]) -> TensorType:
    return t.with_shape(_bind_dims(t.shape, bindings))


def _bind_dims(dims: Iterable[Dim], bindings: Mapping[sympy.Symbol, int]) -> tuple[Dim, ...]:
    return tuple(d if isinstance(d, int) else as_dim(d.subs(bindings)) for d in dims)


def _check_bound_symbols(graph: Graph, types: Sequence[TensorType],
                         bindings: Mapping[sympy.Symbol, int]) -> None:
    """Refuse to bind a symbol that neither the (new) input types nor a dims attribute use."""
    used: set[sympy.Symbol] = set()
    for t in types:
        used |= t.symbols
    for node in graph.walk():
        for d in _dims_attr_values(node):
            used |= getattr(d, "free_symbols", set())
    unused = sorted(s.name for s in bindings if s not in used)
    if unused:
        have = ", ".join(sorted(s.name for s in used)) or "none (every dim is static)"
        raise ShapeError(f"shape-infer: bind names {', '.join(unused)}, which graph @{graph.name} does not "
                         f"use; its symbols: {have}")


def _replace_inputs(graph: Graph, types: Sequence[TensorType]) -> bool:
    """Give every input whose type changed a new Value of the new type; True if any did."""
    changed = False
    for i, (old, t) in enumerate(zip(list(graph.inputs), types, strict=True)):
        if old.type == t:
            continue
        new = Value(t, None, i, old.name)
        graph.inputs[i] = new
        graph.replace_all_uses(old, new)
        changed = True
    return changed


# ---- nodes ----------------------------------------------------------------------------------
def _rederive(graph: Graph, bindings: Mapping[sympy.Symbol, int], widened: Mapping[sympy.Symbol, int],
              old_types: Mapping[int, list[TensorType]], hint: str) -> int:
    """Check each node's result types against its rule, in order; rebuild the ones that differ
    (or whose attributes change). Returns how many were rebuilt."""
    rebuilt = 0
    for i, node in enumerate(graph.nodes):
        if "explicit_type" in node.op.traits:  # const: its type is its data's
            continue
        if node.region is not None:
            rebuilt += _rederive_region(graph, i, bindings, widened, hint)
            continue
        attrs = _new_attrs(node, bindings, widened)
        inferred = _infer(node, attrs, old_types.get(id(node), []), hint)
        if attrs == node.attrs and inferred == [r.type for r in node.results]:
            continue
        new = Node(node.op, node.inputs, attrs, node.loc, result_names=[r.name for r in node.results])
        for old_value, new_value in zip(node.results, new.results, strict=True):
            graph.replace_all_uses(old_value, new_value)
        node.drop_inputs()
        graph.nodes[i] = new  # the same slot: the graph stays well formed if a later node fails
        rebuilt += 1
    return rebuilt


def _rederive_region(graph: Graph, index: int, bindings: Mapping[sympy.Symbol, int],
                     widened: Mapping[sympy.Symbol, int], hint: str) -> int:
    """Re-derive a region op's body from its operands' types (on a copy); rebuild the op when the
    body changed. Returns how many nodes were rebuilt, the body's included."""
    node = graph.nodes[index]
    assert node.region is not None
    body = node.region.copy()
    old_types = {id(n): [v.type for v in n.inputs] for n in body.nodes}
    changed = _replace_inputs(body, [v.type for v in node.inputs])
    inner = _rederive(body, bindings, widened, old_types, hint)
    if not changed and inner == 0:
        return 0
    new = Node(node.op, node.inputs, node.attrs, node.loc, result_names=[r.name for r in node.results],
               region=body)
    for old_value, new_value in zip(node.results, new.results, strict=True):
        graph.replace_all_uses(old_value, new_value)
    node.drop_inputs()
    graph.nodes[index] = new
    return inner + 1


def _infer(node: Node, attrs: Attrs, before: Sequence[TensorType], hint: str) -> list[TensorType]:
    """The node's result types by its rule, or a ShapeError naming its location and both the
    operand types it had and the ones it has now."""
    try:
        return node.op.infer_types([v.type for v in node.inputs], attrs)
    except (ShapeError, AttributeError_) as exc:
        was = ", ".join(map(str, before))
        now = ", ".join(str(v.type) for v in node.inputs)
        err = ShapeError(f"shape-infer: {_describe(node)} does not type-check any more: {exc}\n"
                         f"  operand types before: ({was})\n  operand types now:    ({now})\n"
                         f"  hint: {hint}")
        err.node = node  # type: ignore[attr-defined]  (the pass manager shows the IR around it)
        raise err from None


def _dims_attr_names(node: Node) -> list[str]:
    return [k for k, spec in node.op.attrs.items() if spec.kind == "dims" and node.attrs.get(k) is not None]


def _dims_attr_values(node: Node) -> Iterable[Dim]:
    for k in _dims_attr_names(node):
        yield from node.attrs[k]


def _new_attrs(node: Node, bindings: Mapping[sympy.Symbol, int],
               widened: Mapping[sympy.Symbol, int]) -> Attrs:
    """The node's attributes with widened batch sizes made symbolic and bound symbols substituted."""
    changes: dict[str, tuple[Dim, ...]] = {}
    for key in _dims_attr_names(node):
        dims = tuple(node.attrs[key])
        if widened and node.op.name == "reshape":
            dims = _widen_reshape(node.inputs[0].type.shape, dims, widened)
        elif widened and node.op.name == "expand":
            dims = _widen_expand(node.inputs[0].type.shape, dims, widened)
        if bindings:
            dims = _bind_dims(dims, bindings)
        if dims != tuple(node.attrs[key]):
            changes[key] = dims
    return node.attrs.replace(**changes) if changes else node.attrs


def _widen_reshape(src: Sequence[Dim], target: Sequence[Dim],
                   widened: Mapping[sympy.Symbol, int]) -> tuple[Dim, ...]:
    """Along the leading dims that the reshape keeps, put back the symbols whose old static
    value the target still spells out. With equal leading dims and equal element counts, a
    row-major reshape maps each leading index to itself, so this is the same computation."""
    out = list(target)
    for i, (s, t) in enumerate(zip(src, target, strict=False)):
        if isinstance(s, sympy.Symbol) and widened.get(s) == t:
            out[i] = s
        elif not dim_eq(s, t).proved:
            break
    return tuple(out)


def _widen_expand(src: Sequence[Dim], target: Sequence[Dim],
                  widened: Mapping[sympy.Symbol, int]) -> tuple[Dim, ...]:
    """An expand target keeps every non-1 input dim (right-aligned): where the input now has a
    widened symbol and the target its old value, the target gets the symbol."""
    out = list(target)
    lead = len(target) - len(src)
    for j, s in enumerate(src):
        if lead + j >= 0 and isinstance(s, sympy.Symbol) and widened.get(s) == target[lead + j]:
            out[lead + j] = s
    return tuple(out)


# ---- assumptions ----------------------------------------------------------------------------
def _assumptions_with_sites(graph: Graph) -> list[tuple[str, str]]:
    """Each ``"<dim> >= 1"`` fact the graph needs, with where it is first needed.

    A product of factors that are each proved or already assumed >= 1 (``4*(H - 2)*(W - 2)``
    after a flatten) is implied by those facts and adds none of its own.
    """
    out: dict[str, str] = {}
    for value in _values_and_body_values(graph):
        for d in value.type.shape:
            if isinstance(d, int):
                continue
            fact = f"{dim_str(d)} >= 1"
            if fact in out or _implied_product(d, out):
                continue
            truth = dim_le(1, d)
            if truth.proved:
                continue
            where = _describe(value.producer) if value.producer is not None else f"input %{value.name}"
            if truth.disproved:
                err = ShapeError(f"shape-infer: {where} has type {value.type}, whose dim {dim_str(d)} is "
                                 "below 1 for every value of its symbols; hint: check the sizes that "
                                 "produce it (kernel, padding, slice bounds)")
                err.node = value.producer  # type: ignore[attr-defined]
                raise err
            out[fact] = where
    return list(out.items())


def _values_and_body_values(graph: Graph) -> Iterable[Value]:
    """The graph's values, then (after each region op's results) its body's: a value inside a
    fused region needs its dims >= 1 as much as one outside."""
    yield from graph.inputs
    for node in graph.nodes:
        yield from node.results
        if node.region is not None:
            yield from _values_and_body_values(node.region)


def _implied_product(d: sympy.Expr, facts: Mapping[str, str]) -> bool:
    """Is ``d`` a product of a positive integer and factors each proved or assumed >= 1?"""
    if not isinstance(d, sympy.Mul):
        return False
    for factor in d.args:
        if factor.is_Integer:
            if factor < 1:
                return False
        elif f"{dim_str(factor)} >= 1" not in facts and not dim_le(1, factor).proved:
            return False
    return True


def _describe(node: Node) -> str:
    names = ", ".join(f"%{r.name}" if r.name else "%?" for r in node.results)
    where = f" at {node.loc}" if node.loc else " (no source location)"
    return f"{names} = {node.op.name}{where}"
