"""fused: a region op whose body (a Graph) computes its results from its operands.

The fuse pass makes fusion groups explicit with it; backends may emit one kernel per region,
and the interpreter runs the body. Its types come from the body, not from a type rule.
"""

from __future__ import annotations

from axiom.ir.errors import ShapeError
from axiom.ir.opdef import AttrSpec
from axiom.ir.ops.common import defop


def _infer(inputs, attrs):  # noqa: ANN001, ANN202
    raise ShapeError("fused: the result types are the body's outputs; build the node with its region")


def _reference(inputs, attrs):  # noqa: ANN001, ANN202
    raise ShapeError("fused is evaluated by running its body")


defop("fused", _infer, _reference, inputs=(1, None), results=lambda attrs: 0,
      attrs={"kind": AttrSpec("str", "", doc="what the group is, e.g. 'matmul+add+relu'")},
      traits=("region",),
      doc="A fusion group: its body graph maps the operands to the results (one kernel in a backend).")
