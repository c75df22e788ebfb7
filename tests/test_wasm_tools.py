"""The wasm-tools wrappers: validate, strip with an allowlist, assemble, version."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import CorpusModule, module
from gadgetbuild.errors import ToolError
from gadgetbuild.wasm import (
    ModuleInfo,
    assemble,
    read_module,
    read_module_file,
    strip,
    validate,
    wasm_tools_path,
    wasm_tools_version,
)


def interface(info: ModuleInfo) -> tuple[object, ...]:
    return info.imports, info.exports, info.memories, info.types


def custom_names(path: Path) -> list[str | None]:
    return [s.custom_name for s in read_module_file(path).custom_sections]


def test_every_corpus_module_is_valid(corpus_module: CorpusModule) -> None:
    validate(corpus_module.path)


def test_invalid_module_carries_wasm_tools_message(wat_file: Callable[[str], Path]) -> None:
    path = wat_file(module("(func (result i32))"))

    with pytest.raises(ToolError, match="type mismatch") as caught:
        validate(path)

    assert caught.value.path == path


def test_strip_all_removes_every_custom_section(
    corpus: dict[str, CorpusModule], tmp_path: Path
) -> None:
    source = corpus["tinygo_like"].path
    stripped = tmp_path / "stripped.wasm"

    strip(source, stripped)

    validate(stripped)
    assert custom_names(source) == ["target_features", "producers", "name"]
    assert custom_names(stripped) == []
    assert interface(read_module_file(stripped)) == interface(read_module_file(source))


def test_strip_keeps_the_allowlist_only(corpus: dict[str, CorpusModule], tmp_path: Path) -> None:
    stripped = tmp_path / "stripped.wasm"

    strip(corpus["tinygo_like"].path, stripped, keep=["producers", "absent"])

    assert custom_names(stripped) == ["producers"]


def test_strip_keeps_names_with_regex_syntax_literally(
    wat_file: Callable[[str], Path], tmp_path: Path
) -> None:
    source = wat_file(module('(@custom "a.b" "1")', '(@custom "axb" "2")', '(@custom "a|b" "3")'))
    stripped = tmp_path / "stripped.wasm"

    strip(source, stripped, keep=["axb"])

    assert custom_names(stripped) == ["axb"]


def test_strip_keeping_everything_copies_the_module(
    corpus: dict[str, CorpusModule], tmp_path: Path
) -> None:
    stripped = tmp_path / "stripped.wasm"

    strip(corpus["reactor"].path, stripped, keep=["producers", "name"])

    assert stripped.read_bytes() == corpus["reactor"].data


def test_strip_of_a_broken_module_is_a_tool_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(b"\0asm\x01\0\0\0\x01\x05")

    with pytest.raises(ToolError, match="strip"):
        strip(broken, tmp_path / "out.wasm")


def test_assemble_returns_module_bytes() -> None:
    data = assemble('(module (func (export "f")))')

    assert data.startswith(b"\0asm\x01\0\0\0")
    assert [e.name for e in read_module(data).exports] == ["f"]


def test_assemble_reports_the_parse_error() -> None:
    with pytest.raises(ToolError, match="parse failed"):
        assemble("(module (func $f (unknown_instruction)))")


def test_the_executable_and_its_version() -> None:
    path = wasm_tools_path()

    assert path.is_file()
    assert os.access(path, os.X_OK)
    assert wasm_tools_path() is path
    assert re.fullmatch(r"\d+\.\d+\.\d+", wasm_tools_version())
