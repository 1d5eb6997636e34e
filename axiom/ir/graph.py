"""Graph, Node and Value: the SSA tensor IR, with mutation helpers that keep it valid."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from axiom.ir.errors import AttributeError_, AxiomError, ShapeError
from axiom.ir.opdef import Attrs, OpDef, get_op
from axiom.ir.types import TensorType

_LOC_RISKY = re.compile(r'[:@"\n\r\t#]|^\?$|^<unknown>$')


def _quoted_prefix(text: str) -> tuple[str, str] | None:
    """A JSON string at the start of ``text`` and what follows it, or None."""
    if not text.startswith('"'):
        return None
    try:
        name, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        return None
    rest = text[end:]
    if not isinstance(name, str) or (rest and not rest.startswith(" @ ")):
        return None
    return name, rest


@dataclass(frozen=True)
class Loc:
    """Where a node came from: a file and line, and/or a name (an ONNX node, a weight)."""

    file: str | None = None
    line: int | None = None
    name: str | None = None

    def __str__(self) -> str:
        """``name @ file:line``, ``file:line``, ``file:?`` or ``name``; a name that could be
        misread (a colon, an ``@``, odd spaces) is JSON-quoted, so ``Loc.parse`` gets it back."""
        where = ""
        if self.file is not None or self.line is not None:
            file = "?" if self.file is None else self.file
            where = f"{file}:{'?' if self.line is None else self.line}"
        name = self.name
        if name is not None and (_LOC_RISKY.search(name) or name != name.strip() or not name
                                 or not name.isprintable()):
            name = json.dumps(name)
        if name is not None and where:
            return f"{name} @ {where}"
        return name or where or "<unknown>"

    @staticmethod
    def parse(text: str) -> Loc:
        """Inverse of ``str(loc)``."""
        text = text.strip()
        name: str | None = None
        quoted = _quoted_prefix(text)
        if quoted is not None:
            name, text = quoted
            if not text.startswith(" @ "):
                return Loc(None, None, name)
            text = text[3:]
        elif " @ " in text:
            name, text = text.split(" @ ", 1)
        file, sep, line = text.rpartition(":")
        if sep and file and (line.isdigit() or line == "?"):
            return Loc(None if file == "?" else file, int(line) if line.isdigit() else None, name)
        if name is not None:
            return Loc(text or None, None, name)
        return Loc(None, None, None if text in ("", "<unknown>") else text)


class Value:
    """An SSA value: a typed tensor produced by one node (or a graph input)."""

    __slots__ = ("type", "producer", "index", "name", "uses")

    def __init__(self, type: TensorType, producer: Node | None = None, index: int = 0,
                 name: str | None = None) -> None:
        self.type = type
        self.producer = producer
        self.index = index
        self.name = name
        self.uses: list[tuple[Node, int]] = []

    @property
    def dtype(self):  # noqa: ANN201 - DType
        return self.type.dtype

    @property
    def shape(self) -> tuple:
        return self.type.shape

    @property
    def rank(self) -> int:
        return self.type.rank

    @property
    def users(self) -> list[Node]:
        seen: dict[int, Node] = {}
        for node, _ in self.uses:
            seen.setdefault(id(node), node)
        return list(seen.values())

    def __repr__(self) -> str:
        return f"Value(%{self.name or '?'}: {self.type})"


class Node:
    """One op application: inputs, frozen attributes, typed results, source location."""

    __slots__ = ("op", "inputs", "attrs", "results", "loc", "region")

    def __init__(self, op: OpDef | str, inputs: Sequence[Value], attrs: Mapping[str, Any] | None = None,
                 loc: Loc | None = None, result_types: Sequence[TensorType] | None = None,
                 result_names: Sequence[str | None] | None = None, region: Graph | None = None) -> None:
        self.op = get_op(op) if isinstance(op, str) else op
        self.loc = loc
        self.region = region
        if ("region" in self.op.traits) != (region is not None):
            need = "needs a region (its body graph)" if region is None else "takes no region"
            raise AxiomError(f"{self.op.name} {need}{self._where()}")
        try:
            self.attrs = attrs if isinstance(attrs, Attrs) else self.op.make_attrs(attrs or {})
        except AttributeError_ as exc:
            raise AttributeError_(f"{exc}{self._where()}") from None
        self.inputs: list[Value] = list(inputs)
        if self.op.resolve is not None:
            self.attrs = self._resolved_attrs()
        types = self._result_types(result_types)
        names = list(result_names or [None] * len(types))
        self.results = [Value(t, self, i, n) for i, (t, n) in enumerate(zip(types, names, strict=True))]
        for i, v in enumerate(self.inputs):
            v.uses.append((self, i))

    def _resolved_attrs(self) -> Attrs:
        try:
            return self.op.resolve([v.type for v in self.inputs], self.attrs)  # type: ignore[misc]
        except (ShapeError, AttributeError_) as exc:
            types = ", ".join(str(v.type) for v in self.inputs)
            raise type(exc)(f"{exc}{self._where()}\n  operand types: ({types})") from None

    def _result_types(self, given: Sequence[TensorType] | None) -> list[TensorType]:
        if self.region is not None:
            return self._region_types(given)
        if "explicit_type" in self.op.traits:
            if given is None:
                raise ShapeError(f"{self.op.name} needs its result type given{self._where()}")
            return list(given)
        try:
            inferred = self.op.infer_types([v.type for v in self.inputs], self.attrs)
        except (ShapeError, AttributeError_) as exc:
            types = ", ".join(str(v.type) for v in self.inputs)
            raise type(exc)(f"{exc}{self._where()}\n  operand types: ({types})") from None
        if given is not None:
            for want, got in zip(inferred, given, strict=True):
                if want != got:
                    raise ShapeError(f"{self.op.name}: declared type {got} but the op infers {want}"
                                     f"{self._where()}")
        return inferred

    def _region_types(self, given: Sequence[TensorType] | None) -> list[TensorType]:
        """A region op's results are its body's outputs; its operands are the body's inputs."""
        body = self.region
        assert body is not None
        ins = [v.type for v in self.inputs]
        want = [v.type for v in body.inputs]
        if ins != want:
            raise ShapeError(f"{self.op.name}: operand types ({', '.join(map(str, ins))}) differ from its "
                             f"body's inputs ({', '.join(map(str, want))}){self._where()}")
        outs = [v.type for v in body.outputs]
        if given is not None and list(given) != outs:
            raise ShapeError(f"{self.op.name}: declared types ({', '.join(map(str, given))}) differ from its "
                             f"body's outputs ({', '.join(map(str, outs))}){self._where()}")
        return outs

    def _where(self) -> str:
        return f" (at {self.loc})" if self.loc else ""

    @property
    def result(self) -> Value:
        if len(self.results) != 1:
            raise AxiomError(f"{self.op.name} has {len(self.results)} results; use .results")
        return self.results[0]

    def set_input(self, index: int, value: Value) -> None:
        """Point operand ``index`` at ``value``, keeping use lists right."""
        old = self.inputs[index]
        old.uses.remove((self, index))
        self.inputs[index] = value
        value.uses.append((self, index))

    def drop_inputs(self) -> None:
        for i, v in enumerate(self.inputs):
            v.uses.remove((self, i))
        self.inputs = []

    def __repr__(self) -> str:
        ins = ", ".join(f"%{v.name or '?'}" for v in self.inputs)
        return f"Node({self.op.name}({ins}))"


