"""`inspect`: one module's outline and ABI verdict, or one row per artifact of a manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from gadgetbuild.manifest import (
    ArtifactRecord,
    ArtifactStatus,
    ExportRecord,
    ImportRecord,
    Manifest,
    Record,
    ViolationRecord,
)
from gadgetbuild.views.sizes import artifact_sizes
from gadgetbuild.wasm import AbiContract, ModuleInfo, check_contract
from gadgetbuild.wasm.records import describe_module

# WASI's application ABI names the entry point: a reactor exports `_initialize`, a
# command `_start`; a module with neither is a plain library the host cannot initialise.
EntryKind = Literal["reactor", "command", "command and reactor", "neither"]


class SectionShare(Record):
    name: str
    offset: int
    size: int
    share: float


class MemoryReport(Record):
    initial_pages: int
    max_pages: int | None
    cap_pages: int
    imported: bool
    within_cap: bool


class ModuleReport(Record):
    path: str
    size: int
    sha256: str
    toolchain: str | None
    toolchain_version: str | None
    language: str | None
    entry: EntryKind
    start_function: bool
    memory: MemoryReport | None
    sections: list[SectionShare]
    exports: list[ExportRecord]
    imports: list[ImportRecord]
    abi_version: int
    min_host: str
    abi_holds: bool
    violations: list[ViolationRecord]


class ArtifactRow(Record):
    gadget: str
    toolchain: str
    status: ArtifactStatus
    compiler: str | None
    backend: str | None
    sizes: dict[str, int | None]
    memory_pages: int | None
    exports: int
    imports: int
    violations: int
    reason: str | None


def inspect_module(
    path: Path, data: bytes, info: ModuleInfo, contract: AbiContract
) -> ModuleReport:
    """The report of the module ``data`` read from ``path``, judged against ``contract``."""
    described = describe_module(info)
    violations = [ViolationRecord(**v.as_dict()) for v in check_contract(info, contract)]
    toolchain = info.toolchain()
    language = info.producers.get("language")
    return ModuleReport(
        path=str(path),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        toolchain=toolchain[0] if toolchain else None,
        toolchain_version=toolchain[1] if toolchain else None,
        language=" ".join(language[0]) if language else None,
        entry=entry_kind(info),
        start_function=info.has_start,
        memory=memory_report(info, contract),
        sections=[
            SectionShare(name=s.name, offset=s.offset, size=s.size, share=share(s.size, len(data)))
            for s in info.sections
        ],
        exports=described.exports,
        imports=described.imports,
        abi_version=contract.abi_version,
        min_host=contract.min_host,
        abi_holds=not violations,
        violations=violations,
    )


def entry_kind(info: ModuleInfo) -> EntryKind:
    start, initialize = info.export("_start"), info.export("_initialize")
    if start and initialize:
        return "command and reactor"
    if start:
        return "command"
    return "reactor" if initialize else "neither"


def memory_report(info: ModuleInfo, contract: AbiContract) -> MemoryReport | None:
    if not info.memories:
        return None

    memory = info.memories[0]
    cap = contract.max_initial_memory_pages
    return MemoryReport(
        initial_pages=memory.min_pages,
        max_pages=memory.max_pages,
        cap_pages=cap,
        # The index space lists imported memories first, so memory 0 is imported if any is.
        imported=any(i.kind == "memory" for i in info.imports),
        within_cap=memory.min_pages <= cap,
    )


def share(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def inspect_manifest(manifest: Manifest) -> list[ArtifactRow]:
    """One row per artifact, in the manifest's order."""
    return [artifact_row(record) for record in manifest.artifacts]


def artifact_row(record: ArtifactRecord) -> ArtifactRow:
    return ArtifactRow(
        gadget=record.gadget,
        toolchain=record.toolchain.name,
        status=record.status,
        compiler=record.toolchain.compiler,
        backend=record.toolchain.backend,
        sizes=artifact_sizes(record),
        memory_pages=record.memory_pages,
        exports=len(record.exports),
        imports=len(record.imports),
        violations=len(record.violations),
        reason=record.reason,
    )
