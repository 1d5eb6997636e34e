"""The scalar semantics of every elementwise op as LLVM instructions, matching the numpy references:
NaN propagates through max/min/relu, float-to-int casts truncate and saturate with NaN -> 0, integer
division truncates and x / 0 is 0, half floats compute in f32. Used by plain and fused elementwise kernels.

No fast-math flags: results must agree with the reference and stay sound for the proofs."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence

import numpy as np

from axiom.backends.llvm.emit import Function, compute_type
from axiom.backends.llvm.vmath import REPLACES, declare_vmath
from axiom.ir.dtypes import DType
from axiom.ir.errors import UnsupportedError

Args = Sequence[str]

# libm / intrinsic names of the float functions, by compute type suffix
INTRINSIC = {"exp": "llvm.exp", "log": "llvm.log", "sqrt": "llvm.sqrt", "sin": "llvm.sin", "cos": "llvm.cos",
             "tan": "llvm.tan", "asin": "llvm.asin", "acos": "llvm.acos", "atan": "llvm.atan",
             "sinh": "llvm.sinh", "cosh": "llvm.cosh", "tanh": "llvm.tanh", "floor": "llvm.floor",
             "ceil": "llvm.ceil", "round": "llvm.roundeven", "abs": "llvm.fabs"}
LIBM = {"erf": "erf", "asinh": "asinh", "acosh": "acosh", "atanh": "atanh", "log1p": "log1p"}
SUFFIX = {"float": "f32", "double": "f64"}


class Scalar:
    """Emits scalar ops into ``f``; ``declared`` collects the ``declare`` line of every intrinsic or libm
    function called (by name), for the module."""

    def __init__(self, f: Function, declared: dict[str, str]) -> None:
        self.f, self.declared = f, declared

    def callf(self, name: str, ret: str, params: Sequence[tuple[str, str]]) -> str:
        """``call ret @name(params)``, declaring ``name``; params are (type, value) pairs."""
        self.declared[name] = f"declare {ret} @{name}({', '.join(t for t, _ in params)})"
        return self.f.op(f"call {ret} @{name}(" + ", ".join(f"{t} {v}" for t, v in params) + ")")

    # ---- helpers --------------------------------------------------------------------------------
    def const(self, value: float, ty: str) -> str:
        if ty in ("float", "double"):
            return _float_literal(value, ty)
        return str(int(value))

    def call(self, fn: str, ty: str, *args: str) -> str:
        """An intrinsic (``llvm.exp``: suffixed by type) or a libm function (``erf``: ``erff`` for float);
        f32 exp, erf and tanh are vmath's inlined versions, so that their loops vectorize."""
        if ty == "float" and fn in REPLACES:
            name = declare_vmath(self.declared, REPLACES[fn])
            return self.f.op(f"call float @{name}(" + ", ".join(f"float {a}" for a in args) + ")")
        name = f"{fn}.{SUFFIX[ty]}" if fn.startswith("llvm.") else fn + ("f" if ty == "float" else "")
        return self.callf(name, ty, [(ty, a) for a in args])

    def fbin(self, op: str, ty: str, a: str, b: str) -> str:
        return self.f.op(f"{op} {ty} {a}, {b}")

    # ---- the ops --------------------------------------------------------------------------------
    def emit(self, op: str, attrs: object, args: Args, dts: Sequence[DType], out: DType) -> str:
        """The value of ``op`` on scalar ``args`` (of dtypes ``dts``), in ``out``'s compute type."""
        fn = _OPS.get(op)
        if fn is None:
            raise UnsupportedError(f"the llvm backend has no scalar lowering of {op}")
        return fn(self, attrs, list(args), list(dts), out)


def _float_literal(value: float, ty: str) -> str:
    """LLVM's hex form: the double bit pattern (of the value rounded to float first, for float)."""
    if ty == "float" and math.isfinite(value):
        value = struct.unpack("f", struct.pack("f", value))[0]
    return f"0x{struct.unpack('Q', struct.pack('d', value))[0]:016X}"


def _is_float(dt: DType) -> bool:
    return dt.is_float


def _unary_float(name: str) -> Callable:
    def lower(s: Scalar, a: object, x: list[str], dts: list[DType], out: DType) -> str:
        ty = compute_type(out)
        if name in INTRINSIC:
            return s.call(INTRINSIC[name], ty, x[0])
        return s.call(LIBM[name], ty, x[0])

    return lower


