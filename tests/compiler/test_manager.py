"""PassManager: pipelines by string, verification after each pass, instrumentation, failures."""

import io
from dataclasses import dataclass

import pytest

from axiom.compiler import (
    Instrumentation,
    Pass,
    PassContext,
    PassFailure,
    PassManager,
    PipelineError,
    parse_pipeline,
    register_pass,
)
from axiom.ir import Graph, Node, parse_graph

TEXT = """graph @g(%x: f32[N, 2]) -> (f32[N, 2]) {
  %a = const {name = "a"} dense<[1.0, 2.0]> : f32[2]
  %b = const {name = "b"} dense<[1.0, 2.0]> : f32[2]
  %0 = mul(%x, %a) : f32[N, 2]
  %1 = mul(%x, %b) : f32[N, 2]
  %2 = add(%0, %1) : f32[N, 2]
  return %2
}"""


@register_pass
@dataclass(frozen=True)
class BreakTypes(Pass):
    """A broken pass for the tests: retypes the first result behind the rules' back."""

    name = "test-break-types"

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        from axiom.ir import TensorType

        graph.nodes[-1].results[0].type = TensorType("f64", [3])
        return True


@register_pass
@dataclass(frozen=True)
class Explode(Pass):
    """A pass that raises at a node, as a pass with a bug would."""

    name = "test-explode"
    at: int = 3

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        err = RuntimeError("boom")
        err.node = graph.nodes[self.at]  # type: ignore[attr-defined]
        raise err


def test_parse_pipeline_with_options_and_round_trip_to_text():
    passes = parse_pipeline("fold-constants{max-elements=4}, cse ,dce")
    assert [str(p) for p in passes] == ["fold-constants{max-elements=4}", "cse", "dce"]


@pytest.mark.parametrize("spec, message", [
    ("cse,nope", "unknown pass 'nope'; known passes: .*cse"),
    ("cse{max-const-bytes=x}", "option max-const-bytes='x'"),
    ("cse{bogus=1}", "pass 'cse' has no option 'bogus'; its options: max-const-bytes"),
    ("cse{max-const-bytes}", "needs the form key=value"),
    ("cse,,", "cannot parse pipeline"),
])
def test_bad_pipelines_are_explained(spec, message):
    with pytest.raises(PipelineError, match=message):
        parse_pipeline(spec)


def test_runs_records_and_counts():
    g = parse_graph(TEXT)
    ctx = PassContext()
    records = PassManager("cse,dce").run(g, ctx)
    assert [(r.name, r.changed) for r in records] == [("cse", True), ("dce", False)]
    assert records[-1].nodes_after == 3  # const a, one mul, add
    assert ctx.stats["cse.eliminated"] == 2


def test_print_after_change_and_before_named_pass_and_timing():
    out = io.StringIO()
    ins = Instrumentation(print_ir_before=("dce",), print_ir_after_change=True, pass_timing=True, out=out)
    PassManager("cse,dce", instrument=ins).run(parse_graph(TEXT))
    text = out.getvalue()
    assert text.index("// ----- IR after cse -----") < text.index("// ----- IR before dce -----")
    assert "IR after dce" not in text  # dce changed nothing
    assert "pass" in text and "total" in text and "changed" in text


def test_print_after_all_shows_unchanged_passes():
    out = io.StringIO()
    PassManager("dce", instrument=Instrumentation(print_ir_after_all=True, out=out)).run(parse_graph(TEXT))
    assert "// ----- IR after dce (no change) -----" in out.getvalue()


def test_dump_dir_has_one_numbered_file_per_pass(tmp_path):
    (tmp_path / "07-stale.axir").write_text("old")
    ins = Instrumentation(ir_dump_dir=tmp_path)
    PassManager("cse,dce,fold-constants", instrument=ins).run(parse_graph(TEXT))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["00-input.axir", "01-cse.axir", "02-dce.axir", "03-fold-constants.axir"]
    assert parse_graph((tmp_path / "01-cse.axir").read_text()).nodes[1].op.name == "mul"


def test_a_pass_that_breaks_the_ir_is_named_with_what_ran_before():
    with pytest.raises(PassFailure, match=r"(?s)pass 'test-break-types' left invalid IR.*passes run before "
                                          r"it: cse"):
        PassManager("cse,test-break-types").run(parse_graph(TEXT))


def test_a_pass_that_raises_shows_the_ir_around_the_node():
    with pytest.raises(PassFailure) as info:
        PassManager("test-explode").run(parse_graph(TEXT))
    text = str(info.value)
    assert "pass 'test-explode' raised RuntimeError: boom" in text
    assert "passes run before it: none" in text
    assert ">   %1 = mul(%x, %b) : f32[N, 2]" in text


def test_a_user_pass_object_runs_in_a_list_pipeline():
    @dataclass(frozen=True)
    class CountNodes(Pass):
        name = "count-nodes"

        def run(self, graph: Graph, ctx: PassContext) -> bool:
            ctx.count("nodes", len(graph.nodes))
            return False

    ctx = PassContext()
    PassManager([CountNodes(), "dce"]).run(parse_graph(TEXT), ctx)
    assert ctx.stats["nodes"] == 5
    assert isinstance(Node, type)


def test_level_pipelines_hold_every_pass_and_decompose_what_a_backend_lacks():
    from axiom.compiler.levels import pipeline_for

    o2 = pipeline_for(2).split(",")
    for name in ("shape-infer", "canonicalize", "simplify", "fold-batchnorm", "layout", "fold-constants",
                 "cse", "dce", "fuse", "memory-plan"):
        assert name in o2
    assert o2[-2:] == ["fuse", "memory-plan"]
    with_decompose = pipeline_for(2, ["softmax", "layer_norm"]).split(",")
    assert with_decompose[with_decompose.index("fuse") - 1] == "decompose{ops=softmax+layer_norm}"
    assert pipeline_for(0, ["softmax"]) == ""
    assert pipeline_for(1, ["softmax"]) == "canonicalize,dce,decompose{ops=softmax}"
