"""axiom.compiler.proofs.vnnlib: the real VNN-COMP files (ACAS Xu phi1..phi10, the test category)
against constants read off the files, hand-made texts for every supported form and every error
rule, counterexample checks and text, then a hypothesis round trip through a tiny VNN-LIB writer."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axiom.compiler.proofs.vnnlib import (
    MAX_CASES,
    Case,
    OutputConstraint,
    Spec,
    VnnlibError,
    format_counterexample,
    parse_vnnlib,
    read_vnnlib,
)

VNN = Path(__file__).resolve().parents[3].parent / "shared" / "vnn"
needs_vnn = pytest.mark.skipif(not VNN.is_dir(), reason=f"VNN-COMP benchmark files not found at {VNN}")

DECL = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"  # lines 1-2
DECL2 = "".join(f"(declare-const {v} Real)\n" for v in ("X_0", "X_1", "Y_0", "Y_1"))  # lines 1-4
BOX = "(assert (>= X_0 0))\n(assert (<= X_0 1))\n"


def e(j: int, n: int = 5) -> np.ndarray:
    return np.eye(n)[j]


def only_case(spec: Spec) -> Case:
    assert len(spec.cases) == 1
    return spec.cases[0]


def rows(case: Case) -> list[tuple[list[list[float]], list[float]]]:
    return [(o.C.tolist(), o.d.tolist()) for o in case.outputs]


def error(text: str) -> str:
    with pytest.raises(VnnlibError) as info:
        parse_vnnlib(text, path="q.vnnlib")
    return str(info.value)


# ---- the real files -----------------------------------------------------------------------------


@needs_vnn
@pytest.mark.parametrize("k", range(1, 11))
def test_every_acas_xu_property_parses_to_bounded_boxes(k):
    spec = read_vnnlib(VNN / "acasxu" / f"prop_{k}.vnnlib")
    assert (spec.n_inputs, spec.n_outputs) == (5, 5)
    assert spec.path.endswith(f"prop_{k}.vnnlib")
    for case in spec.cases:
        assert np.all(np.isfinite(case.lo)) and np.all(case.lo <= case.hi)
        assert case.outputs and all(o.C.shape[1] == 5 for o in case.outputs)


@needs_vnn
def test_acas_prop_1_is_one_box_and_y0_at_least_a_constant():
    case = only_case(read_vnnlib(VNN / "acasxu" / "prop_1.vnnlib"))
    np.testing.assert_array_equal(case.lo, [0.6, -0.5, -0.5, 0.45, -0.5])
    np.testing.assert_array_equal(case.hi, [0.679857769, 0.5, 0.5, 0.5, -0.45])
    assert rows(case) == [([[-1.0, 0, 0, 0, 0]], [-3.991125645861615])]


@needs_vnn
def test_acas_prop_2_is_a_conjunction_y0_maximal():
    case = only_case(read_vnnlib(VNN / "acasxu" / "prop_2.vnnlib"))
    [out] = case.outputs
    np.testing.assert_array_equal(out.C, [e(j) - e(0) for j in (1, 2, 3, 4)])
    np.testing.assert_array_equal(out.d, np.zeros(4))


@needs_vnn
def test_acas_prop_3_is_one_box_and_y0_minimal():
    case = only_case(read_vnnlib(VNN / "acasxu" / "prop_3.vnnlib"))
    np.testing.assert_array_equal(case.lo, [-0.303531156, -0.009549297, 0.493380324, 0.3, 0.3])
    np.testing.assert_array_equal(case.hi, [-0.298552812, 0.009549297, 0.5, 0.5, 0.5])
    [out] = case.outputs
    np.testing.assert_array_equal(out.C, [e(0) - e(j) for j in (1, 2, 3, 4)])
    np.testing.assert_array_equal(out.d, np.zeros(4))


@needs_vnn
def test_acas_prop_4_pins_x2_to_zero():
    case = only_case(read_vnnlib(VNN / "acasxu" / "prop_4.vnnlib"))
    assert case.lo[2] == case.hi[2] == 0.0


@needs_vnn
def test_acas_prop_6_is_two_boxes_each_with_the_four_way_disjunction():
    spec = read_vnnlib(VNN / "acasxu" / "prop_6.vnnlib")
    assert len(spec.cases) == 2
    first, second = spec.cases
    np.testing.assert_array_equal(first.lo, [-0.129289109, 0.11140846, -0.499999896, -0.5, -0.5])
    np.testing.assert_array_equal(first.hi, [0.700434925, 0.499999896, -0.499204121, 0.5, 0.5])
    np.testing.assert_array_equal(second.lo, [-0.129289109, -0.499999896, -0.499999896, -0.5, -0.5])
    np.testing.assert_array_equal(second.hi, [0.700434925, -0.11140846, -0.499204121, 0.5, 0.5])
    expected = [([list(e(j) - e(0))], [0.0]) for j in (1, 2, 3, 4)]
    assert rows(first) == expected and rows(second) == expected


@needs_vnn
@pytest.mark.parametrize(("k", "n_sets", "n_rows"), [(5, 4, 1), (7, 2, 3), (8, 3, 2), (9, 4, 1), (10, 4, 1)])
def test_acas_disjunctive_properties_have_one_box_and_n_output_sets(k, n_sets, n_rows):
    case = only_case(read_vnnlib(VNN / "acasxu" / f"prop_{k}.vnnlib"))
    assert [o.C.shape[0] for o in case.outputs] == [n_rows] * n_sets


@needs_vnn
@pytest.mark.parametrize("name", ["test_nano", "test_prop", "test_small", "test_tiny"])
def test_the_test_category_files_parse(name):
    spec = read_vnnlib(VNN / "test" / f"{name}.vnnlib")
    assert spec.cases and all(np.all(c.lo <= c.hi) for c in spec.cases)


@needs_vnn
def test_test_nano_and_test_small_by_hand():
    nano = only_case(read_vnnlib(VNN / "test" / "test_nano.vnnlib"))
    assert (nano.lo.tolist(), nano.hi.tolist(), rows(nano)) == ([-1.0], [1.0], [([[1.0]], [-1.0])])
    small = only_case(read_vnnlib(VNN / "test" / "test_small.vnnlib"))
    assert (small.lo.tolist(), small.hi.tolist(), rows(small)) == ([-1.0], [1.0], [([[-1.0]], [-100.0])])


# ---- hand-made texts ----------------------------------------------------------------------------


def test_nested_and_or_distributes_and_groups_by_input_box():
    spec = parse_vnnlib(
        DECL2
        + "(assert (>= X_0 0)) (assert (<= X_0 1)) (assert (>= X_1 0)) (assert (<= X_1 1))\n"
        + "(assert (and (or (<= Y_0 1) (<= Y_1 2)) (or (>= Y_0 3) (and (<= X_0 0.5) (>= Y_1 4)))))"
    )
    # (a | b) & (c | (x & d)) = a&c | a&x&d | b&c | b&x&d; x shrinks the box, so two cases.
    a, b = ([[1.0, 0.0]], [1.0]), ([[0.0, 1.0]], [2.0])
    c, d = ([[-1.0, 0.0]], [-3.0]), ([[0.0, -1.0]], [-4.0])
    wide, narrow = spec.cases
    assert (wide.lo.tolist(), wide.hi.tolist()) == ([0.0, 0.0], [1.0, 1.0])
    assert (narrow.lo.tolist(), narrow.hi.tolist()) == ([0.0, 0.0], [0.5, 1.0])
    join = [(p[0] + q[0], p[1] + q[1]) for p, q in [(a, c), (b, c)]]
    assert rows(wide) == join
    assert rows(narrow) == [(p[0] + q[0], p[1] + q[1]) for p, q in [(a, d), (b, d)]]


def test_strict_inequalities_read_as_non_strict():
    strict = parse_vnnlib(DECL + "(assert (> X_0 0)) (assert (< X_0 1)) (assert (< Y_0 2))")
    loose = parse_vnnlib(DECL + "(assert (>= X_0 0)) (assert (<= X_0 1)) (assert (<= Y_0 2))")
    s, l = only_case(strict), only_case(loose)
    assert (s.lo.tolist(), s.hi.tolist(), rows(s)) == (l.lo.tolist(), l.hi.tolist(), rows(l))
    assert s.violated_by([1.0], [2.0])  # on the strict boundary: counted as satisfying


@pytest.mark.parametrize(
    ("atom", "C", "d"),
    [
        ("(<= (* -1.0 Y_0) 2)", [-1.0, 0.0], 2.0),
        ("(<= (* Y_1 2) 3)", [0.0, 2.0], 3.0),
        ("(<= (* 2 3 Y_0) 1)", [6.0, 0.0], 1.0),
        ("(>= (+ Y_0 Y_1) 1)", [-1.0, -1.0], -1.0),
        ("(<= (- Y_0) 0.5)", [-1.0, 0.0], 0.5),
        ("(<= (- Y_0 Y_1 1) 0)", [1.0, -1.0], 1.0),
        ("(<= Y_1 Y_0)", [-1.0, 1.0], 0.0),
        ("(>= Y_0 0.5)", [-1.0, 0.0], -0.5),
        ("(<= 0.5 Y_0)", [-1.0, 0.0], -0.5),
        ("(<= (+ Y_0 1) (- 2))", [1.0, 0.0], -3.0),
        ("(<= Y_0 1.5e+2)", [1.0, 0.0], 150.0),
        ("(<= (* 2 (+ Y_0 (* 0.5 Y_1))) (- 1))", [2.0, 1.0], -1.0),
    ],
)
def test_linear_output_terms(atom, C, d):
    box = "(assert (>= X_0 0)) (assert (<= X_0 1)) (assert (>= X_1 0)) (assert (<= X_1 1))\n"
    case = only_case(parse_vnnlib(DECL2 + box + f"(assert {atom})"))
    assert rows(case) == [([C], [d])]


@pytest.mark.parametrize(
    ("atoms", "lo", "hi"),
    [
        ("(<= 0.5 X_0) (>= 2 X_0)", 0.5, 2.0),
        ("(>= X_0 (- 0.5)) (<= X_0 -0.25)", -0.5, -0.25),
        ("(>= X_0 -2.5E-4) (<= X_0 1e-3)", -2.5e-4, 1e-3),
        ("(>= X_0 .5) (<= (* 2 X_0) 3)", 0.5, 1.5),
        ("(>= X_0 0) (>= X_0 0.25) (<= X_0 2) (<= X_0 1)", 0.25, 1.0),  # the tightest bounds win
        ("(>= (- X_0) -4) (<= (- X_0) -3)", 3.0, 4.0),
    ],
)
def test_input_box_bounds(atoms, lo, hi):
    case = only_case(parse_vnnlib(DECL + f"(assert (and {atoms}))"))
    assert (case.lo.tolist(), case.hi.tolist()) == ([lo], [hi])


def test_comments_and_whitespace_anywhere():
    text = """; header (with parens) ; and more