def _neg(s, a, x, dts, out):  # noqa: ANN001, ANN202
    ty = compute_type(out)
    return s.f.op(f"fneg {ty} {x[0]}") if out.is_float else s.f.op(f"sub {ty} 0, {x[0]}")


def _abs(s, a, x, dts, out):  # noqa: ANN001, ANN202
    ty = compute_type(out)
    if out.is_float:
        return s.call("llvm.fabs", ty, x[0])
    if out.kind == "uint":
        return x[0]
    neg = s.f.op(f"icmp slt {ty} {x[0]}, 0")
    return s.f.op(f"select i1 {neg}, {ty} {s.f.op(f'sub {ty} 0, {x[0]}')}, {ty} {x[0]}")


def _max_min(kind: str) -> Callable:
    """NaN-propagating maximum/minimum for floats (numpy's), signed/unsigned compare for integers."""

    def lower(s, a, x, dts, out):  # noqa: ANN001, ANN202
        ty = compute_type(out)
        if out.is_float:
            return s.callf(f"llvm.{kind}imum.{SUFFIX[ty]}", ty, [(ty, x[0]), (ty, x[1])])
        if out.is_bool:
            return s.f.op(f"{'or' if kind == 'max' else 'and'} i1 {x[0]}, {x[1]}")
        pred = ("u" if out.kind == "uint" else "s") + ("gt" if kind == "max" else "lt")
        c = s.f.op(f"icmp {pred} {ty} {x[0]}, {x[1]}")
        return s.f.op(f"select i1 {c}, {ty} {x[0]}, {ty} {x[1]}")

    return lower


def _relu(s, a, x, dts, out):  # noqa: ANN001, ANN202
    return _max_min("max")(s, a, [x[0], s.const(0, compute_type(out))], dts, out)


def _arith(fop: str, iop: str, uop: str | None = None) -> Callable:
    def lower(s, a, x, dts, out):  # noqa: ANN001, ANN202
        ty = compute_type(out)
        if out.is_float:
            return s.f.op(f"{fop} {ty} {x[0]}, {x[1]}")
        return s.f.op(f"{uop if (uop and out.kind == 'uint') else iop} {ty} {x[0]}, {x[1]}")

    return lower


def _div(s, a, x, dts, out):  # noqa: ANN001, ANN202
    """Floats: IEEE division. Integers: truncating, x / 0 = 0, and MIN / -1 wraps to MIN like numpy."""
    ty = compute_type(out)
    if out.is_float:
        return s.f.op(f"fdiv {ty} {x[0]}, {x[1]}")
    zero = s.f.op(f"icmp eq {ty} {x[1]}, 0")
    if out.kind == "uint":
        safe = s.f.op(f"select i1 {zero}, {ty} 1, {ty} {x[1]}")
        q = s.f.op(f"udiv {ty} {x[0]}, {safe}")
        return s.f.op(f"select i1 {zero}, {ty} 0, {ty} {q}")
    minus_one = s.f.op(f"icmp eq {ty} {x[1]}, -1")
    safe = s.f.op(f"select i1 {s.f.op(f'or i1 {zero}, {minus_one}')}, {ty} 1, {ty} {x[1]}")
    q = s.f.op(f"sdiv {ty} {x[0]}, {safe}")
    q = s.f.op(f"select i1 {minus_one}, {ty} {s.f.op(f'sub {ty} 0, {x[0]}')}, {ty} {q}")
    return s.f.op(f"select i1 {zero}, {ty} 0, {ty} {q}")


def _pow(s, a, x, dts, out):  # noqa: ANN001, ANN202
    ty = compute_type(out)
    return s.callf(f"llvm.pow.{SUFFIX[ty]}", ty, [(ty, x[0]), (ty, x[1])])


def _compare(fpred: str, ipred: str) -> Callable:
    def lower(s, a, x, dts, out):  # noqa: ANN001, ANN202
        dt = dts[0]
        ty = compute_type(dt)
        if dt.is_float:
            return s.f.op(f"fcmp {fpred} {ty} {x[0]}, {x[1]}")
        pred = ipred if ipred in ("eq", "ne") else (("u" if dt.kind in ("uint", "bool") else "s") + ipred)
        return s.f.op(f"icmp {pred} {ty} {x[0]}, {x[1]}")

    return lower


