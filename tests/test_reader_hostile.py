"""The section reader against a mutation corpus built from a real Go 1.24 module.

Every mutant must end as a ModuleInfo or one WasmFormatError with an offset inside the
file: never another exception, never memory in proportion to a length that lies.
"""

from __future__ import annotations

import itertools
import random
import shutil
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from gadgetbuild.cli import main
from gadgetbuild.errors import WasmFormatError
from gadgetbuild.wasm import ModuleInfo, function_body_sizes, function_names, read_module
from gadgetbuild.wasm.model import encode_u32

REPO = Path(__file__).resolve().parents[1]
SEED = 20261204
PREAMBLE = 8

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def real_module(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(REPO / "gadgets", root / "gadgets")
    shutil.copytree(REPO / "toolchains", root / "toolchains")
    args = ["build", "--gadgets-dir", str(root / "gadgets"), "--toolchains-dir"]
    args += [str(root / "toolchains"), "--out", str(root / "out"), "--backend", "local"]
    assert main([*args, "--gadget", "hello", "--toolchain", "go-1.24"]) == 0
    return (root / "out" / "go-1.24" / "hello.debug.wasm").read_bytes()


def read_or_fail_cleanly(data: bytes) -> None:
    """Only an outline (whose lazy helpers also end cleanly) or a located format error."""
    offsets: list[int | None] = []
    try:
        info = read_module(data)
        function_body_sizes(data, info)
        function_names(data, info)
    except WasmFormatError as exc:
        offsets.append(exc.offset)

    for offset in offsets:
        assert offset is not None
        assert 0 <= offset <= len(data)


def with_section_size(data: bytes, info: ModuleInfo, index: int, size_field: bytes) -> bytes:
    """``data`` with section ``index``'s size field replaced by ``size_field``."""
    section = info.sections[index]
    header_start = section.offset - len(encode_u32(section.size)) - 1
    return data[: header_start + 1] + size_field + data[section.offset :]


def raw_sections(data: bytes, info: ModuleInfo) -> Iterator[bytes]:
    """Each section with its id and size bytes, in file order."""
    start = PREAMBLE
    for section in info.sections:
        yield data[start : section.end]
        start = section.end


def test_bit_flips(real_module: bytes) -> None:
    rng = random.Random(SEED)  # noqa: S311 - a fixed seed: the same mutants on every run
    info = read_module(real_module)
    # Half the flips land in section headers and small sections, where they change structure.
    hot = [s.offset for s in info.sections if s.name not in {"code", "data"}]
    for _ in range(1500):
        data = bytearray(real_module)
        base = rng.choice(hot) if rng.random() < 0.5 else rng.randrange(len(data))
        position = min(len(data) - 1, base + rng.randrange(-6, 64))
        data[position] ^= 1 << rng.randrange(8)
        read_or_fail_cleanly(bytes(data))


def test_truncations_at_and_around_every_section_boundary(real_module: bytes) -> None:
    info = read_module(real_module)
    cuts = {0, 1, 4, 7, PREAMBLE}
    for section in info.sections:
        cuts |= {section.offset - 2, section.offset - 1, section.offset, section.offset + 1}
        cuts |= {section.end - 1, section.end + 1}
    for cut in sorted(c for c in cuts if 0 <= c < len(real_module)):
        read_or_fail_cleanly(real_module[:cut])


@pytest.mark.parametrize(
    "size_field",
    [b"\xff\xff\xff\xff\x0f", b"\x80\x80\x80\x80\x80\x00", b"\xff\xff\xff\xff\x7f", b"\x80"],
    ids=["max-u32", "over-long", "overflow", "unterminated"],
)
def test_leb128_size_fields_that_lie(real_module: bytes, size_field: bytes) -> None:
    info = read_module(real_module)
    for index in range(len(info.sections)):
        with pytest.raises(WasmFormatError):
            read_module(with_section_size(real_module, info, index, size_field))


def test_duplicate_and_misordered_sections(real_module: bytes) -> None:
    info = read_module(real_module)
    sections = list(raw_sections(real_module, info))
    known = [i for i, s in enumerate(info.sections) if s.id != 0]
    head = real_module[:PREAMBLE]
    for i in known:
        duplicated = [*sections[: i + 1], sections[i], *sections[i + 1 :]]
        with pytest.raises(WasmFormatError):
            read_module(head + b"".join(duplicated))
    for i, j in itertools.pairwise(known):
        swapped = list(sections)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        with pytest.raises(WasmFormatError):
            read_module(head + b"".join(swapped))


def test_huge_counts_in_every_vector_section(real_module: bytes) -> None:
    info = read_module(real_module)
    sections = list(raw_sections(real_module, info))
    for index, section in enumerate(info.sections):
        # The sections the reader decodes; the others are left to `wasm-tools validate`.
        if section.name not in {"type", "import", "function", "export", "code"}:
            continue
        body = real_module[section.offset : section.end]
        count_length = next(i for i, b in enumerate(body) if b < 0x80) + 1
        lying = b"\xff\xff\xff\xff\x0f" + body[count_length:]
        mutant = [*sections]
        mutant[index] = bytes([section.id]) + encode_u32(len(lying)) + lying
        with pytest.raises(WasmFormatError):
            read_module(real_module[:PREAMBLE] + b"".join(mutant))


def test_memory_stays_small_when_a_length_lies() -> None:
    # A custom section claiming 4 GiB in a 100-byte file, and a type count of 2^32 - 1.
    lies = [
        b"\0asm\x01\0\0\0" + b"\x00\xff\xff\xff\xff\x0f" + b"\x04name" + bytes(86),
        b"\0asm\x01\0\0\0" + b"\x01\x06\xff\xff\xff\xff\x0f\x60" + bytes(84),
    ]
    for data in lies:
        tracemalloc.start()
        with pytest.raises(WasmFormatError):
            read_module(data)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 64 * 1024, f"{peak} bytes allocated for a {len(data)}-byte file"
