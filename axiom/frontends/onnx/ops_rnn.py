"""ONNX recurrent layers RNN, GRU and LSTM, unrolled over their (static) sequence length into matmuls and
elementwise gates: the input projection of every step is one matmul, each step adds its recurrent matmul."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import NodeProto

from axiom.frontends.onnx.ops_common import Ctx, attr_of, converter
from axiom.ir.builder import Builder
from axiom.ir.graph import Value

Act = Callable[[Builder, Value], Value]


def _scalar(b: Builder, value: float, like: Value) -> Value:
    return b.constant(np.array(value, like.dtype.np_dtype))


def _affine(b: Builder, x: Value, alpha: float, beta: float) -> Value:
    return b.op("add", b.op("mul", x, _scalar(b, alpha, x)), _scalar(b, beta, x))


def _activation(name: str, alpha: float | None, beta: float | None, cx: Ctx) -> Act:
    """The builder of ONNX activation ``name`` (case-insensitive), with its alpha/beta or their defaults."""
    key = name.lower()
    simple = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu", "softplus": "softplus"}
    if key in simple:
        return lambda b, x: b.op(simple[key], x)
    if key == "leakyrelu":
        return lambda b, x: b.op("leaky_relu", x, alpha=0.01 if alpha is None else alpha)
    if key == "hardsigmoid":
        a, c = 0.2 if alpha is None else alpha, 0.5 if beta is None else beta
        return lambda b, x: b.op("clip", _affine(b, x, a, c), min=0.0, max=1.0)
    if key == "affine":
        return lambda b, x: _affine(b, x, 1.0 if alpha is None else alpha, 0.0 if beta is None else beta)
    if key == "scaledtanh":
        a, c = 1.0 if alpha is None else alpha, 1.0 if beta is None else beta
        return lambda b, x: b.op("mul", b.op("tanh", b.op("mul", x, _scalar(b, c, x))), _scalar(b, a, x))
    if key == "softsign":
        return lambda b, x: b.op("div", x, b.op("add", b.op("abs", x), _scalar(b, 1.0, x)))
    if key == "thresholdedrelu":
        t = 1.0 if alpha is None else alpha
        return lambda b, x: b.op("where", b.op("greater", x, _scalar(b, t, x)), x, _scalar(b, 0.0, x))
    if key == "elu":
        a = 1.0 if alpha is None else alpha
        return lambda b, x: b.op("where", b.op("greater", x, _scalar(b, 0.0, x)), x, b.op(
            "mul", b.op("sub", b.op("exp", x), _scalar(b, 1.0, x)), _scalar(b, a, x)))
    raise cx.unsupported(f"activation {name!r} is not supported")


KNOWN = ("sigmoid", "tanh", "relu", "softplus", "leakyrelu", "hardsigmoid", "affine", "scaledtanh",
         "softsign", "thresholdedrelu", "elu")


def _names(values: list) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _check(node: NodeProto, opset: int) -> str | None:
    """Refuse, before any conversion, activations we do not know."""
    unknown = [n for n in _names(attr_of(node, "activations", [])) if n.lower() not in KNOWN]
    return f"activation(s) {unknown} are not supported" if unknown else None


class _Layer:
    """What every recurrent op shares: layout, directions, weights split per direction, activations."""

    def __init__(self, cx: Ctx, gates: int, defaults: tuple[str, ...]) -> None:
        self.cx, self.b, self.gates = cx, cx.b, gates
        b = cx.b
        x = cx.input(0)
        self.layout = int(cx.attr("layout", 0))
        self.x = b.op("transpose", x, perm=(1, 0, 2)) if self.layout else x
        seq, batch = self.x.shape[0], self.x.shape[1]
        if not isinstance(seq, int):
            raise cx.unsupported(f"the sequence length must be static to unroll the recurrence, got {seq}")
        self.seq, self.batch = seq, batch
        self.direction = cx.attr("direction", "forward")
        if self.direction not in ("forward", "reverse", "bidirectional"):
            raise cx.unsupported(f"unknown direction {self.direction!r}")
        self.dirs = 2 if self.direction == "bidirectional" else 1
        w = cx.input(1)
        self.hidden = int(cx.attr("hidden_size", 0)) or int(w.shape[1]) // gates
        self.clip = cx.attr("clip")
        self._check_lengths()
        names = _names(cx.attr("activations", [])) or list(defaults) * self.dirs
        alphas, betas = list(cx.attr("activation_alpha", [])), list(cx.attr("activation_beta", []))
        self.acts = [_activation(n, alphas[i] if i < len(alphas) else None,
                                 betas[i] if i < len(betas) else None, cx) for i, n in enumerate(names)]
        if len(self.acts) != len(defaults) * self.dirs:
            raise cx.unsupported(f"expected {len(defaults) * self.dirs} activations, got {names}")

    def _check_lengths(self) -> None:
        if not self.cx.has_input(4):
            return
        lens = self.cx.const(4)
        if lens is None or np.any(np.asarray(lens) != self.seq):
            raise self.cx.unsupported("sequence_lens shorter than the sequence (padded batches) are not "
                                      "supported; only full-length sequences")

    def take(self, v: Value, d: int) -> Value:
        """Direction ``d`` of a [num_directions, ...] tensor, without its leading axis."""
        if v.shape[0] == 1:
            return self.b.op("squeeze", v, axes=(0,))
        return self.b.op("squeeze", self.b.op("slice", v, starts=(d,), ends=(d + 1,), axes=(0,)), axes=(0,))

    def initial(self, index: int, d: int) -> Value:
        """Initial state input ``index`` (initial_h, initial_c) for direction ``d``, zeros when absent."""
        if self.cx.has_input(index):
            v = self.cx.input(index)
            if self.layout:
                v = self.b.op("transpose", v, perm=(1, 0, 2))
            return self.take(v, d)
        zero = np.zeros((), self.x.dtype.np_dtype)
        return self.b.op("expand", self.b.constant(zero), shape=(self.batch, self.hidden))

    def weights(self, d: int) -> tuple[Value, Value, Value | None, Value | None]:
        """(W^T [I, gH], R^T [H, gH], Wb [gH] or None, Rb [gH] or None) of direction ``d``."""
        b, cx = self.b, self.cx
        w = b.op("transpose", self.take(cx.input(1), d), perm=(1, 0))
        r = b.op("transpose", self.take(cx.input(2), d), perm=(1, 0))
        if not cx.has_input(3):
            return w, r, None, None
        wb, rb = b.op("split", self.take(cx.input(3), d), axis=0, sizes=(self.gates * self.hidden,) * 2)
        return w, r, wb, rb

    def projected_inputs(self, w: Value, wb: Value | None) -> list[Value]:
        """X_t W^T (+ Wb) for every step t, from one matmul over the whole sequence."""
        b = self.b
        xw = b.op("matmul", self.x, w)
        if wb is not None:
            xw = b.op("add", xw, wb)
        steps = b.op("split", xw, axis=0, sizes=(1,) * self.seq) if self.seq > 1 else (xw,)
        return [b.op("squeeze", s, axes=(0,)) for s in steps]

    def gate_parts(self, v: Value) -> list[Value]:
        return list(self.b.op("split", v, axis=1, sizes=(self.hidden,) * self.gates))

    def clipped(self, v: Value) -> Value:
        return v if self.clip is None else self.b.op("clip", v, min=-float(self.clip), max=float(self.clip))

    def order(self, d: int) -> range:
        backward = self.direction == "reverse" or d == 1
        return range(self.seq - 1, -1, -1) if backward else range(self.seq)

    def run(self, setup: Callable[[int], tuple]) -> list[Value]:
        """Unroll every direction: ``setup(d)`` gives (projected inputs, initial states, step), ``step``
        maps (x_t, states) to the next states, h first. Returns Y and each final state."""
        hs_all, finals = [], []
        for d in range(self.dirs):
            xs, states, step = setup(d)
            hs: list[Value] = [None] * self.seq  # type: ignore[list-item]
            for t in self.order(d):
                states = step(xs[t], states)
                hs[t] = states[0]
            hs_all.append(hs)
            finals.append(states)
        return self.outputs(hs_all, [list(s) for s in zip(*finals, strict=True)])

    def outputs(self, per_dir_h: list[list[Value]], finals: list[list[Value]]) -> list[Value]:
        """Y [seq, dirs, batch, H] (layout 1: [batch, seq, dirs, H]) and the final states [dirs, batch, H]."""
        b = self.b
        ys = [b.op("concat", *[b.op("unsqueeze", h, axes=(0,)) for h in hs], axis=0) for hs in per_dir_h]
        y = b.op("concat", *[b.op("unsqueeze", v, axes=(1,)) for v in ys], axis=1)
        if self.layout:
            y = b.op("transpose", y, perm=(2, 0, 1, 3))
        out = [y]
        for states in finals:
            s = b.op("concat", *[b.op("unsqueeze", v, axes=(0,)) for v in states], axis=0)
            out.append(b.op("transpose", s, perm=(1, 0, 2)) if self.layout else s)
        return out


def _step_input(layer: _Layer, xt: Value, h: Value, r: Value, rb: Value | None) -> Value:
    b = layer.b
    v = b.op("add", xt, b.op("matmul", h, r))
    return v if rb is None else b.op("add", v, rb)


@converter("RNN", since=7, const_inputs=(4,), check=_check)
def _rnn(cx: Ctx) -> list[Value]:
    """H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb)."""
    layer = _Layer(cx, 1, ("Tanh",))

    def setup(d: int) -> tuple:
        w, r, wb, rb = layer.weights(d)
        act = layer.acts[d]
        return layer.projected_inputs(w, wb), (layer.initial(5, d),), \
            lambda x, s: (act(cx.b, layer.clipped(_step_input(layer, x, s[0], r, rb))),)

    return layer.run(setup)


@converter("GRU", since=7, const_inputs=(4,), check=_check)
def _gru(cx: Ctx) -> list[Value]:
    """Gates z, r, h (in that order in W, R, B); linear_before_reset chooses where r multiplies."""
    b = cx.b
    layer = _Layer(cx, 3, ("Sigmoid", "Tanh"))
    before = int(cx.attr("linear_before_reset", 0))
    hid = layer.hidden

    def setup(d: int) -> tuple:
        f, g = layer.acts[2 * d], layer.acts[2 * d + 1]
        w, r, wb, rb = layer.weights(d)
        r_zr, r_h = b.op("split", r, axis=1, sizes=(2 * hid, hid))
        rb_zr, rb_h = (None, None) if rb is None else b.op("split", rb, axis=0, sizes=(2 * hid, hid))

        def step(x: Value, state: tuple) -> tuple:
            (h,) = state
            x_zr, x_h = b.op("split", x, axis=1, sizes=(2 * hid, hid))
            zr = _step_input(layer, x_zr, h, r_zr, rb_zr)
            z, rt = (f(b, layer.clipped(p)) for p in b.op("split", zr, axis=1, sizes=(hid, hid)))
            if before:
                rec = b.op("matmul", h, r_h) if rb_h is None else b.op("add", b.op("matmul", h, r_h), rb_h)
                cand = b.op("add", x_h, b.op("mul", rt, rec))
            else:
                cand = _step_input(layer, x_h, b.op("mul", rt, h), r_h, rb_h)
            ht = g(b, layer.clipped(cand))
            return (b.op("add", b.op("mul", b.op("sub", _scalar(b, 1.0, ht), z), ht), b.op("mul", z, h)),)

        return layer.projected_inputs(w, wb), (layer.initial(5, d),), step

    return layer.run(setup)


@converter("LSTM", since=7, const_inputs=(4,), check=_check)
def _lstm(cx: Ctx) -> list[Value]:
    """Gates i, o, f, c (in that order in W, R, B), peepholes P = [Pi, Po, Pf]; input_forget couples f
    to i."""
    b = cx.b
    layer = _Layer(cx, 4, ("Sigmoid", "Tanh", "Tanh"))
    coupled = int(cx.attr("input_forget", 0))
    hid = layer.hidden

    def setup(d: int) -> tuple:
        f, g, hact = layer.acts[3 * d], layer.acts[3 * d + 1], layer.acts[3 * d + 2]
        w, r, wb, rb = layer.weights(d)
        peep = None
        if cx.has_input(7):
            peep = b.op("split", layer.take(cx.input(7), d), axis=0, sizes=(hid,) * 3)

        def step(x: Value, state: tuple) -> tuple:
            h, c = state
            i_, o_, f_, c_ = layer.gate_parts(_step_input(layer, x, h, r, rb))
            if peep is not None:
                i_ = b.op("add", i_, b.op("mul", peep[0], c))
                f_ = b.op("add", f_, b.op("mul", peep[2], c))
            it = f(b, layer.clipped(i_))
            ft = b.op("sub", _scalar(b, 1.0, it), it) if coupled else f(b, layer.clipped(f_))
            c = b.op("add", b.op("mul", ft, c), b.op("mul", it, g(b, layer.clipped(c_))))
            if peep is not None:
                o_ = b.op("add", o_, b.op("mul", peep[1], c))
            return b.op("mul", f(b, layer.clipped(o_)), hact(b, c)), c

        return layer.projected_inputs(w, wb), (layer.initial(5, d), layer.initial(6, d)), step

    return layer.run(setup)
