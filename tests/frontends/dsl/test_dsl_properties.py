"""ensure/prove record PropertyDecls (kind, name, args, params, loc) in graph.properties, unchecked."""
# ruff: noqa: F821  (dims such as "N" in Tensor[...] are names, not forward references)

from pathlib import Path

import pytest

from axiom.frontends.dsl import (
    Dense,
    Softmax,
    Tensor,
    TraceError,
    bounded,
    ensure,
    finite,
    in_box,
    model,
    nonnegative,
    ops,
    prove,
    valid_probabilities,
)
from axiom.ir import ShapeError, f32

SOURCE = Path(__file__).read_text().splitlines()


def line_of(marker):
    [line] = [i + 1 for i, text in enumerate(SOURCE) if text.rstrip().endswith(marker)]
    return line


def test_properties_are_recorded_in_order_with_locations():
    @model
    def m(x: Tensor[f32, "N", 4]):
        logits = x | Dense(4, 3)
        probs = ops.softmax(logits)
        ensure(valid_probabilities(probs, axis=1))  # @p-valid
        ensure(finite(logits))  # @p-finite
        prove(bounded(probs, 0, 1), given=in_box(x, -1.0, 1.0))  # @p-bounded
        prove(nonnegative(ops.relu(logits)))  # @p-nonneg
        return probs

    props = m.graph.properties
    assert [(p.kind, p.name) for p in props] == [("ensure", "valid_probabilities"), ("ensure", "finite"),
                                                 ("prove", "bounded"), ("prove", "nonnegative")]
    assert dict(props[0].params) == {"axis": 1}
    assert dict(props[1].params) == {}
    assert dict(props[2].params) == {"lo": 0.0, "hi": 1.0, "given_input": "x", "given_lo": -1.0,
                                     "given_hi": 1.0}
    assert props[0].args == m.graph.outputs
    assert props[3].args[0].producer.op.name == "relu"
    lines = [line_of(f"# @p-{k}") for k in ("valid", "finite", "bounded", "nonneg")]
    assert [p.loc.line for p in props] == lines
    assert all(p.loc.file.endswith("test_dsl_properties.py") for p in props)


def test_properties_survive_graph_copy():
    @model
    def m(x: Tensor[f32, "N", 4]):
        p = x | Softmax()
        ensure(valid_probabilities(p))
        return p

    g = m.to_graph()
    [p] = g.properties
    assert p.args == g.outputs and p.args[0] is not m.graph.outputs[0]


def test_property_misuse_is_reported():
    with pytest.raises(ShapeError, match="axis 2 is out of range"):
        @model
        def axis(x: Tensor[f32, "N", 4]):
            ensure(valid_probabilities(x, axis=2))
            return x
    with pytest.raises(ShapeError, match="not a model input"):
        @model
        def region(x: Tensor[f32, "N", 4]):
            prove(finite(x), given=in_box(x * 2, 0, 1))
            return x
    with pytest.raises(ShapeError, match="lo .* is above hi"):
        @model
        def order(x: Tensor[f32, "N", 4]):
            ensure(bounded(x, 1, 0))
            return x
    with pytest.raises(TraceError, match="takes a property"):
        @model
        def raw(x: Tensor[f32, "N", 4]):
            ensure(x)
            return x
    with pytest.raises(TraceError, match="takes a traced Tensor"):
        finite(1.0)
