"""Graph, Node and Value: use-lists stay right through every mutation helper, copies are
independent, the Builder inserts where it is told, and shape errors carry the node's location."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axiom.backends.numpy import run_graph
from axiom.ir import (
    AxiomError,
    Builder,
    Graph,
    Loc,
    Node,
    PropertyDecl,
    ShapeError,
    TensorType,
    Value,
    get_op,
    sym,
)
from axiom.ir.errors import AttributeError_
from axiom.ir.opdef import Attrs

N = sym("N")
F3 = TensorType("f32", [N, 3])


def uses_are_consistent(g: Graph) -> None:
    """Every value's use-list is exactly the (node, operand index) pairs that read it."""
    expected: dict[int, list[tuple[int, int]]] = {}
    for n in g.nodes:
        for i, v in enumerate(n.inputs):
            expected.setdefault(id(v), []).append((id(n), i))
    for v in g.values():
        assert sorted((id(n), i) for n, i in v.uses) == sorted(expected.get(id(v), [])), v


def small_graph() -> tuple[Graph, Value, Node, Node, Node]:
    """x -> relu -> exp; add(relu, exp) is the output."""
    g = Graph("g")
    x = g.add_input("x", F3)
    r = g.append(Node("relu", [x]))
    e = g.append(Node("exp", [r.result]))
    a = g.append(Node("add", [r.result, e.result]))
    g.set_outputs([a.result])
    return g, x, r, e, a


# ---- use-lists --------------------------------------------------------------------------
def test_node_construction_records_uses():
    g, x, r, e, a = small_graph()
    assert x.uses == [(r, 0)]
    assert r.result.uses == [(e, 0), (a, 0)]
    assert r.result.users == [e, a]
    uses_are_consistent(g)


def test_a_value_used_twice_by_one_node_is_listed_twice_and_one_user():
    g = Graph("g")
    x = g.add_input("x", F3)
    m = g.append(Node("mul", [x, x]))
    assert x.uses == [(m, 0), (m, 1)] and x.users == [m]
    g.replace_all_uses(x, g.add_input("y", F3))
    assert x.uses == [] and m.inputs[0] is m.inputs[1] is g.inputs[1]
    uses_are_consistent(g)


def test_replace_all_uses_moves_nodes_outputs_and_properties():
    g, x, r, e, a = small_graph()
    g.properties.append(PropertyDecl("ensure", "finite", [r.result], Attrs({})))
    g.set_outputs([a.result, r.result])
    s = g.insert_after(r, Node("sigmoid", [x]))
    g.replace_all_uses(r.result, s.result)
    assert r.result.uses == []
    assert e.inputs == [s.result] and a.inputs[0] is s.result
    assert g.outputs == [a.result, s.result]
    assert g.properties[0].args == [s.result]
    uses_are_consistent(g)
    g.replace_all_uses(s.result, s.result)  # a no-op
    uses_are_consistent(g)


def test_set_input_and_drop_inputs():
    g, x, r, e, a = small_graph()
    a.set_input(1, x)
    assert e.result.uses == [] and (a, 1) in x.uses
    uses_are_consistent(g)
    g.erase(e)
    uses_are_consistent(g)
    assert [n.op.name for n in g.nodes] == ["relu", "add"]


# ---- erase ------------------------------------------------------------------------------
def test_erase_of_a_used_node_raises_and_changes_nothing():
    g, x, r, e, a = small_graph()
    with pytest.raises(AxiomError, match="cannot erase relu"):
        g.erase(r)
    with pytest.raises(AxiomError, match="cannot erase add"):
        g.erase(a)  # an output
    assert len(g) == 3
    uses_are_consistent(g)


def test_erase_of_a_value_a_property_reads_raises():
    g, x, r, e, a = small_graph()
    s = g.append(Node("sigmoid", [a.result]))
    g.properties.append(PropertyDecl("ensure", "finite", [s.result], Attrs({})))
    with pytest.raises(AxiomError, match="cannot erase sigmoid"):
        g.erase(s)
    assert g.nodes[-1] is s
    uses_are_consistent(g)


def test_erase_of_a_node_from_another_graph_leaves_both_intact():
    g, x, r, e, a = small_graph()
    h = Graph("h")
    stray = Node("neg", [x])
    h.append(stray)
    with pytest.raises(AxiomError, match="not in graph @g"):
        g.erase(stray)
    assert stray.inputs == [x] and (stray, 0) in x.uses


