"""The IR printer: a Graph as MLIR-flavoured text that :func:`axiom.ir.parser.parse_graph` reads back.

The text form is documented in docs/ir.md. One statement per line; print -> parse -> print
is the identity. Constants print elided, inline (``dense<...>``) or into an .npz file.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from axiom.ir.dtypes import bf16, dtype_from_numpy
from axiom.ir.graph import Graph, Loc, Node, PropertyDecl, Value
from axiom.ir.literals import VALUE_NAME_RE, format_dense, format_literal, format_symbol_name

CONSTANT_MODES = ("elide", "inline", "file")
INDENT = "  "
LOC_GAP = "    "


@dataclass
class Rendered:
    """Printed lines plus where each node, property and the return statement landed."""

    lines: list[str]
    names: dict[int, str]  # id(value) -> printed name, without '%'
    node_lines: dict[int, int] = field(default_factory=dict)  # id(node) -> line index
    listed_lines: list[int] = field(default_factory=list)  # graph.nodes[i] -> line index (bodies take lines)
    property_lines: list[int] = field(default_factory=list)
    return_line: int = 0

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def print_graph(graph: Graph, constants: str = "elide", weights: str | os.PathLike[str] | None = None,
                inline_limit: int = 16) -> str:
    """The text form of ``graph``.

    ``constants``: "elide" prints constants of at most ``inline_limit`` elements inline and
    the rest as ``const {name = ...} : type``; "inline" prints every constant's data; "file"
    prints like "elide" and writes every constant to the .npz at ``weights``, which
    ``parse_graph(text, weights=path)`` loads back.
    """
    if constants not in CONSTANT_MODES:
        raise ValueError(f"constants={constants!r}: choose one of {', '.join(CONSTANT_MODES)}")
    if constants == "file":
        if weights is None:
            raise ValueError("constants='file' needs weights=<path of the .npz to write>")
        save_weights(graph.constants, weights)
    limit = None if constants == "inline" else inline_limit
    return render(graph, limit).text


def render(graph: Graph, inline_limit: int | None = 16,
           fallback: Callable[[Any], str] | None = None) -> Rendered:
    """Print ``graph`` line by line. ``inline_limit=None`` inlines every constant.

    ``fallback`` renders attribute values of no known kind instead of raising (the verifier
    prints broken graphs with it).
    """
    names = name_values(graph)
    out = Rendered([], names)
    p = _Printer(graph, names, inline_limit, fallback)
    out.lines.append(p.header())
    for node in graph.nodes:
        out.node_lines.setdefault(id(node), len(out.lines))
        out.listed_lines.append(len(out.lines))
        out.lines.append(p.node(node))
        if node.region is not None:
            out.lines.extend(region_lines(node.region, inline_limit, fallback))
    for prop in graph.properties:
        out.property_lines.append(len(out.lines))
        out.lines.append(p.property(prop))
    out.return_line = len(out.lines)
    out.lines.append(INDENT + ("return " + p.refs(graph.outputs)).rstrip())
    out.lines.append("}")
    return out


def region_lines(body: Graph, inline_limit: int | None = 16,
                 fallback: Callable[[Any], str] | None = None) -> list[str]:
    """The lines of a region op's body, after its ``... {`` line: ``^(%a, %b)``, the body's
    nodes, ``yield``, and the closing ``}``; indented one level deeper than the op.

    The body's names are its own (a region sees only its arguments); its argument types are
    the operands' types, so they are not repeated.
    """
    inner = render(body, inline_limit, fallback)
    args = ", ".join("%" + inner.names[id(v)] for v in body.inputs)
    lines = [INDENT * 2 + f"^({args})"]
    lines.extend(INDENT + line for line in inner.lines[1:inner.return_line])
    outs = ", ".join("%" + inner.names[id(v)] for v in body.outputs)
    lines.append(INDENT * 2 + f"yield {outs}".rstrip())
    lines.append(INDENT + "}")
    return lines


def name_values(graph: Graph) -> dict[int, str]:
    """Printed names: a value's own name when it is valid and unique in the graph, else the
    next free integer (integers already taken as names are skipped)."""
    order = _values_in_order(graph)
    counts: dict[str, int] = {}
    for v in order:
        if v.name is not None:
            counts[v.name] = counts.get(v.name, 0) + 1
    names: dict[int, str] = {}
    for v in order:
        if v.name is not None and counts[v.name] == 1 and VALUE_NAME_RE.fullmatch(v.name):
            names[id(v)] = v.name
    taken = set(names.values())
    counter = 0
    for v in order:
        if id(v) in names:
            continue
        while str(counter) in taken:
            counter += 1
        names[id(v)] = str(counter)
        taken.add(str(counter))
    return names


def _values_in_order(graph: Graph) -> list[Value]:
    """Every value the graph mentions, once: inputs and node results in order, then stray
    values (used but defined nowhere in the graph, which the verifier reports)."""
    seen: set[int] = set()
    order: list[Value] = []

    def add(values: Iterable[Value]) -> None:
        for v in values:
            if id(v) not in seen:
                seen.add(id(v))
                order.append(v)

    add(graph.inputs)
    for node in graph.nodes:
        add(node.results)
    for node in graph.nodes:
        add(node.inputs)
    add(graph.outputs)
    for prop in graph.properties:
        add(prop.args)
    return order


class _Printer:
    def __init__(self, graph: Graph, names: dict[int, str], inline_limit: int | None,
                 fallback: Callable[[Any], str] | None) -> None:
        self.graph = graph
        self.names = names
        self.inline_limit = inline_limit
        self.fallback = fallback

    def ref(self, v: Value) -> str:
        return "%" + self.names[id(v)]

    def refs(self, values: Iterable[Value]) -> str:
        return ", ".join(self.ref(v) for v in values)

    def header(self) -> str:
        args = ", ".join(f"{self.ref(v)}: {v.type}" for v in self.graph.inputs)
        outs = ", ".join(str(v.type) for v in self.graph.outputs)
        return f"graph @{format_symbol_name(self.graph.name)}({args}) -> ({outs}) {{"

    def attrs(self, attrs: Mapping[str, Any]) -> str:
        if not attrs:
            return ""
        items = ", ".join(f"{k} = {format_literal(attrs[k], self.fallback)}" for k in sorted(attrs))
        return f" {{{items}}}"

    def node(self, node: Node) -> str:
        head = f"{self.refs(node.results)} = " if node.results else ""
        operands = f"({self.refs(node.inputs)})" if node.inputs else ""  # `const {...}`, no `()`
        text = f"{INDENT}{head}{node.op.name}{operands}{self.attrs(node.attrs)}"
        text += self.dense(node)
        if node.results:
            text += " : " + ", ".join(str(r.type) for r in node.results)
        if node.region is not None:
            text += " {"
        return text + loc_comment(node.loc)

    def dense(self, node: Node) -> str:
        if node.op.name != "const":
            return ""
        data = self.graph.constants.get(node.attrs.get("name"))  # type: ignore[arg-type]
        if data is None or (self.inline_limit is not None and data.size > self.inline_limit):
            return ""
        try:
            dtype = dtype_from_numpy(data.dtype)
        except ValueError:
            return ""  # not an Axiom dtype: the verifier reports it
        return f" dense<{format_dense(np.asarray(data), dtype)}>"

    def property(self, prop: PropertyDecl) -> str:
        text = f"{INDENT}{prop.kind} {format_symbol_name(prop.name)}({self.refs(prop.args)})"
        return text + self.attrs(prop.params) + loc_comment(prop.loc)


def loc_comment(loc: Loc | None) -> str:
    """The trailing ``# file:line`` comment of a location; ``Loc.parse`` reads it back exactly."""
    if loc is None or loc == Loc():
        return ""
    text = str(loc)
    if not text.isprintable():  # only a file name can carry a line break: keep the line intact
        text = "".join(c if c.isprintable() else " " for c in text)
    return f"{LOC_GAP}# {text}"


def save_weights(constants: Mapping[str, np.ndarray], path: str | os.PathLike[str]) -> None:
    """Write the constant table to an .npz (bf16 as its 16-bit pattern; the IR type restores it).

    Written entry by entry so that any constant name works as a key.
    """
    with zipfile.ZipFile(path, "w") as zf:
        for name, array in constants.items():
            arr = np.ascontiguousarray(array)
            if arr.dtype == bf16.np_dtype:
                arr = arr.view(np.uint16)
            with zf.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
