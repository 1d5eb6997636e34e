"""A Graph as Graphviz DOT text, for pictures of models (``Graph.to_dot``, ``axiom viz``).

This module writes the DOT language itself and needs nothing beyond the standard library
(and the IR): turning the text into SVG/PNG/PDF is :mod:`axiom.viz`'s job. The picture:

- one box per op, labelled with the op name and its attributes that differ from the
  schema's defaults (``max_pool2d`` / ``kernel=2``);
- graph inputs and outputs as distinct shapes (a green ``invhouse``, an orange ``house``);
- constants small and grey (name + type, the value when it has one element), or left out
  with ``constants=False``;
- an edge per operand, labelled with the value's type (``f32[N, 32, 28, 28]``; ``#i``
  first when the producer has several results);
- each ``ensure``/``prove`` declaration as a yellow note joined to its values;
- in every tooltip the source location and the node's IR line, as ``axiom dump`` prints it.

Fused regions: a node that holds a body graph (see :func:`node_body`) is drawn as a
cluster containing the body's own nodes; edges from the node's operands go straight to the
body's nodes that read them, and the node's users are fed by the body's outputs. Bodies nest.

Every string the picture shows (names, locations, attribute values) goes through
:func:`quote`, so quotes, backslashes and line breaks in names cannot break the DOT syntax.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axiom.ir.errors import AxiomError
from axiom.ir.graph import Graph, Node, PropertyDecl, Value
from axiom.ir.literals import format_literal
from axiom.ir.printer import Rendered, loc_comment, render

RANKDIRS = ("TB", "LR", "BT", "RL")
FONT = "Helvetica"
LINE_WIDTH = 28  # attribute summaries wrap at about this many characters a line
# Window attributes whose entries are all equal print as one number, as PyTorch's kernel_size=2.
UNIFORM_ATTRS = frozenset({"kernel", "stride", "dilation", "padding", "pads"})

_STYLE = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8eef9", "color": "#4a6fa5"},
    "input": {"shape": "invhouse", "style": "filled", "fillcolor": "#d5f5e3", "color": "#2e8b57"},
    "output": {"shape": "house", "style": "filled", "fillcolor": "#fde2c8", "color": "#d2691e"},
    "const": {"shape": "box", "style": "filled", "fillcolor": "#f2f2f2", "color": "#b0b0b0",
              "fontsize": "8", "fontcolor": "#555555", "height": "0.2", "margin": "0.04,0.02"},
    "property": {"shape": "note", "style": "filled", "fillcolor": "#fff6bf", "color": "#c9a800",
                 "fontsize": "9"},
    "undefined": {"shape": "box", "style": "dashed", "color": "red", "fontcolor": "red"},
    "cluster": {"style": "rounded,dashed", "color": "#7b68ee", "fontcolor": "#483d8b"},
}


@dataclass(frozen=True)
class DotOptions:
    """What the picture shows: constants, property notes, types on edges, layout direction."""

    constants: bool = True
    properties: bool = True
    edge_types: bool = True
    rankdir: str = "TB"


def to_dot(graph: Graph, *, constants: bool = True, properties: bool = True, edge_types: bool = True,
           rankdir: str = "TB") -> str:
    """The DOT text of ``graph`` (``digraph``), ready for ``dot -Tsvg``.

    ``constants=False`` leaves constants (and their edges) out; ``properties=False`` leaves
    out the ensure/prove notes; ``edge_types=False`` drops the type labels of edges;
    ``rankdir`` is the flow direction: "TB" (top to bottom), "LR", "BT" or "RL".
    The graph need not verify: a value used but defined nowhere is drawn as a red node.
    """
    if rankdir not in RANKDIRS:
        raise AxiomError(f"to_dot: rankdir={rankdir!r} is not a direction; use one of {', '.join(RANKDIRS)}")
    return _DotWriter(DotOptions(constants, properties, edge_types, rankdir)).write(graph)


def quote(text: str) -> str:
    """``text`` as a DOT quoted string: backslashes and quotes escaped, each line break a
    centred break (``\\n``), any other control character spelled out as ``\\xNN``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c if c == "\n" or c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def node_body(node: Node) -> Graph | None:
    """The body graph of a region op (``fused``), or None. Its inputs stand for the node's
    operands and its outputs for the node's results; it is drawn as a cluster."""
    return node.region


def attr_summary(node: Node) -> list[str]:
    """``name=value`` for each attribute that differs from its schema default, compactly
    (lists without spaces, strings unquoted); a body graph is left out (it is drawn)."""
    items = []
    for key in sorted(node.attrs):
        value = node.attrs[key]
        if isinstance(value, Graph) or _is_default(node, key, value):
            continue
        items.append(f"{key}={compact(value, uniform=key in UNIFORM_ATTRS)}")
    return items


