"""`gadgetbuild diff`: size and interface changes between manifests, and the growth gate."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gadgetbuild.manifest import (
    ArtifactRecord,
    ArtifactStatus,
    CompressedFile,
    ExportRecord,
    FileRecord,
    ImportRecord,
    Manifest,
)
from gadgetbuild.views.diff import diff_manifests, growth_violations
from inspect_support import GO, TINYGO, check_golden, run_cli, standard_artifacts

API = ExportRecord(name="gadgetAPIVersion", kind="func", signature="() -> i64")
LOG = ImportRecord(module="ig", name="gadgetLog", kind="func", signature="(i32, i64) -> ()")


def file(path: str, size: int) -> FileRecord:
    digest = hashlib.sha256(f"{path}:{size}".encode()).hexdigest()
    return FileRecord(path=path, size=size, sha256=digest)


def record(
    gadget: str = "hello",
    *,
    stripped: int = 1000,
    zstd: int = 400,
    raw: int = 1200,
    exports: tuple[ExportRecord, ...] = (API,),
    imports: tuple[ImportRecord, ...] = (LOG,),
) -> ArtifactRecord:
    """A built Go artifact with the given sizes; the file digests follow the sizes."""
    packed = file(f"go-1.24/{gadget}.wasm.zst", zstd)
    return ArtifactRecord(
        gadget=gadget,
        toolchain=GO,
        status=ArtifactStatus.BUILT,
        raw=file(f"go-1.24/{gadget}.debug.wasm", raw),
        stripped=file(f"go-1.24/{gadget}.wasm", stripped),
        compressed=[CompressedFile(**packed.model_dump(), codec="zstd", level=19)],
        exports=list(exports),
        imports=list(imports),
    )


def manifest(*records: ArtifactRecord) -> Manifest:
    return Manifest(gadgetbuild_version="0.1.0", artifacts=list(records))


def test_same_manifest_is_unchanged() -> None:
    [diff] = diff_manifests(manifest(record()), manifest(record()))

    assert diff.change == "unchanged"
    assert [(s.measure, s.delta, s.percent) for s in diff.sizes] == [
        ("raw", 0, 0.0),
        ("stripped", 0, 0.0),
        ("zstd", 0, 0.0),
    ]
    assert diff.interface == []


def test_cached_and_built_are_the_same_outcome() -> None:
    cached = record().model_copy(update={"status": ArtifactStatus.CACHED})

    [diff] = diff_manifests(manifest(record()), manifest(cached))

    assert diff.change == "unchanged"


def test_size_changes_in_bytes_and_percent() -> None:
    [diff] = diff_manifests(manifest(record()), manifest(record(stripped=1100, zstd=390)))
    sizes = {s.measure: s for s in diff.sizes}

    assert diff.change == "changed"
    assert (sizes["stripped"].old, sizes["stripped"].new) == (1000, 1100)
    assert (sizes["stripped"].delta, sizes["stripped"].percent) == (100, 10.0)
    assert (sizes["zstd"].delta, sizes["zstd"].percent) == (-10, -2.5)
    assert "gzip" not in sizes


def test_interface_added_removed_and_changed() -> None:
    start = ExportRecord(name="gadgetStart", kind="func", signature="() -> i32")
    retyped = API.model_copy(update={"signature": "() -> i32"})
    old = record(imports=(LOG,))
    new = record(exports=(retyped, start), imports=())

    [diff] = diff_manifests(manifest(old), manifest(new))

    assert diff.change == "changed"
    assert [(c.code, c.name, c.old, c.new) for c in diff.interface] == [
        ("export-changed", "gadgetAPIVersion", "func () -> i64", "func () -> i32"),
        ("export-added", "gadgetStart", None, "func () -> i32"),
        ("import-removed", "ig.gadgetLog", "func (i32, i64) -> ()", None),
    ]


def test_dropping_one_of_two_same_imports_is_a_change() -> None:
    # Go 1.24 modules import `fd_write` twice; a dictionary by name alone would hide this.
    write = ImportRecord(
        module="wasi_snapshot_preview1",
        name="fd_write",
        kind="func",
        signature="(i32, i32, i32, i32) -> i32",
    )

    [diff] = diff_manifests(
        manifest(record(imports=(write, write))), manifest(record(imports=(write,)))
    )

    [change] = diff.interface
    assert (change.code, change.name) == ("import-changed", "wasi_snapshot_preview1.fd_write")
    assert change.old == "func (i32, i32, i32, i32) -> i32 and func (i32, i32, i32, i32) -> i32"


def test_artifacts_added_and_removed() -> None:
    diffs = diff_manifests(manifest(record("hello")), manifest(record("tcp-top")))

    assert [(d.gadget, d.change, d.old_status, d.new_status) for d in diffs] == [
        ("hello", "removed", ArtifactStatus.BUILT, None),
        ("tcp-top", "added", None, ArtifactStatus.BUILT),
    ]
    assert diffs[1].sizes[1].old is None
    assert diffs[1].sizes[1].percent is None


def test_status_change_is_a_change() -> None:
    failed = ArtifactRecord(
        gadget="hello", toolchain=GO, status=ArtifactStatus.FAILED, reason="compile failed"
    )

    [diff] = diff_manifests(manifest(record()), manifest(failed))

    assert (diff.change, diff.new_status) == ("changed", ArtifactStatus.FAILED)
    assert [(s.measure, s.new) for s in diff.sizes] == [
        ("raw", None),
        ("stripped", None),
        ("zstd", None),
    ]


@pytest.mark.parametrize(
    ("stripped", "zstd", "raw", "over"),
    [
        (1050, 400, 1200, []),  # exactly the limit is not above it
        (1051, 400, 1200, ["stripped"]),
        (1000, 421, 1200, ["zstd"]),
        (1000, 400, 9999, []),  # the raw, debug module is not shipped
        (900, 300, 1200, []),
    ],
)
def test_growth_gate(stripped: int, zstd: int, raw: int, over: list[str]) -> None:
    diffs = diff_manifests(
        manifest(record()), manifest(record(stripped=stripped, zstd=zstd, raw=raw))
    )

    assert [v.measure for v in growth_violations(diffs, 5.0)] == over


def test_growth_gate_is_exact_under_rounding() -> None:
    # +5.004%, shown rounded as +5.00%, is still above a 5% limit.
    diffs = diff_manifests(manifest(record(stripped=100_000)), manifest(record(stripped=105_004)))

    [violation] = growth_violations(diffs, 5)

    assert (violation.old, violation.new, violation.percent) == (100_000, 105_004, 5.0)


def test_growth_gate_skips_added_artifacts() -> None:
    diffs = diff_manifests(manifest(), manifest(record()))

    assert growth_violations(diffs, 0) == []


@pytest.fixture
def two_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two artifact folders; the second's Go modules carry 500 more bytes of data, and its
    Go `hello` one more export."""
    monkeypatch.chdir(tmp_path)
    standard_artifacts(tmp_path / "old", go_data=6000)
    stop = '(func (export "gadgetStop") (result i32) i32.const 0)'
    standard_artifacts(tmp_path / "new", go_data=6500, hello_extra=stop)
    return Path("old"), Path("new")


