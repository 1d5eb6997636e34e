"""const: a value read from the graph's constant table (weights, literals)."""

from __future__ import annotations

from axiom.ir.errors import ShapeError
from axiom.ir.opdef import AttrSpec
from axiom.ir.ops.common import defop


def _infer(inputs, attrs):  # noqa: ANN001, ANN202
    raise ShapeError("const: the result type comes from the constant table, give it explicitly")


def _reference(inputs, attrs):  # noqa: ANN001, ANN202
    raise ShapeError("const is evaluated by reading the graph's constant table")


defop("const", _infer, _reference, inputs=(0, 0),
      attrs={"name": AttrSpec("str", doc="key in Graph.constants")},
      traits=("explicit_type", "constant"),
      doc="A tensor read from the graph's constant table by name.")
