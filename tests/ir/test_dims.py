"""Symbolic dims: the three-valued Truth, dim_eq/dim_le/dim_lt (sound on every sampled value of the
symbols), and the text form (dim_str / parse_dim round-trip on random expressions)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from axiom.ir.dims import (
    Truth,
    as_dim,
    dim_eq,
    dim_le,
    dim_lt,
    dim_product,
    dim_str,
    dims_equal,
    evaluate_dim,
    is_static,
    normalize_axis,
    parse_dim,
    sym,
    symbols,
)

N, M, H = symbols("N M H")
NAMES = ("N", "M", "H")
# Every symbol is a positive integer: sample small and large values, ties included.
ASSIGNMENTS = [dict(zip(NAMES, v, strict=True)) for v in itertools.product((1, 2, 3, 7, 40), repeat=3)]

Expr = tuple[sympy.Expr, Callable[[dict[str, int]], int]]


# ---- Truth ------------------------------------------------------------------------------
@pytest.mark.parametrize("t", list(Truth))
def test_truth_refuses_bool(t):
    with pytest.raises(TypeError, match="three-valued"):
        bool(t)
    with pytest.raises(TypeError):
        if t:  # noqa: SIM108 - the point is that this raises
            pass
    assert [t.proved, t.disproved, t.unknown].count(True) == 1


def test_truth_of_and_invert():
    assert Truth.of(True) is Truth.PROVED
    assert Truth.of(False) is Truth.DISPROVED
    assert Truth.of(None) is Truth.UNKNOWN
    assert ~Truth.PROVED is Truth.DISPROVED
    assert ~Truth.DISPROVED is Truth.PROVED
    assert ~Truth.UNKNOWN is Truth.UNKNOWN


# ---- symbols and coercion ---------------------------------------------------------------
def test_sym_is_interned_positive_integer():
    assert sym("N") is N
    assert N.is_integer and N.is_positive
    assert symbols("N, M  H") == (N, M, H)
    for bad in ("1N", "N-1", "", "a b"):
        with pytest.raises(ValueError, match="invalid dimension name"):
            sym(bad)


def test_as_dim_coercions_and_errors():
    assert as_dim(3) == 3 and isinstance(as_dim(np.int64(3)), int)
    assert isinstance(as_dim(sympy.Integer(4)), int)
    assert as_dim("N") is N
    assert as_dim(N + N) == 2 * N
    assert as_dim(sympy.floor((2 * N) / 2)) == N
    with pytest.raises(TypeError, match="bool"):
        as_dim(True)
    with pytest.raises(ValueError, match=">= 0"):
        as_dim(-1)
    with pytest.raises(ValueError, match="sym\\(\\)"):
        as_dim(sympy.Symbol("x"))
    with pytest.raises(ValueError, match="not an integer"):
        as_dim(sympy.Rational(1, 2))
    with pytest.raises(ValueError, match="not an integer"):
        as_dim(N / 2)
    with pytest.raises(TypeError, match="cannot use"):
        as_dim(2.0)


# ---- comparisons: hand-picked cases -----------------------------------------------------
P, D, U = Truth.PROVED, Truth.DISPROVED, Truth.UNKNOWN


@pytest.mark.parametrize("a, b, eq, le, lt", [
    (3, 3, P, P, D),
    (3, 4, D, P, P),
    (5, 4, D, D, D),
    (N, N, P, P, D),
    (N, M, U, U, U),
    (N + 1, N, D, D, D),
    (N, N + 1, D, P, P),
    (2 * N, N + N, P, P, D),
    (N * 3136, N * 64 * 7 * 7, P, P, D),
    (1, N, U, P, U),
    (0, N, D, P, P),
    (2, N, U, U, U),
    (N, 0, D, D, D),
    (N - 1, 0, U, U, D),
    (N * M, N, U, U, D),
    (N + M, N, D, D, D),
])
def test_dim_comparisons(a, b, eq, le, lt):
    assert dim_eq(a, b) is eq
    assert dim_le(a, b) is le
    assert dim_lt(a, b) is lt


def test_dims_equal():
    assert dims_equal([N, 3], [N, 3]) is P
    assert dims_equal([N, 3], [N, 4]) is D
    assert dims_equal([N, 3], [M, 3]) is U
    assert dims_equal([N, 3], [M, 4]) is D  # one disproved pair settles it
    assert dims_equal([N], [N, 1]) is D


# ---- random expressions -----------------------------------------------------------------
def _leaf(positive: bool) -> st.SearchStrategy[Expr]:
    names = st.sampled_from(NAMES).map(lambda n: (sym(n), lambda env, n=n: env[n]))
    ints = st.integers(1 if positive else 0, 6).map(lambda k: (sympy.Integer(k), lambda env, k=k: k))
    return st.one_of(names, ints)


def _combine(children: st.SearchStrategy[Expr], ops: list[str],
             divisors: st.SearchStrategy[Expr] | None = None) -> st.SearchStrategy[Expr]:
    def build(op: str, a: Expr, b: Expr) -> Expr:
        (x, f), (y, g) = a, b
        if op == "+":
            return x + y, lambda env: f(env) + g(env)
        if op == "-":
            return x - y, lambda env: f(env) - g(env)
        if op == "*":
            return x * y, lambda env: f(env) * g(env)
        return sympy.floor(x / y), lambda env: f(env) // g(env)

    return st.sampled_from(ops).flatmap(
        lambda op: st.tuples(st.just(op), children, divisors if op == "//" else children)
    ).map(lambda t: build(*t))


# Divisors stay positive for every value of the symbols: built from +, * and positive leaves.
POSITIVE = st.recursive(_leaf(True), lambda c: _combine(c, ["+", "*"]), max_leaves=3)
EXPRS = st.recursive(_leaf(False), lambda c: _combine(c, ["+", "-", "*", "//"], POSITIVE), max_leaves=6)
EVAL_NS = {"floor": math.floor, "ceiling": math.ceil, "Max": max, "Min": min, "Mod": lambda a, b: a % b}


def _dim(e: Expr) -> sympy.Expr | int | None:
    expr, _ = e
    if expr.is_number and expr < 0:
        return None
    try:
        return as_dim(expr)
    except ValueError:  # provably negative: not a dimension
        assert expr.is_negative or sympy.simplify(expr).is_negative
        return None


@settings(max_examples=80, deadline=None)
@given(EXPRS)
def test_dim_str_parse_dim_round_trip(e):
    d = _dim(e)
    if d is None:
        return
    text = dim_str(d)
    back = parse_dim(text)
    assert back == d, (text, back, d)
    assert dim_str(back) == text
    # The text means what the expression means, read as Python (// floors, * binds tighter).
    for env in ASSIGNMENTS[::7]:
        assert eval(text, dict(EVAL_NS), dict(env)) == e[1](env), (text, env)  # noqa: S307


def _sound(t: Truth, holds: list[bool], what: str) -> None:
    if t.proved:
        assert all(holds), f"{what} proved but fails for some values"
    if t.disproved:
        assert not any(holds), f"{what} disproved but holds for some values"


@settings(max_examples=80, deadline=None)
@given(EXPRS, EXPRS)
def test_comparisons_are_sound(a, b):
    da, db = _dim(a), _dim(b)
    if da is None or db is None:
        return
    va = [a[1](env) for env in ASSIGNMENTS]
    vb = [b[1](env) for env in ASSIGNMENTS]
    _sound(dim_eq(da, db), [x == y for x, y in zip(va, vb, strict=True)], f"{da} == {db}")
    _sound(dim_le(da, db), [x <= y for x, y in zip(va, vb, strict=True)], f"{da} <= {db}")
    _sound(dim_lt(da, db), [x < y for x, y in zip(va, vb, strict=True)], f"{da} < {db}")
    assert dim_eq(da, da).proved


@settings(max_examples=60, deadline=None)
@given(EXPRS)
def test_evaluate_dim_agrees_with_python(e):
    d = _dim(e)
    if d is None:
        return
    for env in ASSIGNMENTS[::11]:
        assert evaluate_dim(d, env) == e[1](env)


# ---- the text form ----------------------------------------------------------------------
def test_conv_output_size_expression_parses_and_prints_back():
    text = "(H + 2*p - k)//s + 1"
    d = parse_dim(text)
    assert dim_str(d) == "(H - k + 2*p)//s + 1"  # sympy orders the terms; the meaning is kept
    assert parse_dim(dim_str(d)) == d
    assert evaluate_dim(d, {"H": 28, "p": 1, "k": 3, "s": 1}) == 28
    assert evaluate_dim(d, {"H": 28, "p": 0, "k": 3, "s": 2}) == 13
    with pytest.raises(KeyError, match="s"):
        evaluate_dim(d, {"H": 28, "p": 0, "k": 3})


@pytest.mark.parametrize("text", ["N", "3", "N + 1", "2*N", "N//2", "(N - 1)//2 + 1", "(M*N)//(2*H)",
                                  "2*(N//2)", "N - (N//2)", "N//2//3", "M + (N + 1)//2"])
def test_known_texts_print_back_unchanged(text):
    assert dim_str(parse_dim(text)) == text


def test_parse_dim_errors():
    for bad in ("N +", "N ** ", "import os", "N; M"):
        with pytest.raises((ValueError, TypeError)):
            parse_dim(bad)
    for fractional in ("N/2", "N*M/3", "(N + 1)/2 + 1"):
        with pytest.raises(ValueError, match="not an integer.*use //"):
            parse_dim(fractional)


def test_small_helpers():
    assert dim_product([N, 3, 4]) == 12 * N
    assert dim_product([2, 3]) == 6 and isinstance(dim_product([2, 3]), int)
    assert dim_product([]) == 1
    assert is_static(3) and not is_static(N)
    assert normalize_axis(-1, 3) == 2 and normalize_axis(0, 0) == 0
    with pytest.raises(ValueError, match="out of range"):
        normalize_axis(3, 3)
    with pytest.raises(ValueError, match="out of range"):
        normalize_axis(-4, 3)


def test_floor_with_integer_offsets_is_proved_equal():
    from axiom.ir.dims import dim_eq, parse_dim

    assert dim_eq(parse_dim("(H + 1)//2"), parse_dim("(H - 1)//2 + 1")).proved
    assert dim_eq(parse_dim("(H - 3)//2 + 1"), parse_dim("(H - 1)//2")).proved
    assert dim_eq(parse_dim("(H + 2*N)//2"), parse_dim("H//2 + N")).proved
    assert dim_eq(parse_dim("(H + 1)//2"), parse_dim("H//2")).unknown  # equal only for even H
