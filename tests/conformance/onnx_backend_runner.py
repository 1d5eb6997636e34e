"""Runs onnx's backend node test cases against Axiom: an ``onnx.backend.base.Backend`` for any Axiom
backend, and a runner that sorts each case into passed, wrong result, error, not supported or excluded.

Shared by tests/conformance/test_onnx_backend.py (the CI gate) and benchmarks/onnx_conformance.py (the
full run that writes docs/onnx-conformance.md).
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import re
import selectors
import signal
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from exclusions import exclusion_reason
from onnx.backend.base import Backend, BackendRep
from onnx.backend.test.loader import load_node_model_tests
from onnx.backend.test.runner import Runner

import axiom
from axiom.ir.errors import UnsupportedError

PASS, FAIL, ERROR, UNSUPPORTED, EXCLUDED = "pass", "fail", "error", "unsupported", "excluded"
OUTCOMES = (PASS, FAIL, ERROR, UNSUPPORTED, EXCLUDED)


class AxiomRep(BackendRep):
    """A prepared model: an Axiom Executable called with the case's inputs, outputs as a tuple."""

    def __init__(self, executable: Any) -> None:
        self.executable = executable

    def run(self, inputs: Any, **kwargs: Any) -> tuple[Any, ...]:
        arrays = [_input_array(x) for x in inputs]
        outs = self.executable(*arrays)
        return tuple(outs) if isinstance(outs, tuple) else (outs,)


def _input_array(x: Any) -> np.ndarray:
    """A case input as a numpy array; sequences and optionals are not tensors Axiom can take."""
    if isinstance(x, onnx.TensorProto):
        return onnx.numpy_helper.to_array(x)
    if x is None or isinstance(x, list):
        raise UnsupportedError(f"input of kind {type(x).__name__} (ONNX sequence/optional) is not a tensor")
    return np.asarray(x)


def axiom_backend(backend_name: str) -> type[Backend]:
    """An onnx Backend class that compiles with Axiom for ``backend_name`` ("numpy", ...)."""

    class AxiomBackend(Backend):
        name = backend_name

        @classmethod
        def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> AxiomRep:
            return AxiomRep(axiom.compile(model, backend=backend_name))

        @classmethod
        def supports_device(cls, device: str) -> bool:
            return device == "CPU"

    AxiomBackend.__name__ = f"Axiom{backend_name.capitalize()}Backend"
    return AxiomBackend


@dataclass(frozen=True)
class Outcome:
    """What happened to one case: its name, its op, one of OUTCOMES, and a one-line detail."""

    name: str
    op: str
    outcome: str
    detail: str = ""


def load_cases() -> list[Any]:
    """onnx's node test cases (built in memory by onnx), sorted by name; numpy's warnings silenced."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return sorted(load_node_model_tests(), key=lambda c: c.name)


def case_ops(cases: list[Any]) -> dict[str, str]:
    """The op each case tests: its node's op type ("Conv"); for a multi-node ``*_expanded`` case (an op's
    function body), the op of the case it expands; "(multi-node)" for any other multi-node case."""
    ops = {c.name: c.model.graph.node[0].op_type for c in cases if len(c.model.graph.node) == 1}
    for c in cases:
        if c.name not in ops:
            ops[c.name] = ops.get(re.sub(r"_expanded(_ver\d+)?$", "", c.name), "(multi-node)")
    return ops


class CaseTimeout(Exception):
    """A case that ran past its time limit."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise CaseTimeout after ``seconds`` (SIGALRM; main thread only; 0 means no limit)."""
    if seconds <= 0:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_outputs(case: Any, backend: type[Backend]) -> list[tuple[Any, ...]]:
    """Prepare one case and run it on each of its data sets."""
    rep = backend.prepare(case.model, "CPU")
    return [rep.run(inputs) for inputs, _ in case.data_sets]


def compare(case: Any, outputs: list[tuple[Any, ...]]) -> None:
    """Compare with onnx's expected outputs as BackendTest does (shape, dtype, rtol/atol of the case)."""
    for (_, expected), got in zip(case.data_sets, outputs, strict=True):
        refs = [onnx.numpy_helper.to_array(r) if isinstance(r, onnx.TensorProto) else r for r in expected]
        Runner.assert_similar_outputs(refs, got, rtol=case.rtol, atol=case.atol, model_dir=case.name)


