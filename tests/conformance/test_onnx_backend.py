"""onnx's backend node test suite on Axiom's numpy backend: every case in expected_pass.txt must pass (a
regression fails CI); a case that newly passes is reported as a warning (refresh the list with
``python -m benchmarks.onnx_conformance --write-expected``)."""

from __future__ import annotations

import re
import unittest
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from exclusions import EXCLUSIONS, exclusion_reason  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402
from onnx.backend.test import BackendTest  # noqa: E402
from onnx_backend_runner import (  # noqa: E402
    EXCLUDED,
    FAIL,
    PASS,
    UNSUPPORTED,
    axiom_backend,
    case_ops,
    load_cases,
    read_expected_pass,
    run_case,
)

BACKEND = "numpy"
EXPECTED = read_expected_pass(BACKEND)


@pytest.fixture(scope="module")
def cases() -> dict:
    return {case.name: case for case in load_cases()}


@pytest.fixture(scope="module")
def ops(cases: dict) -> dict[str, str]:
    return case_ops(list(cases.values()))


@pytest.mark.parametrize("name", EXPECTED)
def test_expected_case_passes(name: str, cases: dict, ops: dict) -> None:
    outcome = run_case(cases[name], axiom_backend(BACKEND), ops[name], timeout_s=60)
    assert outcome.outcome == PASS, f"{name} ({outcome.op}) regressed: {outcome.outcome}: {outcome.detail}"


def test_report_newly_passing_cases(cases: dict, ops: dict) -> None:
    expected = set(EXPECTED)
    backend = axiom_backend(BACKEND)
    others = [c for name, c in cases.items() if name not in expected and not exclusion_reason(name)]
    newly = [c.name for c in others if run_case(c, backend, ops[c.name], timeout_s=60).outcome == PASS]
    if newly:
        warnings.warn(f"{len(newly)} onnx node case(s) newly pass on {BACKEND}; add them with `python -m "
                      f"benchmarks.onnx_conformance --write-expected`: {', '.join(newly)}", stacklevel=1)


def test_expected_list_names_known_cases_that_are_not_excluded(cases: dict) -> None:
    assert len(EXPECTED) == len(set(EXPECTED)) > 0
    assert [n for n in EXPECTED if n not in cases] == []
    assert [n for n in EXPECTED if exclusion_reason(n)] == []


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


def test_runner_tells_pass_wrong_result_unsupported_and_excluded_apart() -> None:
    backend = axiom_backend(BACKEND)
    x = np.array([[-1.0, 2.0]], dtype=np.float32)
    relu = helper.make_node("Relu", ["x"], ["y"])
    assert run_case(_one_node_case(relu, x, np.maximum(x, 0)), backend).outcome == PASS
    wrong = run_case(_one_node_case(relu, x, x), backend)
    assert wrong.outcome == FAIL
    custom = helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")
    unsupported = run_case(_one_node_case(custom, x, x), backend)
    assert (unsupported.outcome, "Frobnicate" in unsupported.detail) == (UNSUPPORTED, True)
    excluded = run_case(_one_node_case(relu, x, x, name="test_string_concat"), backend)
    assert excluded.outcome == EXCLUDED


def test_backend_runs_under_onnx_backend_test(cases: dict) -> None:
    suite = BackendTest(axiom_backend(BACKEND), __name__).include(r"^test_relu_cpu$").test_suite
    result = unittest.TestResult()
    suite.run(result)
    assert (result.testsRun - len(result.skipped), result.errors, result.failures) == (1, [], [])
