"""Layers of the Axiom DSL (``from axiom.nn import Dense, Conv2d, ...``)."""

from axiom.frontends.dsl.nn import *  # noqa: F403
from axiom.frontends.dsl.nn import __all__  # noqa: F401
