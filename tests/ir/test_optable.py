"""docs/ir.md's op table is exactly what the registry renders."""

from __future__ import annotations

from axiom.ir import all_ops, parse_graph, print_graph
from axiom.ir.opdef import AttrSpec
from axiom.ir.optable import BEGIN, DOCS_PATH, END, format_attr, op_table_markdown, table_in, update_docs


def test_docs_op_table_matches_the_registry() -> None:
    documented = table_in(DOCS_PATH.read_text())
    assert documented == op_table_markdown(), (
        "docs/ir.md's op table is stale: run `python -m axiom.ir.optable` to regenerate it")


def test_table_has_one_row_per_op_with_its_attributes() -> None:
    rows = op_table_markdown().splitlines()[2:]
    assert [r.split(" | ")[0] for r in rows] == [f"| `{op.name}`" for op in all_ops()]
    cast = next(r for r in rows if r.startswith("| `cast`"))
    assert "| 1 | 1 | `to: dtype` | elementwise, unary |" in cast


def test_attribute_cells() -> None:
    assert format_attr("axis", AttrSpec("int", -1)) == "`axis: int = -1`"
    assert format_attr("axes", AttrSpec("ints", None, optional=True)) == "`axes: ints? = none`"
    assert format_attr("sizes", AttrSpec("ints")) == "`sizes: ints`"
    assert format_attr("mode", AttrSpec("str", "constant")) == '`mode: str = "constant"`'


def test_update_rewrites_only_between_the_markers(tmp_path) -> None:  # noqa: ANN001
    page = tmp_path / "ir.md"
    page.write_text(f"# title\n\n{BEGIN}\n| stale |\n{END}\n\nafter\n")
    assert update_docs(page) is True
    text = page.read_text()
    assert text.startswith("# title\n\n") and text.endswith(f"{END}\n\nafter\n")
    assert table_in(text) == op_table_markdown()
    assert update_docs(page) is False


def test_docs_example_is_exact_printer_output() -> None:
    text = DOCS_PATH.read_text()
    example = text.split("```\n", 2)[1].rstrip("\n")
    assert example.startswith("graph @mnist(")
    g = parse_graph(example)
    assert g.missing_constants() == ["conv1.weight", "conv1.bias"]
    assert print_graph(g) == example
