"""A section reader for core wasm modules: the outline of a module, never its code.

Built for untrusted bytes: every length and count is bounded by the bytes that remain
before anything is allocated or looped over, LEB128 integers longer than their type
allows are refused, names are strict UTF-8, and each parsed section must end exactly
where its header says. Every fault is a :class:`WasmFormatError` carrying the absolute
byte offset of what is wrong. Sections the outline does not need (code, data, element,
global, table, tag) are skipped by offset, so a large module reads in a millisecond or two.
"""

from __future__ import annotations

from pathlib import Path

from gadgetbuild.errors import WasmFormatError
from gadgetbuild.wasm.model import (
    CUSTOM_PREFIX,
    EXTERN_KINDS,
    SECTION_NAMES,
    VALUE_TYPES,
    Export,
    ExternKind,
    FuncType,
    Import,
    Memory,
    ModuleInfo,
    Producers,
    Section,
)

MAGIC = b"\0asm"
MODULE_VERSION = b"\x01\0\0\0"
# A component's preamble carries version 0x0d and layer 1 after the same magic.
COMPONENT_LAYER = b"\x01\0"

# The order the spec requires of known sections, by id (tag and datacount sit in between).
_ORDER = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}


class Cursor:
    """A position in ``data`` that may not pass ``end``; offsets are absolute in the file."""

    __slots__ = ("data", "end", "path", "pos")

    def __init__(self, data: bytes, pos: int, end: int, path: Path | None) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self.path = path

    def error(self, message: str, offset: int | None = None) -> WasmFormatError:
        """The error to raise for a fault at ``offset``, by default the current position."""
        offset = self.pos if offset is None else offset
        return WasmFormatError(message, offset=offset, path=self.path)

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def byte(self) -> int:
        if self.pos >= self.end:
            msg = "unexpected end of section or file"
            raise self.error(msg)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def skip(self, size: int) -> int:
        """Move past ``size`` bytes; return where they start."""
        if size > self.end - self.pos:
            raise self.error(f"{size} bytes claimed but only {self.end - self.pos} remain")
        start = self.pos
        self.pos += size
        return start

    def take(self, size: int) -> bytes:
        start = self.skip(size)
        return self.data[start : self.pos]

    def u32(self) -> int:
        data, pos = self.data, self.pos
        if pos < self.end and data[pos] < 0x80:
            self.pos = pos + 1
            return data[pos]
        return self._leb(32)

    def u64(self) -> int:
        return self._leb(64)

    def _leb(self, bits: int) -> int:
        # The spec caps an N-bit LEB128 at ceil(N/7) bytes and requires the unused bits of
        # the last byte to be zero; anything else is malformed, not merely unusual.
        start, result, shift = self.pos, 0, 0
        last_shift = (bits - 1) // 7 * 7
        while True:
            byte = self.byte()
            if shift == last_shift:
                if byte & 0x80:
                    raise self.error(f"LEB128 integer longer than a u{bits} allows", start)
                if byte >> (bits - last_shift):
                    raise self.error(f"LEB128 integer too large for a u{bits}", start)
                return result | byte << shift
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    def count(self, min_item_size: int, what: str) -> int:
        """A vector length, refused when its items could not fit in the bytes that remain."""
        start = self.pos
        count = self.u32()
        if count * min_item_size > self.end - self.pos:
            raise self.error(
                f"{count} {what} claimed but only {self.end - self.pos} bytes remain", start
            )
        return count

    def name(self) -> str:
        start = self.pos
        raw = self.take(self.u32())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error(f"name is not valid UTF-8 ({exc.reason})", start) from exc

    def expect_end(self, what: str) -> None:
        if self.pos != self.end:
            declared = self.end - self.pos
            raise self.error(f"{what} declares {declared} more bytes than its contents use")


def read_module_file(path: Path) -> ModuleInfo:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WasmFormatError(f"cannot read the module: {exc.strerror}", path=path) from exc
    return read_module(data, path=path)


