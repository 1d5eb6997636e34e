"""Shape errors raised while tracing point at the user's file:line, name the op or layer and both shapes."""
# ruff: noqa: F821  (dims such as "N" in Tensor[...] are names, not forward references)

import os
from pathlib import Path

import pytest

from axiom.frontends.dsl import Conv2d, Dense, Embedding, LayerNorm, ReLU, Sequential, Tensor, model, ops
from axiom.frontends.dsl.locations import display_path
from axiom.ir import ShapeError, f32

HERE = os.path.relpath(__file__) if os.path.realpath(__file__).startswith(os.getcwd() + os.sep) \
    else os.path.basename(__file__)
SOURCE = Path(__file__).read_text().splitlines()


def line_of(marker):
    """The 1-based line of this file holding ``marker`` (a unique comment)."""
    [line] = [i + 1 for i, text in enumerate(SOURCE) if text.rstrip().endswith(marker)]
    return line


def test_display_path_is_relative_to_cwd():
    assert display_path(__file__) == HERE
    assert display_path("/definitely/elsewhere/model.py") == "model.py"


def test_dense_on_wrong_features_names_layer_shapes_and_line():
    with pytest.raises(ShapeError) as info:
        @model
        def bad(x: Tensor[f32, "N", 100]):
            return x | Dense(784, 10)  # @dense-mismatch

    msg = str(info.value)
    first = msg.splitlines()[0]
    assert first.startswith(f"{HERE}:{line_of('# @dense-mismatch')}: Dense(784, 10)")
    assert "in_features 784" in first and "f32[N, 100]" in first and "got 100" in first
    assert "return x | Dense(784, 10)" in msg.splitlines()[-1]


def test_layer_made_elsewhere_reports_both_lines():
    classifier = Sequential(Dense(3136, 128), ReLU())  # @made-here

    with pytest.raises(ShapeError) as info:
        @model
        def bad(x: Tensor[f32, "N", 3000]):
            return x | classifier  # @applied-here

    first = str(info.value).splitlines()[0]
    assert first.startswith(f"{HERE}:{line_of('# @applied-here')}: Dense(3136, 128)")
    assert f"layer made at {HERE}:{line_of('# @made-here')}" in first
    assert "f32[N, 3000]" in first


def test_op_shape_error_is_reraised_at_user_line_with_operand_types():
    with pytest.raises(ShapeError) as info:
        @model
        def bad(x: Tensor[f32, "N", 3], w: Tensor[f32, 4, 2]):
            h = ops.relu(x)
            return h @ w  # @matmul-mismatch

    msg = str(info.value)
    assert msg.startswith(f"{HERE}:{line_of('# @matmul-mismatch')}: matmul")
    assert "f32[N, 3]" in msg and "f32[4, 2]" in msg
    assert msg.rstrip().endswith("return h @ w  # @matmul-mismatch")


def test_broadcast_error_names_both_shapes():
    with pytest.raises(ShapeError) as info:
        @model
        def bad(x: Tensor[f32, "N", 3], y: Tensor[f32, "M", 3]):
            return x + y  # @broadcast

    msg = str(info.value)
    assert msg.startswith(f"{HERE}:{line_of('# @broadcast')}: add")
    assert "[N, 3]" in msg and "[M, 3]" in msg


@pytest.mark.parametrize("layer, spec, words", [
    (Conv2d(3, 8, 3), Tensor[f32, "N", 4, 8, 8], ["Conv2d(3, 8, 3)", "in_channels 3", "f32[N, 4, 8, 8]"]),
    (Conv2d(3, 8, 3), Tensor[f32, "N", 3, 8], ["rank-4", "f32[N, 3, 8]"]),
    (LayerNorm(6), Tensor[f32, "N", 5], ["LayerNorm(6)", "f32[N, 5]"]),
    (Embedding(10, 4), Tensor[f32, "N"], ["Embedding(10, 4)", "i32/i64", "f32[N]"]),
    (Dense(8, 2), Tensor[f32, "N", "K"], ["in_features 8", "cannot be proved", "f32[N, K]"]),
])
def test_layers_check_their_own_config(layer, spec, words):
    def fn(x):
        return layer(x)

    fn.__annotations__ = {"x": spec}
    with pytest.raises(ShapeError) as info:
        model(fn)
    msg = str(info.value)
    assert msg.startswith(f"{HERE}:")
    for w in words:
        assert w in msg


def test_every_node_and_param_gets_the_user_line():
    @model
    def m(x: Tensor[f32, "N", 4]):
        h = x | Dense(4, 4)  # @loc-dense
        return ops.softmax(h * 2.0)  # @loc-softmax

    lines = {n.op.name: n.loc for n in m.graph.nodes}
    assert lines["linear"].file == HERE and lines["linear"].line == line_of("# @loc-dense")
    assert lines["softmax"].line == line_of("# @loc-softmax")
    assert lines["mul"].line == line_of("# @loc-softmax")
    params = [n for n in m.graph.nodes if n.op.name == "const" and "." in n.attrs["name"]]
    assert {(n.loc.name, n.loc.line) for n in params} == {("dense_0.weight", line_of("# @loc-dense")),
                                                         ("dense_0.bias", line_of("# @loc-dense"))}


def test_bad_attribute_is_located_too():
    with pytest.raises(Exception) as info:
        @model
        def bad(x: Tensor[f32, "N", 4]):
            return ops.gelu(x, approximate=3)  # @bad-attr

    assert str(info.value).startswith(f"{HERE}:{line_of('# @bad-attr')}: gelu")
