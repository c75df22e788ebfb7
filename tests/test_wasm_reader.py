"""The section reader: cross-checked against the wasm-tools CLI, and fed hostile bytes."""

from __future__ import annotations

import contextlib
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CorpusModule
from gadgetbuild.errors import WasmFormatError
from gadgetbuild.wasm import (
    FuncType,
    Memory,
    ModuleInfo,
    function_body_sizes,
    function_names,
    read_module,
    read_module_file,
    wasm_tools_path,
)
from gadgetbuild.wasm.model import encode_u32

HEADER = b"\0asm\x01\0\0\0"


def section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + encode_u32(len(payload)) + payload


def name(text: str) -> bytes:
    return encode_u32(len(text.encode())) + text.encode()


def cli(*args: str | Path) -> str:
    argv = [str(wasm_tools_path()), *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


# --- what `wasm-tools dump` and `objdump` say, parsed into the reader's terms ----------------

DUMP_LINE = re.compile(r"^\s*0x[0-9a-f]+ \| (?P<hex>[0-9a-f ]*?)\s*\| (?P<text>.*)$")
DUMP_TYPE = re.compile(r"^\[type (\d+)\] \(func(.*)\)$")
DUMP_IMPORT = re.compile(
    r'^import \[(\w+) \d+\] Import \{ module: "(.*)", name: "(.*)", ty: (.*) \}$'
)
DUMP_FUNC = re.compile(r"^\[func (\d+)\] type (\d+)$")
DUMP_MEMORY = re.compile(
    r"MemoryType \{ memory64: (\w+), shared: (\w+), initial: (\d+), maximum: (.*?),"
)
DUMP_EXPORT = re.compile(r'^export Export \{ name: "(.*)", kind: (\w+), index: (\d+) \}$')
DUMP_NAMING = re.compile(r'^Naming \{ index: (\d+), name: "(.*)" \}$')
OBJDUMP_LINE = re.compile(
    r'^\s*(?:custom "(?P<custom>.*)"|(?P<known>[a-z ]+?))\s+\|\s+0x(?P<start>[0-9a-f]+) -\s+'
    r"0x(?P<end>[0-9a-f]+) \|"
)
OBJDUMP_NAMES = {
    "types": "type",
    "imports": "import",
    "functions": "function",
    "tables": "table",
    "memories": "memory",
    "globals": "global",
    "exports": "export",
    "start": "start",
    "elements": "element",
    "code": "code",
    "data": "data",
    "data count": "datacount",
    "tags": "tag",
}


def dump_lines(path: Path) -> list[tuple[bytes, str]]:
    lines = []
    for line in cli("dump", path).splitlines():
        if match := DUMP_LINE.match(line):
            lines.append((bytes.fromhex(match["hex"]), match["text"]))
    return lines


def dump_func_type(text: str) -> str:
    groups = re.findall(r"\((param|result)((?: [a-z0-9]+)*)\)", text)
    params = tuple(t for kind, types in groups if kind == "param" for t in types.split())
    results = tuple(t for kind, types in groups if kind == "result" for t in types.split())
    return str(FuncType(params, results))


def dump_memory(text: str) -> Memory:
    match = DUMP_MEMORY.search(text)
    assert match, text
    maximum = re.fullmatch(r"Some\((\d+)\)", match[4])
    return Memory(
        int(match[3]),
        int(maximum[1]) if maximum else None,
        memory64=match[1] == "true",
        shared=match[2] == "true",
    )


Imports = list[tuple[str, str, str, str | None]]
Exports = list[tuple[str, str, int, str | None]]


class Dumped:
    """The interface of a module as `wasm-tools dump` prints it."""

    def __init__(self, path: Path) -> None:
        types: dict[int, str] = {}
        func_types: list[str] = []
        self.imports: Imports = []
        self.exports: Exports = []
        self.memories: list[Memory] = []
        self.names: dict[int, str] = {}
        self.body_sizes: list[int] = []
        self.has_start = False
        in_function_names = False
        for raw, text in dump_lines(path):
            if match := DUMP_TYPE.match(text):
                types[int(match[1])] = dump_func_type(match[2])
            elif match := DUMP_IMPORT.match(text):
                kind, module, field, ty = match.groups()
                func = re.fullmatch(r"Func\((\d+)\)", ty)
                signature = types[int(func[1])] if func else None
                if func:
                    func_types.append(types[int(func[1])])
                if kind == "memory":
                    self.memories.append(dump_memory(ty))
                self.imports.append((module, field, kind, signature))
            elif match := DUMP_FUNC.match(text):
                func_types.append(types[int(match[2])])
            elif text.startswith("[memory "):
                self.memories.append(dump_memory(text))
            elif match := DUMP_EXPORT.match(text):
                kind, index = match[2].lower(), int(match[3])
                signature = func_types[index] if kind == "func" else None
                self.exports.append((match[1], kind, index, signature))
            elif text.startswith("start function"):
                self.has_start = True
            elif text == "size of function":
                self.body_sizes.append(decode_leb(raw))
            elif text.endswith(" section"):
                in_function_names = text == "function name section"
            elif in_function_names and (match := DUMP_NAMING.match(text)):
                self.names[int(match[1])] = match[2]


def decode_leb(raw: bytes) -> int:
    return sum((byte & 0x7F) << (7 * i) for i, byte in enumerate(raw))


def objdump_sections(path: Path) -> list[tuple[str, int, int]]:
    sections = []
    for line in cli("objdump", path).splitlines():
        match = OBJDUMP_LINE.match(line)
        assert match, line
        label = f"custom:{match['custom']}" if match["custom"] is not None else match["known"]
        sections.append(
            (OBJDUMP_NAMES.get(label, label), int(match["start"], 16), int(match["end"], 16))
        )
    return sections


def reader_interface(info: ModuleInfo) -> tuple[Imports, Exports]:
    imports: Imports = [
        (i.module, i.name, i.kind, str(i.signature) if i.kind == "func" else None)
        for i in info.imports
    ]
    exports: Exports = [
        (e.name, e.kind, e.index, str(e.signature) if e.signature else None) for e in info.exports
    ]
    return imports, exports


# --- cross-checks against the CLI ---------------------------------------------------------------


def test_interface_matches_wasm_tools_dump(corpus_module: CorpusModule) -> None:
    info = read_module(corpus_module.data, path=corpus_module.path)
    dumped = Dumped(corpus_module.path)

    assert reader_interface(info) == (dumped.imports, dumped.exports)
    assert list(info.memories) == dumped.memories
    assert info.has_start == dumped.has_start
    assert info.size == len(corpus_module.data)


def test_sections_match_wasm_tools_objdump(corpus_module: CorpusModule) -> None:
    info = read_module(corpus_module.data)

    ours = []
    for sec in info.sections:
        start = sec.offset
        if sec.custom_name is not None:
            # objdump shows where a custom section's data begins, after its own name.
            encoded = sec.custom_name.encode()
            start += len(encode_u32(len(encoded))) + len(encoded)
        ours.append((sec.name, start, sec.end))

    assert ours == objdump_sections(corpus_module.path)


def test_lazy_helpers_match_wasm_tools_dump(corpus_module: CorpusModule) -> None:
    info = read_module(corpus_module.data)
    dumped = Dumped(corpus_module.path)

    assert function_body_sizes(corpus_module.data, info) == dumped.body_sizes
    assert function_names(corpus_module.data, info) == dumped.names


# --- what the reader keeps ------------------------------------------------------------------------


def test_signatures_print_in_the_manifest_form(corpus: dict[str, CorpusModule]) -> None:
    info = read_module(corpus["reactor"].data)
    signatures = {e.name: str(e.signature) for e in info.exports if e.signature}

    assert signatures["_initialize"] == "() -> ()"
    assert signatures["gadgetAPIVersion"] == "() -> i64"
    assert signatures["dataSourceCallback"] == "(i64, i32, i32) -> ()"
    assert str(read_module(corpus["kitchen_sink"].data).types[0]) == (
        "(f32, f64, v128, externref, funcref) -> (i32, i64)"
    )


@pytest.mark.parametrize(
    "text", ["() -> ()", "() -> i64", "(i64, i32, i32) -> ()", "(f32) -> (i32, externref)"]
)
def test_signature_text_round_trips(text: str) -> None:
    assert str(FuncType.parse(text)) == text


@pytest.mark.parametrize("text", ["i32 -> i32", "(i32, int) -> ()", "(i32) ->", "() -> (i32"])
def test_a_malformed_signature_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="signature"):
        FuncType.parse(text)


