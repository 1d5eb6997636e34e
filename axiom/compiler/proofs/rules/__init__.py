"""The interval facet of every op: importing this package registers the rules."""

from axiom.compiler.proofs.rules import arith, linear, movement  # noqa: F401
