"""VNN-LIB reader: a verification query (VNN-COMP's subset of SMT-LIB) as input boxes and linear
output constraints in disjunctive normal form, so a verifier can treat each case alone.

The asserts state the NEGATION of a property of y = f(x): sat (a counterexample) when some x meets
them all. Supported: ``declare-const`` of ``X_i``/``Y_j`` as ``Real``; ``assert`` over ``and``/``or``
of ``<= >= < >`` atoms between linear terms (numbers, variables, ``+``, ``-``, ``*`` by a constant).
Input atoms must be box bounds (one ``X_i`` against a constant); output atoms may be any linear
inequality. ``(check-sat)``, ``(get-model)`` and ``(set-logic ...)`` are ignored; anything else is a
`VnnlibError` naming the line. Strict atoms (``<``, ``>``) are read as non-strict: over floats the two
differ only on the boundary itself, which rounding already blurs, so a point exactly on a strict
bound counts as satisfying it.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_CASES = 100_000  # DNF conjuncts allowed before giving up (distribution is exponential)

_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_VAR = re.compile(r"([XY])_(0|[1-9]\d*)")
_TOKEN = re.compile(r"(\s+)|(;[^\n]*)|(\()|(\))|([^\s();]+)")
_IGNORED = {"check-sat", "get-model", "set-logic"}
_FLIP = {"<=": False, "<": False, ">=": True, ">": True}  # True: the atom is B <= A


class VnnlibError(ValueError):
    """A VNN-LIB file outside the supported subset, or malformed; names the line and the text."""

    def __init__(self, path: str | None, line: int, msg: str, text: str):
        self.path, self.line, self.text = path, line, text
        super().__init__(f"{path or '<vnnlib>'}, line {line}: {msg}: {text}")


@dataclass(frozen=True, eq=False)
class OutputConstraint:
    """C @ y <= d, row-wise: every row must hold. Zero rows mean "always true"."""

    C: np.ndarray  # float64 [k, n_outputs]
    d: np.ndarray  # float64 [k]

    def satisfied_by(self, y: np.ndarray, tol: float = 0.0) -> bool:
        """True when every row holds at y, each allowed to exceed d by tol."""
        return bool(np.all(self.C @ y <= self.d + tol))


@dataclass(frozen=True, eq=False)
class Case:
    """One disjunct: an input box and a disjunction of output constraint sets; the case is sat when
    some x in [lo, hi] makes f(x) satisfy at least one of ``outputs`` (all rows of it)."""

    lo: np.ndarray  # float64 [n_inputs]
    hi: np.ndarray
    outputs: tuple[OutputConstraint, ...]  # never empty

    def violated_by(self, x: np.ndarray, y: np.ndarray, tol: float = 0.0) -> bool:
        """True when x lies in the box (within tol) and y satisfies one of the output sets: a
        counterexample to the property this case belongs to."""
        x = _flat(x, self.lo.size, "x")
        y = _flat(y, self.outputs[0].C.shape[1], "y")
        inside = np.all((x >= self.lo - tol) & (x <= self.hi + tol))  # NaN is never inside
        return bool(inside) and any(o.satisfied_by(y, tol) for o in self.outputs)


@dataclass(frozen=True, eq=False)
class Spec:
    """A whole query: sat iff some case is sat. Cases with an empty box (lo > hi somewhere) are
    dropped at reading, since no x can satisfy them; ``cases`` may therefore be empty."""

    n_inputs: int
    n_outputs: int
    cases: tuple[Case, ...]
    path: str | None

    def violated_by(self, x: np.ndarray, y: np.ndarray, tol: float = 0.0) -> bool:
        """True when (x, y) is a counterexample for some case."""
        return any(c.violated_by(x, y, tol) for c in self.cases)


def read_vnnlib(path: str | Path) -> Spec:
    """Read and normalise a .vnnlib file."""
    return parse_vnnlib(Path(path).read_text(), path=str(path))


def parse_vnnlib(text: str, path: str | None = None) -> Spec:
    """Parse VNN-LIB text; ``path`` only labels error messages and ``Spec.path``."""
    reader = _Reader(path)
    for command in _parse_sexprs(text, path):
        reader.command(command)
    return reader.finish()


def format_counterexample(x: np.ndarray, y: np.ndarray) -> str:
    """The witness VNN-COMP expects after the ``sat`` line: ``((X_0 v)\\n(X_1 v)\\n...(Y_m v))``,
    one ``(NAME value)`` per line, the list's parens hugging the first and last entry (as
    alpha-beta-CROWN writes it; VNN-COMP's checker ignores newlines). No trailing newline."""
    xs, ys = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("format_counterexample: x and y must be finite to make a witness")
    pairs = [f"(X_{i} {float(v)!r})" for i, v in enumerate(xs)]
    pairs += [f"(Y_{j} {float(v)!r})" for j, v in enumerate(ys)]
    return "(" + "\n".join(pairs) + ")"