def read_module(data: bytes, *, path: Path | None = None) -> ModuleInfo:
    """The outline of the module in ``data``; ``WasmFormatError`` at the first fault."""
    cursor = Cursor(data, 0, len(data), path)
    try:
        return _Outline(cursor).read()
    except (IndexError, ValueError, OverflowError) as exc:
        # A net under the bounds checks above: a reader bug must still surface as a
        # format error about this file, never as a traceback from deep in the parser.
        raise WasmFormatError(f"malformed module ({exc})", offset=cursor.pos, path=path) from exc


class _Outline:
    """Reads the sections in order, keeping only what ``ModuleInfo`` holds."""

    def __init__(self, cursor: Cursor) -> None:
        self.cursor = cursor
        self.sections: list[Section] = []
        self.types: tuple[FuncType, ...] = ()
        self.imports: list[Import] = []
        self.function_types: tuple[int, ...] = ()
        self.exports: list[Export] = []
        self.memories: list[Memory] = []
        self.has_start = False
        self.producers: Producers | None = None
        self.code_count: int | None = None

    def read(self) -> ModuleInfo:
        _read_preamble(self.cursor)
        last_rank = 0
        while self.cursor.remaining:
            section, body = self._section_header()
            if section.id:
                last_rank = self._check_order(section, last_rank)
            self.sections.append(section)
            self._read_payload(section, body)
            self.cursor.pos = section.end

        self._check_code_count()
        return ModuleInfo(
            size=len(self.cursor.data),
            sections=tuple(self.sections),
            types=self.types,
            imports=tuple(self.imports),
            function_type_indices=self.function_types,
            exports=tuple(self.exports),
            memories=tuple(self.memories),
            has_start=self.has_start,
            producers=self.producers or {},
        )

    def _section_header(self) -> tuple[Section, Cursor]:
        cursor = self.cursor
        header = cursor.pos
        section_id = cursor.byte()
        if section_id and section_id not in SECTION_NAMES:
            raise cursor.error(f"unknown section id {section_id}", header)
        size = cursor.u32()
        if size > cursor.remaining:
            raise cursor.error(
                f"section of {size} bytes runs past the end of the file "
                f"({cursor.remaining} bytes remain)",
                header,
            )

        body = Cursor(cursor.data, cursor.pos, cursor.pos + size, cursor.path)
        if section_id:
            return Section(section_id, SECTION_NAMES[section_id], cursor.pos, size), body
        name = body.name()
        return Section(0, f"{CUSTOM_PREFIX}{name}", cursor.pos, size), body

    def _check_order(self, section: Section, last_rank: int) -> int:
        rank = _ORDER[section.id]
        if rank > last_rank:
            return rank
        if any(s.id == section.id for s in self.sections):
            raise self.cursor.error(f"duplicate {section.name} section", section.offset)
        raise self.cursor.error(f"{section.name} section out of order", section.offset)

    def _read_payload(self, section: Section, body: Cursor) -> None:
        match section.id:
            case 0 if section.name == f"{CUSTOM_PREFIX}producers":
                self._read_producers(body)
            case 1:
                self.types = _read_types(body)
            case 2:
                self.imports = self._read_imports(body)
            case 3:
                self.function_types = self._read_functions(body)
            case 5:
                count = body.count(2, "memories")
                self.memories.extend(_read_memory_type(body) for _ in range(count))
            case 7:
                self.exports = self._read_exports(body)
            case 8:
                body.u32()
                self.has_start = True
            case 10:
                self.code_count = body.count(1, "function bodies")
                return
            case 12:
                body.u32()
            case _:
                return
        body.expect_end(f"{section.name} section")

    def _read_imports(self, body: Cursor) -> list[Import]:
        imports = []
        for _ in range(body.count(4, "imports")):
            module, name = body.name(), body.name()
            kind = _read_kind(body)
            signature = memory = None
            if kind == "func":
                signature = self._type_at(body)
            elif kind == "memory":
                memory = _read_memory_type(body)
                self.memories.append(memory)
            elif kind == "table":
                _read_ref_type(body)
                _read_limits(body, body.byte(), 0x07)
            elif kind == "global":
                _read_value_type(body)
                if body.byte() > 1:
                    msg = "global mutability must be 0 or 1"
                    raise body.error(msg, body.pos - 1)
            else:
                if body.byte():
                    msg = "tag attribute must be 0"
                    raise body.error(msg, body.pos - 1)
                self._type_at(body)
            imports.append(Import(module, name, kind, signature, memory))
        return imports

    def _type_at(self, body: Cursor) -> FuncType:
        start = body.pos
        index = body.u32()
        if index >= len(self.types):
            raise body.error(f"type index {index} out of range ({len(self.types)} types)", start)
        return self.types[index]

    def _read_functions(self, body: Cursor) -> tuple[int, ...]:
        count = body.count(1, "functions")
        # Below 128 types every index is one byte: take them as a slice, not one by one.
        if count == body.remaining and max(body.data[body.pos : body.end], default=0) < 0x80:
            indices = tuple(body.take(count))
        else:
            indices = tuple(body.u32() for _ in range(count))
        if indices and max(indices) >= len(self.types):
            bad = next(n for n, i in enumerate(indices) if i >= len(self.types))
            raise body.error(
                f"function {bad} has type index {indices[bad]}, out of range", body.end
            )
        return indices

    def _read_exports(self, body: Cursor) -> list[Export]:
        exports: list[Export] = []
        seen: set[str] = set()
        imported = [i.signature for i in self.imports if i.kind == "func" and i.signature]
        for _ in range(body.count(3, "exports")):
            start = body.pos
            name = body.name()
            if name in seen:
                raise body.error(f"duplicate export name {name!r}", start)
            seen.add(name)
            kind, index = _read_kind(body), body.u32()
            signature = None
            if kind == "func":
                signature = self._function_type(body, index, imported, start)
            elif kind == "memory" and index >= len(self.memories):
                raise body.error(f"export {name!r} names memory {index}, out of range", start)
            exports.append(Export(name, kind, index, signature))
        return exports

    def _function_type(
        self, body: Cursor, index: int, imported: list[FuncType], start: int
    ) -> FuncType:
        if index < len(imported):
            return imported[index]
        if index - len(imported) < len(self.function_types):
            return self.types[self.function_types[index - len(imported)]]
        raise body.error(f"function index {index} out of range", start)

    def _read_producers(self, body: Cursor) -> None:
        if self.producers is not None:
            msg = "second producers section: the toolchain would be ambiguous"
            raise body.error(msg, body.pos)
        producers: Producers = {}
        for _ in range(body.count(2, "producers fields")):
            start = body.pos
            field = body.name()
            if field in producers:
                raise body.error(f"producers field {field!r} appears twice", start)
            count = body.count(2, "producers values")
            producers[field] = tuple((body.name(), body.name()) for _ in range(count))
        self.producers = producers

    def _check_code_count(self) -> None:
        defined = len(self.function_types)
        if (self.code_count or 0) != defined:
            code = next((s for s in self.sections if s.id == 10), None)
            raise self.cursor.error(
                f"function section declares {defined} functions, "
                f"code section holds {self.code_count or 0} bodies",
                code.offset if code else self.cursor.end,
            )


