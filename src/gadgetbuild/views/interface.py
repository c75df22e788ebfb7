"""What changed in a module's interface: exports and imports added, removed or re-typed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from gadgetbuild.manifest import ExportRecord, ImportRecord, Record

Direction = Literal["export", "import"]
Change = Literal["added", "removed", "changed"]


class InterfaceChange(Record):
    direction: Direction
    name: str
    change: Change
    old: str | None = None
    new: str | None = None

    @property
    def code(self) -> str:
        """``export-removed``, ``import-changed``, …: the short id a report line carries."""
        return f"{self.direction}-{self.change}"

    def describe(self) -> str:
        if self.change == "added":
            return f"{self.direction} `{self.name}` added: {self.new}"
        if self.change == "removed":
            return f"{self.direction} `{self.name}` removed (was {self.old})"
        return f"{self.direction} `{self.name}` changed from {self.old} to {self.new}"


def interface_changes(
    old_exports: Sequence[ExportRecord],
    old_imports: Sequence[ImportRecord],
    new_exports: Sequence[ExportRecord],
    new_imports: Sequence[ImportRecord],
) -> list[InterfaceChange]:
    """Every difference, exports first, each direction in name order."""
    return [
        *_changes("export", _exports(old_exports), _exports(new_exports)),
        *_changes("import", _imports(old_imports), _imports(new_imports)),
    ]


# A name maps to every shape it has: Go imports `fd_write` twice, and dropping one of the
# two must still count as a change.
Shapes = dict[str, tuple[str, ...]]


def _exports(exports: Sequence[ExportRecord]) -> Shapes:
    return _group((e.name, _shape(e.kind, e.signature)) for e in exports)


def _imports(imports: Sequence[ImportRecord]) -> Shapes:
    return _group((f"{i.module}.{i.name}", _shape(i.kind, i.signature)) for i in imports)


def _group(entries: Iterable[tuple[str, str]]) -> Shapes:
    grouped: dict[str, list[str]] = {}
    for name, shape in entries:
        grouped.setdefault(name, []).append(shape)
    return {name: tuple(sorted(shapes)) for name, shapes in grouped.items()}


def _shape(kind: str, signature: str | None) -> str:
    return f"{kind} {signature}" if signature else kind


def _changes(direction: Direction, old: Shapes, new: Shapes) -> list[InterfaceChange]:
    changes = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        change: Change = "added" if before is None else "removed" if after is None else "changed"
        changes.append(
            InterfaceChange(
                direction=direction, name=name, change=change, old=_text(before), new=_text(after)
            )
        )
    return changes


def _text(shapes: tuple[str, ...] | None) -> str | None:
    return None if shapes is None else " and ".join(shapes)
