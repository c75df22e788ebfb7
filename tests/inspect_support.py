"""Artifact folders made from WAT modules, laid out as a build writes them, and golden files.

The modules are shaped like each toolchain's output: the Go one carries Go's `producers`
and a large data segment (Go modules are several times TinyGo's), the TinyGo one the
allocator and asyncify exports and a `target_features` section. Both keep a `name`
section in the raw module, as the debug artifact does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rich.console import Console

from conftest import API_VERSION, IG_IMPORTS, INITIALIZE, LIFECYCLE, MEMORY, TINYGO_EXTRAS, module
from gadgetbuild import render
from gadgetbuild.cli import main
from gadgetbuild.compress import CODECS, compress_checked
from gadgetbuild.manifest import (
    ArtifactRecord,
    ArtifactStatus,
    CompressedFile,
    Manifest,
    ToolchainIdentity,
    write_manifest,
)
from gadgetbuild.pipeline import file_record
from gadgetbuild.wasm import assemble, read_module, strip
from gadgetbuild.wasm.records import describe_module

GOLDEN = Path(__file__).parent / "golden"
REGEN_ENV = "GADGETBUILD_REGEN_GOLDEN"

GO = ToolchainIdentity(
    name="go-1.24", family="go", version="1.24.11", compiler="Go cmd/compile go1.24.11"
)
TINYGO = ToolchainIdentity(
    name="tinygo-0.41", family="tinygo", version="0.41.1", compiler="TinyGo 0.41.1"
)
GO_PRODUCERS = (
    '(@producers (language "Go" "go1.24.11") (processed-by "Go cmd/compile" "go1.24.11"))'
)


def filler(size: int, seed: str) -> str:
    """``size`` bytes of text for a data segment: varied enough not to compress to nothing."""
    words = [f"{seed}{i * 7919 % 1000:03d}" for i in range(size // 4 + 1)]
    return " ".join(words)[:size]


def go_like(data_size: int, *extra: str) -> str:
    body = (
        "(func $main.work (param i32) (result i32) local.get 0 i32.const 3 i32.mul "
        "i32.const 1 i32.add)"
    )
    data = f'(data (i32.const 1024) "{filler(data_size, "go")}")'
    return module(
        IG_IMPORTS, MEMORY, INITIALIZE, API_VERSION, LIFECYCLE, body, data, *extra, GO_PRODUCERS
    )


def tinygo_like(data_size: int, *extra: str) -> str:
    data = f'(data (i32.const 1024) "{filler(data_size, "tg")}")'
    return module(IG_IMPORTS, MEMORY, INITIALIZE, API_VERSION, data, *extra, TINYGO_EXTRAS)


def write_artifact(
    out: Path, gadget: str, toolchain: ToolchainIdentity, wat: str
) -> ArtifactRecord:
    """The files and the record a build would write for ``wat`` compiled by ``toolchain``."""
    folder = out / toolchain.name
    folder.mkdir(parents=True, exist_ok=True)
    raw_path, stripped_path = folder / f"{gadget}.debug.wasm", folder / f"{gadget}.wasm"
    raw = assemble(wat)
    raw_path.write_bytes(raw)
    strip(raw_path, stripped_path)
    stripped = stripped_path.read_bytes()

    compressed = []
    for spec in CODECS:
        path = folder / f"{gadget}.wasm{spec.suffix}"
        path.write_bytes(packed := compress_checked(spec, stripped))
        record = file_record(path, packed, out)
        compressed.append(CompressedFile(**record.model_dump(), codec=spec.codec, level=spec.level))

    described = describe_module(read_module(raw))
    return ArtifactRecord(
        gadget=gadget,
        toolchain=toolchain,
        status=ArtifactStatus.BUILT,
        raw=file_record(raw_path, raw, out),
        stripped=file_record(stripped_path, stripped, out),
        compressed=compressed,
        exports=described.exports,
        imports=described.imports,
        sections=described.sections,
        memory_pages=described.memory_pages,
        abi_version=1,
        min_host="v0.39",
    )


def unavailable(gadget: str, toolchain: ToolchainIdentity, reason: str) -> ArtifactRecord:
    # No compile ran, so no `producers` named a compiler.
    identity = toolchain.model_copy(update={"compiler": None})
    return ArtifactRecord(
        gadget=gadget, toolchain=identity, status=ArtifactStatus.UNAVAILABLE, reason=reason
    )


def save_manifest(out: Path, records: list[ArtifactRecord]) -> Path:
    path = out / "manifest.json"
    ordered = sorted(records, key=lambda r: r.key)
    write_manifest(Manifest(gadgetbuild_version="0.1.0", artifacts=ordered), path)
    return path


def standard_artifacts(out: Path, *, go_data: int = 6000, hello_extra: str = "") -> Path:
    """Two gadgets: both built by Go; TinyGo built one and was unavailable for the other."""
    records = [
        write_artifact(out, "hello", GO, go_like(go_data, hello_extra)),
        write_artifact(out, "hello", TINYGO, tinygo_like(900)),
        write_artifact(out, "exec-filter", GO, go_like(go_data + 2500)),
        unavailable("exec-filter", TINYGO, "no tinygo 0.41.1 on PATH; install it or use Docker"),
    ]
    return save_manifest(out, records)


@contextmanager
def plain_consoles() -> Iterator[None]:
    """Fixed width, no colour: the text views render the same on every machine."""
    with pytest.MonkeyPatch.context() as patch:
        for name, err in (("stdout", False), ("stderr", True)):
            console = Console(
                stderr=err, width=120, color_system=None, soft_wrap=False, force_terminal=False
            )
            patch.setattr(render, name, console)
        yield


def normalise(text: str) -> str:
    # Tables pad their last column; trailing blanks are not part of what a reader sees.
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def check_golden(name: str, text: str) -> None:
    """Compare ``text`` with ``tests/golden/<name>``; ``GADGETBUILD_REGEN_GOLDEN=1`` rewrites it."""
    path = GOLDEN / name
    text = normalise(text)
    if os.environ.get(REGEN_ENV) == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"no golden file {path}: run with {REGEN_ENV}=1"
    assert text == path.read_text(encoding="utf-8"), f"differs from {path} ({REGEN_ENV}=1 rewrites)"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """``gadgetbuild ARGS`` in process: the exit status, stdout and stderr."""
    capsys.readouterr()
    with plain_consoles():
        status = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return status, out, err
