"""The host target and the compile step: parse and verify the module, optimise at O3 for the host CPU
with LLVM's new pass builder, verify again, emit object code; object code is cached on disk, keyed by
module text + triple + CPU + features + llvmlite version, and checked by a digest when read back (a
corrupt entry is recompiled, never trusted)."""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llvmlite
import llvmlite.binding as llvm


@dataclass(frozen=True)
class Host:
    triple: str
    cpu: str
    features: str

    @property
    def key(self) -> str:
        return f"{self.triple}|{self.cpu}|{self.features}|llvmlite {llvmlite.__version__}"


@functools.lru_cache(maxsize=1)
def _machine() -> tuple[Host, Any]:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    host = Host(llvm.get_process_triple(), llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten())
    return host, _target_machine(host)


def _target_machine(host: Host) -> Any:
    """A fresh target machine for ``host`` (an execution engine takes ownership of the one it gets)."""
    return llvm.Target.from_triple(host.triple).create_target_machine(
        cpu=host.cpu, features=host.features, opt=3, jit=True)


def host() -> Host:
    return _machine()[0]


def cache_dir() -> Path:
    """``$AXIOM_CACHE_DIR``, else ``$XDG_CACHE_HOME/axiom`` (``~/.cache/axiom``)."""
    env = os.environ.get("AXIOM_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "axiom" / "llvm"


def optimise(text: str) -> Any:
    """Parse, verify, optimise at O3 for the host, verify again: the optimised llvmlite module."""
    _, tm = _machine()
    module = llvm.parse_assembly(text)
    module.verify()
    module.triple = tm.triple
    module.data_layout = str(tm.target_data)
    pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=3))
    pb.getModulePassManager().run(module, pb)
    module.verify()
    return module


@dataclass
class Compiled:
    """A loaded module: the execution engine (kept alive), the entry address, and where it came from."""

    engine: Any
    address: int
    cache_hit: bool
    key: str


def compile_module(text: str, entry: str, use_cache: bool = True) -> Compiled:
    """Machine code for ``text``, from the disk cache when a valid entry exists."""
    h, tm = _machine()
    key = hashlib.sha256(f"{h.key}\n{text}".encode()).hexdigest()
    path = cache_dir() / f"{key}.o"
    obj = _read_cached(path) if use_cache else None
    hit = obj is not None
    if obj is None:
        obj = tm.emit_object(optimise(text))
        if use_cache:
            _write_cached(path, obj)
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), _target_machine(h))
    engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
    engine.finalize_object()
    address = engine.get_function_address(entry)
    if not address:
        raise RuntimeError(f"compiled module has no function {entry!r}")
    return Compiled(engine, address, hit, key)


def assembly(text: str) -> str:
    """The host assembly of ``text`` after optimisation (for ``source()`` and dumps)."""
    return _machine()[1].emit_assembly(optimise(text))


def _read_cached(path: Path) -> bytes | None:
    """The object bytes of a cache entry whose digest line matches, else None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    digest, _, obj = data.partition(b"\n")
    return obj if obj and hashlib.sha256(obj).hexdigest().encode() == digest else None


def _write_cached(path: Path, obj: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(hashlib.sha256(obj).hexdigest().encode() + b"\n" + obj)
        tmp.replace(path)  # atomic: a reader never sees half an entry
    except OSError:
        pass  # an unwritable cache only costs recompiles
