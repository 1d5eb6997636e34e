"""Functional ops (``axiom.ops``): one thin wrapper per registered op, with friendly arguments.

Scalars mix with tensors (``add(x, 1)``); axes may be ints or sequences; conv and pool padding
may be an int, a pair, a (top, left, bottom, right) 4-tuple, or for conv2d "same"/"valid".
An op registered without a wrapper here is still reachable by name: ``ops.<name>(*xs, **attrs)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy

from axiom.frontends.dsl.tensor import Tensor, axes_attr
from axiom.frontends.dsl.trace import current_trace, trace_of
from axiom.ir.dims import Dim, as_dim, dim_product, dim_str
from axiom.ir.dtypes import DType, as_dtype
from axiom.ir.opdef import has_op


def _emit(op: str, *inputs: Any, like: DType | None = None, **attrs: Any) -> Any:
    return trace_of(*inputs).emit(op, *inputs, like=like, **attrs)


def _unary(name: str, doc: str) -> Callable[[Tensor], Tensor]:
    def fn(x: Tensor) -> Tensor:
        return _emit(name, x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _binary(name: str, doc: str) -> Callable[[Any, Any], Tensor]:
    def fn(x: Any, y: Any) -> Tensor:
        return _emit(name, x, y)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + " Broadcasts; a scalar operand takes the tensor's dtype."
    return fn


# ---- elementwise ------------------------------------------------------------------------
neg = _unary("neg", "-x.")
abs = _unary("abs", "|x|.")  # noqa: A001 - the op's name
exp = _unary("exp", "e ** x.")
log = _unary("log", "Natural logarithm.")
sqrt = _unary("sqrt", "Square root.")
rsqrt = _unary("rsqrt", "1 / sqrt(x).")
reciprocal = _unary("reciprocal", "1 / x.")
sin = _unary("sin", "Sine.")
cos = _unary("cos", "Cosine.")
tanh = _unary("tanh", "Hyperbolic tangent.")
erf = _unary("erf", "The error function.")
sigmoid = _unary("sigmoid", "1 / (1 + exp(-x)).")
relu = _unary("relu", "max(x, 0).")
softplus = _unary("softplus", "log(1 + exp(x)).")
logical_not = _unary("logical_not", "Boolean not.")

add = _binary("add", "x + y.")
sub = _binary("sub", "x - y.")
mul = _binary("mul", "x * y.")
div = _binary("div", "x / y (integers truncate toward zero).")
pow = _binary("pow", "x ** y (floats).")  # noqa: A001
maximum = _binary("maximum", "Elementwise max(x, y).")
minimum = _binary("minimum", "Elementwise min(x, y).")
equal = _binary("equal", "x == y, as bool.")
not_equal = _binary("not_equal", "x != y, as bool.")
less = _binary("less", "x < y, as bool.")
less_equal = _binary("less_equal", "x <= y, as bool.")
greater = _binary("greater", "x > y, as bool.")
greater_equal = _binary("greater_equal", "x >= y, as bool.")
logical_and = _binary("logical_and", "Boolean and.")
logical_or = _binary("logical_or", "Boolean or.")
logical_xor = _binary("logical_xor", "Boolean xor.")


def leaky_relu(x: Tensor, alpha: float = 0.01) -> Tensor:
    """x if x >= 0 else alpha * x."""
    return _emit("leaky_relu", x, alpha=alpha)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x): exact ("none", with erf) or the "tanh" approximation."""
    return _emit("gelu", x, approximate=approximate)


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """Clamp into [min, max]; a bound left None is open."""
    return _emit("clip", x, min=min, max=max)


def where(cond: Tensor, x: Any, y: Any) -> Tensor:
    """``cond ? x : y`` with broadcasting; a scalar branch takes the other branch's dtype, and two
    scalars give f32 if either is a float, bool if both are bools, else i64."""
    like = next((t.dtype for t in (x, y) if isinstance(t, Tensor)), None)
    if like is None:  # two Python scalars: their own kind decides, never the condition's bool
        from axiom.ir.dtypes import boolean, f32, i64

        scalars = (x, y)
        like = (f32 if any(isinstance(s, float) for s in scalars)
                else boolean if all(isinstance(s, bool) for s in scalars) else i64)
    return _emit("where", cond, x, y, like=like)


def cast(x: Tensor, dtype: DType | str) -> Tensor:
    """``x`` converted to ``dtype`` (float to int truncates toward zero and saturates)."""
    return _emit("cast", x, to=as_dtype(dtype))


