"""Wasm test modules, written here as text and assembled by the wasm-tools CLI at test time."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from gadgetbuild.toolchains.engine import (
    MANAGED_LABEL,
    RUN_ID_ENV,
    RUN_LABEL,
    TOOLCHAIN_LABEL,
    NoEngine,
    connect_engine,
    remove_container,
)
from gadgetbuild.wasm.tools import assemble

IG_IMPORTS = """
  (import "ig" "gadgetLog" (func $log (param i32 i64)))
  (import "ig" "newDataSource" (func (param i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
"""
MEMORY = '(memory (export "memory") 2)'
INITIALIZE = '(func $init (export "_initialize"))'
API_VERSION = '(func (export "gadgetAPIVersion") (result i64) i64.const 1)'
LIFECYCLE = """
  (func (export "gadgetInit") (result i32) i32.const 0)
  (func (export "gadgetStart") (result i32) i32.const 0)
  (func (export "dataSourceCallback") (param i64 i32 i32))
"""
GO_PRODUCERS = (
    '(@producers (language "Go" "go1.24.11") (processed-by "Go cmd/compile" "go1.24.11"))'
)

# TinyGo's extras: allocator exports, the asyncify exports of its default scheduler, and
# a `target_features` section (a count, then `+` and a length-prefixed name per feature).
TINYGO_EXTRAS = """
  (func (export "malloc") (param i32) (result i32) i32.const 0)
  (func (export "free") (param i32))
  (func (export "calloc") (param i32 i32) (result i32) i32.const 0)
  (func (export "realloc") (param i32 i32) (result i32) i32.const 0)
  (func (export "asyncify_start_unwind") (param i32))
  (func (export "asyncify_stop_unwind"))
  (func (export "asyncify_start_rewind") (param i32))
  (func (export "asyncify_stop_rewind"))
  (func (export "asyncify_get_state") (result i32) i32.const 0)
  (@custom "target_features" (after code) "\\02+\\0fmutable-globals+\\08sign-ext")
  (@producers (language "Go" "1.24.11") (processed-by "TinyGo" "0.41.1"))
"""

# Every module kind the reader, the contract and the tools must handle, by name.
KITCHEN_SINK = """
  (import "ig" "gadgetLog" (func $log (param i32 i64)))
  (import "env" "memory" (memory 1 3))
  (import "env" "table" (table 2 funcref))
  (import "env" "counter" (global (mut i64)))
  (type $pair (func (param f32 f64 v128 externref funcref) (result i32 i64)))
  (table $t (export "tbl") 1 externref)
  (global $g (export "glob") i32 (i32.const 7))
  (func $pair_fn (export "pair") (type $pair) i32.const 0 i64.const 0)
  (func $start_fn)
  (start $start_fn)
  (elem declare func $start_fn)
  (data "hello")
  (export "mem" (memory 0))
  (export "log" (func $log))
  (@custom "go:buildid" (before first) "abc")
"""

# Later proposals the reader must outline too: tags, multiple memories, memory64, data count.
PROPOSALS = """
  (import "env" "memory" (memory 1 3))
  (tag $oops (export "oops") (param i32))
  (import "env" "boom" (tag (param i64)))
  (data "hello")
  (func data.drop 0)
  (memory (export "memory") i64 3 5)
"""


def module(*parts: str) -> str:
    return "(module\n" + "\n".join(parts) + "\n)\n"


def reactor(*extra: str, imports: str = IG_IMPORTS, memory: str = MEMORY) -> str:
    return module(imports, memory, INITIALIZE, API_VERSION, *extra, GO_PRODUCERS)


WAT_CORPUS: dict[str, str] = {
    "reactor": reactor(LIFECYCLE),
    "command": module(IG_IMPORTS, MEMORY, '(func (export "_start"))', API_VERSION),
    "no_api_version": module(IG_IMPORTS, MEMORY, INITIALIZE, LIFECYCLE),
    "bad_lifecycle": reactor('(func (export "gadgetStart") (param i32) (result i32) i32.const 0)'),
    "legacy_env": reactor(imports='(import "env" "gadgetLog" (func (param i32 i64)))'),
    "unknown_ig": reactor(imports='(import "ig" "gadgetLogf" (func (param i32 i64)))'),
    "ig_bad_signature": reactor(
        imports='(import "ig" "newDataSource" (func (param i32 i32) (result i32)))'
    ),
    "big_memory": reactor(memory='(memory (export "memory") 300)'),
    "tinygo_like": module(IG_IMPORTS, MEMORY, INITIALIZE, API_VERSION, TINYGO_EXTRAS),
    "kitchen_sink": module(KITCHEN_SINK),
    "proposals": module(PROPOSALS),
    "empty": module(),
}


class CorpusModule(NamedTuple):
    name: str
    wat: str
    data: bytes
    path: Path


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CorpusModule]:
    """Every module of ``WAT_CORPUS``, assembled once per session."""
    folder = tmp_path_factory.mktemp("corpus")
    modules = {}
    for name, wat in WAT_CORPUS.items():
        data = assemble(wat)
        path = folder / f"{name}.wasm"
        path.write_bytes(data)
        modules[name] = CorpusModule(name, wat, data, path)
    return modules


@pytest.fixture(params=sorted(WAT_CORPUS))
def corpus_module(request: pytest.FixtureRequest, corpus: dict[str, CorpusModule]) -> CorpusModule:
    return corpus[str(request.param)]


@pytest.fixture
def wat_file(tmp_path: Path) -> Callable[[str], Path]:
    """Assemble WAT text into a file of its own under the test's temporary folder."""
    counter = iter(range(1_000_000))

    def write(wat: str) -> Path:
        path = tmp_path / f"module{next(counter)}.wasm"
        path.write_bytes(assemble(wat))
        return path

    return write


REPO = Path(__file__).resolve().parents[1]

MINI_LIB = """package lib

//go:wasmimport ig gadgetLog
func gadgetLog(level uint32, msg uint64)

// Log sends an empty message: enough for the module to import from the host.
func Log() { gadgetLog(1, 0) }
"""

MINI_GADGET = """package main

import "mini/lib"

//go:wasmexport gadgetAPIVersion
func gadgetAPIVersion() uint64 { return 1 }

//go:wasmexport gadgetInit
func gadgetInit() int32 { lib.Log(); return %d }

func main() {}
"""


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test's build cache and compiler caches live in one folder of this session."""
    path = tmp_path_factory.mktemp("gadgetbuild-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GADGETBUILD_CACHE_DIR", str(path))
        # No test asks a registry on another host for an image: the pull step is tested
        # against a closed port of this machine, and skipped everywhere else.
        patch.setenv("GADGETBUILD_NO_PULL", "1")
        yield path


class MiniRepo(NamedTuple):
    """Two small gadgets sharing a local Go module, and the Go toolchain spec."""

    root: Path
    gadgets: Path
    toolchains: Path
    out: Path

    def build_args(self, *extra: str) -> list[str]:
        return [
            "build",
            "--gadgets-dir",
            str(self.gadgets),
            "--toolchains-dir",
            str(self.toolchains),
            "--out",
            str(self.out),
            "--backend",
            "local",
            *extra,
        ]


@pytest.fixture
def mini_repo(tmp_path: Path) -> MiniRepo:
    gadgets, toolchains = tmp_path / "gadgets", tmp_path / "toolchains"
    lib = gadgets / "_lib"
    lib.mkdir(parents=True)
    (lib / "go.mod").write_text("module mini/lib\n\ngo 1.24\n")
    (lib / "lib.go").write_text(MINI_LIB)
    for index, name in enumerate(("alpha", "beta")):
        folder = gadgets / name
        folder.mkdir()
        (folder / "go.mod").write_text(
            f"module mini/{name}\n\ngo 1.24\n\nrequire mini/lib v0.0.0\n\n"
            "replace mini/lib => ../_lib\n"
        )
        (folder / "main.go").write_text(MINI_GADGET % 0)
        (folder / "gadget.toml").write_text(f'name = "{name}"\ndescription = "gadget {index}"\n')
    toolchains.mkdir()
    (toolchains / "go-1.24.toml").write_text((REPO / "toolchains" / "go-1.24.toml").read_text())
    return MiniRepo(tmp_path, gadgets, toolchains, tmp_path / "artifacts")


# Every run of this session, in process or in a subprocess it starts, carries one run id: its end
# can then check that no container of ours outlived the tests, on an engine others may share.
SESSION_RUN_ID = f"pytest-{uuid.uuid4().hex[:12]}"
os.environ[RUN_ID_ENV] = SESSION_RUN_ID


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the session when a container of its runs remains (and remove it for the next)."""
    engine = connect_engine()
    if isinstance(engine, NoEngine):
        return

    labels = [MANAGED_LABEL, f"{RUN_LABEL}={SESSION_RUN_ID}"]
    left = engine.client.containers.list(all=True, filters={"label": labels})
    for container in left:
        remove_container(container)
    engine.client.close()
    if left:
        names = ", ".join(f"{c.short_id} ({c.labels.get(TOOLCHAIN_LABEL)})" for c in left)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write("\n")  # the progress line may still be open
            reporter.write_line(f"containers left behind by this session: {names}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
