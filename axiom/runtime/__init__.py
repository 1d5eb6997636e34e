"""Runtime: the Executable users call (and its per-value SpecializedExecutable), and its argument checks."""

from axiom.runtime.checks import bind_inputs
from axiom.runtime.executable import Executable
from axiom.runtime.specialize import SpecializedExecutable

__all__ = ["Executable", "SpecializedExecutable", "bind_inputs"]
