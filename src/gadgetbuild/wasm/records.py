"""A module's outline as manifest records: the bridge from the reader to the manifest."""

from __future__ import annotations

from dataclasses import dataclass

from gadgetbuild.manifest import ExportRecord, ImportRecord, SectionRecord
from gadgetbuild.wasm.model import ModuleInfo


@dataclass(frozen=True, slots=True)
class ModuleDescription:
    exports: list[ExportRecord]
    imports: list[ImportRecord]
    sections: list[SectionRecord]
    memory_pages: int | None
    compiler: str | None


def describe_module(info: ModuleInfo) -> ModuleDescription:
    producer = info.toolchain()
    return ModuleDescription(
        exports=[
            ExportRecord(name=e.name, kind=e.kind, signature=_text(e.signature))
            for e in info.exports
        ],
        imports=[
            ImportRecord(module=i.module, name=i.name, kind=i.kind, signature=_text(i.signature))
            for i in info.imports
        ],
        sections=[SectionRecord(name=s.name, size=s.size) for s in info.sections],
        memory_pages=info.memories[0].min_pages if info.memories else None,
        compiler=" ".join(producer) if producer else None,
    )


def interface_of(info: ModuleInfo) -> tuple[tuple[str, ...], ...]:
    """Imports and exports with their signatures: what stripping must leave unchanged."""
    imports = tuple(
        ("import", i.module, i.name, i.kind, _text(i.signature) or "") for i in info.imports
    )
    exports = tuple(("export", e.name, e.kind, _text(e.signature) or "") for e in info.exports)
    return imports + exports


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)