def compact(value: Any, uniform: bool = False) -> str:
    """A short text of an attribute value; ``uniform``: a list whose entries are all equal
    prints as one entry (``kernel=[2, 2]`` reads ``kernel=2``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        if uniform and len(value) > 1 and all(x == value[0] for x in value):
            return compact(value[0])
        return "[" + ",".join(compact(x) for x in value) + "]"
    try:
        return format_literal(value)
    except TypeError:  # no literal for it (a Graph, say): its kind is what a reader can use
        return type(value).__name__


def _is_default(node: Node, key: str, value: Any) -> bool:
    spec = node.op.attrs.get(key)
    if spec is None or spec.required:
        return False
    if spec.default is None:
        return value is None
    try:
        return spec.coerce(node.op.name, key, spec.default) == value
    except AxiomError:
        return False


def _wrap(items: list[str], width: int = LINE_WIDTH) -> list[str]:
    """Join ``items`` with ", " into lines of about ``width`` characters."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += ", " + item
        else:
            lines.append(item)
    return lines


def _fallback(value: Any) -> str:
    """How a tooltip's IR line shows an attribute value the text form has no literal for."""
    return f"<{type(value).__name__}>"


def _statement(rendered: Rendered, index: int, loc: Any) -> str:
    """One printed IR line, without its indent and its trailing location comment."""
    line = rendered.lines[index].strip()
    suffix = loc_comment(loc).strip()
    if suffix and line.endswith(suffix):
        line = line[: -len(suffix)].rstrip()
    return line


def _tooltip(loc: Any, *lines: str) -> str:
    where = f"at {loc}" if loc else "at <unknown location>"
    return "\n".join([where, *lines])


def _attr_list(**attrs: str) -> str:
    return "[" + ", ".join(f"{k}={quote(v)}" for k, v in attrs.items()) + "]"