def run_case(case: Any, backend: type[Backend], op: str = "", timeout_s: int = 0) -> Outcome:
    """Run one case (``op``: the op it tests, for the report) and classify it; an Axiom UnsupportedError
    is "not supported", not a failure, and an excluded case is not run."""
    reason = exclusion_reason(case.name)
    if reason:
        return Outcome(case.name, op, EXCLUDED, reason)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            with time_limit(timeout_s):
                outputs = run_outputs(case, backend)
        except UnsupportedError as exc:
            return Outcome(case.name, op, UNSUPPORTED, _unsupported_detail(exc))
        except Exception as exc:  # noqa: BLE001 - any other crash is an error of this case
            return Outcome(case.name, op, ERROR, f"{type(exc).__name__}: {_first_line(exc)}")
        try:
            compare(case, outputs)
        except (AssertionError, TypeError, ValueError) as exc:
            return Outcome(case.name, op, FAIL, _first_line(exc))
    return Outcome(case.name, op, PASS)


def run_cases(cases: list[Any], backend: type[Backend], ops: dict[str, str], timeout_s: int = 0,
              isolate: bool = False, workers: int = 1) -> list[Outcome]:
    """run_case on each of ``cases``; the outcomes in the cases' order. ``isolate`` runs them in ``workers``
    forked worker processes (each a share of the cases), so that native code that crashes (a segfault) is
    an error of its case, not the end of the run: a worker sends each outcome through a pipe, and one that
    dies is replaced by a fresh worker for the rest of its share."""
    if not isolate or not hasattr(os, "fork"):
        return [run_case(c, backend, ops.get(c.name, ""), timeout_s) for c in cases]
    outcomes: dict[int, Outcome] = {}
    live = selectors.DefaultSelector()

    def start(share: list[int]) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: leaves at once when done (no atexit, no test-runner teardown)
            try:
                os.close(read)
                faulthandler.disable()  # a crash is reported as this case's outcome, not as a traceback
                with os.fdopen(write, "wb") as pipe:
                    for i in share:
                        outcome = run_case(cases[i], backend, ops.get(cases[i].name, ""), timeout_s)
                        pickle.dump((i, outcome), pipe)
                        pipe.flush()
            finally:
                os._exit(0)
        os.close(write)
        live.register(os.fdopen(read, "rb"), selectors.EVENT_READ, (pid, share))

    for w in range(max(1, workers)):
        if cases[w::workers]:
            start(list(range(w, len(cases), workers)))
    while live.get_map():
        for key, _ in live.select():
            pid, share = key.data
            try:
                i, outcome = pickle.load(key.fileobj)
            except EOFError:  # the worker is gone: every outcome it sent has been read
                live.unregister(key.fileobj)
                key.fileobj.close()
                _, status = os.waitpid(pid, 0)
                if share:  # it died running share[0]
                    i = share.pop(0)
                    outcomes[i] = Outcome(cases[i].name, ops.get(cases[i].name, ""), ERROR, _death(status))
                if share:
                    start(share)
                continue
            share.remove(i)
            outcomes[i] = outcome
    return [outcomes[i] for i in range(len(cases))]


def usable_cpus() -> int:
    """How many CPUs this process may run on: the worker count of an isolated run."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"crashed: {signal.Signals(os.WTERMSIG(status)).name}"
    return f"the worker exited with {os.waitstatus_to_exitcode(status)} before its outcome"


def _unsupported_detail(exc: UnsupportedError) -> str:
    """The unsupported ops of an import error ("no converter: Attention"), else the message's first line."""
    problems = getattr(exc, "problems", None)
    if not problems:
        return _first_line(exc)
    by_reason: dict[str, set[str]] = {}
    for op, _domain, _opset, _name, why in problems:
        by_reason.setdefault(why.split(" (")[0][:80], set()).add(op)
    return "; ".join(f"{why}: {', '.join(sorted(ops))}" for why, ops in sorted(by_reason.items()))


def expected_pass_path(backend_name: str) -> Path:
    """The file listing the cases that must pass on ``backend_name`` (one name a line)."""
    suffix = "" if backend_name == "numpy" else f"_{backend_name}"
    return Path(__file__).with_name(f"expected_pass{suffix}.txt")


def read_expected_pass(backend_name: str) -> list[str]:
    """The expected-pass case names of ``backend_name``; empty when it has no file yet."""
    path = expected_pass_path(backend_name)
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def backend_available(backend: str) -> bool:
    """Whether ``backend`` can run here (its module imports and says it is available)."""
    from axiom.backends import get_backend
    from axiom.ir.errors import UnsupportedError

    try:
        get_backend(backend)
    except UnsupportedError:
        return False
    return True
