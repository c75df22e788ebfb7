"""`gadgetbuild top`: the largest function bodies, named from the `name` section."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import IG_IMPORTS, module
from gadgetbuild.views.top import TopReport, top_functions
from gadgetbuild.wasm import read_module, strip
from inspect_support import check_golden, run_cli


def adds(count: int) -> str:
    """A body of ``count`` additions: 3 bytes each after the first constant."""
    return "i32.const 1" + " i32.const 1 i32.add" * count


# Four imported functions come first in the index space, so `$big` is function 6.
FUNCTIONS = module(
    IG_IMPORTS,
    f'(func $small (export "gadgetInit") (result i32) {adds(1)})',
    "(func (result i32) i32.const 0)",
    f"(func $big (result i32) {adds(60)})",
    f"(func $middle (result i32) {adds(20)})",
    f"(func $twin (result i32) {adds(20)})",
)


@pytest.fixture
def named(wat_file: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = wat_file(FUNCTIONS)
    monkeypatch.chdir(tmp_path)
    return Path(path.name)


def top_of(path: Path, limit: int | None) -> TopReport:
    data = path.read_bytes()
    return top_functions(path, data, read_module(data), limit)


def test_largest_first_named_and_indexed_after_the_imports(named: Path) -> None:
    report = top_of(named, None)

    assert [(f.index, f.name) for f in report.functions] == [
        (6, "big"),
        (7, "middle"),
        (8, "twin"),
        (4, "small"),
        (5, None),
    ]
    assert report.named
    assert report.function_count == 5


def test_sizes_are_the_body_sizes_and_shares_of_the_code_section(named: Path) -> None:
    report = top_of(named, None)
    info = read_module(named.read_bytes())

    assert info.code is not None
    assert report.code_size == info.code.size
    big = report.functions[0]
    # Local declarations (1 byte), the constant (2), 60 additions (3 each), `end` (1).
    assert big.size == 1 + 2 + 60 * 3 + 1
    assert big.share == pytest.approx(big.size / report.code_size, abs=1e-6)
    # The count, then each body behind its size field (LEB128: 2 bytes from 128), fill it.
    fields = sum(1 if f.size < 128 else 2 for f in report.functions)
    assert 1 + fields + sum(f.size for f in report.functions) == report.code_size


def test_limit_keeps_the_largest(named: Path) -> None:
    assert [f.name for f in top_of(named, 2).functions] == ["big", "middle"]


def test_stripped_module_has_no_names(named: Path, tmp_path: Path) -> None:
    stripped = tmp_path / "stripped.wasm"
    strip(named, stripped)

    report = top_of(stripped, None)

    assert not report.named
    assert all(f.name is None for f in report.functions)


def test_module_without_code(wat_file: Callable[[str], Path]) -> None:
    report = top_of(wat_file(module('(memory (export "memory") 1)')), 5)

    assert (report.code_size, report.function_count, report.functions) == (0, 0, [])


def test_cli_text_ends_with_remainder_and_total(
    named: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, "top", named, "-n", "3")

    assert (status, err) == (0, "")
    check_golden("top.txt", out)


def test_cli_json_is_the_records_alone(named: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "top", "--json", "-n", "3", named)
    records = json.loads(out)

    assert status == 0
    assert [r["name"] for r in records] == ["big", "middle", "twin"]
    assert set(records[0]) == {"index", "name", "size", "share"}


def test_cli_zero_means_every_function(named: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, "top", "--json", "-n", "0", named)

    assert len(json.loads(out)) == 5