(declare-const X_0 Real) ; trailing
(declare-const
   Y_0    Real)
; (assert (<= X_0 100))
(assert (<= X_0 ; mid-form comment
            1))
\t(assert (>= X_0 0))(assert (<= Y_0 0)) ;"""
    case = only_case(parse_vnnlib(text))
    assert (case.lo.tolist(), case.hi.tolist(), rows(case)) == ([0.0], [1.0], [([[1.0]], [0.0])])


def test_smt_housekeeping_commands_are_ignored():
    text = "(set-logic QF_LRA)\n" + DECL + BOX + "(assert (<= Y_0 0))\n(check-sat)\n(get-model)\n"
    spec = parse_vnnlib(text)
    assert rows(only_case(spec)) == [([[1.0]], [0.0])]


def test_a_conjunct_without_output_atoms_is_always_true():
    text = "(assert (or (and (>= X_0 0) (<= X_0 1)) (and (>= X_0 2) (<= X_0 3) (<= Y_0 0))))"
    spec = parse_vnnlib(DECL + text)
    free, bound = spec.cases
    [out] = free.outputs
    assert out.C.shape == (0, 1) and out.d.shape == (0,)
    assert rows(bound) == [([[1.0]], [0.0])]


def test_an_empty_box_is_dropped():
    text = "(assert (or (and (>= X_0 0) (<= X_0 1) (<= Y_0 0)) (and (>= X_0 2) (<= X_0 1))))"
    spec = parse_vnnlib(DECL + text)
    assert only_case(spec).hi.tolist() == [1.0]
    assert parse_vnnlib(DECL + "(assert (>= X_0 2)) (assert (<= X_0 1))").cases == ()


def test_same_output_set_twice_in_a_box_is_listed_once():
    text = DECL2 + "(assert (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1)))\n"
    text += "(assert (or (and (<= Y_0 1) (<= Y_1 1)) (and (<= Y_1 1) (<= Y_0 1)) (<= Y_0 1)))"
    assert [o.C.shape[0] for o in only_case(parse_vnnlib(text)).outputs] == [2, 1]


def test_arrays_are_read_only():
    case = only_case(parse_vnnlib(DECL + BOX + "(assert (<= Y_0 0))"))
    with pytest.raises(ValueError):
        case.lo[0] = 5.0
    with pytest.raises(ValueError):
        case.outputs[0].C[0, 0] = 5.0


# ---- errors -------------------------------------------------------------------------------------


def test_error_is_a_value_error_with_line_and_text():
    with pytest.raises(ValueError) as info:
        parse_vnnlib(DECL + "(assert (<= Z_0 1))")
    assert isinstance(info.value, VnnlibError)
    assert (info.value.line, info.value.text, info.value.path) == (3, "Z_0", None)


def test_unclosed_paren_names_the_line_it_opens_on():
    msg = error(DECL + "(assert (<= X_0 1)\n(assert (>= X_0 0))\n")
    assert "line 3" in msg and "never closed" in msg and "(assert (<= X_0 1)" in msg and "q.vnnlib" in msg


def test_stray_close_paren():
    msg = error(DECL + BOX + "\n(assert (<= Y_0 0)))")
    assert "line 6" in msg and "closes nothing" in msg


def test_unknown_and_undeclared_variables():
    msg = error(DECL + BOX + "(assert (<= X_1 2))")
    assert "line 5" in msg and "unknown variable 'X_1'" in msg and "(assert" not in msg
    assert "unknown variable 'Y_0'" in error("(declare-const X_0 Real)\n(assert (<= Y_0 2))")  # used before


def test_bad_declarations():
    assert "X_i (inputs) or Y_j" in error("(declare-const Z_0 Real)")
    assert "X_i (inputs) or Y_j" in error("(declare-const X_01 Real)")
    assert "only sort Real" in error("(declare-const X_0 Int)")
    msg = error(DECL + "(declare-const X_0 Real)")
    assert "line 3" in msg and "declared twice" in msg


def test_non_contiguous_declarations_name_the_gap():
    msg = error("(declare-const X_0 Real)\n(declare-const X_2 Real)\n(declare-const Y_0 Real)\n")
    assert "line 2" in msg and "X_1 is not declared" in msg and "(declare-const X_2 Real)" in msg
    msg = error("(declare-const X_0 Real)\n(declare-const Y_1 Real)\n")
    assert "Y_0 is not declared" in msg
    assert "no Y_i variable is declared" in error("(declare-const X_0 Real)\n(assert (<= X_0 1))")


def test_nonlinear_terms():
    msg = error(DECL2 + "(assert (<= (* Y_0 Y_1) 1))")
    assert "line 5" in msg and "non-linear" in msg and "(* Y_0 Y_1)" in msg
    assert "unsupported term '/'" in error(DECL + "(assert (<= (/ Y_0 2) 1))")


def test_mixed_and_multi_input_atoms_are_not_box_constraints():
    msg = error(DECL + "(assert (<= X_0 Y_0))")
    assert "line 3" in msg and "mixes inputs and outputs" in msg and "only box constraints" in msg
    assert "(<= X_0 Y_0)" in msg
    msg = error(DECL2 + "(assert (<= (+ X_0 X_1) 1))")
    assert "relates several inputs" in msg and "only box constraints on inputs are supported" in msg


def test_unbounded_inputs_name_the_variable():
    msg = error(DECL2 + "(assert (>= X_0 0)) (assert (<= X_0 1))\n(assert (>= X_1 0))\n(assert (<= Y_0 0))")
    assert "line 2" in msg and "X_1 has no upper bound" in msg and "(declare-const X_1 Real)" in msg
    msg = error(DECL + "(assert (or (and (>= X_0 0) (<= X_0 1)) (<= X_0 3)))")
    assert "X_0 has no lower bound" in msg  # bounded in one case only


def test_unsupported_commands_and_formulas():
    msg = error(DECL + "(declare-fun f () Real)")
    assert "line 3" in msg and "unsupported command" in msg and "(declare-fun f () Real)" in msg
    assert "unsupported command" in error("(push 1)")
    assert "unsupported command" in error("X_0")
    assert "unsupported formula 'not'" in error(DECL + "(assert (not (<= Y_0 1)))")
    assert "unsupported formula '='" in error(DECL + "(assert (= Y_0 1))")
    assert "takes exactly two operands" in error(DECL + "(assert (<= Y_0 1 2))")
    assert "needs at least one operand" in error(DECL + "(assert (or))")
    assert "exactly one formula" in error(DECL + "(assert (<= Y_0 1) (<= Y_0 2))")
    assert "without variables" in error(DECL + "(assert (<= 1 2))")
    assert "expected a formula" in error(DECL + "(assert Y_0)")


def test_dnf_blow_up_is_refused_quickly():
    n = math.ceil(math.log2(MAX_CASES)) + 1
    ors = " ".join(f"(or (<= Y_0 {k}) (>= Y_0 {k}))" for k in range(n))
    assert "exceeds 100000 cases" in error(DECL + BOX + f"(assert (and {ors}))")
    asserts = "\n".join(f"(assert (or (<= Y_0 {k}) (>= Y_0 {k})))" for k in range(n))
    msg = error(DECL + BOX + asserts)
    assert f"line {5 + n - 2}" in msg and "exceeds 100000 cases" in msg


# ---- counterexamples ----------------------------------------------------------------------------


def test_violated_by_checks_box_then_any_output_set():
    text = DECL2 + "(assert (and (>= X_0 0) (<= X_0 1) (>= X_1 -1) (<= X_1 1)))\n"
    case = only_case(parse_vnnlib(text + "(assert (or (and (<= Y_0 Y_1) (<= Y_1 2)) (>= Y_0 10)))"))
    assert case.violated_by([0.5, 0.0], [1.0, 2.0])  # first set
    assert not case.violated_by([0.5, 0.0], [1.0, 2.5])  # Y_1 > 2, Y_0 < 10
    assert case.violated_by([0.5, 0.0], [10.0, 0.0])  # second set
    assert not case.violated_by([1.5, 0.0], [1.0, 2.0])  # outside the box
    assert not case.violated_by([np.nan, 0.0], [1.0, 2.0]) and not case.violated_by([0.5, 0.0], [np.nan, 0])
    assert not case.violated_by([1.0 + 1e-9, 0.0], [1.0, 2.0])
    assert case.violated_by([1.0 + 1e-9, 0.0], [1.0, 2.0], tol=1e-8)
    assert case.violated_by(np.array([[0.5, 0.0]]), np.array([[1.0, 2.0 + 1e-9]]), tol=1e-8)  # any shape
    with pytest.raises(ValueError, match="x has 3 values"):
        case.violated_by([0.0, 0.0, 0.0], [0.0, 0.0])


def test_violated_by_with_unconstrained_outputs_is_box_membership():
    spec = parse_vnnlib(DECL + BOX)
    case = only_case(spec)
    assert case.violated_by([0.3], [1e300]) and spec.violated_by([0.3], [-5.0])
    assert not spec.violated_by([1.3], [0.0])
    assert OutputConstraint(np.zeros((0, 1)), np.zeros(0)).satisfied_by(np.array([7.0]))


@needs_vnn
def test_violated_by_on_acas_prop_1():
    spec = read_vnnlib(VNN / "acasxu" / "prop_1.vnnlib")
    x = (spec.cases[0].lo + spec.cases[0].hi) / 2
    assert spec.violated_by(x, [3.991125645861615, 0, 0, 0, 0])
    assert not spec.violated_by(x, [3.99, 9, 9, 9, 9])


def test_format_counterexample_text():
    text = format_counterexample(np.array([0.5, -1e-07]), np.array([3.0, 2.0 / 3.0], np.float32))
    assert text == "((X_0 0.5)\n(X_1 -1e-07)\n(Y_0 3.0)\n(Y_1 0.6666666865348816))"
    with pytest.raises(ValueError, match="finite"):
        format_counterexample([np.nan], [0.0])


def test_format_counterexample_reads_back_as_vnn_comp_checks_it():
    x, y = np.array([0.1, -2.5e-8, 3.0]), np.array([1 / 3, -7.0])
    content = format_counterexample(x, y).replace("\n", " ").strip()  # as VNN-COMP's checker reads it
    assert content[0] == "(" and content[-1] == ")"
    values = {}
    for part in filter(None, (p.strip() for p in content[1:-1].split(")"))):
        name, num = part[1:].split(" ")
        values[name] = float(num)
    assert values == {"X_0": 0.1, "X_1": -2.5e-8, "X_2": 3.0, "Y_0": 1 / 3, "Y_1": -7.0}


# ---- round trip through a writer ----------------------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
coefficient = st.sampled_from([0.0, 1.0, -1.0, 0.5, -2.25]) | finite


def write_vnnlib(lo, hi, output_sets, forms) -> str:
    """Print boxes and output row sets as VNN-LIB, varying how each atom is written."""
    n, m = len(lo), len(output_sets[0][0][0])
    lines = [f"(declare-const {v} Real)" for v in [f"X_{i}" for i in range(n)] + [f"Y_{j}" for j in range(m)]]
    lower = ["(>= X_{i} {v!r})", "(<= {v!r} X_{i})", "(> X_{i} {v!r})"]
    upper = ["(<= X_{i} {v!r})", "(>= {v!r} X_{i})", "(< X_{i} {v!r})"]
    for i in range(n):
        lines.append("(assert " + lower[forms[i] % 3].format(i=i, v=float(lo[i])) + ")")
        lines.append("(assert " + upper[forms[i] // 3 % 3].format(i=i, v=float(hi[i])) + ")")
    sets = []
    for C, d in output_sets:
        atoms = []
        for row, rhs in zip(C, d, strict=True):
            terms = " ".join(f"(* {float(c)!r} Y_{j})" for j, c in enumerate(row))
            atoms.append(f"(<= (+ {terms}) {float(rhs)!r}) ; row\n")
        sets.append("(and " + " ".join(atoms) + ")")
    lines.append("(assert (or\n  " + "\n  ".join(sets) + "))")
    return "\n".join(lines)


@st.composite
def specs(draw):
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    a = draw(st.lists(finite, min_size=n, max_size=n))
    b = draw(st.lists(finite, min_size=n, max_size=n))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    row = st.lists(coefficient, min_size=m, max_size=m).filter(lambda r: any(c != 0.0 for c in r))
    one_set = st.lists(st.tuples(row.map(tuple), finite), min_size=1, max_size=3, unique=True)
    sets = draw(st.lists(one_set, min_size=1, max_size=3, unique_by=lambda s: frozenset(s)))
    output_sets = [(np.array([r for r, _ in s]), np.array([d for _, d in s])) for s in sets]
    return lo, hi, output_sets, draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))


@settings(max_examples=60, deadline=None)
@given(specs())
def test_written_specs_parse_back_exactly(drawn):
    lo, hi, output_sets, forms = drawn
    spec = parse_vnnlib(write_vnnlib(lo, hi, output_sets, forms))
    case = only_case(spec)
    assert (spec.n_inputs, spec.n_outputs) == (len(lo), output_sets[0][0].shape[1])
    np.testing.assert_array_equal(case.lo, lo)
    np.testing.assert_array_equal(case.hi, hi)
    assert len(case.outputs) == len(output_sets)
    for got, (C, d) in zip(case.outputs, output_sets, strict=True):
        np.testing.assert_allclose(got.C, C, rtol=0, atol=0)
        np.testing.assert_allclose(got.d, d, rtol=0, atol=0)