def _logic(op: str) -> Callable:
    return lambda s, a, x, dts, out: s.f.op(f"{op} i1 {x[0]}, {x[1]}")


def _where(s, a, x, dts, out):  # noqa: ANN001, ANN202
    ty = compute_type(out)
    return s.f.op(f"select i1 {x[0]}, {ty} {x[1]}, {ty} {x[2]}")


def _sigmoid(s, a, x, dts, out):  # noqa: ANN001, ANN202
    ty = compute_type(out)
    e = s.call("llvm.exp", ty, s.f.op(f"fneg {ty} {x[0]}"))
    return s.f.op(f"fdiv {ty} {s.const(1.0, ty)}, {s.f.op(f'fadd {ty} {s.const(1.0, ty)}, {e}')}")


def _reciprocal(s, a, x, dts, out):  # noqa: ANN001, ANN202
    ty = compute_type(out)
    return s.f.op(f"fdiv {ty} {s.const(1.0, ty)}, {x[0]}")


def _rsqrt(s, a, x, dts, out):  # noqa: ANN001, ANN202
    return _reciprocal(s, a, [s.call("llvm.sqrt", compute_type(out), x[0])], dts, out)


def _leaky_relu(s, a, x, dts, out):  # noqa: ANN001, ANN202
    ty = compute_type(out)
    ge = s.f.op(f"fcmp oge {ty} {x[0]}, {s.const(0.0, ty)}")
    return s.f.op(f"select i1 {ge}, {ty} {x[0]}, {ty} {s.f.op(f'fmul {ty} {x[0]}, {s.const(a.alpha, ty)}')}")


def _softplus(s, a, x, dts, out):  # noqa: ANN001, ANN202
    """max(x, 0) + log1p(exp(-|x|)), as the reference computes it."""
    ty = compute_type(out)
    m = _max_min("max")(s, a, [x[0], s.const(0.0, ty)], dts, out)
    e = s.call("llvm.exp", ty, s.f.op(f"fneg {ty} {s.call('llvm.fabs', ty, x[0])}"))
    return s.f.op(f"fadd {ty} {m}, {s.call('log1p', ty, e)}")


def _gelu(s, a, x, dts, out):  # noqa: ANN001, ANN202
    ty = compute_type(out)
    c = lambda v: s.const(v, ty)  # noqa: E731
    if a.approximate == "tanh":
        cube = s.f.op(f"fmul {ty} {s.f.op(f'fmul {ty} {x[0]}, {x[0]}')}, {x[0]}")
        inner = s.f.op(f"fadd {ty} {x[0]}, {s.f.op(f'fmul {ty} {c(0.044715)}, {cube}')}")
        t = s.call("llvm.tanh", ty, s.f.op(f"fmul {ty} {c(math.sqrt(2.0 / math.pi))}, {inner}"))
    else:
        t = s.call("erf", ty, s.f.op(f"fdiv {ty} {x[0]}, {c(math.sqrt(2.0))}"))
    half_x = s.f.op(f"fmul {ty} {c(0.5)}, {x[0]}")
    return s.f.op(f"fmul {ty} {half_x}, {s.f.op(f'fadd {ty} {c(1.0)}, {t}')}")


def _clip(s, a, x, dts, out):  # noqa: ANN001, ANN202
    ty = compute_type(out)
    v = x[0]
    if out.is_float:
        if a.min is not None:
            v = _max_min("max")(s, a, [v, s.const(a.min, ty)], dts, out)
        if a.max is not None:
            v = _max_min("min")(s, a, [v, s.const(a.max, ty)], dts, out)
        return v
    info = np.iinfo(out.np_dtype)  # clamp to [ceil(min), floor(max)] in the integer domain
    lo = info.min if a.min is None else math.ceil(min(max(a.min, info.min), info.max))
    hi = info.max if a.max is None else math.floor(min(max(a.max, info.min), info.max))
    v = _max_min("max")(s, a, [v, str(int(lo))], dts, out)
    return _max_min("min")(s, a, [v, str(int(hi))], dts, out)


