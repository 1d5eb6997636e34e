"""The IR verifier: checks every invariant a Graph must keep, and reports all breaks at once.

Checks (each problem names one): ssa (defined once, before use, inside the graph),
structure (results point back at their node), uses (use lists match the operands),
attrs (valid for the op's schema, resolved where the op resolves them), types (results are
what the op's rule infers now; a const matches its data), outputs and properties
(arguments are defined values).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from axiom.ir.dtypes import dtype_from_numpy
from axiom.ir.errors import AxiomError, VerifyError
from axiom.ir.graph import Graph, Node, Value
from axiom.ir.opdef import Attrs
from axiom.ir.printer import Rendered, render

_RULE_ERRORS = (AxiomError, ValueError, TypeError, IndexError, KeyError)


@dataclass(frozen=True)
class Problem:
    """One broken invariant: the check's name, what is wrong, and the printed line it is on."""

    check: str
    message: str
    line: int  # index into the printed lines


def verify(graph: Graph) -> None:
    """Raise VerifyError listing every problem of ``graph`` (with the IR lines around each).

    The error's ``problems`` attribute holds the :class:`Problem` list.
    """
    if not _Checker(graph, _Unshown(graph)).run():  # the common case: no text needed
        return
    shown = _show(graph)
    problems = _Checker(graph, shown).run()
    err = VerifyError(format_problems(graph, problems, shown))
    err.problems = problems  # type: ignore[attr-defined]
    raise err


def find_problems(graph: Graph) -> list[Problem]:
    """Every broken invariant of ``graph``, in the order of the printed IR."""
    return _Checker(graph, _show(graph)).run()


class _Zeros:
    def __getitem__(self, key: object) -> int:
        return 0


class _Unshown:
    """Stands in for the graph's text while checking: every line 0, every name '?'. Rendering the text
    costs more than the checks, so verify renders it only once a problem is found, to word the report."""

    def __init__(self, graph: Graph) -> None:
        self.names: dict[int, str] = {}
        self.listed_lines = _Zeros()
        self.node_lines: dict[int, int] = collections.defaultdict(int)
        self.return_line = 0
        self.property_lines = [0] * len(graph.properties)


def _show(graph: Graph) -> Rendered:
    # Constants elided; attribute values of no known kind shown as <type repr> (attrs reports them).
    return render(graph, inline_limit=0, fallback=lambda v: f"<{type(v).__name__} {v!r}>")


def format_problems(graph: Graph, problems: list[Problem], shown: Rendered) -> str:
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    parts = [f"graph @{graph.name} failed verification ({count}):"]
    width = len(str(len(shown.lines)))
    for p in problems:
        parts.append(f"[{p.check}] {p.message}")
        for i in range(max(0, p.line - 1), min(len(shown.lines), p.line + 2)):
            mark = ">" if i == p.line else " "
            parts.append(f"  {mark} {i + 1:>{width}} | {shown.lines[i]}")
    return "\n".join(parts)