def _read_preamble(cursor: Cursor) -> None:
    head = cursor.data[:8]
    if head[:4] != MAGIC:
        msg = "not a wasm module: the file does not start with the bytes \\0asm"
        raise cursor.error(msg, 0)
    if len(head) < 8:
        msg = "truncated wasm preamble: no version after the magic"
        raise cursor.error(msg, len(head))
    if head[6:8] == COMPONENT_LAYER:
        msg = "a WebAssembly component, not a core module: gadgets are core modules"
        raise cursor.error(msg, 4)
    if head[4:8] != MODULE_VERSION:
        raise cursor.error(f"unsupported wasm version {head[4:8].hex()} (expected 01000000)", 4)
    cursor.pos = 8


def _read_types(body: Cursor) -> tuple[FuncType, ...]:
    types = []
    for _ in range(body.count(3, "types")):
        form = body.byte()
        if form != 0x60:
            raise body.error(
                f"type form {form:#04x} is not a function type (GC types unsupported)",
                body.pos - 1,
            )
        params = _read_value_types(body)
        types.append(FuncType(params, _read_value_types(body)))
    return tuple(types)


def _read_value_types(body: Cursor) -> tuple[str, ...]:
    start = body.pos
    raw = body.take(body.count(1, "value types"))
    try:
        return tuple(VALUE_TYPES[code] for code in raw)
    except KeyError as exc:
        raise body.error(f"unsupported value type {exc.args[0]:#04x}", start) from exc