def _flat(v: np.ndarray, size: int, name: str) -> np.ndarray:
    v = np.asarray(v, np.float64).ravel()
    if v.size != size:
        raise ValueError(f"violated_by: {name} has {v.size} values, the spec declares {size}")
    return v


# ---- s-expressions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Atom:
    text: str
    line: int


@dataclass(frozen=True)
class _List:
    items: tuple
    line: int


def _show(node: _Atom | _List, limit: int = 120) -> str:
    """The node as s-expression text (for error messages), shortened past ``limit`` characters."""
    if isinstance(node, _Atom):
        text = node.text
    else:
        text = "(" + " ".join(_show(i, 10**9) for i in node.items) + ")"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_sexprs(text: str, path: str | None) -> list[_Atom | _List]:
    """Top-level s-expressions of ``text``, each node tagged with the line it starts on."""
    line, stack, top = 1, [], []
    for m in _TOKEN.finditer(text):
        space, _comment, opening, closing, atom = m.groups()
        if space:
            line += space.count("\n")
        elif opening:
            stack.append((line, []))
        elif closing:
            if not stack:
                raise VnnlibError(path, line, "unbalanced parentheses, ')' closes nothing", ")")
            start, items = stack.pop()
            (stack[-1][1] if stack else top).append(_List(tuple(items), start))
        elif atom:
            (stack[-1][1] if stack else top).append(_Atom(atom, line))
    if stack:
        start, items = stack[0]
        shown = _show(_List(tuple(items), start)).removesuffix(")")
        raise VnnlibError(path, start, "unbalanced parentheses, '(' is never closed", shown)
    return top


# ---- commands, terms, formulas --------------------------------------------------------------------
# An atom is ("x", i, is_upper, value): X_i <= value (or >=), or ("y", ((j, coef), ...), d): row.y <= d.
# A formula is ("atom", atom) or ("and" | "or", [formulas], node).