class _Checker:
    def __init__(self, graph: Graph, shown: Rendered | _Unshown) -> None:
        self.graph = graph
        self.shown = shown
        self.problems: list[Problem] = []
        self.position: dict[int, int] = {}  # id(value) -> index of its defining node (-1: input)
        self.in_graph = {id(n) for n in graph.nodes}

    def name(self, v: Value) -> str:
        return "%" + self.shown.names.get(id(v), "?")

    def report(self, check: str, message: str, line: int) -> None:
        self.problems.append(Problem(check, message, line))

    def run(self) -> list[Problem]:
        self.definitions()
        seen_nodes: set[int] = set()
        for index, node in enumerate(self.graph.nodes):
            line = self.shown.listed_lines[index]  # not index + 1: a region's body takes lines
            if id(node) in seen_nodes:
                self.report("ssa", f"the {node.op.name} node appears twice in the node list", line)
                continue
            seen_nodes.add(id(node))
            self.operands(index, node, line)
            self.results(node, line)
            self.attrs(node, line)
            self.types(node, line)
        self.use_lists()
        self.outputs()
        self.properties()
        return sorted(self.problems, key=lambda p: p.line)

    # ---- ssa --------------------------------------------------------------------------
    def definitions(self) -> None:
        for v in self.graph.inputs:
            self.position[id(v)] = -1
            if v.producer is not None:
                self.report("structure", f"graph input {self.name(v)} has a producer", 0)
        for index, node in enumerate(self.graph.nodes):
            for r in node.results:
                if id(r) in self.position:
                    self.report("ssa", f"{self.name(r)} is defined more than once",
                                self.shown.listed_lines[index])
                    continue
                self.position[id(r)] = index

    def operands(self, index: int, node: Node, line: int) -> None:
        for i, v in enumerate(node.inputs):
            where = self.position.get(id(v))
            if where is None:
                self.report("ssa", f"operand {i} of {node.op.name} ({self.name(v)}) is not a value of "
                            "this graph (defined in no node and no input)", line)
            elif where >= index:
                self.report("ssa", f"operand {i} of {node.op.name} ({self.name(v)}) is used before it is "
                            f"defined (on line {self.shown.node_lines[id(v.producer)] + 1})", line)

    def results(self, node: Node, line: int) -> None:
        for i, r in enumerate(node.results):
            if r.producer is not node or r.index != i:
                self.report("structure", f"result {i} of {node.op.name} ({self.name(r)}) does not point "
                            f"back at its node (producer/index)", line)

    # ---- attributes and types ---------------------------------------------------------
    def attrs(self, node: Node, line: int) -> None:
        try:
            canonical = node.op.make_attrs(dict(node.attrs))
        except AxiomError as exc:
            self.report("attrs", str(exc), line)
            return
        if not isinstance(node.attrs, Attrs) or canonical != node.attrs:
            self.report("attrs", f"{node.op.name}: attributes are not in canonical form; expected "
                        f"{dict(canonical)}, got {dict(node.attrs)}", line)
            return
        if node.op.resolve is None:
            return
        try:
            resolved = node.op.resolve([v.type for v in node.inputs], node.attrs)
        except _RULE_ERRORS:
            return  # the types check reports the rule's complaint
        if resolved != node.attrs:
            self.report("attrs", f"{node.op.name}: attributes are not resolved for these operands; "
                        f"expected {dict(resolved)}, got {dict(node.attrs)}", line)

    def types(self, node: Node, line: int) -> None:
        if node.region is not None or "region" in node.op.traits:
            self.region(node, line)
            return
        if "explicit_type" in node.op.traits:
            self.const_type(node, line)
            return
        try:
            inferred = node.op.infer_types([v.type for v in node.inputs], node.attrs)
        except _RULE_ERRORS as exc:
            self.report("types", f"the type rule of {node.op.name} fails on these operands: {exc}", line)
            return
        if len(inferred) != len(node.results):
            self.report("types", f"{node.op.name} infers {len(inferred)} results but the node has "
                        f"{len(node.results)}", line)
            return
        for r, want in zip(node.results, inferred, strict=True):
            if r.type != want and not r.type.same_as(want).proved:
                self.report("types", f"{self.name(r)} has type {r.type} but {node.op.name} infers {want} "
                            "from its operands now", line)

    def region(self, node: Node, line: int) -> None:
        """A region op: operands match the body's inputs, results its outputs, the body is valid
        and isolated (no constants, no properties of its own)."""
        body = node.region
        if body is None or "region" not in node.op.traits:
            need = "has a region but its op takes none" if body is not None else "has no region (body)"
            self.report("structure", f"{node.op.name} {need}", line)
            return
        ins, args = _types(node.inputs), _types(body.inputs)
        if ins != args:
            self.report("types", f"{node.op.name}: operand types ({ins}) differ from its body's inputs "
                        f"({args})", line)
        outs, results = _types(body.outputs), _types(node.results)
        if outs != results:
            self.report("types", f"{node.op.name}: result types ({results}) differ from its body's outputs "
                        f"({outs})", line)
        if body.properties:
            self.report("structure", f"the {node.op.name} body declares properties; they belong in the graph",
                        line)
        for inner in body.nodes:
            if inner.op.name == "const":
                name = inner.attrs.get("name")
                self.report("structure", f"the {node.op.name} body reads constant '{name}' with const; a "
                            "region takes constants as operands", line)
        for p in find_problems(body):
            self.report(p.check, f"in the body of {node.op.name}: {p.message}", line)

    def const_type(self, node: Node, line: int) -> None:
        if node.op.name != "const" or len(node.results) != 1:
            return
        data = self.graph.constants.get(node.attrs.get("name"))  # type: ignore[arg-type]
        if data is None:
            return
        r = node.results[0]
        try:
            dtype = dtype_from_numpy(data.dtype)
        except ValueError as exc:
            self.report("types", f"constant '{node.attrs['name']}': {exc}", line)
            return
        if dtype != r.type.dtype or tuple(data.shape) != r.type.shape:
            self.report("types", f"const {self.name(r)} is typed {r.type} but constant "
                        f"'{node.attrs['name']}' holds {dtype}{list(data.shape)}", line)

    # ---- use lists ----------------------------------------------------------------------
    def use_lists(self) -> None:
        for v in self.graph.values():
            line = self.definition_line(v)
            seen: set[tuple[int, int]] = set()
            for user, i in v.uses:
                key = (id(user), i)
                if key in seen:
                    self.report("uses", f"{self.name(v)} lists the use ({user.op.name}, operand {i}) twice",
                                line)
                seen.add(key)
                if id(user) not in self.in_graph:
                    self.report("uses", f"{self.name(v)} lists a use by a {user.op.name} node that is not in "
                                "the graph (a dangling use)", line)
                elif i >= len(user.inputs) or user.inputs[i] is not v:
                    self.report("uses", f"{self.name(v)} lists a use as operand {i} of {user.op.name}, "
                                "but that operand is another value (a dangling use)", self.node_line(user))
        for node in self.graph.nodes:
            for i, v in enumerate(node.inputs):
                if not any(u is node and j == i for u, j in v.uses):
                    self.report("uses", f"operand {i} of {node.op.name} ({self.name(v)}) is missing from "
                                f"{self.name(v)}'s use list", self.node_line(node))

    def definition_line(self, v: Value) -> int:
        return 0 if v.producer is None else self.node_line(v.producer)

    def node_line(self, node: Node) -> int:
        return self.shown.node_lines.get(id(node), 0)

    # ---- outputs and properties ---------------------------------------------------------
    def outputs(self) -> None:
        for i, v in enumerate(self.graph.outputs):
            if id(v) not in self.position:
                self.report("outputs", f"output {i} ({self.name(v)}) is not a value of this graph",
                            self.shown.return_line)

    def properties(self) -> None:
        for prop, line in zip(self.graph.properties, self.shown.property_lines, strict=True):
            if prop.kind not in ("ensure", "prove"):
                self.report("properties", f"property kind {prop.kind!r} is neither 'ensure' nor 'prove'",
                            line)
            for i, v in enumerate(prop.args):
                if id(v) not in self.position:
                    self.report("properties", f"argument {i} of {prop.kind} {prop.name} ({self.name(v)}) is "
                                "not a value of this graph", line)


def _types(values: list[Value]) -> str:
    return ", ".join(str(v.type) for v in values)
