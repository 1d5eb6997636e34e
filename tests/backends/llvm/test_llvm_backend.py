"""The llvm backend end to end: the reference models at O0 and O2 with a symbolic batch run at two sizes
without recompiling, equal to the numpy oracle; the on-disk object cache (hits, a corrupt entry
recompiled); every node without a kernel listed at once; the LLVM IR and assembly on show."""

from __future__ import annotations

import numpy as np
import pytest
from llvm_cases import assert_matches

import axiom
from axiom.backends.llvm import target
from axiom.examples import mlp, mnist, resnet18, transformer
from axiom.ir.errors import UnsupportedError
from axiom.ir.parser import parse_graph

MODELS = {
    "mlp": (lambda: mlp.build_mlp().to_graph(), lambda n: [mlp.fake_inputs(n)]),
    "mnist": (lambda: mnist.mnist.to_graph(), lambda n: [mnist.fake_digits(n)[0]]),
    "transformer": (lambda: transformer.transformer_encoder().to_graph(),
                    lambda n: [transformer.fake_sequences(n, 3 + n)]),
    "resnet18": (lambda: resnet18.resnet18(32).to_graph(), lambda n: [resnet18.fake_images(n, 32)]),
}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("AXIOM_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("opt_level", [0, 2])
@pytest.mark.parametrize("name", list(MODELS))
def test_reference_models_match_numpy_at_two_batch_sizes(name: str, opt_level: int) -> None:
    build, inputs = MODELS[name]
    graph = build()
    exe = axiom.compile(graph, backend="llvm", opt_level=opt_level)
    assert exe.backend == "llvm"
    for batch in (1, 3):
        xs = inputs(batch)
        assert_matches(exe.ir, xs, rtol=2e-5, atol=2e-5, opt_level=opt_level)
        got = exe(*xs)
        want = axiom.compile(graph, backend="numpy", opt_level=0)(*xs)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


GRAPH = """graph @g(%x: f32[N, 6]) -> (f32[N, 6]) {
  %0 = exp(%x) : f32[N, 6]
  %1 = mul(%0, %x) : f32[N, 6]
  return %1
}"""


def test_object_code_is_cached_and_a_corrupt_entry_is_recompiled(tmp_path) -> None:  # noqa: ANN001
    from axiom.backends.llvm.lowering import lower

    graph = parse_graph(GRAPH)
    first = lower(graph)
    assert not first.compiled.cache_hit
    again = lower(graph)
    assert again.compiled.cache_hit and again.compiled.key == first.compiled.key
    entry = target.cache_dir() / f"{first.compiled.key}.o"
    entry.write_bytes(entry.read_bytes()[:-7] + b"garbage")
    third = lower(graph)
    assert not third.compiled.cache_hit  # the digest did not match: compiled afresh
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    for run in (first, again, third):
        np.testing.assert_allclose(run([x], {"N": 4})[0], np.exp(x) * x, rtol=1e-6)


def test_every_node_without_a_kernel_is_listed(monkeypatch) -> None:  # noqa: ANN001
    from axiom.ir import opdef

    for op in ("gather_elements", "cumsum"):  # every op has a kernel or a decomposition: take two away
        monkeypatch.delitem(opdef._FACETS["llvm"], op)
    g = parse_graph("""graph @g(%x: f32[4, 6], %i: i64[4, 2]) -> (f32[4, 2], f32[4, 6]) {
  %0 = gather_elements(%x, %i) {axis = 1} : f32[4, 2]    # model.py:3
  %1 = cumsum(%x) {axis = 1} : f32[4, 6]    # model.py:4
  return %0, %1
}""")
    with pytest.raises(UnsupportedError) as info:
        axiom.compile(g, backend="llvm")
    text = str(info.value)
    assert "2 node(s)" in text and "gather_elements at model.py:3" in text and "cumsum at model.py:4" in text


def test_source_shows_llvm_ir_and_vectorized_assembly() -> None:
    from axiom.backends.llvm import source

    src = source(parse_graph(GRAPH))
    assert "define void @axiom_main" in src["ll"] and "call float @axiom_expf" in src["ll"]
    assert "ymm" in src["s"]  # the multiply loop runs 8 floats at a time with AVX2


def test_wrong_inputs_are_refused_before_the_native_call() -> None:
    exe = axiom.compile(parse_graph(GRAPH), backend="llvm")
    with pytest.raises(axiom.InputError, match="input 'x'"):
        exe(np.zeros((3, 5), np.float32))
    with pytest.raises(axiom.InputError, match="input 'x'"):
        exe(np.zeros((3, 6), np.float64))