def test_producers_name_the_toolchain(corpus: dict[str, CorpusModule]) -> None:
    tinygo = read_module(corpus["tinygo_like"].data)
    go = read_module(corpus["reactor"].data)

    assert tinygo.toolchain() == ("TinyGo", "0.41.1")
    assert tinygo.producers["language"] == (("Go", "1.24.11"),)
    assert go.toolchain() == ("Go cmd/compile", "go1.24.11")
    assert read_module(corpus["empty"].data).toolchain() is None


def test_custom_sections_are_named_and_sized(corpus: dict[str, CorpusModule]) -> None:
    info = read_module(corpus["tinygo_like"].data)
    names = [s.name for s in info.custom_sections]

    assert names == ["custom:target_features", "custom:producers", "custom:name"]
    features = info.section("custom:target_features")
    assert features is not None
    assert features.custom_name == "target_features"
    payload = b"\x02+\x0fmutable-globals+\x08sign-ext"
    assert features.size == len(name("target_features")) + len(payload)


def test_counts_and_code_section(corpus: dict[str, CorpusModule]) -> None:
    info = read_module(corpus["kitchen_sink"].data)

    assert info.imported_function_count == 1
    assert info.function_count == 2
    assert info.code is not None
    assert info.code.size > 0
    assert info.memories == (Memory(1, 3),)
    assert info.export("mem") is not None
    assert info.export("absent") is None


