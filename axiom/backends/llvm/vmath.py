"""exp, erf and tanh for f32 as straight-line LLVM IR (no libm call), so that loops calling them vectorize:
the functions are ``alwaysinline`` and made of fma, min/max, rounding, bit casts and selects only.

Accuracy, measured over dense grids against float64 (tests/backends/llvm/test_vmath.py): exp within
1.3 ulp (Cephes' polynomial after a two-constant Cody-Waite reduction), erf within 2.4 ulp and tanh
within 1.4 ulp (polynomials fitted by weighted least squares against float64 erf and tanh).
Special values follow libm: exp(+inf) = inf,
exp(-inf) = 0, exp overflows to inf past 88.72 and goes through the subnormals (scaled in two steps, so
rounding happens once) down to 0; erf(±inf) = ±1, tanh(±inf) = ±1; NaN gives NaN; -0 keeps its sign.
"""

from __future__ import annotations

import math
import struct

_FLOAT_INTRINSICS = {
    "llvm.fma.f32": "declare float @llvm.fma.f32(float, float, float)",
    "llvm.fabs.f32": "declare float @llvm.fabs.f32(float)",
    "llvm.minnum.f32": "declare float @llvm.minnum.f32(float, float)",
    "llvm.maxnum.f32": "declare float @llvm.maxnum.f32(float, float)",
    "llvm.rint.f32": "declare float @llvm.rint.f32(float)",
    "llvm.copysign.f32": "declare float @llvm.copysign.f32(float, float)",
}

# Cephes expf: ln 2 = C1 + C2 with C1 exact in few bits, so n*C1 is exact for the n that occur.
_LN2_HI, _LN2_LO = 0.693359375, -2.12194440e-4
_EXP_POLY = [5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3,
             1.9875691500e-4]  # p(r), lowest order first: e^r = 1 + r + r^2 p(r)
# erf(x)/x as a polynomial in x^2 on [0, 1].
_ERF_SMALL = [1.1283791665102911, -3.7612628842900708e-01, 1.1283612415476563e-01, -2.6854807774697315e-02,
              5.1900517666159662e-03, -8.0243353359366054e-04, 7.8981392087063007e-05]
# erfc(x) * exp(x^2) on [1, 4], as a polynomial in u = (x - 2.5) / 1.5.
_ERFC_SCALED = [2.1080637463970062e-01, -1.1152133686647298e-01, 5.6110061806945298e-02,
                -2.6998679721613662e-02, 1.2491442743204011e-02, -5.6084944074065411e-03,
                2.4046569543973856e-03, -9.1999031841895340e-04, 3.9255978180170042e-04,
                -2.4351201712889681e-04, 8.6391552267226640e-05]
# (tanh(x) - x) / x^3 as a polynomial in x^2 on [0, 0.625].
_TANH_SMALL = [-0.3333333326094672, 0.1333330962780579, -0.05396023239777659, 0.02177495508703106,
               -0.00835996303302502, 0.00230801717326702]


def _f(value: float) -> str:
    """A float constant in LLVM's hex form (the double pattern of the value rounded to float)."""
    if math.isfinite(value):
        value = struct.unpack("f", struct.pack("f", value))[0]
    return f"0x{struct.unpack('Q', struct.pack('d', value))[0]:016X}"


