"""Dimensions: ints or sympy expressions over named symbols, with three-valued comparisons.

Every symbol is a positive integer (a batch of zero rows is not a shape we reason about),
so ``N + 1 > N`` is proved and ``N == M`` is unknown, never guessed.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Sequence

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

Dim = int | sympy.Expr


class Truth(enum.Enum):
    """A three-valued answer: proved, disproved or unknown."""

    PROVED = "proved"
    DISPROVED = "disproved"
    UNKNOWN = "unknown"

    def __bool__(self) -> bool:
        raise TypeError("a Truth is three-valued: test `.proved`, `.disproved` or `.unknown`")

    @property
    def proved(self) -> bool:
        return self is Truth.PROVED

    @property
    def disproved(self) -> bool:
        return self is Truth.DISPROVED

    @property
    def unknown(self) -> bool:
        return self is Truth.UNKNOWN

    def __invert__(self) -> Truth:
        if self is Truth.PROVED:
            return Truth.DISPROVED
        if self is Truth.DISPROVED:
            return Truth.PROVED
        return Truth.UNKNOWN

    @staticmethod
    def of(value: bool | None) -> Truth:
        if value is None:
            return Truth.UNKNOWN
        return Truth.PROVED if value else Truth.DISPROVED


_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SYMBOLS: dict[str, sympy.Symbol] = {}


def sym(name: str) -> sympy.Symbol:
    """The dimension symbol called ``name`` (a positive integer)."""
    if not _NAME_RE.match(name):
        raise ValueError(f"invalid dimension name {name!r}: use letters, digits and '_'")
    s = _SYMBOLS.get(name)
    if s is None:
        s = sympy.Symbol(name, integer=True, positive=True)
        _SYMBOLS[name] = s
    return s


def symbols(names: str) -> tuple[sympy.Symbol, ...]:
    """Several dimension symbols from a space- or comma-separated string."""
    return tuple(sym(n) for n in re.split(r"[\s,]+", names.strip()) if n)


def as_dim(d: object) -> Dim:
    """Coerce an int, a symbol name or a sympy expression into a canonical Dim."""
    if isinstance(d, bool):
        raise TypeError(f"a dimension cannot be a bool ({d!r})")
    if isinstance(d, int):
        if d < 0:
            raise ValueError(f"a dimension must be >= 0, got {d}")
        return d
    if isinstance(d, str):
        return parse_dim(d)
    if hasattr(d, "__index__") and not isinstance(d, sympy.Basic):
        return as_dim(int(d))  # type: ignore[call-overload]
    if isinstance(d, sympy.Expr):
        for s in d.free_symbols:
            if not (s.is_integer and s.is_positive):
                raise ValueError(f"dimension symbol {s} must be made with axiom.ir.sym()")
        e = _simplify(d) if not d.is_Symbol else d
        if e.is_Integer:
            return as_dim(int(e))
        if e.is_number:
            raise ValueError(f"dimension {d} is not an integer")
        if not e.is_integer:
            raise ValueError(f"dimension {d} is not an integer for every value of its symbols; "
                             "use // for floor division")
        return e
    raise TypeError(f"cannot use {d!r} ({type(d).__name__}) as a dimension")


@functools.lru_cache(maxsize=16384)
def _simplify(e: sympy.Expr) -> sympy.Expr:
    """sympy.simplify is slow and dims repeat endlessly (every node's type): remember answers."""
    return sympy.simplify(e)


def parse_dim(text: str) -> Dim:
    """Parse ``"N"``, ``"H//2"``, ``"(H + 2*p - k)//s + 1"`` into a Dim."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    allowed = {"floor", "ceiling", "Max", "Min", "Mod"}
    local = {n: sym(n) for n in names if n not in allowed}
    local.update({"floor": sympy.floor, "ceiling": sympy.ceiling, "Max": sympy.Max,
                  "Min": sympy.Min, "Mod": sympy.Mod})
    try:
        expr = sympy.sympify(text, locals=local, rational=True)
    except (sympy.SympifyError, SyntaxError, TypeError) as exc:
        raise ValueError(f"cannot parse dimension {text!r}: {exc}") from None
    return as_dim(expr)


class _DimPrinter(StrPrinter):
    """Prints floor division as ``a//b`` so dims read like Python and parse back."""

    def _print_floor(self, expr: sympy.Expr) -> str:
        num, den = sympy.fraction(sympy.together(expr.args[0]))
        if den == 1:
            return f"floor({self._print(num)})"
        den_text = self._print(den)
        return f"{self._wrap(num)}//{den_text if den.is_Atom else f'({den_text})'}"

    def _wrap(self, e: sympy.Expr) -> str:
        s = self._print(e)
        return s if (e.is_Atom or e.is_Function) else f"({s})"

    def parenthesize(self, item, level, strict=False):  # noqa: ANN001, ANN201
        # `a//b` binds like `*`: as a factor, base or negated it needs parentheses (2*(N//2), -(N//2)).
        if isinstance(item, sympy.floor) and level >= PRECEDENCE["Add"]:
            text = self._print(item)
            return f"({text})" if "//" in text else text
        return super().parenthesize(item, level, strict)


_PRINTER = _DimPrinter()


def dim_str(d: Dim) -> str:
    """The text form of a dim (parses back with :func:`parse_dim`)."""
    if isinstance(d, int):
        return str(d)
    return _PRINTER.doprint(d)


def is_static(d: Dim) -> bool:
    return isinstance(d, int)


def free_symbols(dims: Iterable[Dim]) -> set[sympy.Symbol]:
    out: set[sympy.Symbol] = set()
    for d in dims:
        if not isinstance(d, int):
            out |= d.free_symbols
    return out


def _sign_of_difference(a: Dim, b: Dim) -> sympy.Expr:
    diff = sympy.simplify(sympy.Integer(a) - b if isinstance(a, int) else a - b)
    if diff.is_number or not diff.has(sympy.floor):
        return diff
    # sympy does not see floor(x) + k == floor(x + k) for integer k: fold such terms first.
    return sympy.simplify(_fold_into_floor(sympy.sympify(a)) - _fold_into_floor(sympy.sympify(b)))


def _fold_into_floor(e: sympy.Expr) -> sympy.Expr:
    """Rewrite ``floor(x) + k`` as ``floor(x + k)`` wherever ``k`` is integer-valued (an identity)."""
    if not e.args:
        return e
    args = [_fold_into_floor(a) for a in e.args]
    if e.is_Add:
        floors = [a for a in args if isinstance(a, sympy.floor)]
        rest = [a for a in args if not isinstance(a, sympy.floor)]
        if len(floors) == 1 and all(r.is_integer for r in rest):
            return sympy.floor(sympy.expand(floors[0].args[0] + sympy.Add(*rest)))
    return e.func(*args)


def dim_eq(a: Dim, b: Dim) -> Truth:
    """Is ``a == b`` for every value of the symbols? Proved, disproved or unknown."""
    if isinstance(a, int) and isinstance(b, int):
        return Truth.of(a == b)
    diff = _sign_of_difference(a, b)
    if diff == 0:
        return Truth.PROVED
    if diff.is_zero is False:
        # Unequal for every assignment only if the difference never vanishes.
        return Truth.DISPROVED
    return Truth.UNKNOWN


def dim_le(a: Dim, b: Dim) -> Truth:
    """Is ``a <= b`` for every value of the symbols?"""
    if isinstance(a, int) and isinstance(b, int):
        return Truth.of(a <= b)
    diff = _sign_of_difference(b, a)
    if diff.is_nonnegative:
        return Truth.PROVED
    if diff.is_negative:
        return Truth.DISPROVED
    return Truth.UNKNOWN


def dim_lt(a: Dim, b: Dim) -> Truth:
    """Is ``a < b`` for every value of the symbols?"""
    if isinstance(a, int) and isinstance(b, int):
        return Truth.of(a < b)
    diff = _sign_of_difference(b, a)
    if diff.is_positive:
        return Truth.PROVED
    if diff.is_nonpositive:
        return Truth.DISPROVED
    return Truth.UNKNOWN


def dims_equal(a: Sequence[Dim], b: Sequence[Dim]) -> Truth:
    """Are two shapes equal? Disproved as soon as one pair of dims is."""
    if len(a) != len(b):
        return Truth.DISPROVED
    result = Truth.PROVED
    for x, y in zip(a, b, strict=True):
        t = dim_eq(x, y)
        if t.disproved:
            return t
        if t.unknown:
            result = Truth.UNKNOWN
    return result


def dim_product(dims: Iterable[Dim]) -> Dim:
    """The product of dims, as an int when every factor is one."""
    out: Dim = 1
    for d in dims:
        out = out * d  # type: ignore[operator]
    return as_dim(out) if not isinstance(out, int) else out


def evaluate_dim(d: Dim, bindings: dict[str, int]) -> int:
    """The integer value of ``d`` with its symbols bound by name; KeyError names a missing one."""
    if isinstance(d, int):
        return d
    subs = {}
    for s in d.free_symbols:
        if s.name not in bindings:
            raise KeyError(s.name)
        subs[s] = bindings[s.name]
    v = d.subs(subs)
    if not v.is_Integer:
        raise ValueError(f"dimension {dim_str(d)} is not an integer for {bindings}")
    return int(v)


def normalize_axis(axis: int, rank: int) -> int:
    """Map a possibly negative axis into ``[0, rank)``; ValueError when out of range."""
    if not -rank <= axis < max(rank, 1):
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0
