"""ATen converters that move, select or create elements: views, permutes, expands, squeezes, concat
and split, slicing and indexing, padding, and the tensor factories (full, arange, ...).

Target shapes come from torch's traced result types, so ``view(x, [-1, 3])`` and
``view(x, [sym_size, 4])`` both become a reshape to symbolic dims."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import fx

from axiom.frontends.torch.aten_common import Ctx, aten, schema_args
from axiom.ir.dims import dim_eq
from axiom.ir.graph import Value
from axiom.ir.opdef import has_op
from axiom.ir.ops.shape import BIG


def _same_shape(a: Sequence, b: Sequence) -> bool:
    return len(a) == len(b) and all(dim_eq(x, y).proved for x, y in zip(a, b, strict=True))


@aten("view.default", "_unsafe_view.default", "reshape.default")
def _view(cx: Ctx) -> Value:
    x, shape = cx.tensor("self"), cx.out_shape()
    return x if _same_shape(x.shape, shape) else cx.b.reshape(x, shape=shape)


@aten("expand.default")
def _expand(cx: Ctx) -> Value:
    x, shape = cx.tensor("self"), cx.out_shape()
    return x if _same_shape(x.shape, shape) else cx.b.expand(x, shape=shape)


@aten("permute.default")
def _permute(cx: Ctx) -> Value:
    x = cx.tensor("self")
    perm = [d % x.rank for d in cx.arg("dims")] if x.rank else []
    return x if perm == sorted(perm) else cx.b.transpose(x, perm=perm)


@aten("t.default")
def _t(cx: Ctx) -> Value:
    x = cx.tensor("self")
    return x if x.rank < 2 else cx.b.transpose(x, perm=[1, 0])


@aten("transpose.int")
def _transpose(cx: Ctx) -> Value:
    x = cx.tensor("self")
    if x.rank < 2:
        return x
    perm = list(range(x.rank))
    a, b = cx.arg("dim0") % x.rank, cx.arg("dim1") % x.rank
    perm[a], perm[b] = perm[b], perm[a]
    return cx.b.transpose(x, perm=perm)


@aten("unsqueeze.default")
def _unsqueeze(cx: Ctx) -> Value:
    x = cx.tensor("self")
    return cx.b.unsqueeze(x, axes=[cx.arg("dim") % (x.rank + 1)])


@aten("squeeze.default", "squeeze.dim", "squeeze.dims")
def _squeeze(cx: Ctx) -> Value:
    """torch drops only the listed axes that are 1 (others are left alone, silently)."""
    x, dims = cx.tensor("self"), cx.raw.get("dim")
    picked = range(x.rank) if dims is None else [d % max(x.rank, 1) for d in
                                                 ([dims] if isinstance(dims, int) else dims)]
    axes = [a for a in picked if x.rank and isinstance(x.shape[a], int) and x.shape[a] == 1]
    return cx.b.squeeze(x, axes=axes) if axes else x


@aten("cat.default")
def _cat(cx: Ctx) -> Value:
    dt = cx.out_dtype()
    parts = [cx.as_dtype(t, dt) for t in cx.arg("tensors")]
    parts = [t for t in parts if not (t.rank == 1 and t.shape[0] == 0)] or parts  # torch skips empty 1-D
    return parts[0] if len(parts) == 1 else cx.b.concat(*parts, axis=cx.arg("dim"))


def _static_sizes(node: fx.Node) -> str | None:
    val = node.meta.get("val")
    dim = schema_args(node)["dim"]
    if all(isinstance(t.shape[dim], int) for t in val):
        return None
    return "a split into pieces of dynamic size"


@aten("split_with_sizes.default", "split.Tensor", check=_static_sizes)
def _split(cx: Ctx) -> Sequence[Value]:
    x, dim = cx.tensor("self"), cx.arg("dim")
    sizes = [int(t.shape[dim]) for t in cx.meta()]
    out = cx.b.split(x, axis=dim, sizes=sizes)
    return [out] if isinstance(out, Value) else list(out)


def _bound(cx: Ctx, v: object, size: object, default: int) -> int:
    """A slice bound as an int; a symbolic one must be the axis size itself (then: the end)."""
    if v is None:
        return default
    if isinstance(v, int):
        return BIG if v >= BIG else -BIG if v <= -BIG else v
    if dim_eq(v, size).proved:
        return BIG
    raise cx.unsupported(f"a slice bound {v} that depends on a dynamic size; hint: slice to the end "
                         "(x[a:]) or make that dim static")


@aten("slice.Tensor")
def _slice(cx: Ctx) -> Value:
    x = cx.tensor("self")
    dim = cx.arg("dim") % x.rank
    start = _bound(cx, cx.arg("start"), x.shape[dim], 0)
    end = _bound(cx, cx.arg("end"), x.shape[dim], BIG)
    step = cx.arg("step") or 1
    if start == 0 and end == BIG and step == 1:
        return x
    return cx.b.slice(x, starts=[start], ends=[end], axes=[dim], steps=[step])


@aten("select.int")
def _select(cx: Ctx) -> Value:
    index = cx.arg("index")
    if not isinstance(index, int):
        raise cx.unsupported(f"a dynamic index {index}")
    return cx.b.gather(cx.tensor("self"), cx.b.constant(np.array(index, np.int64)), axis=cx.arg("dim"))


@aten("index_select.default")
def _index_select(cx: Ctx) -> Value:
    return cx.b.gather(cx.tensor("self"), cx.tensor("index"), axis=cx.arg("dim"))


def _index_check(node: fx.Node) -> str | None:
    picked = [i for i in schema_args(node)["indices"] if i is not None]
    if len(picked) != 1:
        return "indexing with several index tensors (only x[..., idx] with one is supported)"
    if "int" not in str(picked[0].meta["val"].dtype):
        return "indexing with a boolean mask (data-dependent shape)"
    return None


@aten("index.Tensor", check=_index_check)
def _index(cx: Ctx) -> Value:
    """``x[:, :, idx]``: one integer index tensor after full slices is a gather on its axis."""
    indices = cx.arg("indices")
    axis = next(i for i, v in enumerate(indices) if v is not None)
    return cx.b.gather(cx.tensor("self"), indices[axis], axis=axis)


def _pads_check(node: fx.Node) -> str | None:
    return None if min(schema_args(node)["pad"], default=0) >= 0 else "negative padding (cropping)"


@aten("constant_pad_nd.default", check=_pads_check)
def _constant_pad(cx: Ctx) -> Value:
    x, pad = cx.tensor("self"), list(cx.arg("pad"))
    begins, ends = [0] * x.rank, [0] * x.rank
    for i in range(len(pad) // 2):  # torch lists (begin, end) pairs from the last axis backwards
        begins[x.rank - 1 - i], ends[x.rank - 1 - i] = pad[2 * i], pad[2 * i + 1]
    return cx.b.pad(x, pads=begins + ends, value=float(cx.arg("value") or 0.0))


# ---- factories --------------------------------------------------------------------------------
def _filled(cx: Ctx, fill: object) -> Value:
    """A tensor of the traced result's type, every element ``fill``: a constant, or a broadcast
    scalar when the shape is symbolic."""
    dt, shape = cx.out_dtype(), cx.out_shape()
    if isinstance(fill, Value):
        raise cx.unsupported("a fill value computed at run time")
    if all(isinstance(d, int) for d in shape):
        return cx.b.constant(np.full(shape, fill).astype(dt.np_dtype))
    one = cx.b.constant(np.full([1] * len(shape), fill).astype(dt.np_dtype))
    return cx.b.expand(one, shape=shape)


@aten("full.default", "full_like.default")
def _full(cx: Ctx) -> Value:
    return _filled(cx, cx.arg("fill_value"))


@aten("zeros.default", "zeros_like.default")
def _zeros(cx: Ctx) -> Value:
    return _filled(cx, 0)


@aten("ones.default", "ones_like.default")
def _ones(cx: Ctx) -> Value:
    return _filled(cx, 1)


@aten("scalar_tensor.default")
def _scalar_tensor(cx: Ctx) -> Value:
    return cx.scalar(cx.arg("s"), cx.out_dtype())


@aten("arange.default", "arange.start", "arange.start_step")
def _arange(cx: Ctx) -> Value:
    dt = cx.out_dtype()
    start, end, step = cx.raw.get("start", 0) or 0, cx.arg("end"), cx.raw.get("step", 1) or 1
    if not (isinstance(start, (int, float)) and isinstance(step, (int, float))):
        raise cx.unsupported("a dynamic start or step")
    if isinstance(end, (int, float)):
        return cx.b.constant(np.arange(start, end, step).astype(dt.np_dtype))
    if not has_op("cumsum"):
        raise cx.unsupported("an arange of dynamic length needs the IR's cumsum op")
    (length,) = cx.out_shape()
    ones = cx.b.expand(cx.b.constant(np.ones(1, dt.np_dtype)), shape=[length])
    counts = cx.b.cumsum(ones, axis=0, exclusive=True)  # 0, 1, 2, ...
    if step != 1:
        counts = cx.b.mul(counts, cx.scalar(step, dt))
    return counts if start == 0 else cx.b.add(counts, cx.scalar(start, dt))