class _Reader:
    """Turns commands into declarations and DNF conjuncts, then into a `Spec`."""

    def __init__(self, path: str | None):
        self.path = path
        self.decls: dict[tuple[str, int], _List] = {}
        self.common: list[tuple] = []  # atoms every conjunct shares
        self.conjuncts: list[tuple] = [()]  # alternatives from asserts with an `or`

    def err(self, node: _Atom | _List, msg: str) -> VnnlibError:
        return VnnlibError(self.path, node.line, msg, _show(node))

    def command(self, node: _Atom | _List) -> None:
        first = node.items[0] if isinstance(node, _List) and node.items else None
        head = first.text if isinstance(first, _Atom) else None
        if head in _IGNORED:
            return
        if head == "declare-const":
            return self.declare(node)
        if head == "assert":
            if len(node.items) != 2:
                raise self.err(node, "'assert' takes exactly one formula")
            return self.add(self.formula(node.items[1]), node)
        raise self.err(node, "unsupported command (expected declare-const or assert)")

    def declare(self, node: _List) -> None:
        if len(node.items) != 3 or not all(isinstance(i, _Atom) for i in node.items):
            raise self.err(node, "expected (declare-const NAME Real)")
        m = _VAR.fullmatch(node.items[1].text)
        if m is None:
            raise self.err(node, "variable names must be X_i (inputs) or Y_j (outputs)")
        if node.items[2].text != "Real":
            raise self.err(node, "only sort Real is supported")
        key = (m[1], int(m[2]))
        if key in self.decls:
            raise self.err(node, f"{node.items[1].text} is declared twice")
        self.decls[key] = node

    def var(self, node: _Atom) -> tuple[str, int]:
        m = _VAR.fullmatch(node.text)
        if m is None or (m[1], int(m[2])) not in self.decls:
            raise self.err(node, f"unknown variable '{node.text}' (declare it first)")
        return m[1], int(m[2])

    def term(self, node: _Atom | _List) -> tuple[dict, float]:
        """A linear term as ({variable: coefficient}, constant)."""
        if isinstance(node, _Atom):
            if _NUMBER.fullmatch(node.text):
                return {}, float(node.text)
            return {self.var(node): 1.0}, 0.0
        if not node.items or not isinstance(node.items[0], _Atom):
            raise self.err(node, "expected a term")
        op, parts = node.items[0].text, [self.term(a) for a in node.items[1:]]
        if op == "+" and parts:
            return _combine(parts, [1.0] * len(parts))
        if op == "-" and parts:
            return _combine(parts, [1.0 if len(parts) > 1 else -1.0] + [-1.0] * (len(parts) - 1))
        if op == "*" and len(parts) >= 2:
            variable = [p for p in parts if p[0]]
            if len(variable) > 1:
                raise self.err(node, "non-linear term (a product of variables); only linear terms allowed")
            factor = math.prod(p[1] for p in parts if not p[0])
            return _combine(variable or [({}, 1.0)], [factor])
        raise self.err(node, f"unsupported term '{op}' (expected a number, X_i, Y_j, +, - or *)")

    def formula(self, node: _Atom | _List) -> tuple:
        if not isinstance(node, _List) or not node.items or not isinstance(node.items[0], _Atom):
            raise self.err(node, "expected a formula (and, or, <=, >=, <, >)")
        op, args = node.items[0].text, node.items[1:]
        if op in ("and", "or"):
            if not args:
                raise self.err(node, f"'{op}' needs at least one operand")
            return op, [self.formula(a) for a in args], node
        if op not in _FLIP:
            raise self.err(node, f"unsupported formula '{op}' (expected and, or, <=, >=, <, >)")
        if len(args) != 2:
            raise self.err(node, f"'{op}' takes exactly two operands")
        a, b = (self.term(t) for t in (args[::-1] if _FLIP[op] else args))
        coeffs, const = _combine([a, b], [1.0, -1.0])  # coeffs . v + const <= 0
        return "atom", self.atom(node, {v: c for v, c in coeffs.items() if c != 0.0}, 0.0 - const)

    def atom(self, node: _List, coeffs: dict, rhs: float) -> tuple:
        """coeffs . v <= rhs, classified as an input bound or an output row."""
        kinds = {k for k, _ in coeffs}
        if not kinds:
            raise self.err(node, "comparison without variables")
        if kinds == {"Y"}:
            return "y", tuple(sorted((j, c) for (_, j), c in coeffs.items())), rhs
        if kinds == {"X"} and len(coeffs) == 1:
            (_, i), c = next(iter(coeffs.items()))
            return "x", i, c > 0, rhs / c + 0.0  # + 0.0 turns -0.0 into 0.0
        what = "mixes inputs and outputs" if len(kinds) == 2 else "relates several inputs"
        raise self.err(node, f"atom {what}; only box constraints on inputs are supported")

    def dnf(self, f: tuple) -> list[tuple]:
        if f[0] == "atom":
            return [(f[1],)]
        parts = [self.dnf(g) for g in f[1]]
        if f[0] == "and":
            return self.product(parts, f[2])
        if sum(map(len, parts)) > MAX_CASES:
            raise self.err(f[2], f"disjunctive normal form exceeds {MAX_CASES} cases")
        return [c for p in parts for c in p]

    def product(self, parts: list[list[tuple]], node: _List) -> list[tuple]:
        if math.prod(map(len, parts)) > MAX_CASES:
            raise self.err(node, f"disjunctive normal form exceeds {MAX_CASES} cases")
        return [sum(combo, ()) for combo in itertools.product(*parts)]

    def add(self, f: tuple, node: _List) -> None:
        alternatives = self.dnf(f)
        if len(alternatives) == 1:
            self.common.extend(alternatives[0])
        else:
            self.conjuncts = self.product([self.conjuncts, alternatives], node)

    def finish(self) -> Spec:
        n, m = self.count("X"), self.count("Y")
        lo0, hi0, rows0 = _apply(self.common, np.full(n, -np.inf), np.full(n, np.inf), {})
        grouped: dict[tuple, dict] = {}
        for conj in self.conjuncts:
            lo, hi, rows = _apply(conj, lo0.copy(), hi0.copy(), dict(rows0))
            if np.any(lo > hi):
                continue
            unbounded = np.flatnonzero(np.isinf(lo) | np.isinf(hi))
            if unbounded.size:
                i = int(unbounded[0])
                side = "lower" if np.isinf(lo[i]) else "upper"
                raise self.err(self.decls["X", i], f"input X_{i} has no {side} bound")
            outs = grouped.setdefault((tuple(lo.tolist()), tuple(hi.tolist())), {})
            outs.setdefault(frozenset(rows), tuple(rows))  # same rows in any order: one set
        return Spec(n, m, tuple(_case(key, outs, m) for key, outs in grouped.items()), self.path)

    def count(self, kind: str) -> int:
        indices = sorted(i for k, i in self.decls if k == kind)
        if not indices:
            raise VnnlibError(self.path, 1, f"no {kind}_i variable is declared", "(whole file)")
        missing = next((k for k, i in enumerate(indices) if k != i), None)
        if missing is not None:
            last = self.decls[kind, indices[-1]]
            raise self.err(last, f"{kind}_{missing} is not declared; indices must run from 0 without gaps")
        return len(indices)