class _DotWriter:
    """Writes one graph (and, recursively, the bodies of its nodes) as DOT statements.

    Node statements are written in the scope (graph or cluster) they belong to; every edge is
    written at the top level, after all nodes, so that naming a node in an edge never moves
    it into another cluster.
    """

    def __init__(self, options: DotOptions) -> None:
        self.options = options
        self.lines: list[str] = []
        self.edges: list[str] = []
        self.count = 0

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)

    def declare(self, depth: int, kind: str, label: str, tooltip: str, prefix: str = "n") -> str:
        node_id = self.fresh(prefix)
        self.emit(depth, f"{node_id} {_attr_list(label=label, tooltip=tooltip, **_STYLE[kind])};")
        return node_id

    def write(self, graph: Graph) -> str:
        self.emit(0, f"digraph {quote(graph.name)} {{")
        title = _attr_list(rankdir=self.options.rankdir, label=f"@{graph.name}", labelloc="t",
                           fontname=FONT, fontsize="14", tooltip=graph.name)
        self.emit(1, f"graph {title};")
        self.emit(1, f"node {_attr_list(fontname=FONT, fontsize='11')};")
        self.emit(1, f"edge {_attr_list(fontname=FONT, fontsize='9', color='#555555', fontcolor='#333333')};")
        self.scope(graph, 1, None)
        self.lines.extend(f"  {e};" for e in self.edges)
        self.emit(0, "}")
        return "\n".join(self.lines) + "\n"

    # ---- one graph -------------------------------------------------------------------------
    def scope(self, graph: Graph, depth: int, operands: list[str | None] | None) -> list[str | None]:
        """Write ``graph``'s nodes at ``depth`` and return the DOT node feeding each output.

        ``operands`` is None for the top-level graph, whose inputs and outputs get nodes of
        their own; for a body it holds, per body input, the DOT node of the enclosing node's
        operand (None: a hidden constant).
        """
        rendered = render(graph, fallback=_fallback)
        names = rendered.names
        ends: dict[int, str | None] = {}
        for i, v in enumerate(graph.inputs):
            ends[id(v)] = self.graph_input(v, i, names, depth) if operands is None else operands[i]
        for node in graph.nodes:
            self.node(node, graph, rendered, ends, depth)
        if self.options.properties:
            for prop, line in zip(graph.properties, rendered.property_lines, strict=True):
                self.property(prop, _statement(rendered, line, prop.loc), names, ends, depth)
        sources = [self.source(v, names, ends, depth) for v in graph.outputs]
        if operands is None:
            self.graph_outputs(graph, sources, names, depth)
        return sources

    def graph_input(self, v: Value, index: int, names: dict[int, str], depth: int) -> str:
        name = names[id(v)]
        return self.declare(depth, "input", f"{name}\n{v.type}", f"input {index}: %{name}: {v.type}", "in")

    def graph_outputs(self, graph: Graph, sources: list[str | None], names: dict[int, str],
                      depth: int) -> None:
        several = len(graph.outputs) > 1
        for i, (v, src) in enumerate(zip(graph.outputs, sources, strict=True)):
            label = f"output {i}" if several else "output"
            out = self.declare(depth, "output", label, f"output {i}: %{names[id(v)]}: {v.type}", "out")
            self.edge(src, out, v, names)

    def node(self, node: Node, graph: Graph, rendered: Rendered, ends: dict[int, str | None],
             depth: int) -> None:
        names = rendered.names
        line = _statement(rendered, rendered.node_lines[id(node)], node.loc)
        if node.op.name == "const":
            node_id = self.constant(node, graph, line, depth) if self.options.constants else None
            ends[id(node.result)] = node_id
            return
        body = node_body(node)
        note = ""
        if body is not None:
            problem = _body_mismatch(node, body)
            if not problem:
                sources = self.cluster(node, body, line, names, ends, depth)
                ends.update((id(r), s) for r, s in zip(node.results, sources, strict=True))
                return
            note = f"\n(body not drawn: {problem})"
        label = "\n".join([node.op.name, *_wrap(attr_summary(node))])
        node_id = self.declare(depth, "op", label, _tooltip(node.loc, line) + note)
        for v in node.inputs:
            self.edge(self.source(v, names, ends, depth), node_id, v, names)
        ends.update((id(r), node_id) for r in node.results)

    def constant(self, node: Node, graph: Graph, line: str, depth: int) -> str:
        v = node.result
        name = str(node.attrs["name"])
        data = graph.constants.get(name)
        label = f"{name}\n{v.type}"
        if data is not None and data.size == 1:
            label += f" = {_scalar_text(data)}"
        return self.declare(depth, "const", label, _tooltip(node.loc, line), "c")

    def cluster(self, node: Node, body: Graph, line: str, names: dict[int, str],
                ends: dict[int, str | None], depth: int) -> list[str | None]:
        """Write a node with a body as a cluster around the body's nodes."""
        operands = [self.source(v, names, ends, depth) for v in node.inputs]
        title = "\n".join([node.op.name, *_wrap(attr_summary(node))])
        self.emit(depth, f"subgraph {self.fresh('cluster_')} {{")
        style = _attr_list(label=title, tooltip=_tooltip(node.loc, line), **_STYLE["cluster"])
        self.emit(depth + 1, f"graph {style};")
        sources = self.scope(body, depth + 1, operands)
        self.emit(depth, "}")
        return sources

    def property(self, prop: PropertyDecl, line: str, names: dict[int, str],
                 ends: dict[int, str | None], depth: int) -> None:
        params = [f"{k}={compact(v)}" for k, v in prop.params.items()]
        label = "\n".join([f"{prop.kind} {prop.name}", *_wrap(params)])
        note = self.declare(depth, "property", label, _tooltip(prop.loc, line), "p")
        for v in prop.args:
            src = self.source(v, names, ends, depth)
            if src is not None:
                self.edges.append(f"{src} -> {note} "
                                  + _attr_list(style="dashed", arrowhead="none", color="#c9a800",
                                               tooltip=f"{prop.kind} {prop.name} on %{names[id(v)]}"))

    # ---- edges -----------------------------------------------------------------------------
    def source(self, v: Value, names: dict[int, str], ends: dict[int, str | None], depth: int) -> str | None:
        """The DOT node that produces ``v`` (None: a hidden constant); a value defined nowhere
        in the graph gets a red node, so that broken graphs can be looked at too."""
        if id(v) not in ends:
            ends[id(v)] = self.declare(depth, "undefined", f"undefined\n%{names[id(v)]}",
                                       f"%{names[id(v)]}: {v.type} is used but defined nowhere in "
                                       "this graph", "u")
        return ends[id(v)]

    def edge(self, src: str | None, dst: str, v: Value, names: dict[int, str]) -> None:
        if src is None:
            return
        tip = f"%{names[id(v)]}: {v.type}"
        if v.producer is not None and v.producer.op.name == "const":
            self.edges.append(f"{src} -> {dst} " + _attr_list(color="#b0b0b0", arrowsize="0.5", tooltip=tip))
            return
        label = str(v.type)
        if v.producer is not None and len(v.producer.results) > 1:
            label = f"#{v.index} {label}"
        attrs = {"label": label} if self.options.edge_types else {}
        self.edges.append(f"{src} -> {dst} " + _attr_list(**attrs, weight="4", tooltip=tip))


def _scalar_text(data: Any) -> str:
    """The value of a one-element array, shortest for its own dtype (``0.1``, not f64 digits)."""
    x = data.reshape(-1)[0]
    if data.dtype.kind == "b":
        return "true" if x else "false"
    return str(x)


def _body_mismatch(node: Node, body: Graph) -> str:
    """Why ``body`` cannot stand for ``node`` (empty, or a different signature), or ""."""
    if not body.nodes:
        return "it has no nodes"
    if len(body.inputs) != len(node.inputs) or len(body.outputs) != len(node.results):
        return (f"it takes {len(body.inputs)} inputs and returns {len(body.outputs)} values, "
                f"the node has {len(node.inputs)} operands and {len(node.results)} results")
    return ""