def test_erase_dead_chain_back_to_front():
    g, x, r, e, a = small_graph()
    dead1 = g.append(Node("neg", [x]))
    dead2 = g.append(Node("abs", [dead1.result]))
    g.erase(dead2)
    g.erase(dead1)
    assert [n.op.name for n in g.nodes] == ["relu", "exp", "add"]
    assert x.uses == [(r, 0)]
    uses_are_consistent(g)


# ---- insertion and order ----------------------------------------------------------------
def test_insert_before_and_after_place_the_node():
    g, x, r, e, a = small_graph()
    n1 = g.insert_before(r, Node("neg", [x]))
    n2 = g.insert_after(e, Node("abs", [x]))
    assert [n.op.name for n in g.nodes] == ["neg", "relu", "exp", "abs", "add"]
    assert g.nodes[0] is n1 and g.nodes[3] is n2
    with pytest.raises(AxiomError, match="not in graph"):
        g.insert_before(Node("neg", [x]), Node("neg", [x]))
    assert list(g) == g.nodes and len(g) == 5


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["before", "after"]), st.integers(0, 50)), max_size=8))
def test_random_insertions_keep_order_and_uses(edits):
    g, x, r, e, a = small_graph()
    for where, k in edits:
        anchor = g.nodes[k % len(g.nodes)]
        node = Node("neg", [x])
        (g.insert_before if where == "before" else g.insert_after)(anchor, node)
        assert g.nodes.index(node) == g.nodes.index(anchor) + (-1 if where == "before" else 1)
    assert len(g) == 3 + len(edits)
    assert len(x.uses) == 1 + len(edits)
    uses_are_consistent(g)


# ---- copy -------------------------------------------------------------------------------
def test_copy_is_independent():
    g, x, r, e, a = small_graph()
    w = g.add_constant(np.ones(3, np.float32), "w", before=a)
    g.properties.append(PropertyDecl("ensure", "finite", [a.result], Attrs({}), Loc("m.py", 3)))
    h = g.copy()
    assert [n.op for n in h.nodes] == [n.op for n in g.nodes]
    assert not ({id(v) for v in h.values()} & {id(v) for v in g.values()})
    assert h.properties[0].args == h.outputs and h.properties[0].loc == Loc("m.py", 3)
    uses_are_consistent(h)
    # Mutating the copy leaves the original alone.
    hx = h.inputs[0]
    h.replace_all_uses(h.nodes[0].result, hx)
    h.erase(h.nodes[0])
    h.constants["extra"] = np.zeros(1)
    assert [n.op.name for n in g.nodes] == ["relu", "exp", "const", "add"]
    assert "extra" not in g.constants and x.uses == [(r, 0)]
    uses_are_consistent(g)
    assert h.constants["w"] is g.constants["w"]  # arrays are shared, the table is not
    assert w.producer.attrs.name == "w"
    a_in = np.array([[-1.0, 0.5, 2.0]], np.float32)
    np.testing.assert_allclose(run_graph(g, [a_in])[0], np.maximum(a_in, 0) + np.exp(np.maximum(a_in, 0)))
    np.testing.assert_allclose(run_graph(h, [a_in])[0], a_in + np.exp(a_in))


# ---- Builder ----------------------------------------------------------------------------
def test_builder_appends_inserts_and_names_ops():
    g = Graph("b")
    x = g.add_input("x", F3)
    b = Builder(g, loc=Loc("model.py", 7))
    y = b.relu(x)
    z = b.op("leaky_relu", y, alpha=0.2)
    assert isinstance(y, Value) and y.type == F3
    assert z.producer.attrs.alpha == 0.2 and z.producer.loc == Loc("model.py", 7)
    c = b.constant([1.0, 2.0, 3.0], dtype=np.float32)
    assert c.type == TensorType("f32", [3]) and g.constant_of(c).tolist() == [1.0, 2.0, 3.0]
    first, second = b.split(z, axis=1, sizes=[1, 2])
    assert (first.type, second.type) == (TensorType("f32", [N, 1]), TensorType("f32", [N, 2]))
    early = Builder(g, before=g.nodes[1]).neg(x)
    assert g.nodes[1] is early.producer
    assert [n.op.name for n in g.nodes] == ["relu", "neg", "leaky_relu", "const", "split"]
    with pytest.raises(AttributeError):
        b.no_such_op(x)
    with pytest.raises(AttributeError):
        b._private  # noqa: B018
    uses_are_consistent(g)


