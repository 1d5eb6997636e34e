"""Every ```python block of README.md and docs/*.md runs, so the docs cannot drift from the code.

The blocks of one file run in order in one fresh namespace (a later block may use the names
an earlier one made), in a temporary working directory. A block whose first line starts with
``# not run`` is skipped (the rest of that line may say why). A block that shows an error
catches it and asserts on it itself. Each block is written to a real file before it runs, so
DSL source locations and tracebacks show its lines; a failure names the Markdown file and the
line where the block starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_MARKER = "# not run"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})(?P<info>[^`]*)$")

# Docs whose examples are known to fail, with why. The mark is strict: once the doc is fixed
# the test reports XPASS as a failure, and the entry must go.
# A doc listed here must fail (strict xfail), so fixing it forces removing it from this list.
KNOWN_BROKEN: dict[str, str] = {}


@dataclass(frozen=True)
class Block:
    """One fenced python block: its code and the 1-based line of its opening fence."""

    code: str
    line: int

    @property
    def skipped(self) -> bool:
        first = self.code.lstrip("\n").split("\n", 1)[0]
        return first.strip().startswith(SKIP_MARKER)


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks of a Markdown text, in order (other fenced blocks are passed over)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        ticks, indent, start = m["ticks"], m["indent"], i
        body: list[str] = []
        i += 1
        while i < len(lines) and not _closes(lines[i], ticks):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        i += 1  # the closing fence
        if m["info"].strip().split(" ")[0].lower() == "python":
            blocks.append(Block("\n".join(body) + "\n", start + 1))
    return blocks


def _closes(line: str, ticks: str) -> bool:
    """A closing fence: only backticks, at least as many as the opening one."""
    text = line.strip()
    return len(text) >= len(ticks) and set(text) == {"`"}


def doc_files() -> list[Path]:
    return [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] if p.exists()]


def cases() -> list[object]:
    out = []
    for path in doc_files():
        rel = path.relative_to(ROOT).as_posix()
        if not python_blocks(path.read_text(encoding="utf-8")):
            continue
        marks = [pytest.mark.xfail(reason=KNOWN_BROKEN[rel], strict=True)] if rel in KNOWN_BROKEN else []
        out.append(pytest.param(rel, id=rel, marks=marks))
    return out


def run_blocks(rel: str, blocks: list[Block], workdir: Path) -> int:
    """Run ``blocks`` in order in one namespace; return how many ran."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    stem = re.sub(r"\W", "_", Path(rel).stem)
    ran = 0
    for k, block in enumerate(blocks):
        if block.skipped:
            continue
        file = workdir / f"{stem}_block{k:02d}.py"
        file.write_text(block.code, encoding="utf-8")
        try:
            exec(compile(block.code, str(file), "exec"), namespace)
        except BaseException as exc:
            exc.add_note(f"in the python block at {rel}:{block.line}")
            raise
        ran += 1
    return ran


@pytest.mark.parametrize("rel", cases())
def test_doc_examples_run(rel, tmp_path, monkeypatch):
    blocks = python_blocks((ROOT / rel).read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # a block may write a module and import it
    run_blocks(rel, blocks, tmp_path)


def test_extractor_finds_blocks_and_skips_marked_ones():
    text = "\n".join([
        "# Title", "```python", "a = 1", "```", "text", "```text", "not code", "```",
        "````python", "# not run: a file for the shell", "raise SystemExit", "````",
        "  ```python", "  b = a + 1", "  ```",
        "```py", "c = 1", "```",
    ])
    blocks = python_blocks(text)
    assert [b.line for b in blocks] == [2, 9, 13]
    assert [b.skipped for b in blocks] == [False, True, False]
    assert blocks[2].code == "b = a + 1\n"


def test_blocks_share_a_namespace_and_failures_name_the_doc(tmp_path):
    blocks = [Block("x = 2\n", 3), Block("# not run\nraise RuntimeError\n", 7), Block("assert x == 2\n", 9)]
    assert run_blocks("docs/t.md", blocks, tmp_path) == 2
    with pytest.raises(AssertionError) as info:
        run_blocks("docs/t.md", [Block("assert False\n", 12)], tmp_path)
    assert "in the python block at docs/t.md:12" in info.value.__notes__


def test_the_readme_and_the_dsl_guide_are_covered():
    ids = {p.id for p in cases()}
    assert {"README.md", "docs/dsl.md"} <= ids
