"""Dimensions: ints or sympy expressions over named symbols, with three-valued comparisons.

Every symbol is a positive integer (a batch of zero rows is not a shape we reason about),
so ``N + 1 > N`` is proved and ``N == M`` is unknown, never guessed.
"""

from __future__ import annotations

import enum
import functools
import itertools
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

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
        if e.is_negative:
            raise ValueError(f"dimension {d} is negative for every value of its symbols")
        if not e.is_integer:
            raise ValueError(f"dimension {d} is not an integer for every value of its symbols; "
                             "use // for floor division")
        return e
    raise TypeError(f"cannot use {d!r} ({type(d).__name__}) as a dimension")


@functools.lru_cache(maxsize=16384)
def _simplify(e: sympy.Expr) -> sympy.Expr:
    """sympy.simplify, to its fixed point (one call is not always idempotent, and a dim must
    print and parse back to itself); slow, and dims repeat endlessly, so answers are remembered."""
    for _ in range(4):
        nxt = sympy.simplify(e)
        if nxt == e:
            break
        e = nxt
    return e


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
        # a leading minus would be read as a subtraction by the sum around it: N + (-2)//N
        return s if (e.is_Atom or e.is_Function) and not s.startswith("-") else f"({s})"

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


@functools.lru_cache(maxsize=16384)
def _sign_of_difference(a: Dim, b: Dim) -> sympy.Expr:
    """``a - b`` simplified (remembered: the same pairs of dims are compared again and again)."""
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
    if diff.is_zero is False and _survives(diff, lambda v: v != 0):
        # Unequal for every assignment only if the difference never vanishes.
        return Truth.DISPROVED
    return Truth.UNKNOWN


def dim_le(a: Dim, b: Dim) -> Truth:
    """Is ``a <= b`` for every value of the symbols? (DISPROVED: ``a > b`` for every value.)"""
    if isinstance(a, int) and isinstance(b, int):
        return Truth.of(a <= b)
    return _decide(a, b, _le_of)


def dim_lt(a: Dim, b: Dim) -> Truth:
    """Is ``a < b`` for every value of the symbols? (DISPROVED: ``a >= b`` for every value.)"""
    if isinstance(a, int) and isinstance(b, int):
        return Truth.of(a < b)
    return _decide(a, b, _lt_of)


def _decide(a: Dim, b: Dim, rule: Callable[[sympy.Expr], Truth]) -> Truth:
    """``rule`` on ``b - a``: first as sympy leaves it (bounding floors is cheap and often enough),
    then simplified (slow on nested floors, so only when the cheap look is inconclusive)."""
    quick = rule(sympy.sympify(b) - sympy.sympify(a))
    if quick is not Truth.UNKNOWN:
        return quick
    return rule(_sign_of_difference(b, a))


def _le_of(diff: sympy.Expr) -> Truth:
    """0 <= diff for every value (PROVED), 0 > diff for every value (DISPROVED), or unknown."""
    lower, upper = _floor_bounds(diff)
    # diff is an integer: diff > -1 means diff >= 0.
    if (diff.is_nonnegative or (lower is not None and (lower + 1).is_positive)) \
            and _survives(diff, lambda v: v >= 0):
        return Truth.PROVED
    if (diff.is_negative or (upper is not None and upper.is_negative)) and _survives(diff, lambda v: v < 0):
        return Truth.DISPROVED
    return Truth.UNKNOWN


def _lt_of(diff: sympy.Expr) -> Truth:
    """0 < diff for every value (PROVED), 0 >= diff for every value (DISPROVED), or unknown."""
    lower, upper = _floor_bounds(diff)
    if (diff.is_positive or (lower is not None and lower.is_positive)) and _survives(diff, lambda v: v > 0):
        return Truth.PROVED
    # diff is an integer: diff < 1 means diff <= 0.
    if (diff.is_nonpositive or (upper is not None and (1 - upper).is_positive)) \
            and _survives(diff, lambda v: v <= 0):
        return Truth.DISPROVED
    return Truth.UNKNOWN


_SAMPLE_VALUES = (1, 2, 3, 4, 5, 7, 8, 16, 31)