def test_builder_constants_get_fresh_names():
    g = Graph("c")
    b = Builder(g)
    v1, v2 = b.constant(np.zeros(2), "w"), b.constant(np.ones(2), "w")
    assert (v1.producer.attrs.name, v2.producer.attrs.name) == ("w", "w_1")
    del g.constants["w_1"]
    assert g.missing_constants() == ["w_1"]


# ---- types and errors at construction ---------------------------------------------------
def test_node_shape_errors_carry_the_location_and_operand_types():
    g = Graph("e")
    x = g.add_input("x", TensorType("f32", [N, 3]))
    y = g.add_input("y", TensorType("f32", [4, 5]))
    with pytest.raises(ShapeError) as info:
        Builder(g, loc=Loc("model.py", 12, "fc1")).add(x, y)
    text = str(info.value)
    assert "add: shapes [N, 3] and [4, 5] do not broadcast" in text
    assert "(at fc1 @ model.py:12)" in text
    assert "operand types: (f32[N, 3], f32[4, 5])" in text
    with pytest.raises(AttributeError_, match="leaky_relu: attribute 'alpha' expects float.*model.py:3"):
        Node("leaky_relu", [x], {"alpha": "big"}, Loc("model.py", 3))
    with pytest.raises(ShapeError, match="takes 2 inputs, got 1"):
        Node("add", [x])
    assert g.nodes == [] and x.uses == []


def test_explicit_types_and_declared_types():
    x = Value(F3, name="x")
    with pytest.raises(ShapeError, match="const needs its result type given"):
        Node("const", [], {"name": "w"})
    with pytest.raises(ShapeError, match="declared type f32\\[N, 4\\] but the op infers f32\\[N, 3\\]"):
        Node("relu", [x], result_types=[TensorType("f32", [N, 4])], loc=Loc("m.py", 2))
    n = Node("relu", [x], result_types=[F3], result_names=["r"])
    assert n.result.name == "r" and n.result.index == 0 and n.result.producer is n


def test_multi_result_nodes():
    x = Value(TensorType("f32", [6]), name="x")
    n = Node("split", [x], {"sizes": [2, 4]})
    assert [r.index for r in n.results] == [0, 1]
    with pytest.raises(AxiomError, match="split has 2 results; use .results"):
        _ = n.result
    assert get_op("split") is n.op


def test_graph_inputs_and_values():
    g, x, r, e, a = small_graph()
    with pytest.raises(AxiomError, match="already has an input %x"):
        g.add_input("x", F3)
    assert [v.name for v in g.inputs] == ["x"] and x.index == 0 and x.producer is None
    assert list(g.values()) == [x, r.result, e.result, a.result]
    assert (x.dtype.name, x.shape, x.rank) == ("f32", (N, 3), 2)
    assert "3 nodes" in repr(g)


@pytest.mark.parametrize("loc", [Loc("m.py", 12), Loc("m.py", 12, "fc1"), Loc(None, None, "fc1"),
                                 Loc("dir/m.py", 1, "a.b"), Loc("m.py", None, "x")])
def test_loc_text_round_trip(loc):
    assert Loc.parse(str(loc)) == loc


def test_replace_all_uses_can_exclude_the_new_producer():
    from axiom.ir import Builder, Graph, TensorType

    g = Graph("wrap")
    x = g.add_input("x", TensorType("f32", [3]))
    b = Builder(g)
    y = b.exp(x)
    g.set_outputs([y])
    wrapped = b.neg(y)
    g.replace_all_uses(y, wrapped, exclude=wrapped.producer)
    assert g.outputs == [wrapped]
    assert wrapped.producer.inputs == [y]
    assert y.uses == [(wrapped.producer, 0)]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(min_size=1, max_size=12).filter(lambda s: "\n" not in s and " @ " not in s
                                                                     and s.strip() == s and s != "?")),
       st.one_of(st.none(), st.integers(0, 10**6)),
       st.one_of(st.none(), st.text(max_size=12)))
def test_loc_text_round_trips(file, line, name):
    from axiom.ir import Loc

    loc = Loc(file, line, name)
    if loc == Loc():
        return
    assert Loc.parse(str(loc)) == loc
