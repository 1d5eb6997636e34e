"""onnx's backend node test suite on Axiom's numpy and llvm backends: every case in expected_pass.txt
(expected_pass_llvm.txt) must pass (a regression fails CI); a case that newly passes is reported as a
warning (refresh the lists with ``python -m benchmarks.onnx_conformance --backends numpy,llvm
--write-expected``). llvm cases run in a forked worker, so a crash of native code fails only its case."""

from __future__ import annotations

import os
import re
import signal
import unittest
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from exclusions import EXCLUSIONS, exclusion_reason  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402
from onnx.backend.test import BackendTest  # noqa: E402
from onnx_backend_runner import (  # noqa: E402
    ERROR,
    EXCLUDED,
    FAIL,
    PASS,
    UNSUPPORTED,
    axiom_backend,
    backend_available,
    case_ops,
    load_cases,
    read_expected_pass,
    run_case,
    run_cases,
    usable_cpus,
)

BACKENDS = ("numpy", "llvm")
EXPECTED = {b: read_expected_pass(b) for b in BACKENDS}
ISOLATE = {"numpy": False, "llvm": True}  # native code may crash: run its cases in a worker process




def _on(backend: str) -> list:
    """``backend`` as a pytest param, skipped where it cannot run."""
    skip = pytest.mark.skipif(not backend_available(backend),
                              reason=f"the {backend} backend is unavailable here")
    return [pytest.param(backend, marks=skip)]


ON_EVERY_BACKEND = [p for b in BACKENDS for p in _on(b)]


@pytest.fixture(scope="module")
def cases() -> dict:
    return {case.name: case for case in load_cases()}


@pytest.fixture(scope="module")
def ops(cases: dict) -> dict[str, str]:
    return case_ops(list(cases.values()))


@pytest.fixture(scope="module")
def isolated(request: pytest.FixtureRequest, cases: dict, ops: dict) -> dict[str, dict]:
    """The outcomes of the selected expected cases of each isolated backend, run at once in a worker process
    per CPU (a fork per case would cost more than the cases), the first time one of them is asked for."""
    selected: dict[str, list] = {b: [] for b in BACKENDS if ISOLATE[b]}
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if getattr(item, "originalname", "") == "test_expected_case_passes" and params["backend"] in selected:
            selected[params["backend"]].append(cases[params["name"]])
    return {b: {o.name: o for o in run_cases(chosen, axiom_backend(b), ops, 60, True, usable_cpus())}
            for b, chosen in selected.items() if chosen}


@pytest.mark.parametrize("backend, name", [
    pytest.param(*p.values, n, marks=p.marks, id=f"{p.values[0]}-{n}") for p in ON_EVERY_BACKEND
    for n in EXPECTED[p.values[0]]])
def test_expected_case_passes(backend: str, name: str, cases: dict, ops: dict,
                              request: pytest.FixtureRequest) -> None:
    if ISOLATE[backend]:
        outcome = request.getfixturevalue("isolated")[backend][name]
    else:
        outcome = run_case(cases[name], axiom_backend(backend), ops[name], timeout_s=60)
    assert outcome.outcome == PASS, f"{name} ({outcome.op}) regressed on {backend}: {outcome.outcome}: " \
                                    f"{outcome.detail}"


@pytest.mark.parametrize("backend", ON_EVERY_BACKEND)
def test_report_newly_passing_cases(backend: str, cases: dict, ops: dict) -> None:
    expected = set(EXPECTED[backend])
    runner = axiom_backend(backend)
    others = [c for name, c in cases.items() if name not in expected and not exclusion_reason(name)]
    outcomes = run_cases(others, runner, ops, 60, ISOLATE[backend], usable_cpus())
    newly = [o.name for o in outcomes if o.outcome == PASS]
    if newly:
        warnings.warn(f"{len(newly)} onnx node case(s) newly pass on {backend}; add them with `python -m "
                      f"benchmarks.onnx_conformance --backends numpy,llvm --write-expected`: "
                      f"{', '.join(newly)}", stacklevel=1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_expected_list_names_known_cases_that_are_not_excluded(backend: str, cases: dict) -> None:
    listed = EXPECTED[backend]
    assert len(listed) == len(set(listed)) > 0
    assert [n for n in listed if n not in cases] == []
    assert [n for n in listed if exclusion_reason(n)] == []


def test_every_exclusion_matches_some_case(cases: dict) -> None:
    dead = [p for p in EXCLUSIONS if not any(re.search(p, name) for name in cases)]
    assert dead == []
    assert all(reason.strip() for reason in EXCLUSIONS.values())


def _one_node_case(node: onnx.NodeProto, x: np.ndarray, expected: np.ndarray, name: str = "test_probe"):
    """A case shaped like onnx's (name, model, data_sets, rtol, atol) around one node on a float input."""
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)]
    graph = helper.make_graph([node], "probe", inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, expected.shape)])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]
    model = helper.make_model(graph, opset_imports=opsets)

    class Case:
        pass

    case = Case()
    case.name, case.model, case.rtol, case.atol = name, model, 1e-3, 1e-7
    case.data_sets = [([x], [expected])]
    return case


@pytest.mark.parametrize("isolate", [False, True])
def test_runner_tells_pass_wrong_result_unsupported_and_excluded_apart(isolate: bool) -> None:
    x = np.array([[-1.0, 2.0]], dtype=np.float32)
    relu = helper.make_node("Relu", ["x"], ["y"])
    custom = helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")
    probes = [_one_node_case(relu, x, np.maximum(x, 0), "test_right"),
              _one_node_case(relu, x, x, "test_wrong"), _one_node_case(custom, x, x, "test_custom"),
              _one_node_case(relu, x, x, "test_string_concat")]
    right, wrong, unsupported, excluded = run_cases(probes, axiom_backend("numpy"), {}, isolate=isolate)
    assert (right.outcome, wrong.outcome, excluded.outcome) == (PASS, FAIL, EXCLUDED)
    assert (unsupported.outcome, "Frobnicate" in unsupported.detail) == (UNSUPPORTED, True)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="isolation needs fork")
def test_a_case_that_crashes_its_worker_is_an_error_and_the_run_goes_on() -> None:
    class Crashing(axiom_backend("numpy")):
        @classmethod
        def prepare(cls, model, device="CPU", **kwargs):  # noqa: ANN001, ANN206
            if model.graph.name == "crash":
                os.kill(os.getpid(), signal.SIGSEGV)
            return super().prepare(model, device, **kwargs)

    x = np.array([[-1.0, 2.0]], dtype=np.float32)
    probes = [_one_node_case(helper.make_node("Relu", ["x"], ["y"]), x, np.maximum(x, 0), f"test_{i}")
              for i in range(3)]
    probes[1].model.graph.name = "crash"
    outcomes = run_cases(probes, Crashing, {"test_1": "Relu"}, isolate=True, workers=2)
    assert [(o.name, o.op, o.outcome) for o in outcomes] == [
        ("test_0", "", PASS), ("test_1", "Relu", ERROR), ("test_2", "", PASS)]
    assert outcomes[1].detail == "crashed: SIGSEGV"


@pytest.mark.parametrize("backend", ON_EVERY_BACKEND)
def test_backend_runs_under_onnx_backend_test(backend: str, cases: dict) -> None:
    suite = BackendTest(axiom_backend(backend), __name__).include(r"^test_relu_cpu$").test_suite
    result = unittest.TestResult()
    suite.run(result)
    assert (result.testsRun - len(result.skipped), result.errors, result.failures) == (1, [], [])
