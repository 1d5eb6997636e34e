"""Import-time folding of shape computations: Shape/Size and the small integer ops fed by them
(Gather, Unsqueeze, Concat, Slice, ...) are evaluated while importing, so that a torch-style
``x.view(x.size(0), -1)`` becomes a constant target shape. Symbolic dims stay sympy expressions
(an object array), which Reshape, Expand and ConstantOfShape accept as dims."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
import sympy

from axiom.frontends.onnx.ops_common import ONNX_DTYPES, attr_of
from axiom.ir.dims import Dim, as_dim, dim_product
from axiom.ir.errors import UnsupportedError

SOURCES = ("Shape", "Size")
FOLDABLE = ("Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast", "Add", "Sub", "Mul", "Div",
            "Identity", "Reshape")


def foldable_names(model: onnx.ModelProto, constant: set[str]) -> set[str]:
    """Outputs of Shape/Size nodes and of FOLDABLE nodes whose inputs are all constants or such
    outputs, at least one of them shape-derived (pure constant chains keep their converters)."""
    folded: set[str] = set()
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            continue
        ins = [i for i in node.input if i]
        derived = node.op_type in SOURCES or (
            node.op_type in FOLDABLE and any(i in folded for i in ins)
            and all(i in folded or i in constant for i in ins))
        if derived:
            folded.update(o for o in node.output if o)
    return folded


def _normal(arr: np.ndarray) -> np.ndarray:
    """int64 when every entry is a plain integer, else an object array of dims."""
    if arr.dtype != object:
        return arr
    flat = [as_dim(sympy.sympify(v)) if isinstance(v, sympy.Basic) else v for v in arr.reshape(-1)]
    if all(isinstance(v, (int, np.integer)) for v in flat):
        return np.asarray(flat, np.int64).reshape(arr.shape)
    out = np.empty(len(flat), object)
    out[:] = flat
    return out.reshape(arr.shape)


def _ints(arr: np.ndarray | None, what: str) -> list[int]:
    if arr is None:
        return []
    if arr.dtype == object:
        raise UnsupportedError(f"{what} must be static integers, got {arr.tolist()}")
    return [int(v) for v in arr.reshape(-1)]


def _axes(node: onnx.NodeProto, opset: int, since: int, data: list[np.ndarray | None]) -> list[int]:
    if opset < since:
        return list(attr_of(node, "axes", []))
    return _ints(data[1] if len(data) > 1 else None, "axes")


def _slice(node: onnx.NodeProto, opset: int, data: list[np.ndarray | None]) -> np.ndarray:
    x = data[0]
    if opset < 10:
        starts, ends = list(attr_of(node, "starts")), list(attr_of(node, "ends"))
        axes, steps = list(attr_of(node, "axes", range(len(starts)))), [1] * len(starts)
    else:
        starts, ends = _ints(data[1], "starts"), _ints(data[2], "ends")
        axes = _ints(data[3], "axes") if len(data) > 3 and data[3] is not None else list(range(len(starts)))
        steps = _ints(data[4], "steps") if len(data) > 4 and data[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for axis, s, e, k in zip(axes, starts, ends, steps, strict=True):
        index[axis] = slice(s, e, k)  # numpy clamps like ONNX for the ints a shape holds
    return x[tuple(index)]


def _divide(a: object, b: object) -> object:
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        return int(a / b) if b else 0  # ONNX integer division truncates
    return sympy.floor(sympy.sympify(a) / sympy.sympify(b))  # dims are >= 0: floor is truncation


def _cast(node: onnx.NodeProto, x: np.ndarray) -> np.ndarray:
    to = ONNX_DTYPES.get(attr_of(node, "to"))
    if to is None:
        raise UnsupportedError(f"cannot cast shape data to element type {attr_of(node, 'to')}")
    if x.dtype == object:
        if not to.is_int:
            raise UnsupportedError(f"cannot cast the symbolic shape {x.tolist()} to {to}")
        return x
    return x.astype(to.np_dtype)


def _eval(node: onnx.NodeProto, opset: int, data: list[np.ndarray | None],
          shape_of: Callable[[str], tuple[Dim, ...]]) -> list[np.ndarray]:
    op = node.op_type
    if op == "Shape":
        shape = list(shape_of(node.input[0]))
        start, end = attr_of(node, "start", 0), attr_of(node, "end", None)
        return [np.asarray(shape[start:end], object)]
    if op == "Size":
        return [np.asarray(dim_product(shape_of(node.input[0])), object)]
    x = data[0]
    assert x is not None
    if op == "Gather":
        return [np.take(x, np.asarray(data[1]).astype(np.int64), axis=attr_of(node, "axis", 0))]
    if op == "Unsqueeze":
        axes = _axes(node, opset, 13, data)
        rank = x.ndim + len(axes)
        return [np.expand_dims(x, tuple(sorted(a % rank for a in axes)))]
    if op == "Squeeze":
        axes = _axes(node, opset, 13, data)
        return [np.squeeze(x, tuple(a % x.ndim for a in axes)) if axes else np.squeeze(x)]
    if op == "Concat":
        return [np.concatenate([np.asarray(d) for d in data], axis=attr_of(node, "axis"))]
    if op == "Slice":
        return [_slice(node, opset, data)]
    if op == "Cast":
        return [_cast(node, x)]
    if op == "Identity":
        return [x]
    if op == "Reshape":
        return [x.reshape(_ints(data[1], "the shape of a Reshape of shape data"))]
    y = data[1]
    assert y is not None
    fn = np.vectorize(_divide, otypes=[object]) if op == "Div" else {"Add": np.add, "Sub": np.subtract,
                                                                   "Mul": np.multiply}[op]
    out = np.asarray(fn(x.astype(object), y.astype(object)), object)
    return [out if object in (x.dtype, y.dtype) else out.astype(np.result_type(x, y))]

def fold_node(node: onnx.NodeProto, opset: int, data_of: Callable[[str], np.ndarray | None],
              shape_of: Callable[[str], tuple[Dim, ...]]) -> list[np.ndarray]:
    """The outputs of a foldable node, evaluated from its inputs' data (and, for Shape/Size, the
    type of its input); UnsupportedError naming the node when a step needs static values."""
    data = [data_of(i) if i else None for i in node.input]
    try:
        return [_normal(np.asarray(v)) for v in _eval(node, opset, data, shape_of)]
    except UnsupportedError as exc:
        raise UnsupportedError(f"ONNX {node.op_type} (opset {opset}) at node '{node.name}': folding "
                               f"shape data: {exc}") from None