def constant(value: Any, dtype: DType | str | None = None) -> Tensor:
    """A constant tensor (a scalar or an array) in the model being traced."""
    return current_trace().literal(value, as_dtype(dtype) if dtype is not None else None)


# ---- reductions -------------------------------------------------------------------------
def _reduction(name: str, doc: str) -> Callable[..., Tensor]:
    def fn(x: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return _emit(name, x, axes=axes_attr(axis), keepdims=keepdims)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + " over ``axis`` (an int, a sequence, or None for every axis)."
    return fn


sum = _reduction("sum", "Sum")  # noqa: A001
mean = _reduction("mean", "Mean (floats)")
max = _reduction("max", "Maximum")  # noqa: A001
min = _reduction("min", "Minimum")  # noqa: A001
prod = _reduction("prod", "Product")


def argmax(x: Tensor, axis: int, keepdims: bool = False, select_last_index: bool = False) -> Tensor:
    """Index of the largest element along ``axis``, as i64 (``axis`` is required: numpy and torch
    flatten without one, ONNX uses 0, so no default could be the one a reader expects)."""
    return _emit("argmax", x, axis=axis, keepdims=keepdims, select_last_index=select_last_index)


def argmin(x: Tensor, axis: int, keepdims: bool = False, select_last_index: bool = False) -> Tensor:
    """Index of the smallest element along ``axis``, as i64 (``axis`` is required, as for argmax)."""
    return _emit("argmin", x, axis=axis, keepdims=keepdims, select_last_index=select_last_index)


# ---- linear algebra ---------------------------------------------------------------------
def matmul(a: Any, b: Any) -> Tensor:
    """numpy matmul (1-D operands, broadcast batch dims)."""
    return _emit("matmul", a, b)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` with weight [out, in] (PyTorch's convention)."""
    return _emit("linear", x, weight, *([] if bias is None else [bias]))


# ---- neural-network ops -----------------------------------------------------------------
def pair(v: int | Sequence[int], what: str) -> tuple[int, int]:
    """An int or a pair as a pair of ints (height, width)."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    items = tuple(int(i) for i in v)
    if len(items) != 2:
        raise current_trace().error(f"{what} must be an int or a pair, got {v!r}")
    return items  # type: ignore[return-value]


def pads4(padding: int | Sequence[int], what: str = "padding") -> tuple[int, int, int, int]:
    """Padding as (top, left, bottom, right): an int, a (h, w) pair, or the 4-tuple itself."""
    if isinstance(padding, (int, np.integer)):
        p = int(padding)
        return p, p, p, p
    items = tuple(int(i) for i in padding)
    if len(items) == 2:
        return items[0], items[1], items[0], items[1]
    if len(items) == 4:
        return items  # type: ignore[return-value]
    raise current_trace().error(f"{what} must be an int, a (h, w) pair or a (top, left, bottom, right) "
                                f"4-tuple, got {padding!r}")


def conv_pads(padding: int | Sequence[int] | str, kernel: tuple[int, int], stride: tuple[int, int],
              dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """Conv padding; "valid" is none and "same" keeps the size (stride 1), the odd pixel at the end."""
    if not isinstance(padding, str):
        return pads4(padding)
    if padding == "valid":
        return 0, 0, 0, 0
    if padding != "same":
        raise current_trace().error(f"padding {padding!r} is unknown; use 'same', 'valid' or ints")
    if stride != (1, 1):
        raise current_trace().error(f"padding='same' needs stride 1, got stride {stride}")
    th, tw = (d * (k - 1) for d, k in zip(dilation, kernel, strict=True))
    return th // 2, tw // 2, th - th // 2, tw - tw // 2


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1,
           groups: int = 1) -> Tensor:
    """2-D convolution of NCHW ``x`` with OIHW ``weight`` (PyTorch's F.conv2d arguments)."""
    st, dl = pair(stride, "stride"), pair(dilation, "dilation")
    kernel = weight.shape[2:]
    if isinstance(padding, str) and not all(isinstance(k, int) for k in kernel):
        raise weight.trace.error(f"padding={padding!r} needs a static kernel size, got {weight.type}")
    pads = conv_pads(padding, tuple(kernel), st, dl)  # type: ignore[arg-type]
    return _emit("conv2d", x, weight, *([] if bias is None else [bias]), stride=st, padding=pads,
                 dilation=dl, groups=groups)


def max_pool2d(x: Tensor, kernel: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1,
               ceil_mode: bool = False) -> Tensor:
    """Max pooling over NCHW windows (stride defaults to the kernel; padding counts as -inf)."""
    return _emit("max_pool2d", x, kernel=pair(kernel, "kernel"),
                 stride=None if stride is None else pair(stride, "stride"), padding=pads4(padding),
                 dilation=pair(dilation, "dilation"), ceil_mode=ceil_mode)


def avg_pool2d(x: Tensor, kernel: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Average pooling; as in PyTorch, padded zeros count in the average unless told otherwise."""
    return _emit("avg_pool2d", x, kernel=pair(kernel, "kernel"),
                 stride=None if stride is None else pair(stride, "stride"), padding=pads4(padding),
                 ceil_mode=ceil_mode, count_include_pad=count_include_pad)


def global_avg_pool2d(x: Tensor) -> Tensor:
    """Mean over H and W of NCHW ``x``: [N, C, 1, 1]."""
    return _emit("global_avg_pool2d", x)


def batch_norm(x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, var: Tensor,
               epsilon: float = 1e-5) -> Tensor:
    """Inference batch norm over channel axis 1 with running ``mean`` and ``var``."""
    return _emit("batch_norm", x, scale, bias, mean, var, epsilon=epsilon)


def layer_norm(x: Tensor, scale: Tensor | None = None, bias: Tensor | None = None, axis: int = -1,
               epsilon: float = 1e-5) -> Tensor:
    """Normalise over axes ``axis``..last; ``scale``/``bias`` have shape x.shape[axis:]."""
    if bias is not None and scale is None:
        scale = constant(np.ones(tuple(int(d) for d in bias.shape)), bias.dtype)
    extra = [t for t in (scale, bias) if t is not None]
    return _emit("layer_norm", x, *extra, axis=axis, epsilon=epsilon)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis`` (numerically stable)."""
    return _emit("softmax", x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis`` (numerically stable)."""
    return _emit("log_softmax", x, axis=axis)


def dropout(x: Tensor, rate: float = 0.5) -> Tensor:
    """Identity at inference; the rate is kept for export."""
    if not 0.0 <= rate < 1.0:
        raise x.trace.error(f"dropout rate must be in [0, 1), got {rate}")
    return _emit("dropout", x, rate=rate)


# ---- shapes -----------------------------------------------------------------------------
def resolve_shape(x: Tensor, shape: Sequence[Any]) -> list[Dim]:
    """``shape`` with its one -1 (if any) replaced by what keeps the element count."""
    dims: list[Any] = [int(d) if isinstance(d, (int, np.integer)) else d for d in shape]
    holes = [i for i, d in enumerate(dims) if isinstance(d, int) and d == -1]
    if len(holes) > 1:
        raise x.trace.error(f"reshape of {x.type} to {list(shape)}: only one dim may be -1")
    try:
        known = [as_dim(d) for i, d in enumerate(dims) if i not in holes]
    except (ValueError, TypeError) as exc:
        raise x.trace.error(f"reshape of {x.type}: bad target shape {list(shape)} ({exc})") from None
    if not holes:
        return known
    rest = dim_product(known)
    missing = sympy.simplify(sympy.sympify(x.type.numel) / rest) if rest != 0 else None
    if missing is None or sympy.fraction(sympy.together(missing))[1] != 1:
        raise x.trace.error(f"reshape of {x.type}: cannot infer the -1 in {list(shape)}: "
                            f"{dim_str(x.type.numel)} elements do not divide by {dim_str(rest)}")
    known.insert(holes[0], as_dim(missing))
    return known


def reshape(x: Tensor, shape: Sequence[Any]) -> Tensor:
    """``x`` with a new shape of equal element count; one dim may be -1, dims may be symbolic."""
    return _emit("reshape", x, shape=resolve_shape(x, shape))


def transpose(x: Tensor, perm: Sequence[int] | None = None) -> Tensor:
    """Permute axes (None reverses them, as numpy does)."""
    return _emit("transpose", x, perm=None if perm is None else [int(p) for p in perm])


def flatten(x: Tensor, axis: int = 1) -> Tensor:
    """2-D [prod(shape[:axis]), prod(shape[axis:])]."""
    return _emit("flatten", x, axis=axis)


def squeeze(x: Tensor, axis: int | Sequence[int] | None = None) -> Tensor:
    """Drop size-1 axes (all statically-1 axes when ``axis`` is None)."""
    return _emit("squeeze", x, axes=axes_attr(axis))


def unsqueeze(x: Tensor, axis: int | Sequence[int]) -> Tensor:
    """Insert size-1 axes at ``axis`` (positions in the result)."""
    return _emit("unsqueeze", x, axes=axes_attr(axis))


def expand(x: Tensor, shape: Sequence[Any]) -> Tensor:
    """Broadcast ``x`` to ``shape``."""
    return _emit("expand", x, shape=list(shape))


def concat(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along ``axis``."""
    if not xs:
        raise current_trace().error("concat needs at least one tensor")
    return _emit("concat", *xs, axis=axis)


def split(x: Tensor, sizes: int | Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
    """Cut ``x`` along ``axis`` into pieces of ``sizes``, or into ``sizes`` equal parts (an int)."""
    if isinstance(sizes, (int, np.integer)):
        dim = x.shape[axis]
        if not isinstance(dim, int) or sizes <= 0 or dim % int(sizes):
            raise x.trace.error(f"split of {x.type} into {sizes} equal parts along axis {axis}: "
                                "the dim must be a static multiple; pass explicit sizes")
        sizes = [dim // int(sizes)] * int(sizes)
    parts = x.trace.emit("split", x, axis=axis, sizes=[int(s) for s in sizes])
    return parts if isinstance(parts, tuple) else (parts,)


def slice(x: Tensor, starts: Sequence[int], ends: Sequence[int], axes: Sequence[int] | None = None,  # noqa: A001
          steps: Sequence[int] | None = None) -> Tensor:
    """ONNX Slice: negative indices count from the end, out-of-range bounds clamp."""
    return _emit("slice", x, starts=list(starts), ends=list(ends),
                 axes=None if axes is None else list(axes), steps=None if steps is None else list(steps))


def gather(x: Tensor, indices: Tensor, axis: int = 0) -> Tensor:
    """Pick slices of ``x`` along ``axis`` at integer ``indices`` (negative indices wrap)."""
    return _emit("gather", x, indices, axis=axis)


def pad(x: Tensor, pads: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad with ONNX ``pads`` (all begins, then all ends); mode constant, reflect or edge."""
    return _emit("pad", x, pads=list(pads), mode=mode, value=value)


def __getattr__(name: str) -> Callable[..., Any]:
    """Any registered op without a wrapper above: ``ops.name(*tensors, **attrs)``."""
    if name.startswith("_") or not has_op(name) or name == "const":
        raise AttributeError(f"module 'axiom.ops' has no op {name!r}")

    def fn(*inputs: Any, **attrs: Any) -> Any:
        return _emit(name, *inputs, **attrs)

    fn.__name__ = fn.__qualname__ = name
    return fn


# ---- indexing ops (axiom/ir/ops/indexing.py) ------------------------------------------------
def gather_elements(x: Tensor, indices: Tensor, axis: int = 0) -> Tensor:
    """out[..i..] = x[..indices[..i..]..] along ``axis`` (ONNX GatherElements)."""
    return _emit("gather_elements", x, indices, axis=axis)


def scatter_elements(x: Tensor, indices: Tensor, updates: Any, axis: int = 0,
                     reduction: str = "none") -> Tensor:
    """``x`` with ``updates`` written (or combined: add, mul, max, min) at ``indices`` along ``axis``."""
    return _emit("scatter_elements", x, indices, updates, axis=axis, reduction=reduction)


def gather_nd(x: Tensor, indices: Tensor, batch_dims: int = 0) -> Tensor:
    """Slices of ``x`` at the index tuples in the last axis of ``indices`` (ONNX GatherND)."""
    return _emit("gather_nd", x, indices, batch_dims=batch_dims)


def scatter_nd(x: Tensor, indices: Tensor, updates: Any, reduction: str = "none") -> Tensor:
    """``x`` with slices of ``updates`` written (or combined) at the index tuples of ``indices``."""
    return _emit("scatter_nd", x, indices, updates, reduction=reduction)


def cumsum(x: Tensor, axis: int = 0, exclusive: bool = False, reverse: bool = False) -> Tensor:
    """Running sum along ``axis``."""
    return _emit("cumsum", x, axis=axis, exclusive=exclusive, reverse=reverse)


def cumprod(x: Tensor, axis: int = 0, exclusive: bool = False, reverse: bool = False) -> Tensor:
    """Running product along ``axis``."""
    return _emit("cumprod", x, axis=axis, exclusive=exclusive, reverse=reverse)


def topk(x: Tensor, k: int, axis: int = -1, largest: bool = True,
         sorted: bool = True) -> tuple[Tensor, Tensor]:  # noqa: A002
    """The ``k`` largest (or smallest) entries along ``axis`` and their i64 indices, sorted."""
    return _emit("topk", x, k=k, axis=axis, largest=largest, sorted=sorted)


def trilu(x: Tensor, upper: bool = True, k: int = 0) -> Tensor:
    """The upper (or lower) triangle of the last two axes from diagonal ``k`` on; zeros elsewhere."""
    return _emit("trilu", x, upper=upper, k=k)


# ---- spatial ops (axiom/ir/ops/resample.py, conv_transpose.py) ----------------------------------
def resize(x: Tensor, sizes: Sequence[Any], scales: Sequence[float] | None = None, mode: str = "nearest",
           coordinate_transformation_mode: str = "half_pixel", **attrs: Any) -> Tensor:
    """Resize ``x`` to ``sizes`` (ONNX Resize); ``scales`` default to output / input per static axis."""
    sizes = resolve_shape(x, sizes)
    if scales is None:
        scales = [1.0 if o == d else o / d for d, o in zip(x.shape, sizes, strict=True)]
    return _emit("resize", x, sizes=list(sizes), scales=[float(s) for s in scales], mode=mode,
                 coordinate_transformation_mode=coordinate_transformation_mode, **attrs)


def conv_transpose(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
                   padding: int | Sequence[int] = 0, output_padding: int | Sequence[int] = 0,
                   groups: int = 1, dilation: int | Sequence[int] = 1) -> Tensor:
    """Transposed convolution with PyTorch's F.conv_transposeNd arguments (padding crops both sides)."""
    d = len(x.shape) - 2

    def per_dim(v: int | Sequence[int]) -> list[int]:
        return [int(v)] * d if isinstance(v, (int, np.integer)) else [int(i) for i in v]

    pads = per_dim(padding)
    return _emit("conv_transpose", x, weight, *([] if bias is None else [bias]), stride=per_dim(stride),
                 padding=pads + pads, dilation=per_dim(dilation), output_padding=per_dim(output_padding),
                 groups=groups)


# ---- math ops (axiom/ir/ops/math_ops.py) --------------------------------------------------------
tan = _unary("tan", "Tangent.")
asin = _unary("asin", "Inverse sine.")
acos = _unary("acos", "Inverse cosine.")
atan = _unary("atan", "Inverse tangent.")
sinh = _unary("sinh", "Hyperbolic sine.")
cosh = _unary("cosh", "Hyperbolic cosine.")
asinh = _unary("asinh", "Inverse hyperbolic sine.")
acosh = _unary("acosh", "Inverse hyperbolic cosine.")
atanh = _unary("atanh", "Inverse hyperbolic tangent.")
floor = _unary("floor", "Largest integer <= x.")
ceil = _unary("ceil", "Smallest integer >= x.")
round = _unary("round", "Nearest integer; halves round to even.")  # noqa: A001 - the op's name
sign = _unary("sign", "-1, 0 or 1 by the sign of x.")
is_nan = _unary("is_nan", "x is NaN (bool).")
bitwise_not = _unary("bitwise_not", "Bitwise complement of an integer.")
bitwise_and = _binary("bitwise_and", "Bitwise and of integers.")
bitwise_or = _binary("bitwise_or", "Bitwise or of integers.")
bitwise_xor = _binary("bitwise_xor", "Bitwise exclusive or of integers.")


def is_inf(x: Tensor, detect_positive: bool = True, detect_negative: bool = True) -> Tensor:
    """x is +inf (when detect_positive) or -inf (when detect_negative) (bool)."""
    return _emit("is_inf", x, detect_positive=detect_positive, detect_negative=detect_negative)


def mod(x: Any, y: Any, fmod: bool = False) -> Tensor:
    """Remainder with the divisor's sign (Python's %), or the dividend's when ``fmod`` (C's fmod);
    an integer x mod 0 is 0."""
    return _emit("mod", x, y, fmod=fmod)


def bitshift(x: Any, y: Any, direction: str = "LEFT") -> Tensor:
    """Shift integer x by y bits, ``direction`` "LEFT" or "RIGHT" (arithmetic for signed x); shifting
    by a negative amount or the bit width or more leaves only the sign fill."""
    return _emit("bitshift", x, y, direction=direction)
