"""Bundled example models written in the Axiom DSL (``axiom.examples.mnist``)."""