def _survives(diff: sympy.Expr, claim: Callable[[int], bool]) -> bool:
    """Does ``claim`` hold of ``diff`` at a spread of concrete symbol values?

    sympy's sign assumptions are not always right (it has called ``1 - 2/(M*N)`` negative for
    positive integers), so every proved or disproved answer must also survive these samples;
    one that does not becomes unknown. diff is integer-valued, so samples are rounded.
    """
    for v in _samples(diff):
        if v is None or not claim(v):
            return False
    return True


@functools.lru_cache(maxsize=16384)
def _samples(diff: sympy.Expr) -> tuple[int | None, ...]:
    syms = sorted(diff.free_symbols, key=lambda s: s.name)
    fn = sympy.lambdify(syms, diff, modules=[_LAMBDIFY_NAMES, "math"])
    points: list[tuple[int, ...]] = list(itertools.product(_SAMPLE_VALUES, repeat=len(syms)))
    if len(points) > 400:
        points = random.Random(len(syms)).sample(points, 400)
    out: list[int | None] = []
    for p in points:
        try:
            out.append(round(fn(*p)))
        except (ZeroDivisionError, OverflowError, ValueError):
            out.append(None)  # undefined somewhere: never claim anything
    return tuple(out)


_LAMBDIFY_NAMES = {"floor": math.floor, "ceiling": math.ceil, "Max": max, "Min": min,
                   "Mod": lambda a, b: a % b}


def _floor_bounds(e: sympy.Expr) -> tuple[sympy.Expr | None, sympy.Expr | None]:
    """Floor-free lower and upper bounds of ``e``, valid for every value of the symbols.

    ``e`` must be a sum of terms ``c * floor(u)`` (c a number) and floor-free terms. With
    ``u = p/q`` (p integer-valued, q a positive integer), ``(p - q + 1)/q <= floor(u) <= u``;
    otherwise ``u - 1 < floor(u) <= u``. (None, None) when ``e`` has another shape.
    """
    if not e.has(sympy.floor):
        return None, None
    lower, upper = [], []
    for term in sympy.Add.make_args(sympy.expand(e, deep=False)):
        coeff, rest = term.as_coeff_Mul()
        if not isinstance(rest, sympy.floor):
            if term.has(sympy.floor):
                return None, None
            lower.append(term)
            upper.append(term)
            continue
        lo, hi = _floor_of(rest.args[0])
        lower.append(coeff * (lo if coeff > 0 else hi))
        upper.append(coeff * (hi if coeff > 0 else lo))
    return sympy.Add(*lower), sympy.Add(*upper)


def _floor_of(u: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr]:
    num, den = sympy.fraction(sympy.together(u))
    if den.is_Integer and den > 0 and num.is_integer and not num.has(sympy.floor):
        return (num - den + 1) / den, u
    return u - 1, u


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


def evaluate_dim(d: Dim, bindings: Mapping[str, int]) -> int:
    """The integer value of ``d`` with its symbols bound by name; KeyError names a missing one.
    Values are memoised per (expression, symbol values): run-time calls evaluate the same shapes often."""
    if isinstance(d, int):
        return d
    if d.is_Symbol:
        if d.name not in bindings:
            raise KeyError(d.name)
        return int(bindings[d.name])
    syms = _sorted_symbols(d)
    for s in syms:
        if s.name not in bindings:
            raise KeyError(s.name)
    return _evaluate(d, tuple(int(bindings[s.name]) for s in syms))


@functools.lru_cache(maxsize=4096)
def _sorted_symbols(d: sympy.Expr) -> tuple[sympy.Symbol, ...]:
    return tuple(sorted(d.free_symbols, key=lambda s: s.name))


@functools.lru_cache(maxsize=16384)
def _evaluate(d: sympy.Expr, values: tuple[int, ...]) -> int:
    v = d.subs(dict(zip(_sorted_symbols(d), values, strict=True)))
    if not v.is_Integer:
        bound = ", ".join(f"{s.name}={x}" for s, x in zip(_sorted_symbols(d), values, strict=True))
        raise ValueError(f"dimension {dim_str(d)} is not an integer for {bound}")
    return int(v)


def normalize_axis(axis: int, rank: int) -> int:
    """Map a possibly negative axis into ``[0, rank)``; ValueError when out of range."""
    if not -rank <= axis < max(rank, 1):
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0