def test_cli_table(two_builds: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "diff", *two_builds)

    assert (status, err) == (0, "")
    check_golden("diff.txt", out)


def test_cli_gate_fails_over_the_limit(
    two_builds: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, "diff", *two_builds, "--fail-on-growth", "5")

    assert status == 1
    assert "over the limit: hello × go-1.24: stripped grew +8.22%" in out
    assert err == (
        "error: new/manifest.json: 2 sizes grew by more than 5%: "
        "exec-filter × go-1.24 stripped, hello × go-1.24 stripped\n"
    )


def test_cli_gate_passes_under_the_limit(
    two_builds: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = run_cli(capsys, "diff", *two_builds, "--fail-on-growth", "10")

    assert status == 0


def test_cli_json_is_the_records_alone(
    two_builds: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_cli(capsys, "diff", "--json", *two_builds, "--fail-on-growth", "5")
    diffs = json.loads(out)

    assert status == 1
    assert [(d["gadget"], d["toolchain"], d["change"]) for d in diffs] == [
        ("exec-filter", "go-1.24", "changed"),
        ("exec-filter", TINYGO.name, "unchanged"),
        ("hello", "go-1.24", "changed"),
        ("hello", TINYGO.name, "unchanged"),
    ]
    assert set(diffs[0]) == {
        "gadget", "toolchain", "change", "old_status", "new_status", "sizes", "interface"
    }  # fmt: skip


@pytest.mark.parametrize("limit", ["-1", "nan", "inf"])
def test_cli_limit_that_is_not_a_finite_percentage_is_a_usage_error(
    two_builds: tuple[Path, Path], capsys: pytest.CaptureFixture[str], limit: str
) -> None:
    # nan compares false with every growth, so it would turn the gate off unseen.
    status, _, err = run_cli(capsys, "diff", *two_builds, "--fail-on-growth", limit)

    assert status == 2
    assert "--fail-on-growth" in err