def _cast(s, a, x, dts, out):  # noqa: ANN001, ANN202
    src, dst = dts[0], out
    st, dt_ = compute_type(src), compute_type(dst)
    v = x[0]
    if dst.is_bool:
        if src.is_float:  # NaN is true, like any nonzero
            return s.f.op(f"fcmp une {st} {v}, {s.const(0.0, st)}")
        return s.f.op(f"icmp ne {st} {v}, 0")
    if src.is_bool:
        return s.f.op(f"uitofp i1 {v} to {dt_}") if dst.is_float else s.f.op(f"zext i1 {v} to {dt_}")
    if src.is_float and dst.is_float:
        if st == dt_:
            return v
        return s.f.op(f"{'fpext' if st == 'float' else 'fptrunc'} {st} {v} to {dt_}")
    if src.is_float:  # truncate toward zero, saturate, NaN -> 0: exactly llvm.fpto[su]i.sat
        name = f"llvm.fpto{'u' if dst.kind == 'uint' else 's'}i.sat.{dt_}.{SUFFIX[st]}"
        return s.callf(name, dt_, [(st, v)])
    if dst.is_float:
        return s.f.op(f"{'uitofp' if src.kind == 'uint' else 'sitofp'} {st} {v} to {dt_}")
    sb, db = src.bits, dst.bits
    if sb == db:
        return v
    if sb > db:
        return s.f.op(f"trunc {st} {v} to {dt_}")
    return s.f.op(f"{'zext' if src.kind == 'uint' else 'sext'} {st} {v} to {dt_}")


def _not(s, a, x, dts, out):  # noqa: ANN001, ANN202
    return s.f.op(f"xor i1 {x[0]}, true")


_OPS: dict[str, Callable] = {
    "add": _arith("fadd", "add"), "sub": _arith("fsub", "sub"), "mul": _arith("fmul", "mul"), "div": _div,
    "pow": _pow, "maximum": _max_min("max"), "minimum": _max_min("min"), "neg": _neg, "abs": _abs,
    "relu": _relu, "sigmoid": _sigmoid, "reciprocal": _reciprocal, "rsqrt": _rsqrt, "leaky_relu": _leaky_relu,
    "softplus": _softplus, "gelu": _gelu, "clip": _clip, "cast": _cast, "where": _where,
    "equal": _compare("oeq", "eq"), "not_equal": _compare("une", "ne"), "less": _compare("olt", "lt"),
    "less_equal": _compare("ole", "le"), "greater": _compare("ogt", "gt"),
    "greater_equal": _compare("oge", "ge"), "logical_and": _logic("and"), "logical_or": _logic("or"),
    "logical_xor": _logic("xor"), "logical_not": _not,
    **{name: _unary_float(name) for name in ("exp", "log", "sqrt", "sin", "cos", "tan", "asin", "acos",
                                             "atan", "sinh", "cosh", "tanh", "erf", "asinh", "acosh",
                                             "atanh", "floor", "ceil", "round")},
}


# ---- integer remainder and bit ops, sign and float classification ----------------------------
def _mod(s, a, x, dts, out):  # noqa: ANN001, ANN202
    """numpy's fmod (the dividend's sign) or mod (the divisor's sign); an integer x mod 0 is 0."""
    ty, f = compute_type(out), s.f
    if out.is_float:
        r = f.op(f"frem {ty} {x[0]}, {x[1]}")  # C fmod
        if a.fmod:
            return r
        zero = s.const(0.0, ty)
        differ = f.op(f"xor i1 {f.op(f'fcmp olt {ty} {x[1]}, {zero}')}, {f.op(f'fcmp olt {ty} {r}, {zero}')}")
        fix = f.op(f"and i1 {f.op(f'fcmp une {ty} {r}, {zero}')}, {differ}")
        r = f.op(f"select i1 {fix}, {ty} {f.op(f'fadd {ty} {r}, {x[1]}')}, {ty} {r}")
        exact = f.op(f"fcmp oeq {ty} {r}, {zero}")  # a zero remainder takes the divisor's sign
        signed_zero = s.callf(f"llvm.copysign.{SUFFIX[ty]}", ty, [(ty, zero), (ty, x[1])])
        return f.op(f"select i1 {exact}, {ty} {signed_zero}, {ty} {r}")
    zero = f.op(f"icmp eq {ty} {x[1]}, 0")
    if out.kind == "uint":
        return f.op(f"urem {ty} {x[0]}, {f.op(f'select i1 {zero}, {ty} 1, {ty} {x[1]}')}")
    # x mod 0 is 0 and x mod -1 is 0 (srem MIN, -1 would overflow): divide by 1 instead
    trivial = f.op(f"or i1 {zero}, {f.op(f'icmp eq {ty} {x[1]}, -1')}")
    r = f.op(f"srem {ty} {x[0]}, {f.op(f'select i1 {trivial}, {ty} 1, {ty} {x[1]}')}")
    if a.fmod:
        return r
    signs = f.op(f"icmp slt {ty} {f.op(f'xor {ty} {r}, {x[1]}')}, 0")
    fix = f.op(f"and i1 {f.op(f'icmp ne {ty} {r}, 0')}, {signs}")
    return f.op(f"select i1 {fix}, {ty} {f.op(f'add {ty} {r}, {x[1]}')}, {ty} {r}")


