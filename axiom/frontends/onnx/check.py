"""onnx.checker and onnx.shape_inference on a model without its bulk weight data.

Both onnx calls serialize the whole model to hand it to C++ (and inference parses the result back), which
for a model of tens of MB costs far more than the checks. They run instead on a skeleton: the model with
each large, plainly stored floating-point (or 8-bit) initializer replaced by a graph input of the same
element type and shape. Such a tensor is never the shape, axes or count data that inference reads (those
are int32/int64 and small), so inference infers the same types; the checker's checks of the tensor itself
(a name, one value field, a defined element type, the data size its shape needs) are made here before it
is left out -- a tensor that fails any of them stays in the skeleton, and the checker reports it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import onnx
from onnx import TensorProto, helper

# Element types that shape inference never reads as data, with their sizes in bytes.
BULK_TYPES = {TensorProto.FLOAT: 4, TensorProto.DOUBLE: 8, TensorProto.FLOAT16: 2, TensorProto.BFLOAT16: 2,
              TensorProto.INT8: 1, TensorProto.UINT8: 1}
MIN_BULK_ELEMENTS = 1024
_VALUE_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")


def infer_and_check(proto: onnx.ModelProto, in_place: bool = False) -> onnx.ModelProto:
    """``proto`` shape-inferred, once onnx.checker passes it: a new model, or ``proto`` itself filled in
    with ``in_place`` (which spares copying its initializers); raises what onnx raises (ValidationError,
    InferenceError), and then ``proto`` is unchanged."""
    bulk = bulk_initializers(proto)
    inferred = onnx.shape_inference.infer_shapes(_skeleton(proto, bulk), strict_mode=False)
    onnx.checker.check_model(inferred)
    if not bulk:
        return inferred
    del inferred.graph.input[len(proto.graph.input):]  # the stand-ins, appended after the model's own inputs
    if not in_place:
        copy = onnx.ModelProto()
        copy.CopyFrom(proto)
        proto = copy
    # The model's own initializers, everything else as inference left it.
    _replace_fields(inferred, proto, keep="graph")
    _replace_fields(inferred.graph, proto.graph, keep="initializer")
    return proto


def bulk_initializers(proto: onnx.ModelProto) -> set[str]:
    """The names of the main graph's initializers the checks may leave out: large, stored plainly in
    ``raw_data`` with exactly the bytes their shape needs, named uniquely and not graph inputs (none
    before IR version 4, where every initializer must also be a graph input)."""
    graph = proto.graph
    if proto.ir_version < 4:
        return set()
    names = Counter(t.name for t in graph.initializer)
    names.update(s.values.name for s in graph.sparse_initializer)
    inputs = {v.name for v in graph.input}
    return {t.name for t in graph.initializer
            if t.name and names[t.name] == 1 and t.name not in inputs and _plain_bulk(t)}


def _plain_bulk(t: TensorProto) -> bool:
    size = BULK_TYPES.get(t.data_type)
    if size is None or t.data_location == TensorProto.EXTERNAL or any(d < 0 for d in t.dims):
        return False
    count = 1
    for d in t.dims:
        count *= d
    if count < MIN_BULK_ELEMENTS or any(len(getattr(t, f)) for f in _VALUE_FIELDS):
        return False
    return len(t.raw_data) == count * size


def _skeleton(proto: onnx.ModelProto, bulk: set[str]) -> onnx.ModelProto:
    """``proto`` with the ``bulk`` initializers replaced by graph inputs of their type (appended), built
    without copying their data."""
    if not bulk:
        return proto
    skeleton = onnx.ModelProto()
    _copy_fields(proto, skeleton, skip="graph")
    graph = skeleton.graph
    _copy_fields(proto.graph, graph, skip="initializer")
    graph.initializer.extend(t for t in proto.graph.initializer if t.name not in bulk)
    graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, t.dims)
                       for t in proto.graph.initializer if t.name in bulk)
    return skeleton


def _replace_fields(source: Any, target: Any, keep: str) -> None:
    """Make every field of message ``target`` but ``keep`` that of ``source`` (of the same type)."""
    for field, _ in target.ListFields():
        if field.name != keep:
            target.ClearField(field.name)
    _copy_fields(source, target, skip=keep)


def _copy_fields(source: Any, target: Any, skip: str) -> None:
    """Copy every set field of message ``source`` but ``skip`` into ``target`` (of the same type)."""
    for field, value in source.ListFields():
        if field.name == skip:
            continue
        if hasattr(value, "extend"):  # a repeated field
            getattr(target, field.name).extend(value)
        elif field.message_type is not None:
            getattr(target, field.name).CopyFrom(value)
        else:
            setattr(target, field.name, value)
