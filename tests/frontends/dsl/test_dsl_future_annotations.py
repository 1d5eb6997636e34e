"""A model module using ``from __future__ import annotations``: string annotations are evaluated."""
# ruff: noqa: F821, UP037  (dims such as "N" in Tensor[...] are names, not forward references)

from __future__ import annotations

import numpy as np
import pytest

from axiom.frontends.dsl import Dense, ReLU, Tensor, TraceError, model
from axiom.ir import f32


def test_string_annotations_are_evaluated():
    @model
    def m(x: Tensor[f32, "N", 3]) -> Tensor[f32, "N", 2]:
        return x | Dense(3, 2)

    assert [str(t) for t in m.input_types] == ["f32[N, 3]"]
    assert m(np.ones((4, 3), np.float32)).shape == (4, 2)


def test_unresolvable_annotation_is_a_trace_error():
    with pytest.raises(TraceError, match="cannot read the signature of m"):
        @model
        def m(x: Tensor[f32, "N", WIDTH]):
            return x


def test_reversed_pipe_is_explained():
    with pytest.raises(TypeError, match="left to right"):
        @model
        def m(x: Tensor[f32, "N", 3]):
            return ReLU() | x