class _Body:
    """Straight-line SSA for one function: fresh names, one instruction per line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.n = 0

    def op(self, text: str) -> str:
        self.n += 1
        self.lines.append(f"  %v{self.n} = {text}")
        return f"%v{self.n}"

    def fma(self, a: str, b: str, c: str) -> str:
        return self.op(f"call float @llvm.fma.f32(float {a}, float {b}, float {c})")

    def call(self, fn: str, *args: str) -> str:
        return self.op(f"call float @{fn}(" + ", ".join(f"float {a}" for a in args) + ")")

    def horner(self, coeffs: list[float], t: str) -> str:
        acc = _f(coeffs[-1])
        for c in reversed(coeffs[:-1]):
            acc = self.fma(acc, t, _f(c))
        return acc

    def define(self, name: str, result: str) -> str:
        body = "\n".join([*self.lines, f"  ret float {result}"])
        return f"define internal float @{name}(float %x) alwaysinline {{\nentry:\n{body}\n}}\n"


def _pow2(b: _Body, m: str) -> str:
    """2^m as a float, for an i32 m in [-126, 127]: the biased exponent in place."""
    biased = b.op(f"add i32 {m}, 127")
    return b.op(f"bitcast i32 {b.op(f'shl i32 {biased}, 23')} to float")


def _exp() -> str:
    b = _Body()
    x = b.call("llvm.maxnum.f32", b.call("llvm.minnum.f32", "%x", _f(88.8)), _f(-105.0))
    n = b.call("llvm.rint.f32", b.op(f"fmul float {x}, {_f(1 / math.log(2))}"))
    r = b.fma(n, _f(-_LN2_LO), b.fma(n, _f(-_LN2_HI), x))
    p = b.horner(_EXP_POLY, r)
    y = b.fma(b.op(f"fmul float {r}, {r}"), p, b.op(f"fadd float {r}, {_f(1.0)}"))
    # y * 2^n as y * 2^n1 * 2^n2 with n1 = n >> 1: both factors are normal floats for n in [-152, 128]
    ni = b.op(f"fptosi float {n} to i32")
    n1 = b.op(f"ashr i32 {ni}, 1")
    n2 = b.op(f"sub i32 {ni}, {n1}")
    s1, s2 = (_pow2(b, m) for m in (n1, n2))
    y = b.op(f"fmul float {b.op(f'fmul float {y}, {s1}')}, {s2}")
    return b.define("axiom_expf", b.op(f"select i1 {b.op('fcmp uno float %x, 0.0')}, float %x, float {y}"))


def _erf() -> str:
    b = _Body()
    ax = b.call("llvm.fabs.f32", "%x")
    small = b.op(f"fmul float %x, {b.horner(_ERF_SMALL, b.op('fmul float %x, %x'))}")
    a = b.call("llvm.minnum.f32", ax, _f(4.0))
    u = b.op(f"fmul float {b.op(f'fsub float {a}, {_f(2.5)}')}, {_f(1 / 1.5)}")
    scaled = b.horner(_ERFC_SCALED, u)
    sq = b.op(f"fmul float {a}, {a}")
    lost = b.fma(a, a, b.op(f"fneg float {sq}"))  # a*a - sq exactly: exp(-a*a) = exp(-sq) * (1 - lost)
    e = b.call("axiom_expf", b.op(f"fneg float {sq}"))
    e = b.fma(e, b.op(f"fneg float {lost}"), e)
    big = b.op(f"fsub float {_f(1.0)}, {b.op(f'fmul float {e}, {scaled}')}")
    big = b.op(f"select i1 {b.op(f'fcmp oge float {ax}, {_f(4.0)}')}, float {_f(1.0)}, float {big}")
    big = b.call("llvm.copysign.f32", big, "%x")
    nan_or_big = b.op(f"fcmp uge float {ax}, {_f(1.0)}")  # NaN takes the big path and stays NaN
    big = b.op(f"select i1 {b.op('fcmp uno float %x, 0.0')}, float %x, float {big}")
    return b.define("axiom_erff", b.op(f"select i1 {nan_or_big}, float {big}, float {small}"))


def _tanh() -> str:
    b = _Body()
    ax = b.call("llvm.fabs.f32", "%x")
    sq = b.op("fmul float %x, %x")
    small = b.fma(b.op(f"fmul float %x, {sq}"), b.horner(_TANH_SMALL, sq), "%x")
    small = b.call("llvm.copysign.f32", small, "%x")  # tanh(-0) = -0
    e = b.call("axiom_expf", b.op(f"fmul float {ax}, {_f(2.0)}"))
    denom = b.op(f"fadd float {e}, {_f(1.0)}")
    big = b.op(f"fsub float {_f(1.0)}, {b.op(f'fdiv float {_f(2.0)}, {denom}')}")
    big = b.call("llvm.copysign.f32", big, "%x")
    nan_or_big = b.op(f"fcmp uge float {ax}, {_f(0.625)}")
    return b.define("axiom_tanhf", b.op(f"select i1 {nan_or_big}, float {big}, float {small}"))


_DEFINE = {"axiom_expf": _exp, "axiom_erff": _erf, "axiom_tanhf": _tanh}
_NEEDS = {"axiom_erff": ["axiom_expf"], "axiom_tanhf": ["axiom_expf"]}
# The float function each replaces: an intrinsic or libm name as scalar.py calls it.
REPLACES = {"llvm.exp": "axiom_expf", "erf": "axiom_erff", "llvm.tanh": "axiom_tanhf"}


def declare_vmath(declared: dict[str, str], name: str) -> str:
    """Add function ``name`` (and what it calls) to a module's ``declared``; its name."""
    if name not in declared:
        declared.update(_FLOAT_INTRINSICS)
        for dep in _NEEDS.get(name, []):
            declare_vmath(declared, dep)
        declared[name] = _DEFINE[name]()
    return name