@dataclass
class PropertyDecl:
    """A property the model's author declared (``ensure``/``prove``), for the proof passes."""

    kind: str  # "ensure" or "prove"
    name: str  # e.g. "valid_probabilities", "finite", "bounded"
    args: list[Value]
    params: Attrs
    loc: Loc | None = None


class Graph:
    """An SSA function: typed inputs, nodes in topological order, outputs, constants."""

    def __init__(self, name: str = "main") -> None:
        self.name = name
        self.inputs: list[Value] = []
        self.nodes: list[Node] = []
        self.outputs: list[Value] = []
        self.constants: dict[str, np.ndarray] = {}
        self.properties: list[PropertyDecl] = []

    # ---- construction -------------------------------------------------------------
    def add_input(self, name: str, type: TensorType) -> Value:
        if any(v.name == name for v in self.inputs):
            raise AxiomError(f"graph @{self.name} already has an input %{name}")
        v = Value(type, None, len(self.inputs), name)
        self.inputs.append(v)
        return v

    def append(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    def insert_before(self, anchor: Node, node: Node) -> Node:
        self.nodes.insert(self._index(anchor), node)
        return node

    def insert_after(self, anchor: Node, node: Node) -> Node:
        self.nodes.insert(self._index(anchor) + 1, node)
        return node

    def add_constant(self, array: np.ndarray, name: str | None = None,
                     loc: Loc | None = None, before: Node | None = None) -> Value:
        """Add ``array`` to the constant table and a ``const`` node reading it."""
        from axiom.ir.dtypes import dtype_from_numpy

        arr = np.asarray(array)
        key = self._fresh_constant_name(name or "c")
        self.constants[key] = arr
        t = TensorType(dtype_from_numpy(arr.dtype), arr.shape)
        node = Node("const", [], {"name": key}, loc, result_types=[t], result_names=[None])
        if before is None:
            self.append(node)
        else:
            self.insert_before(before, node)
        return node.result

    def _fresh_constant_name(self, base: str) -> str:
        if base not in self.constants:
            return base
        i = 1
        while f"{base}_{i}" in self.constants:
            i += 1
        return f"{base}_{i}"

    def set_outputs(self, values: Iterable[Value]) -> None:
        self.outputs = list(values)

    # ---- mutation -----------------------------------------------------------------
    def replace_all_uses(self, old: Value, new: Value, exclude: Node | None = None) -> None:
        """Make every user of ``old`` (nodes, outputs, properties) use ``new``.

        ``exclude`` keeps one node reading ``old``: replacing ``x`` by ``f(x)`` excludes f's node.
        """
        if old is new:
            return
        for node, i in list(old.uses):
            if node is not exclude:
                node.set_input(i, new)
        self.outputs = [new if v is old else v for v in self.outputs]
        for p in self.properties:
            p.args = [new if v is old else v for v in p.args]

    def erase(self, node: Node) -> None:
        """Remove ``node``; its results must be unused (by nodes, outputs and properties)."""
        index = self._index(node)  # before any change: a stray node leaves everything intact
        read = [*self.outputs, *(v for p in self.properties for v in p.args)]
        for r in node.results:
            if r.uses or any(r is o for o in read):
                raise AxiomError(f"cannot erase {node.op.name}: result %{r.name or '?'} is still used")
        node.drop_inputs()
        self.nodes.pop(index)

    def _index(self, node: Node) -> int:
        for i, n in enumerate(self.nodes):
            if n is node:
                return i
        raise AxiomError(f"{node!r} is not in graph @{self.name}")

    # ---- queries ------------------------------------------------------------------
    def __iter__(self) -> Iterator[Node]:
        return iter(list(self.nodes))

    def __len__(self) -> int:
        return len(self.nodes)

    def walk(self) -> Iterator[Node]:
        """Every node, those inside region bodies too (a region op before its body's nodes)."""
        for n in self.nodes:
            yield n
            if n.region is not None:
                yield from n.region.walk()

    def values(self) -> Iterator[Value]:
        yield from self.inputs
        for n in self.nodes:
            yield from n.results

    def constant_of(self, value: Value) -> np.ndarray | None:
        """The array behind a ``const`` value, or None when it is not one (or has no data)."""
        p = value.producer
        if p is None or p.op.name != "const":
            return None
        return self.constants.get(p.attrs["name"])

    def missing_constants(self) -> list[str]:
        return [n.attrs["name"] for n in self.nodes
                if n.op.name == "const" and n.attrs["name"] not in self.constants]

    def copy(self) -> Graph:
        """A structural copy (new nodes and values; constant arrays are shared)."""
        g = Graph(self.name)
        vmap: dict[int, Value] = {}
        for v in self.inputs:
            vmap[id(v)] = g.add_input(v.name or f"arg{len(g.inputs)}", v.type)
        for n in self.nodes:
            m = Node(n.op, [vmap[id(v)] for v in n.inputs], n.attrs, n.loc,
                     result_types=[r.type for r in n.results], result_names=[r.name for r in n.results],
                     region=None if n.region is None else n.region.copy())
            g.append(m)
            for a, b in zip(n.results, m.results, strict=True):
                vmap[id(a)] = b
        g.outputs = [vmap[id(v)] for v in self.outputs]
        g.constants = dict(self.constants)
        g.properties = [PropertyDecl(p.kind, p.name, [vmap[id(v)] for v in p.args], p.params, p.loc)
                        for p in self.properties]
        return g

    def forget_names(self) -> Graph:
        """Drop every value name and source location, region bodies included (two graphs that
        then print alike compute alike); returns the graph itself."""
        for v in self.values():
            v.name = None
        for n in self.nodes:
            n.loc = None
            if n.region is not None:
                n.region.forget_names()
        for p in self.properties:
            p.loc = None
        return self

    def __str__(self) -> str:
        from axiom.ir.printer import print_graph

        return print_graph(self)

    def to_dot(self, **options: Any) -> str:
        """Graphviz DOT text of this graph; options and picture in :func:`axiom.ir.dot.to_dot`."""
        from axiom.ir.dot import to_dot

        return to_dot(self, **options)

    def __repr__(self) -> str:
        return f"<Graph @{self.name}: {len(self.inputs)} inputs, {len(self.nodes)} nodes>"