def _read_value_type(body: Cursor) -> str:
    code = body.byte()
    if code not in VALUE_TYPES:
        raise body.error(f"unsupported value type {code:#04x}", body.pos - 1)
    return VALUE_TYPES[code]


def _read_ref_type(body: Cursor) -> None:
    if _read_value_type(body) not in {"funcref", "externref"}:
        msg = "table element type must be a reference type"
        raise body.error(msg, body.pos - 1)


def _read_kind(body: Cursor) -> ExternKind:
    code = body.byte()
    if code >= len(EXTERN_KINDS):
        raise body.error(f"unknown external kind {code:#04x}", body.pos - 1)
    return EXTERN_KINDS[code]


def _read_memory_type(body: Cursor) -> Memory:
    # Flags: bit 0 has a maximum, bit 1 shared (threads), bit 2 memory64, bit 3 custom
    # page size; later proposals may add bits, which this reader refuses rather than guesses.
    flags = body.byte()
    minimum, maximum = _read_limits(body, flags, 0x0F)
    if flags & 0x08:
        body.u32()
    return Memory(minimum, maximum, memory64=bool(flags & 0x04), shared=bool(flags & 0x02))


def _read_limits(body: Cursor, flags: int, allowed: int) -> tuple[int, int | None]:
    if flags & ~allowed:
        raise body.error(f"invalid limits flags {flags:#04x}", body.pos - 1)
    read = body.u64 if flags & 0x04 else body.u32
    minimum = read()
    return minimum, read() if flags & 0x01 else None


def function_body_sizes(data: bytes, info: ModuleInfo, *, path: Path | None = None) -> list[int]:
    """The size in bytes of each defined function's body, in order, read from size prefixes."""
    code = _lazy_section(data, info, "code", path)
    if code is None:
        return []

    body = Cursor(data, code.offset, code.end, path)
    sizes = []
    for _ in range(body.count(1, "function bodies")):
        size = body.u32()
        body.skip(size)
        sizes.append(size)
    body.expect_end("code section")
    return sizes


def function_names(data: bytes, info: ModuleInfo, *, path: Path | None = None) -> dict[int, str]:
    """Function index to name, from subsection 1 of the ``name`` custom section."""
    section = _lazy_section(data, info, f"{CUSTOM_PREFIX}name", path)
    if section is None:
        return {}

    body = Cursor(data, section.offset, section.end, path)
    body.name()
    while body.remaining:
        kind, size = body.byte(), body.u32()
        start = body.skip(size)
        sub = Cursor(data, start, start + size, path)
        if kind == 1:
            names = {sub.u32(): sub.name() for _ in range(sub.count(2, "function names"))}
            sub.expect_end("function names subsection")
            return names
    return {}


def _lazy_section(data: bytes, info: ModuleInfo, name: str, path: Path | None) -> Section | None:
    # The helpers trust ``info`` for offsets only after checking it describes these bytes.
    if len(data) != info.size:
        msg = f"the module outline is of {info.size} bytes, the data of {len(data)}"
        raise WasmFormatError(msg, path=path)
    return info.section(name)
