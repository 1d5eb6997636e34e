"""A model compiled per distinct value of some of its inputs: the ones its shapes or axes depend on
(an ONNX Reshape whose target shape, or a ReduceSum whose axes, is a graph input). Each new value
compiles once, like a guard-specialised trace; later calls with the same value reuse it."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from axiom.ir.errors import AxiomError, InputError
from axiom.runtime.checks import positional
from axiom.runtime.executable import Executable
from axiom.runtime.torch_interop import from_torch, is_torch_tensor

Build = Callable[[dict[str, np.ndarray]], Executable]


class SpecializedExecutable:
    """Call it like an Executable with every input of the model. The inputs in ``specialized_on`` are
    read as values: each distinct value compiles (``build``) once and is cached (``max_variants`` most
    recent); the other inputs go to that compiled Executable."""

    def __init__(self, input_names: Sequence[str], specialized_on: Sequence[str], build: Build,
                 max_variants: int = 32) -> None:
        self.input_names = list(input_names)
        self.specialized_on = list(specialized_on)
        self._build = build
        self._max = max_variants
        self._variants: OrderedDict[tuple, Executable] = OrderedDict()
        self._last: Executable | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        given = dict(zip(self.input_names, positional(self.input_names, args, kwargs), strict=False))
        if len(given) != len(self.input_names):
            raise InputError(f"expected {len(self.input_names)} inputs ({', '.join(self.input_names)}), "
                             f"got {len(given)}")
        values = {n: _value(n, given[n]) for n in self.specialized_on}
        exe = self.variant(values)
        return exe(*(given[n] for n in self.input_names if n not in values))

    def variant(self, values: dict[str, np.ndarray]) -> Executable:
        """The Executable compiled for these values of the specialised inputs (compiled now if new)."""
        key = tuple((n, v.dtype.str, v.shape, v.tobytes()) for n, v in sorted(values.items()))
        exe = self._variants.get(key)
        if exe is None:
            exe = self._build(values)
            self._variants[key] = exe
            if len(self._variants) > self._max:
                self._variants.popitem(last=False)
        self._variants.move_to_end(key)
        self._last = exe
        return exe

    @property
    def variants(self) -> int:
        """How many specialisations are cached."""
        return len(self._variants)

    @property
    def ir(self) -> Any:
        """The IR of the most recently used specialisation."""
        if self._last is None:
            raise AxiomError(f"this model is compiled per value of {self.specialized_on}; call it once "
                             "(or use .variant({...})) before reading its IR")
        return self._last.ir

    def as_text(self, **options: Any) -> str:
        self.ir  # noqa: B018 - raises the clear error when nothing is compiled yet
        return self._last.as_text(**options)  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return (f"<SpecializedExecutable({', '.join(self.input_names)}) specialised on "
                f"{self.specialized_on}, {self.variants} variant(s)>")


def _value(name: str, a: Any) -> np.ndarray:
    if is_torch_tensor(a):
        return from_torch(a)
    if isinstance(a, (np.ndarray, np.generic)):
        return np.asarray(a)
    raise InputError(f"input '{name}' decides shapes or axes, so it must be a numpy array (or torch "
                     f"tensor) whose value is read at call time, got {type(a).__name__}")
