"""What the ONNX importer knows before converting: the names whose data is known at import time
(constants, shape data, values computed only from those, through If branches too), and the graph
inputs a model must be specialised on because shapes or axes depend on their values."""

from __future__ import annotations

from types import SimpleNamespace

import onnx

from axiom.frontends.onnx.ops_common import Converter, lookup
from axiom.frontends.onnx.shape_fold import foldable_names

NONDETERMINISTIC = ("RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial",
                    "Bernoulli", "Dropout")


def opsets_of(model: onnx.ModelProto) -> dict[str, int]:
    """Opset version per domain ('' for the default domain)."""
    return {("" if o.domain == "ai.onnx" else o.domain): o.version for o in model.opset_import}


def node_opset(opsets: dict[str, int], node: onnx.NodeProto) -> int:
    return opsets.get("" if node.domain == "ai.onnx" else node.domain, 0)


def _known_in(g: onnx.GraphProto, outer: set[str]) -> tuple[set[str], set[str]]:
    """(known names, folded shape-data names) of graph ``g`` given the known names around it."""
    known = set(outer) | {i.name for i in g.initializer}
    known |= {o for n in g.node if n.op_type == "Constant" and n.domain in ("", "ai.onnx") for o in n.output}
    folded = foldable_names(SimpleNamespace(graph=g), known)
    known |= folded
    for node in g.node:
        ins = [i for i in node.input if i]
        if node.op_type in NONDETERMINISTIC or not all(i in known for i in ins):
            continue
        bodies = subgraphs(node)
        if bodies and (node.op_type != "If" or not all(_outputs_known(b, known) for b in bodies)):
            continue  # a Loop or Scan is unrolled, not evaluated; an If is known when both branches are
        known.update(o for o in node.output if o)
    return known, folded


def subgraphs(node: onnx.NodeProto) -> list[onnx.GraphProto]:
    """The graphs in ``node``'s attributes (If branches, Loop and Scan bodies)."""
    out: list[onnx.GraphProto] = []
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            out.append(a.g)
        elif a.type == onnx.AttributeProto.GRAPHS:
            out.extend(a.graphs)
    return out


def _outputs_known(body: onnx.GraphProto, outer: set[str]) -> bool:
    known, _ = _known_in(body, outer)
    return all(o.name in known for o in body.output)


def known_names(model: onnx.ModelProto, assume: frozenset[str] = frozenset()) -> tuple[set[str], set[str]]:
    """(names whose data is known at import time, the subset folded as shape data). Known: initializers,
    Constant outputs, the graph inputs in ``assume`` (values given for specialisation), shape chains, and
    the outputs of deterministic nodes whose inputs are all known (evaluated while importing)."""
    return _known_in(model.graph, set(assume))


def specialization_inputs(model: onnx.ModelProto) -> list[str]:
    """The graph inputs whose VALUES decide shapes or axes (an axes, shape or k input computed from a
    graph input): Axiom compiles such a model per distinct value of them. Empty when there are none, or
    when knowing them would not make every such input constant."""
    g = model.graph
    opsets = opsets_of(model)
    inputs = [v.name for v in g.input if v.name not in {i.name for i in g.initializer}]
    producer = {o: n for n in g.node for o in n.output if o}
    constant, _ = known_names(model)
    needed: set[str] = set()
    for node in g.node:
        conv = lookup(node.domain, node.op_type, node_opset(opsets, node))
        if isinstance(conv, Converter):
            needed.update(node.input[i] for i in conv.const_inputs
                          if i < len(node.input) and node.input[i] and node.input[i] not in constant)
    roots: set[str] = set()
    stack, seen = list(needed), set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in inputs:
            roots.add(name)
        elif name in producer:
            stack.extend(i for i in producer[name].input if i)
    if not roots:
        return []
    known, _ = known_names(model, frozenset(roots))
    return [n for n in inputs if n in roots] if needed <= known else []


