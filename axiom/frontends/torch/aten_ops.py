"""ATen converters for elementwise math, comparisons, logic, casts, identities and reductions.

torch promotes operand dtypes implicitly; the IR does not, so every operand is cast to the dtype
torch traced for the result (or, for comparisons, to the operands' promoted dtype)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import fx

from axiom.frontends.torch.aten_common import Ctx, aten, axiom_dtype, promoted, schema_args
from axiom.ir.dims import Dim, dim_product
from axiom.ir.dtypes import boolean, i64
from axiom.ir.graph import Value

TRUNC_EXACT = 2.0**52  # every float of this size or more is already an integer


# ---- binary arithmetic ------------------------------------------------------------------------
def _binary(op: str) -> Callable[[Ctx], Value]:
    def convert(cx: Ctx) -> Value:
        dt = cx.out_dtype()
        a, b = cx.arg("self"), cx.arg("other")
        alpha = cx.raw.get("alpha", 1)
        if alpha not in (None, 1):
            b = b * alpha if not isinstance(b, Value) else cx.b.mul(cx.as_dtype(b, dt), cx.scalar(alpha, dt))
        return cx.b.op(op, cx.as_dtype(a, dt), cx.as_dtype(b, dt))

    return convert


for _name in ("add", "sub", "mul", "div"):
    aten(f"{_name}.Tensor", f"{_name}.Scalar")(_binary(_name))
aten("maximum.default")(_binary("maximum"))
aten("minimum.default")(_binary("minimum"))


@aten("pow.Tensor_Tensor", "pow.Tensor_Scalar")
def _pow(cx: Ctx) -> Value:
    dt = cx.out_dtype()
    return cx.b.pow(cx.as_dtype(cx.arg("self"), dt), cx.as_dtype(cx.arg("exponent"), dt))


@aten("pow.Scalar")
def _pow_scalar(cx: Ctx) -> Value:
    dt = cx.out_dtype()
    return cx.b.pow(cx.scalar(cx.arg("self"), dt), cx.as_dtype(cx.arg("exponent"), dt))


def float_trunc(cx: Ctx, q: Value) -> Value:
    """trunc of a float tensor with the ops we have: through i64 where that is exact, else q itself
    (large values, inf and NaN are their own trunc)."""
    through = cx.b.cast(cx.b.cast(q, to=i64), to=q.dtype)
    small = cx.b.less(cx.b.abs(q), cx.scalar(TRUNC_EXACT, q.dtype))
    return cx.b.where(small, through, q)


@aten("div.Tensor_mode", "div.Scalar_mode")
def _div_mode(cx: Ctx) -> Value:
    dt = cx.out_dtype()
    a, b = cx.as_dtype(cx.arg("self"), dt), cx.as_dtype(cx.arg("other"), dt)
    mode = cx.arg("rounding_mode")
    q = cx.b.div(a, b)
    if mode is None:
        return q
    t = float_trunc(cx, q) if dt.is_float else q  # integer div already truncates
    if mode == "trunc":
        return t
    if dt.is_float:  # floor = trunc, one lower where trunc rounded up
        return cx.b.where(cx.b.greater(t, q), cx.b.sub(t, cx.scalar(1, dt)), t)
    r = cx.b.sub(a, cx.b.mul(t, b))  # integer floor: one lower where the remainder's sign differs
    zero = cx.scalar(0, dt)
    off = cx.b.logical_and(cx.b.not_equal(r, zero),
                           cx.b.not_equal(cx.b.less(r, zero), cx.b.less(b, zero)))
    return cx.b.where(off, cx.b.sub(t, cx.scalar(1, dt)), t)


# ---- unary ------------------------------------------------------------------------------------
def _unary(op: str) -> Callable[[Ctx], Value]:
    return lambda cx: cx.b.op(op, cx.as_dtype(cx.tensor("self"), cx.out_dtype()))


for _name in ("neg", "exp", "log", "sqrt", "rsqrt", "abs", "relu", "sigmoid", "tanh", "sin", "cos", "erf",
              "reciprocal"):
    aten(f"{_name}.default")(_unary(_name))


@aten("logical_not.default", "bitwise_not.default")
def _logical_not(cx: Ctx) -> Value:
    return cx.b.logical_not(_as_bool(cx, cx.tensor("self")))


@aten("log1p.default")
def _log1p(cx: Ctx) -> Value:
    x = cx.as_dtype(cx.tensor("self"), cx.out_dtype())
    return cx.b.log(cx.b.add(x, cx.scalar(1, x.dtype)))


@aten("expm1.default")
def _expm1(cx: Ctx) -> Value:
    x = cx.as_dtype(cx.tensor("self"), cx.out_dtype())
    return cx.b.sub(cx.b.exp(x), cx.scalar(1, x.dtype))


@aten("gelu.default")
def _gelu(cx: Ctx) -> Value:
    return cx.b.gelu(cx.tensor("self"), approximate=cx.arg("approximate") or "none")


@aten("leaky_relu.default")
def _leaky_relu(cx: Ctx) -> Value:
    return cx.b.leaky_relu(cx.tensor("self"), alpha=float(cx.arg("negative_slope")))


@aten("hardtanh.default")
def _hardtanh(cx: Ctx) -> Value:
    return cx.b.clip(cx.tensor("self"), min=float(cx.arg("min_val")), max=float(cx.arg("max_val")))


@aten("clamp.default")
def _clamp(cx: Ctx) -> Value:
    lo, hi = cx.arg("min"), cx.arg("max")
    x = cx.as_dtype(cx.tensor("self"), cx.out_dtype())
    return cx.b.clip(x, min=None if lo is None else float(lo), max=None if hi is None else float(hi))


@aten("clamp.Tensor")
def _clamp_tensor(cx: Ctx) -> Value:
    dt = cx.out_dtype()
    x = cx.as_dtype(cx.tensor("self"), dt)
    if cx.arg("min") is not None:
        x = cx.b.maximum(x, cx.as_dtype(cx.arg("min"), dt))
    if cx.arg("max") is not None:
        x = cx.b.minimum(x, cx.as_dtype(cx.arg("max"), dt))
    return x


@aten("elu.default")
def _elu(cx: Ctx) -> Value:
    x = cx.tensor("self")
    alpha, scale, in_scale = (float(cx.arg(n)) for n in ("alpha", "scale", "input_scale"))
    neg = cx.b.mul(cx.b.sub(cx.b.exp(cx.b.mul(x, cx.scalar(in_scale, x.dtype))), cx.scalar(1, x.dtype)),
                   cx.scalar(alpha * scale, x.dtype))
    pos = cx.b.mul(x, cx.scalar(scale, x.dtype))
    return cx.b.where(cx.b.greater(x, cx.scalar(0, x.dtype)), pos, neg)


@aten("silu.default")
def _silu(cx: Ctx) -> Value:
    x = cx.tensor("self")
    return cx.b.mul(x, cx.b.sigmoid(x))


# ---- comparisons, logic, where ----------------------------------------------------------------
def _compare(op: str) -> Callable[[Ctx], Value]:
    def convert(cx: Ctx) -> Value:
        dt = axiom_dtype(promoted(cx.raw["self"], cx.raw["other"]), f"the operands of {cx.node.target}")
        return cx.b.op(op, cx.as_dtype(cx.arg("self"), dt), cx.as_dtype(cx.arg("other"), dt))

    return convert


for _name, _op in (("eq", "equal"), ("ne", "not_equal"), ("lt", "less"), ("le", "less_equal"),
                   ("gt", "greater"), ("ge", "greater_equal")):
    aten(f"{_name}.Tensor", f"{_name}.Scalar")(_compare(_op))


def _as_bool(cx: Ctx, v: Value) -> Value:
    return v if v.dtype == boolean else cx.b.not_equal(v, cx.scalar(0, v.dtype))


def _logical(op: str) -> Callable[[Ctx], Value]:
    return lambda cx: cx.b.op(op, _as_bool(cx, cx.tensor("self")), _as_bool(cx, cx.tensor("other")))


def _bool_only(node: fx.Node) -> str | None:
    val = node.meta.get("val")
    return None if val is not None and str(val.dtype) == "torch.bool" else "only bool tensors are supported"


for _name in ("and", "or", "xor"):
    aten(f"logical_{_name}.default")(_logical(f"logical_{_name}"))
    aten(f"bitwise_{_name}.Tensor", check=_bool_only)(_logical(f"logical_{_name}"))


@aten("where.self")
def _where(cx: Ctx) -> Value:
    dt = cx.out_dtype()
    cond = _as_bool(cx, cx.tensor("condition"))
    return cx.b.where(cond, cx.as_dtype(cx.arg("self"), dt), cx.as_dtype(cx.arg("other"), dt))


# ---- casts and identities ---------------------------------------------------------------------
@aten("_to_copy.default")
def _to_copy(cx: Ctx) -> Value:
    return cx.as_dtype(cx.tensor("self"), cx.out_dtype())


@aten("clone.default", "alias.default", "lift_fresh_copy.default", "detach.default")
def _identity(cx: Ctx) -> Value:
    return cx.tensor("self")


@aten("_assert_tensor_metadata.default", "_assert_scalar.default", "sym_constrain_range_for_size.default",
      "sym_constrain_range.default", "_assert_async.msg")
def _assertion(cx: Ctx) -> None:
    """A check torch.export recorded; the IR's types and the runtime's argument checks cover it."""
    return None


def _not_training(node: fx.Node) -> str | None:
    return "training-mode dropout; export the model in eval mode" if schema_args(node).get("train") else None


@aten("dropout.default", check=_not_training)
def _dropout(cx: Ctx) -> Value:
    return cx.tensor("input")


@aten("native_dropout.default", check=_not_training, outputs=1)
def _native_dropout(cx: Ctx) -> Sequence[Value | None]:
    return (cx.tensor("input"), None)


# ---- reductions -------------------------------------------------------------------------------
def _axes(cx: Ctx, name: str = "dim") -> tuple[int, ...] | None:
    dims = cx.raw.get(name)
    if dims is None:
        return None
    dims = [dims] if isinstance(dims, int) else list(dims)
    return tuple(dims) if dims else None


def _reduce(op: str, cast: bool) -> Callable[[Ctx], Value]:
    def convert(cx: Ctx) -> Value:
        x = cx.tensor("self")
        if cast:
            x = cx.as_dtype(x, cx.out_dtype())
        keep = bool(cx.raw.get("keepdim") or False)
        return cx.b.op(op, x, axes=_axes(cx), keepdims=keep)

    return convert


aten("sum.dim_IntList", "sum.default")(_reduce("sum", True))
aten("mean.dim", "mean.default")(_reduce("mean", True))
aten("prod.dim_int", "prod.default")(_reduce("prod", True))
aten("amax.default", "max.default")(_reduce("max", False))
aten("amin.default", "min.default")(_reduce("min", False))


def _arg_reduce(op: str) -> Callable[[Ctx], Value]:
    def convert(cx: Ctx) -> Value:
        x, dim = cx.tensor("self"), cx.arg("dim")
        keep = bool(cx.arg("keepdim"))
        if dim is None:  # over the flattened tensor
            flat = cx.b.reshape(x, shape=(dim_product(x.shape),))
            out = cx.b.op(op, flat, axis=0, keepdims=keep)
            return cx.b.reshape(out, shape=(1,) * x.rank) if keep else out
        return cx.b.op(op, x, axis=dim, keepdims=keep)

    return convert


aten("argmax.default")(_arg_reduce("argmax"))
aten("argmin.default")(_arg_reduce("argmin"))


def _reduced_count(x: Value, axes: tuple[int, ...] | None) -> Dim:
    picked = range(x.rank) if axes is None else [a % x.rank for a in axes]
    return dim_product([x.shape[a] for a in picked])


def _static_count(node: fx.Node) -> str | None:
    args = schema_args(node)
    shape = args["self"].meta["val"].shape
    dims = args.get("dim")
    picked = range(len(shape)) if not dims else [d % len(shape) for d in dims]
    if all(isinstance(shape[a], int) for a in picked):
        return None
    return "a variance over a dynamic dim (the correction needs the element count as a constant)"


@aten("var.correction", check=_static_count)
def _var(cx: Ctx) -> Value:
    x = cx.tensor("self")
    axes, keep = _axes(cx), bool(cx.raw.get("keepdim") or False)
    correction = cx.arg("correction")
    correction = 1 if correction is None else correction
    centred = cx.b.sub(x, cx.b.mean(x, axes=axes, keepdims=True))
    total = cx.b.sum(cx.b.mul(centred, centred), axes=axes, keepdims=keep)
    n = int(_reduced_count(x, axes))
    return cx.b.div(total, cx.scalar(max(n - correction, 0), x.dtype))

