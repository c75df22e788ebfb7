"""What the section reader finds in a module: frozen records, no parsing of bytes.

Signatures print in one text form, ``(i64, i32, i32) -> ()`` or ``() -> i64``: the
manifest stores it and the ABI contract compares it, so :meth:`FuncType.parse` and
``str(FuncType)`` are exact inverses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ValType = str
"""A value type by its text-format name: ``i32``, ``i64``, ``f32``, ``f64``, ``v128``, …"""

VALUE_TYPES: dict[int, ValType] = {
    0x7F: "i32",
    0x7E: "i64",
    0x7D: "f32",
    0x7C: "f64",
    0x7B: "v128",
    0x70: "funcref",
    0x6F: "externref",
}

ExternKind = Literal["func", "table", "memory", "global", "tag"]
EXTERN_KINDS: tuple[ExternKind, ...] = ("func", "table", "memory", "global", "tag")

# Known section ids by the names the manifest uses; custom sections are `custom:<name>`.
SECTION_NAMES: dict[int, str] = {
    1: "type",
    2: "import",
    3: "function",
    4: "table",
    5: "memory",
    6: "global",
    7: "export",
    8: "start",
    9: "element",
    10: "code",
    11: "data",
    12: "datacount",
    13: "tag",
}
CUSTOM_PREFIX = "custom:"

_SIGNATURE = re.compile(r"^\((?P<params>[^()]*)\)\s*->\s*(?P<results>\([^()]*\)|[a-z0-9]+)$")


@dataclass(frozen=True, slots=True)
class FuncType:
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]

    def __str__(self) -> str:
        params = f"({', '.join(self.params)})"
        if len(self.results) == 1:
            return f"{params} -> {self.results[0]}"
        return f"{params} -> ({', '.join(self.results)})"

    @classmethod
    def parse(cls, text: str) -> FuncType:
        """The inverse of ``str()``; ``ValueError`` names what is wrong with ``text``."""
        match = _SIGNATURE.match(text.strip())
        if match is None:
            msg = f"not a signature: {text!r} (expected e.g. '(i64, i32) -> i32' or '() -> ()')"
            raise ValueError(msg)

        results = match["results"].strip("()")
        return cls(_parse_types(match["params"], text), _parse_types(results, text))


def _parse_types(listing: str, text: str) -> tuple[ValType, ...]:
    names = tuple(name.strip() for name in listing.split(",")) if listing.strip() else ()
    known = set(VALUE_TYPES.values())
    for name in names:
        if name not in known:
            msg = f"unknown value type {name!r} in signature {text!r}"
            raise ValueError(msg)
    return names


@dataclass(frozen=True, slots=True)
class Section:
    """One section: ``offset`` and ``size`` delimit its payload, after the id and size bytes.

    ``name`` is the spec's name for a known section (``type``, ``import``, ``function``,
    ``table``, ``memory``, ``global``, ``export``, ``start``, ``element``, ``code``,
    ``data``, ``datacount``, ``tag``) or ``custom:<name>``. A custom section's payload
    includes its own name, so its size is what stripping it saves, less 2-6 header bytes.
    """

    id: int
    name: str
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def custom_name(self) -> str | None:
        return self.name.removeprefix(CUSTOM_PREFIX) if self.id == 0 else None


@dataclass(frozen=True, slots=True)
class Memory:
    min_pages: int
    max_pages: int | None = None
    memory64: bool = False
    shared: bool = False


@dataclass(frozen=True, slots=True)
class Import:
    module: str
    name: str
    kind: ExternKind
    signature: FuncType | None = None
    memory: Memory | None = None


@dataclass(frozen=True, slots=True)
class Export:
    name: str
    kind: ExternKind
    index: int
    signature: FuncType | None = None


Producers = dict[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """A module's outline. ``memories`` is the memory index space: imported ones first.

    ``function_type_indices`` holds the type index of each *defined* function, in order;
    imported functions come before them in the function index space.
    """

    size: int
    sections: tuple[Section, ...]
    types: tuple[FuncType, ...]
    imports: tuple[Import, ...]
    function_type_indices: tuple[int, ...]
    exports: tuple[Export, ...]
    memories: tuple[Memory, ...]
    has_start: bool
    producers: Producers

    @property
    def function_count(self) -> int:
        """Functions defined in the module (each has a body in the code section)."""
        return len(self.function_type_indices)

    @property
    def imported_function_count(self) -> int:
        return sum(1 for imp in self.imports if imp.kind == "func")

    @property
    def code(self) -> Section | None:
        return self.section("code")

    @property
    def custom_sections(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.id == 0)

    def section(self, name: str) -> Section | None:
        """The first section called ``name`` (``code``, ``custom:producers``, …), if any."""
        return next((s for s in self.sections if s.name == name), None)

    def export(self, name: str) -> Export | None:
        return next((e for e in self.exports if e.name == name), None)

    def toolchain(self) -> tuple[str, str] | None:
        """The (name, version) that built the module: ``processed-by``, else ``language``."""
        for field in ("processed-by", "language"):
            if entries := self.producers.get(field):
                return entries[0]
        return None


def encode_u32(value: int) -> bytes:
    """The unsigned LEB128 encoding of ``value``: how a module writes sizes and counts."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)
