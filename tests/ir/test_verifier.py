"""The verifier: clean graphs pass; graphs broken by hand report each problem with its check
name and the printed IR lines around it, all problems at once."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_graphs import graphs

from axiom.ir import Attrs, Builder, Graph, Loc, PropertyDecl, TensorType, Value, VerifyError, sym, verify
from axiom.ir.dtypes import f32, i32
from axiom.ir.verifier import find_problems

N = sym("N")


def chain() -> tuple[Graph, list[Value]]:
    """x -> relu -> exp -> neg, plus a const c[3] the graph does not use."""
    g = Graph("g")
    x = g.add_input("x", TensorType(f32, [N, 3]))
    b = Builder(g)
    b.constant(np.float32([1, 2, 3]), name="c")
    r = b.relu(x)
    e = b.exp(r)
    n = b.neg(e)
    g.set_outputs([n])
    return g, [x, r, e, n]


def problems(g: Graph) -> list[str]:
    with pytest.raises(VerifyError) as info:
        verify(g)
    return str(info.value).splitlines()


def test_clean_graphs_pass() -> None:
    g, _ = chain()
    verify(g)
    assert find_problems(g) == []


def test_wrong_result_type_quotes_the_node_with_context() -> None:
    g, (_, r, e, _) = chain()
    e.type = TensorType(f32, [N, 4])
    assert problems(g) == [
        "graph @g failed verification (2 problems):",
        "[types] %2 has type f32[N, 4] but exp infers f32[N, 3] from its operands now",
        "    3 |   %1 = relu(%x) : f32[N, 3]",
        "  > 4 |   %2 = exp(%1) : f32[N, 4]",
        "    5 |   %3 = neg(%2) : f32[N, 3]",
        "[types] %3 has type f32[N, 3] but neg infers f32[N, 4] from its operands now",
        "    4 |   %2 = exp(%1) : f32[N, 4]",
        "  > 5 |   %3 = neg(%2) : f32[N, 3]",
        "    6 |   return %3",
    ]


def test_use_before_definition() -> None:
    g, _ = chain()
    g.nodes[2], g.nodes[3] = g.nodes[3], g.nodes[2]  # exp now comes after its user neg
    lines = problems(g)
    assert lines[1] == "[ssa] operand 0 of neg (%3) is used before it is defined (on line 5)"
    assert lines[3] == "  > 4 |   %2 = neg(%3) : f32[N, 3]"


def test_dangling_and_missing_uses() -> None:
    g, (x, r, e, n) = chain()
    g.nodes.remove(n.producer)  # removed without dropping its operands: e's use list dangles
    g.set_outputs([e])
    r.uses.clear()  # exp reads r, but r no longer lists it
    lines = problems(g)
    assert "[uses] %2 lists a use by a neg node that is not in the graph (a dangling use)" in lines
    assert "[uses] operand 0 of exp (%1) is missing from %1's use list" in lines


def test_const_shape_mismatch() -> None:
    g, _ = chain()
    g.constants["c"] = np.zeros((2, 2), np.float32)
    lines = problems(g)
    assert lines[1] == "[types] const %0 is typed f32[3] but constant 'c' holds f32[2, 2]"
    assert lines[3] == '  > 2 |   %0 = const {name = "c"} : f32[3]'


def test_const_without_data_is_fine() -> None:
    g, _ = chain()
    del g.constants["c"]
    verify(g)


def test_values_from_elsewhere_and_bad_properties() -> None:
    g, (x, _, _, n) = chain()
    other, _ = chain()
    foreign = other.outputs[0]
    g.nodes[-1].set_input(0, foreign)
    g.properties.append(PropertyDecl("assume", "finite", [foreign], Attrs({}), Loc("m.py", 7)))
    g.set_outputs([n, foreign])
    lines = problems(g)
    assert lines[0] == "graph @g failed verification (4 problems):"
    checks = [line for line in lines if line.startswith("[")]
    assert checks == [
        "[ssa] operand 0 of neg (%4) is not a value of this graph (defined in no node and no input)",
        "[properties] property kind 'assume' is neither 'ensure' nor 'prove'",
        "[properties] argument 0 of assume finite (%4) is not a value of this graph",
        "[outputs] output 1 (%4) is not a value of this graph",
    ]


def test_invalid_attributes_and_duplicate_definitions() -> None:
    g, (x, r, _, _) = chain()
    b = Builder(g, before=g.nodes[2])
    leaky = b.op("leaky_relu", x)
    leaky.producer.attrs = Attrs({"alpha": "big"})
    g.nodes.append(g.nodes[1])  # relu listed twice
    lines = problems(g)
    assert "[attrs] leaky_relu: attribute 'alpha' expects float, got 'big' (not a number)" in lines
    assert "[ssa] the relu node appears twice in the node list" in lines
    assert "[ssa] %1 is defined more than once" in lines


def test_unprintable_attribute_values_are_shown_and_reported() -> None:
    g, (x, _, _, _) = chain()
    leaky = Builder(g, before=g.nodes[2]).op("leaky_relu", x)
    leaky.producer.attrs = Attrs({"alpha": frozenset({1})})
    lines = problems(g)
    assert lines[1].startswith("[attrs] leaky_relu: attribute 'alpha' expects float, got frozenset({1})")
    assert lines[3] == "  > 4 |   %2 = leaky_relu(%x) {alpha = <frozenset frozenset({1})>} : f32[N, 3]"


def test_unresolved_attributes_are_reported() -> None:
    g = Graph("sq")
    x = g.add_input("x", TensorType(f32, [1, N, 1]))
    y = Builder(g).op("squeeze", x)
    g.set_outputs([y])
    verify(g)
    y.producer.attrs = Attrs({"axes": None})  # what the builder resolved to (0, 2)
    assert problems(g)[1] == ("[attrs] squeeze: attributes are not resolved for these operands; "
                              "expected {'axes': (0, 2)}, got {'axes': None}")


def test_rule_failure_is_reported_not_raised() -> None:
    g, (_, r, _, _) = chain()
    r.type = TensorType(i32, [N, 3])
    checks = [line for line in problems(g) if line.startswith("[")]
    assert checks == ["[types] %1 has type i32[N, 3] but relu infers f32[N, 3] from its operands now",
                      "[types] the type rule of exp fails on these operands: exp: expects a float tensor, "
                      "got i32[N, 3]"]


def test_problems_are_listed_on_the_error() -> None:
    g, (_, _, e, _) = chain()
    e.type = TensorType(f32, [N, 4])
    with pytest.raises(VerifyError) as info:
        verify(g)
    assert [(p.check, p.line) for p in info.value.problems] == [("types", 3), ("types", 4)]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(max_nodes=5), st.data())
def test_random_graphs_verify_and_a_retyped_result_is_caught(g: Graph, data: st.DataObject) -> None:
    verify(g)
    ops = [n for n in g.nodes if n.op.name != "const"]
    if not ops:
        return
    node = data.draw(st.sampled_from(ops))
    r = data.draw(st.sampled_from(node.results))
    wrong = TensorType(r.type.dtype, [*r.type.shape, 7])
    r.type = wrong
    want = f"has type {wrong} but {node.op.name} infers"
    assert any(p.check == "types" and want in p.message for p in find_problems(g))
