"""Control flow unrolled at import (If with a known condition, Loop with a known trip count, Scan over a
static length), against onnxruntime; and the clear errors when a condition is only known at run time."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx_cases import check, make

import axiom
from axiom.frontends.onnx import OnnxUnsupportedError, from_onnx
from axiom.ir.errors import UnsupportedError

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def _vi(name, elem, shape):  # noqa: ANN001, ANN202
    return helper.make_tensor_value_info(name, elem, shape)


def _branch(name: str, op: str) -> object:
    """A branch reading the outer ``x``: y = op(x)."""
    out = "y_" + name
    return helper.make_graph([helper.make_node(op, ["x"], [out])], name, [], [_vi(out, F, [3])])


@pytest.mark.parametrize("flag,want", [(True, np.exp), (False, np.negative)])
def test_if_with_a_constant_condition_keeps_one_branch(flag, want) -> None:  # noqa: ANN001
    node = helper.make_node("If", ["c"], ["y"], then_branch=_branch("then", "Exp"),
                            else_branch=_branch("else", "Neg"))
    model = make([node], [("x", F, [3])], [("y", F, [3])], inits=[("c", np.array(flag))])
    graph = check(model, np.array([0.5, -1.0, 2.0], np.float32))
    assert [n.op.name for n in graph.nodes] == ["exp" if flag else "neg"]
    np.testing.assert_allclose(axiom.compile(model, backend="numpy")(np.ones(3, np.float32)),
                               want(np.ones(3, np.float32)), rtol=1e-6)


def test_if_on_a_graph_input_compiles_per_value() -> None:
    node = helper.make_node("If", ["c"], ["y"], then_branch=_branch("then", "Exp"),
                            else_branch=_branch("else", "Neg"))
    model = make([node], [("x", F, [3]), ("c", B, [])], [("y", F, [3])])
    exe = axiom.compile(model, backend="numpy")
    x = np.array([0.5, -1.0, 2.0], np.float32)
    np.testing.assert_allclose(exe(x, np.array(True)), np.exp(x), rtol=1e-6)
    np.testing.assert_allclose(exe(x, np.array(False)), -x, rtol=1e-6)
    assert exe.specialized_on == ["c"] and exe.variants == 2


def _loop_body() -> object:
    """(i, cond, acc) -> (cond, acc + x * i, acc as a scan output); reads the outer x."""
    nodes = [helper.make_node("Cast", ["i"], ["fi"], to=F),
             helper.make_node("Mul", ["x", "fi"], ["xi"]),
             helper.make_node("Add", ["acc", "xi"], ["acc_out"]),
             helper.make_node("Identity", ["cond"], ["cond_out"]),
             helper.make_node("Identity", ["acc"], ["scan"])]
    return helper.make_graph(nodes, "body", [_vi("i", I64, []), _vi("cond", B, []), _vi("acc", F, [2])],
                             [_vi("cond_out", B, []), _vi("acc_out", F, [2]), _vi("scan", F, [2])])


def test_loop_with_a_trip_count_unrolls_and_stacks_scan_outputs() -> None:
    node = helper.make_node("Loop", ["n", "", "a0"], ["acc", "scans"], body=_loop_body())
    model = make([node], [("x", F, [2]), ("a0", F, [2])], [("acc", F, [2]), ("scans", F, [4, 2])],
                 opset=13, inits=[("n", np.array(4, np.int64))])
    x, a0 = np.array([1.0, -2.0], np.float32), np.array([0.5, 0.5], np.float32)
    graph = check(model, x, a0)
    assert not any(n.op.name == "fused" for n in graph.nodes)
    assert str(graph.outputs[1].type) == "f32[4, 2]"


def test_loop_until_its_condition_turns_false() -> None:
    """cond_out = i < 2, known while importing: three iterations (i = 0, 1, 2)."""
    body = _loop_body()
    body.node[3].CopyFrom(helper.make_node("Less", ["i", "two"], ["cond_out"]))
    body.initializer.append(helper.make_tensor("two", I64, [], [2]))
    node = helper.make_node("Loop", ["", "t", "a0"], ["acc", "scans"], body=body)
    model = make([node], [("x", F, [2]), ("a0", F, [2])], [("acc", F, [2]), ("scans", F, [3, 2])],
                 opset=13, inits=[("t", np.array(True))])
    check(model, np.array([1.0, 3.0], np.float32), np.zeros(2, np.float32))


def test_loop_conditions_known_only_at_run_time_are_refused() -> None:
    body = _loop_body()
    body.node[3].CopyFrom(helper.make_node("ReduceSum", ["acc"], ["s"], keepdims=0))
    body.node.append(helper.make_node("Less", ["s", "ten"], ["cond_out"]))
    body.initializer.append(helper.make_tensor("ten", F, [], [10.0]))
    node = helper.make_node("Loop", ["n", "", "a0"], ["acc", "scans"], body=body)
    model = make([node], [("x", F, [2]), ("a0", F, [2])], [("acc", F, [2]), ("scans", F, [None, 2])],
                 opset=13, inits=[("n", np.array(5, np.int64))])
    with pytest.raises(UnsupportedError, match="loop condition is computed at run time"):
        from_onnx(model)


@pytest.mark.parametrize("reverse_in,reverse_out,out_axis", [(0, 0, 0), (1, 0, 1), (0, 1, -1)])
def test_scan_running_sum(reverse_in, reverse_out, out_axis) -> None:  # noqa: ANN001
    body = helper.make_graph([helper.make_node("Add", ["s", "xt"], ["s_out"]),
                              helper.make_node("Identity", ["s_out"], ["y"])], "body",
                             [_vi("s", F, [2]), _vi("xt", F, [2])], [_vi("s_out", F, [2]), _vi("y", F, [2])])
    node = helper.make_node("Scan", ["s0", "xs"], ["s", "ys"], body=body, num_scan_inputs=1,
                            scan_input_axes=[1], scan_input_directions=[reverse_in],
                            scan_output_directions=[reverse_out], scan_output_axes=[out_axis])
    ys_shape = [5, 2] if out_axis == 0 else [2, 5]
    model = make([node], [("s0", F, [2]), ("xs", F, [2, 5])], [("s", F, [2]), ("ys", F, ys_shape)], opset=16)
    xs = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    check(model, np.array([1.0, -1.0], np.float32), xs)


def test_unsupported_nodes_inside_subgraphs_are_listed_up_front() -> None:
    branch = helper.make_graph([helper.make_node("Unique", ["x"], ["u"])], "b", [], [_vi("u", F, None)])
    node = helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)
    model = make([node], [("x", F, [3])], [("y", F, None)], inits=[("c", np.array(True))])
    with pytest.raises(OnnxUnsupportedError, match="its subgraph has unsupported nodes: Unique"):
        from_onnx(model)