def _combine(parts: list[tuple[dict, float]], scales: list[float]) -> tuple[dict, float]:
    """sum(scale * part) of linear terms."""
    coeffs: dict = {}
    for (part, _), s in zip(parts, scales, strict=True):
        for v, c in part.items():
            coeffs[v] = coeffs.get(v, 0.0) + s * c
    return coeffs, sum(s * const for (_, const), s in zip(parts, scales, strict=True))


def _apply(atoms, lo: np.ndarray, hi: np.ndarray, rows: dict) -> tuple[np.ndarray, np.ndarray, dict]:
    """Tighten the box by input atoms and collect output rows (deduplicated, in order)."""
    for atom in atoms:
        if atom[0] == "x":
            _, i, upper, value = atom
            if upper:
                hi[i] = min(hi[i], value)
            else:
                lo[i] = max(lo[i], value)
        else:
            rows.setdefault(atom[1:], None)
    return lo, hi, rows


def _case(box: tuple, outs: dict, m: int) -> Case:
    constraints = []
    for rows in outs.values():
        C, d = np.zeros((len(rows), m)), np.array([rhs for _, rhs in rows], np.float64)
        for r, (row, _) in enumerate(rows):
            for j, c in row:
                C[r, j] = c
        constraints.append(OutputConstraint(_frozen(C), _frozen(d)))
    return Case(_frozen(np.array(box[0])), _frozen(np.array(box[1])), tuple(constraints))


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    a.setflags(write=False)
    return a