def _bitshift(s, a, x, dts, out):  # noqa: ANN001, ANN202
    """A shift by a negative amount or by the width or more leaves the sign fill (LLVM's would be poison)."""
    ty, f, bits = compute_type(out), s.f, out.bits
    signed = out.kind == "int"
    outside = f.op(f"icmp uge {ty} {x[1]}, {bits}")  # unsigned: a negative amount is huge
    amount = f.op(f"select i1 {outside}, {ty} 0, {ty} {x[1]}")
    if a.direction == "LEFT":
        return f.op(f"select i1 {outside}, {ty} 0, {ty} {f.op(f'shl {ty} {x[0]}, {amount}')}")
    shifted = f.op(f"{'ashr' if signed else 'lshr'} {ty} {x[0]}, {amount}")
    fill = f.op(f"ashr {ty} {x[0]}, {bits - 1}") if signed else "0"
    return f.op(f"select i1 {outside}, {ty} {fill}, {ty} {shifted}")


def _bitwise(op: str) -> Callable:
    return lambda s, a, x, dts, out: s.f.op(f"{op} {compute_type(out)} {x[0]}, {x[1]}")


def _bitwise_not(s, a, x, dts, out):  # noqa: ANN001, ANN202
    return s.f.op(f"xor {compute_type(out)} {x[0]}, -1")


def _sign(s, a, x, dts, out):  # noqa: ANN001, ANN202
    """-1, 0 or 1; a float NaN stays NaN and a zero of either sign gives +0, as numpy's sign."""
    ty, f = compute_type(out), s.f
    if out.kind == "uint":
        return f.op(f"zext i1 {f.op(f'icmp ne {ty} {x[0]}, 0')} to {ty}")
    if out.kind == "int":
        pos = f.op(f"zext i1 {f.op(f'icmp sgt {ty} {x[0]}, 0')} to {ty}")
        neg = f.op(f"zext i1 {f.op(f'icmp slt {ty} {x[0]}, 0')} to {ty}")
        return f.op(f"sub {ty} {pos}, {neg}")
    zero = s.const(0.0, ty)
    v = f.op(f"select i1 {f.op(f'fcmp oeq {ty} {x[0]}, {zero}')}, {ty} {zero}, {ty} {x[0]}")
    v = f.op(f"select i1 {f.op(f'fcmp olt {ty} {x[0]}, {zero}')}, {ty} {s.const(-1.0, ty)}, {ty} {v}")
    return f.op(f"select i1 {f.op(f'fcmp ogt {ty} {x[0]}, {zero}')}, {ty} {s.const(1.0, ty)}, {ty} {v}")


def _is_nan(s, a, x, dts, out):  # noqa: ANN001, ANN202
    return s.f.op(f"fcmp uno {compute_type(dts[0])} {x[0]}, {x[0]}")


def _is_inf(s, a, x, dts, out):  # noqa: ANN001, ANN202
    ty, hit = compute_type(dts[0]), "false"
    for wanted, value in ((a.detect_positive, math.inf), (a.detect_negative, -math.inf)):
        if wanted:
            eq = s.f.op(f"fcmp oeq {ty} {x[0]}, {s.const(value, ty)}")
            hit = eq if hit == "false" else s.f.op(f"or i1 {hit}, {eq}")
    return hit


_OPS.update({"mod": _mod, "bitshift": _bitshift, "bitwise_and": _bitwise("and"), "bitwise_or": _bitwise("or"),
             "bitwise_xor": _bitwise("xor"), "bitwise_not": _bitwise_not, "sign": _sign, "is_nan": _is_nan,
             "is_inf": _is_inf})

SCALAR_OPS = frozenset(_OPS)
