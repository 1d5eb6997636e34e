"""The IR parser: reads the text form (docs/ir.md) back into a typed, verified-by-construction Graph.

One statement per line. Every error is a ParseError with line, column, the source line and
what was expected; type errors from an op's rule are reported at the line of the node.
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from axiom.ir.cursor import Cursor
from axiom.ir.dims import parse_dim
from axiom.ir.dtypes import ALL_DTYPES, bf16, dtype_from_name
from axiom.ir.errors import AttributeError_, AxiomError, ParseError
from axiom.ir.graph import Graph, Node, PropertyDecl, Value
from axiom.ir.literals import IDENT_RE, ElementError, array_from_texts, classify_scalar
from axiom.ir.opdef import Attrs, AttrSpec, OpDef, all_ops, get_op, has_op
from axiom.ir.types import TensorType

Weights = str | os.PathLike[str] | Mapping[str, np.ndarray] | None
_DTYPE_NAMES = {d.name for d in ALL_DTYPES}
_RULE_ERRORS = (AxiomError, ValueError, TypeError, IndexError)
# Simplifying a symbolic dim costs milliseconds in sympy; the same dims and types recur on
# every line, so their parses are memoised (they are immutable).
_CACHE_SIZE = 1 << 14
_parse_dim = functools.lru_cache(maxsize=_CACHE_SIZE)(parse_dim)
_TYPES: dict[tuple[str, str], TensorType] = {}


def parse_graph(text: str, weights: Weights = None) -> Graph:
    """Parse one graph. ``weights`` (an .npz path or a name -> array mapping) fills the
    constants printed elided; those it lacks stay listed by ``graph.missing_constants()``."""
    return _Parser(text, _open_weights(weights)).parse()


def _open_weights(weights: Weights) -> Mapping[str, np.ndarray]:
    if weights is None:
        return {}
    if isinstance(weights, Mapping):
        return weights
    try:
        with np.load(weights, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise AxiomError(f"cannot read weights from {os.fspath(weights)!r}: {exc}") from None


class _Parser:
    def __init__(self, text: str, weights: Mapping[str, np.ndarray], lines: list[str] | None = None,
                 rows: Iterator[Cursor] | None = None) -> None:
        self.lines = text.splitlines() if lines is None else lines
        self.weights = weights
        self.graph = Graph()
        self.values: dict[str, Value] = {}
        self.defined_on: dict[str, int] = {}
        self.out_types: list[TensorType] = []
        self.returned = False
        self.in_region = rows is not None  # a region body shares its parent's line stream
        self.rows = self.numbered_rows() if rows is None else rows

    def numbered_rows(self) -> Iterator[Cursor]:
        for i, line in enumerate(self.lines):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                yield Cursor(line, i + 1)

    def parse(self) -> Graph:
        first = next(self.rows, None)
        if first is None:
            raise ParseError("expected 'graph @name(...) -> (...) {', found end of input", 1, 1)
        self.header(first)
        for c in self.rows:
            if c.accept("}"):
                self.close(c, self.rows)
                return self.graph
            self.statement(c)
        end = len(self.lines) + 1
        raise ParseError(f"expected '}}' to close graph @{self.graph.name}, found end of input", end, 1)

    # ---- region bodies --------------------------------------------------------------
    def region(self, c: Cursor, op: OpDef, operands: list[Value]) -> Graph:
        """The body after a region op's ``{``: ``^(%a, ...)``, statements, ``yield``, ``}``."""
        body = _Parser("", self.weights, self.lines, self.rows)
        body.graph.name = op.name
        return body.parse_region(c, op, [v.type for v in operands])

    def parse_region(self, opener: Cursor, op: OpDef, types: list[TensorType]) -> Graph:
        end = len(self.lines) + 1
        first = next(self.rows, None)
        caret = first.here() if first else 0
        if first is None or not first.accept("^"):
            message = (f"expected '^(%a, ...)' naming the {op.name} body's arguments "
                       f"(one per operand of line {opener.lineno})")
            raise first.error(message, caret) if first else ParseError(message, end, 1)
        first.expect("(", "expected '(' after '^'")
        names: list[tuple[str, int]] = []
        while not first.accept(")"):
            if names:
                first.expect(",", "expected ',' or ')' after a region argument")
            names.append(first.value_name())
        first.loc("the region arguments")
        if len(names) != len(types):
            raise first.error(f"the {op.name} body names {len(names)} argument(s) but the op has "
                              f"{len(types)} operand(s)", caret)
        for (name, pos), t in zip(names, types, strict=True):
            self.define(first, name, pos)
            self.values[name] = self.graph.add_input(name, t)
        for c in self.rows:
            if c.accept("}"):
                if not self.returned:
                    raise c.error(f"the {op.name} body has no yield: add 'yield %v' before '}}'", 0)
                c.loc("'}'")
                return self.graph
            self.statement(c)
        raise ParseError(f"expected '}}' to close the {op.name} body of line {opener.lineno}, "
                         "found end of input", end, 1)

    # ---- graph header, return, closing brace -----------------------------------------
    def header(self, c: Cursor) -> None:
        if c.match(IDENT_RE) != "graph":
            raise c.error("expected 'graph @name(...) -> (...) {'", 0)
        c.expect("@", "expected '@' and the graph name after 'graph'")
        self.graph.name = c.symbol_name("the graph name")
        c.expect("(", "expected '(' to open the graph's inputs")
        if not c.accept(")"):
            while True:
                name, pos = c.value_name()
                self.define(c, name, pos)
                c.expect(":", f"expected ':' and the type of input %{name}")
                self.values[name] = self.graph.add_input(name, self.type(c))
                if c.accept(")"):
                    break
                c.expect(",", "expected ',' or ')' after a graph input")
        c.expect("->", "expected '->' and the result types after the graph's inputs")
        c.expect("(", "expected '(' to open the graph's result types")
        if not c.accept(")"):
            while True:
                self.out_types.append(self.type(c))
                if c.accept(")"):
                    break
                c.expect(",", "expected ',' or ')' after a result type")
        c.expect("{", "expected '{' to open the graph body")
        c.loc("'{'")

    def close(self, c: Cursor, rows: Iterator[Cursor]) -> None:
        if not self.returned:
            raise c.error(f"graph @{self.graph.name} has no return statement: add 'return %v' before '}}'", 0)
        c.loc("'}'")
        extra = next(rows, None)
        if extra is not None:
            raise extra.error("unexpected text after the graph's closing '}': a text holds one graph",
                              extra.here())

    def ret(self, c: Cursor, pos: int) -> None:
        outs: list[tuple[Value, int]] = []
        if not c.at_end():
            while True:
                name, vpos = c.value_name()
                outs.append((self.use(c, name, vpos), vpos))
                if not c.accept(","):
                    break
        c.loc("return")
        if self.in_region:  # a body's result types are whatever it yields
            self.graph.set_outputs(v for v, _ in outs)
            self.returned = True
            return
        if len(outs) != len(self.out_types):
            raise c.error(f"return gives {len(outs)} values but the graph header declares "
                          f"{len(self.out_types)} result types", pos)
        for (v, vpos), t in zip(outs, self.out_types, strict=True):
            if v.type != t:
                raise c.error(f"returned value has type {v.type} but the graph header declares {t}", vpos)
        self.graph.set_outputs(v for v, _ in outs)
        self.returned = True

    # ---- statements -----------------------------------------------------------------
    def statement(self, c: Cursor) -> None:
        pos = c.here()
        if self.returned:
            raise c.error(f"expected '}}' after the {'yield' if self.in_region else 'return'} statement")
        if c.peek("%"):
            self.node(c)
            return
        word = c.ident("a statement: '%r = op(...) : type', 'ensure'/'prove', 'return' or '}'")
        if word in ("return", "yield") and (word == "yield") != self.in_region:
            want = "yield" if self.in_region else "return"
            raise c.error(f"'{word}' does not end a {'region body' if self.in_region else 'graph'}: "
                          f"use '{want}'", pos)
        if word in ("return", "yield"):
            self.ret(c, pos)
        elif word in ("ensure", "prove") and self.in_region:
            raise c.error(f"'{word}' belongs in the graph, not in a region body", pos)
        elif word in ("ensure", "prove"):
            self.property(c, word)
        else:
            self.node(c, (word, pos))

    def property(self, c: Cursor, kind: str) -> None:
        name = c.symbol_name(f"the property name after '{kind}'")
        c.expect("(", f"expected '(' and the arguments of {kind} {name}")
        args = self.operands(c)
        params = self.attr_dict(c, None, f"{kind} {name}") if c.peek("{") else {}
        loc = c.loc(f"{kind} {name}(...)")
        self.graph.properties.append(PropertyDecl(kind, name, args, Attrs(params), loc))

    def node(self, c: Cursor, op_word: tuple[str, int] | None = None) -> None:
        results: list[tuple[str, int]] = []
        if op_word is None:
            while True:
                name, pos = c.value_name()
                if any(name == r for r, _ in results):
                    raise c.error(f"redefinition of %{name} in the same result list", pos)
                results.append((name, pos))
                if not c.accept(","):
                    break
            c.expect("=", "expected '=' after the result names")
            op_pos = c.here()
            op_word = (c.ident("an op name after '='"), op_pos)
        op = self.op(c, *op_word)
        inputs = self.operands(c) if c.accept("(") else []
        attrs_pos = c.here()
        given = self.attr_dict(c, op.attrs, f"op '{op.name}'") if c.peek("{") else {}
        dense = self.dense(c, op) if c.peek("dense") else None
        types: list[TensorType] = []
        if results:
            c.expect(":", "expected ':' after result list, followed by the result types (': f32[N, 10]')")
            types.append(self.type(c))
            while c.accept(","):
                types.append(self.type(c))
        has_body = c.accept("{")
        loc = c.loc(f"the {op.name} node")
        if has_body != ("region" in op.traits):
            raise c.error(f"{op.name} needs a body: end the line with '{{'" if not has_body
                          else f"{op.name} takes no body", c.here() if not has_body else op_word[1])
        if op.name == "const" and self.in_region:
            raise c.error("a region body reads constants through its operands, not with const", op_word[1])
        try:
            attrs = op.make_attrs(given)
        except AttributeError_ as exc:
            raise c.error(str(exc), attrs_pos) from None
        self.check_results(c, op, attrs, results, types, op_word[1])
        for name, pos in results:
            self.define(c, name, pos)
        body = self.region(c, op, inputs) if has_body else None
        try:
            node = Node(op, inputs, attrs, loc, result_types=types, result_names=[n for n, _ in results],
                        region=body)
        except _RULE_ERRORS as exc:
            raise c.error(str(exc), op_word[1]) from None
        if op.name == "const":
            self.constant(c, node, dense)
        self.graph.append(node)
        for (name, _), value in zip(results, node.results, strict=True):
            self.values[name] = value

    def op(self, c: Cursor, name: str, pos: int) -> OpDef:
        if has_op(name):
            return get_op(name)
        close = difflib.get_close_matches(name, [o.name for o in all_ops()], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see docs/ir.md for the op list"
        raise c.error(f"unknown op '{name}'{hint}", pos)

    def check_results(self, c: Cursor, op: OpDef, attrs: Attrs, results: list[tuple[str, int]],
                      types: list[TensorType], pos: int) -> None:
        want = len(results) if "region" in op.traits else op.results_for(attrs)  # a body decides
        if len(results) != want:
            raise c.error(f"{op.name} defines {want} result(s) but {len(results)} name(s) are given", pos)
        if len(types) != len(results):
            raise c.error(f"{len(results)} result(s) but {len(types)} type(s) after ':'", pos)

    def operands(self, c: Cursor) -> list[Value]:
        """Values up to the closing ')' (the '(' is already read)."""
        out: list[Value] = []
        if c.accept(")"):
            return out
        while True:
            name, pos = c.value_name()
            out.append(self.use(c, name, pos))
            if c.accept(")"):
                return out
            c.expect(",", "expected ',' or ')' after an operand")

    def use(self, c: Cursor, name: str, pos: int) -> Value:
        v = self.values.get(name)
        if v is None:
            raise c.error(f"use of undefined value %{name}", pos)
        return v

    def define(self, c: Cursor, name: str, pos: int) -> None:
        if name in self.values:
            raise c.error(f"redefinition of %{name} (first defined on line {self.defined_on[name]})", pos)
        self.defined_on[name] = c.lineno

    # ---- attributes and types -------------------------------------------------------
    def attr_dict(self, c: Cursor, schema: Mapping[str, AttrSpec] | None, owner: str) -> dict[str, Any]:
        c.expect("{", "expected '{'")
        out: dict[str, Any] = {}
        if c.accept("}"):
            return out
        while True:
            pos = c.here()
            key = c.ident("an attribute name")
            if key in out:
                raise c.error(f"attribute '{key}' is given twice", pos)
            spec = schema.get(key) if schema is not None else None
            if schema is not None and spec is None:
                known = ", ".join(schema) or "none"
                raise c.error(f"unknown attribute '{key}' of {owner}; known: {known}", pos)
            c.expect("=", f"expected '=' after attribute name '{key}'")
            vpos = c.here()
            is_dims = spec is not None and spec.kind == "dims" and c.peek("[")
            value = self.dims(c) if is_dims else self.literal(c)
            if spec is not None:
                try:
                    value = spec.coerce(owner, key, value)
                except AttributeError_ as exc:
                    raise c.error(str(exc), vpos) from None
            out[key] = value
            if c.accept("}"):
                return out
            c.expect(",", "expected ',' or '}' after an attribute")

    def literal(self, c: Cursor) -> Any:
        """A generic value: list, string, number, true/false/none, dtype or dim expression."""
        if c.accept("["):
            items: list[Any] = []
            if c.accept("]"):
                return ()
            while True:
                items.append(self.literal(c))
                if c.accept("]"):
                    return tuple(items)
                c.expect(",", "expected ',' or ']' in a list")
        if c.peek('"'):
            return c.string()
        text, pos = c.scan(",]}")
        if not text:
            raise c.error(f"expected a value, found {c.found()}")
        try:
            return classify_scalar(text)
        except ValueError:
            pass
        if text in _DTYPE_NAMES:
            return dtype_from_name(text)
        try:
            return _parse_dim(text)
        except (ValueError, TypeError):
            raise c.error(f"cannot read value {text!r}: expected a number, true/false/none, a string, "
                          "a list, a dtype or a dim expression", pos) from None

    def type(self, c: Cursor) -> TensorType:
        pos = c.here()
        name = c.ident("a type such as f32[N, 10]")
        try:
            dtype = dtype_from_name(name)
        except ValueError as exc:
            raise c.error(str(exc), pos) from None
        if not c.peek("["):
            raise c.error(f"expected '[' and the shape after dtype {name}, found {c.found()}")
        start = c.here()
        end = c.text.find("]", start)
        key = (name, c.text[start:end + 1])
        cached = _TYPES.get(key) if end >= 0 else None
        if cached is not None:
            c.pos = end + 1
            return cached
        t = TensorType(dtype, self.dims(c))
        if len(_TYPES) < _CACHE_SIZE:
            _TYPES[key] = t
        return t

    def dims(self, c: Cursor) -> list[Any]:
        c.expect("[", "expected '['")
        out: list[Any] = []
        if c.accept("]"):
            return out
        while True:
            text, pos = c.scan(",]")
            if not text:
                raise c.error(f"expected a dimension, found {c.found()}")
            try:
                out.append(_parse_dim(text))
            except (ValueError, TypeError) as exc:
                raise c.error(f"invalid dimension {text!r}: {exc}", pos) from None
            if c.accept("]"):
                return out
            c.expect(",", "expected ',' or ']' after a dimension")

    # ---- constants ------------------------------------------------------------------
    def dense(self, c: Cursor, op: OpDef) -> tuple[int, Any]:
        pos = c.here()
        if op.name != "const":
            raise c.error(f"dense<...> data belongs to const nodes, not {op.name}", pos)
        c.expect("dense", "expected 'dense'")
        c.expect("<", "expected '<' after 'dense'")
        tree = self.dense_item(c)
        c.expect(">", "expected '>' to close dense<...>")
        return tree

    def dense_item(self, c: Cursor) -> tuple[int, Any]:
        pos = c.here()
        if not c.accept("["):
            text, pos = c.scan(",]>")
            if not text:
                raise c.error(f"expected a number, found {c.found()}")
            return pos, text
        items: list[tuple[int, Any]] = []
        if c.accept("]"):
            return pos, items
        while True:
            items.append(self.dense_item(c))
            if c.accept("]"):
                return pos, items
            c.expect(",", "expected ',' or ']' in dense data")

    def constant(self, c: Cursor, node: Node, dense: tuple[int, Any] | None) -> None:
        name = node.attrs["name"]
        t = node.results[0].type
        if dense is not None:
            data = self.dense_array(c, dense, t)
        elif name in self.weights:
            data = self.weight_array(c, name, self.weights[name], t)
        else:
            return
        old = self.graph.constants.get(name)
        if old is not None and (old.dtype != data.dtype or old.tobytes() != data.tobytes()):
            raise c.error(f"constant '{name}' is given twice with different data", dense[0] if dense else 0)
        self.graph.constants[name] = data

    def dense_array(self, c: Cursor, tree: tuple[int, Any], t: TensorType) -> np.ndarray:
        if not t.is_static:
            raise c.error(f"dense data needs a static type, got {t}", tree[0])
        leaves: list[tuple[int, str]] = []
        _flatten(c, tree, t.shape, 0, leaves)
        try:
            return array_from_texts([text for _, text in leaves], t.dtype, t.shape)
        except ElementError as exc:
            pos, text = leaves[exc.index]
            raise c.error(f"bad {t.dtype.name} element {text!r}: {exc}", pos) from None

    def weight_array(self, c: Cursor, name: str, array: Any, t: TensorType) -> np.ndarray:
        a = np.asarray(array)
        want = t.dtype.np_dtype
        if t.dtype == bf16 and a.dtype != want and a.dtype.kind in "uV" and a.dtype.itemsize == 2:
            a = a.view(want)  # .npz files hold bf16 as its bit pattern
        if a.dtype != want or tuple(a.shape) != t.shape:
            raise c.error(f"weights[{name!r}] is {a.dtype}{list(a.shape)} but the IR declares {t}", 0)
        return a


def _flatten(c: Cursor, tree: tuple[int, Any], shape: tuple[Any, ...], depth: int,
             out: list[tuple[int, str]]) -> None:
    """Check that dense data nests like ``shape`` and collect its leaves in order."""
    pos, item = tree
    if depth == len(shape):
        if isinstance(item, list):
            raise c.error(f"dense data is nested deeper than the type's rank {len(shape)}", pos)
        out.append(tree)
        return
    if not isinstance(item, list) or len(item) != shape[depth]:
        got = f"{len(item)} items" if isinstance(item, list) else "a scalar"
        raise c.error(f"dense data: expected a list of {shape[depth]} items at depth {depth}, got {got}", pos)
    for sub in item:
        _flatten(c, sub, shape, depth + 1, out)
