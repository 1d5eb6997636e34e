"""A pass of your own: rewrite relu(relu(x)) to relu(x), counted and tested.

Run it with `axiom opt model.axir --load docs/examples/relu_idempotent.py --passes relu-idempotent`.
"""

from dataclasses import dataclass

from axiom.compiler import Pass, PassContext, apply_patterns, pattern, register_pass
from axiom.ir import Graph


@pattern("relu-relu", "relu")
def relu_of_relu(node, rw):
    """relu(relu(x)) == relu(x) for every x (NaN included): keep the inner one."""
    inner = rw.producer(node.inputs[0], "relu")
    return inner.results[0] if inner is not None else None


@register_pass
@dataclass(frozen=True)
class ReluIdempotent(Pass):
    """Drop a relu applied to a relu."""

    name = "relu-idempotent"

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        return apply_patterns(graph, [relu_of_relu], ctx)
