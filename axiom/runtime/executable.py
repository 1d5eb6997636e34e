"""Executable: a compiled model you call like a function, with checked inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from axiom.ir.errors import AxiomError
from axiom.ir.graph import Graph
from axiom.runtime.checks import InputSpec, bind_inputs, output_shape, positional, quick_bind
from axiom.runtime.torch_interop import is_torch_tensor, to_torch

RunFn = Callable[[list[np.ndarray], dict[str, int]], list[np.ndarray]]


@dataclass
class Executable:
    """A graph lowered by one backend. Call it with numpy arrays or torch tensors.

    ``.ir`` is the final IR, ``.as_text()`` its text form, ``.passes`` the passes that ran,
    ``.properties`` the status of every declared property and ``.context`` the pipeline's
    PassContext (``.assumptions`` and ``.remarks`` are its lists, ``.stats`` its counters).
    """

    ir: Graph
    backend: str
    run: RunFn
    passes: list[str] = field(default_factory=list)
    properties: list[Any] = field(default_factory=list)
    context: Any = None  # the PassContext of the pipeline that made ``ir`` (None: built by hand)
    _specs: list[InputSpec] | None = field(default=None, init=False, repr=False, compare=False)
    _wants: dict[tuple, list] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def assumptions(self) -> list[str]:
        """Facts about symbolic dims the compiled code relies on (``"H - 2 >= 1"``)."""
        return list(self.context.assumptions) if self.context is not None else []

    @property
    def remarks(self) -> list[Any]:
        """What the passes decided and why (each with its pass's name)."""
        return list(self.context.remarks) if self.context is not None else []

    @property
    def stats(self) -> dict[str, int]:
        """The passes' counters (``"fuse.regions"``, ``"cse.eliminated"``, ...)."""
        return dict(self.context.stats) if self.context is not None else {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fast = getattr(self.run, "fast", None)  # a backend's shortcut for a call like the last checked one
        if fast is not None and not kwargs:
            outs = fast(args)
            if outs is not None:
                return outs[0] if len(outs) == 1 else tuple(outs)
        if not kwargs:  # the common call: numpy arrays that pass every check, in order
            if self._specs is None:
                self._specs = [InputSpec(v) for v in self.ir.inputs]
            bindings = quick_bind(self._specs, args)
            if bindings is not None:
                outs = self.run(list(args), bindings)
                self._check_outputs(outs, bindings)
                return outs[0] if len(outs) == 1 else tuple(outs)
        args = positional([v.name for v in self.ir.inputs], args, kwargs)
        use_torch = any(is_torch_tensor(a) for a in args)
        arrays, bindings = bind_inputs(self.ir.inputs, args)
        outs = self.run(arrays, bindings)
        self._check_outputs(outs, bindings)
        if use_torch:
            outs = [to_torch(o) for o in outs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _check_outputs(self, outs: list[np.ndarray], bindings: dict[str, int]) -> None:
        key = tuple(bindings.items())
        wants = self._wants.get(key)
        if wants is None:  # the expected (shape, dtype) of each output, once per set of symbol values
            if len(self._wants) >= 8:
                self._wants.clear()
            wants = self._wants[key] = [(output_shape(v.type, bindings), v.type.dtype.np_dtype)
                                        for v in self.ir.outputs]
        for i, ((want, dtype), o) in enumerate(zip(wants, outs, strict=True)):
            if o.shape != want or o.dtype != dtype:
                raise AxiomError(f"backend '{self.backend}' returned output {i} as {o.dtype}{list(o.shape)}, "
                                 f"expected {dtype}{list(want)}: this is a backend bug")

    def as_text(self, **options: Any) -> str:
        from axiom.ir.printer import print_graph

        return print_graph(self.ir, **options)

    def __repr__(self) -> str:
        sig = ", ".join(f"{v.name}: {v.type}" for v in self.ir.inputs)
        outs = ", ".join(str(v.type) for v in self.ir.outputs)
        return f"<Executable @{self.ir.name}({sig}) -> ({outs}) on {self.backend}>"