def test_memory64_and_tags_are_outlined(corpus: dict[str, CorpusModule]) -> None:
    info = read_module(corpus["proposals"].data)

    assert info.memories == (Memory(1, 3), Memory(3, 5, memory64=True))
    assert [(i.kind, i.signature) for i in info.imports] == [("memory", None), ("tag", None)]


def test_reads_a_file_and_names_it_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.wasm"
    path.write_bytes(b"not wasm")

    with pytest.raises(WasmFormatError) as caught:
        read_module_file(path)

    assert caught.value.path == path
    assert str(path) in caught.value.headline()
    with pytest.raises(WasmFormatError, match="cannot read"):
        read_module_file(tmp_path / "missing.wasm")


# --- hostile input ------------------------------------------------------------------------------

ONE_FUNC = (
    section(1, b"\x01\x60\x00\x00") + section(3, b"\x01\x00") + section(10, b"\x01\x02\x00\x0b")
)
HUGE = encode_u32(2**32 - 1)

MALFORMED: dict[str, tuple[bytes, str, int | None]] = {
    "not wasm": (b"GIF89a, not a module at all", "not a wasm module", 0),
    "empty file": (b"", "not a wasm module", 0),
    "magic only": (b"\0asm", "no version", 4),
    "component": (b"\0asm\x0d\0\x01\0", "component", 4),
    "version 2": (b"\0asm\x02\0\0\0", "unsupported wasm version", 4),
    "section past the end": (HEADER + b"\x01" + HUGE, "runs past the end", 8),
    "size field cut short": (HEADER + b"\x01\x80\x80", "unexpected end", 11),
    "over-long LEB128": (HEADER + b"\x01\x80\x80\x80\x80\x80\x00", "longer than a u32", 9),
    "LEB128 unused bits set": (HEADER + b"\x01\xff\xff\xff\xff\x1f", "too large", 9),
    "huge function count": (HEADER + section(3, HUGE), "4294967295 functions claimed", 10),
    "huge type count": (HEADER + section(1, HUGE), "4294967295 types claimed", 10),
    "huge name length": (HEADER + section(0, HUGE), "bytes claimed", 15),
    "huge param count": (HEADER + section(1, b"\x01\x60" + HUGE), "value types claimed", 12),
    "section longer than contents": (
        HEADER + section(1, b"\x01\x60\x00\x00\x00"),
        "declares 1 more bytes",
        14,
    ),
    "more types than fit": (HEADER + section(1, b"\x02\x60\x00\x00"), "2 types claimed", 10),
    "contents longer than section": (
        HEADER + section(1, b"\x01\x60\x01\x7f"),
        "unexpected end",
        14,
    ),
    "out of order": (HEADER + section(3, b"\x00") + section(1, b"\x00"), "out of order", 13),
    "duplicate": (HEADER + section(1, b"\x00") * 2, "duplicate type section", 13),
    "unknown section id": (HEADER + section(14, b""), "unknown section id 14", 8),
    "custom name not UTF-8": (HEADER + section(0, b"\x02\xc3\x28"), "UTF-8", 10),
    "import name not UTF-8": (
        HEADER + section(2, b"\x01\x01\xff\x01a\x00\x00"),
        "UTF-8",
        11,
    ),
    "unknown value type": (HEADER + section(1, b"\x01\x60\x01\x40\x00"), "value type 0x40", 12),
    "GC type form": (HEADER + section(1, b"\x01\x5e\x7f\x00"), "not a function type", 11),
    "type index out of range": (
        HEADER + section(1, b"\x01\x60\x00\x00") + section(3, b"\x01\x05"),
        "out of range",
        None,
    ),
    "bodies missing": (
        HEADER + section(1, b"\x01\x60\x00\x00") + section(3, b"\x01\x00"),
        "code section holds 0 bodies",
        None,
    ),
    "unknown import kind": (
        HEADER + section(2, b"\x01" + name("m") + name("f") + b"\x07\x00"),
        "unknown external kind",
        15,
    ),
    "bad memory flags": (HEADER + section(5, b"\x01\x10\x01"), "limits flags 0x10", 11),
    "export of a missing function": (
        HEADER + ONE_FUNC[:10] + section(7, b"\x01" + name("f") + b"\x00\x01") + ONE_FUNC[10:],
        "function index 1 out of range",
        None,
    ),
    "duplicate export": (
        HEADER + ONE_FUNC[:10] + section(7, b"\x02" + (name("f") + b"\x00\x00") * 2),
        "duplicate export name 'f'",
        None,
    ),
    "producers field twice": (
        HEADER + section(0, name("producers") + b"\x02" + (name("sdk") + b"\x00") * 2),
        "appears twice",
        None,
    ),
    "second producers section": (
        HEADER + section(0, name("producers") + b"\x00") * 2,
        "second producers section",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_input_is_a_format_error_with_an_offset(case: str) -> None:
    data, message, offset = MALFORMED[case]

    with pytest.raises(WasmFormatError, match=re.escape(message)) as caught:
        read_module(data)

    assert caught.value.offset is not None
    if offset is not None:
        assert caught.value.offset == offset


def test_a_valid_hand_written_module_reads() -> None:
    info = read_module(HEADER + ONE_FUNC)

    assert info.function_count == 1
    assert [s.name for s in info.sections] == ["type", "function", "code"]


def test_truncating_a_valid_module_anywhere_is_a_format_error(
    corpus: dict[str, CorpusModule],
) -> None:
    data = corpus["reactor"].data
    # A cut between two sections leaves a shorter module that may well be valid.
    boundaries = {len(HEADER)} | {s.end for s in read_module(data).sections}
    for cut in sorted(set(range(len(data))) - boundaries):
        with pytest.raises(WasmFormatError):
            read_module(data[:cut])


def test_huge_counts_fail_before_reading_items() -> None:
    hostile = HEADER + section(3, HUGE) + section(1, HUGE)

    with pytest.raises(WasmFormatError, match="4294967295") as caught:
        read_module(hostile)

    # Refused at the count itself, before any item: the count is bounded by the bytes left.
    assert caught.value.offset is not None
    assert caught.value.offset <= len(HEADER) + 3


def test_lazy_helpers_refuse_an_outline_of_other_bytes(corpus: dict[str, CorpusModule]) -> None:
    info = read_module(corpus["reactor"].data)

    with pytest.raises(WasmFormatError, match="outline"):
        function_body_sizes(corpus["kitchen_sink"].data, info)


@pytest.mark.parametrize(
    ("subsection", "message"),
    [(b"\x01" + HUGE, "4294967295 bytes claimed"), (b"\x01\x05" + HUGE, "function names claimed")],
)
def test_lazy_helpers_bound_their_lengths(subsection: bytes, message: str) -> None:
    data = HEADER + ONE_FUNC + section(0, name("name") + subsection)
    info = read_module(data)

    with pytest.raises(WasmFormatError, match=message):
        function_names(data, info)


def test_body_sizes_bound_their_lengths() -> None:
    data = HEADER + ONE_FUNC[:10] + section(10, b"\x01" + HUGE)

    with pytest.raises(WasmFormatError, match="4294967295 bytes claimed"):
        function_body_sizes(data, read_module(data))


# --- properties ----------------------------------------------------------------------------------


def read_or_format_error(data: bytes) -> None:
    """The only outcomes allowed: an outline (whose helpers also work) or a format error."""
    try:
        info = read_module(data)
    except WasmFormatError as exc:
        offset = exc.offset
    else:
        offset = None
        with contextlib.suppress(WasmFormatError):
            function_body_sizes(data, info)
            function_names(data, info)
    assert offset is None or 0 <= offset <= len(data)


@given(st.binary(max_size=256))
def test_random_bytes_read_or_fail_cleanly(data: bytes) -> None:
    read_or_format_error(data)


@given(st.binary(max_size=64))
def test_random_sections_read_or_fail_cleanly(tail: bytes) -> None:
    read_or_format_error(HEADER + tail)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(data=st.data())
def test_mutated_modules_read_or_fail_cleanly(
    data: st.DataObject, corpus: dict[str, CorpusModule]
) -> None:
    original = bytearray(corpus[data.draw(st.sampled_from(sorted(corpus)))].data)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(original) - 1))
        action = data.draw(st.sampled_from(["set", "insert", "delete"]))
        if action == "set":
            original[position] = data.draw(st.integers(0, 255))
        elif action == "insert":
            original[position:position] = data.draw(st.binary(min_size=1, max_size=6))
        elif len(original) > 1:
            del original[position]

    read_or_format_error(bytes(original))
