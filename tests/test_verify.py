"""`gadgetbuild verify`: the folder holds exactly the files the manifest names."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gadgetbuild.views.sources import load_manifest
from gadgetbuild.views.verify import FileCheck, Problem, resolve_inside, verify_manifest
from inspect_support import check_golden, run_cli, standard_artifacts


@pytest.fixture
def artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean artifacts folder under the working folder, which also holds `outside.wasm`."""
    monkeypatch.chdir(tmp_path)
    standard_artifacts(tmp_path / "artifacts")
    (tmp_path / "outside.wasm").write_bytes(b"not for the manifest's eyes")
    return Path("artifacts")


def checks_of(folder: Path) -> list[FileCheck]:
    manifest_path, manifest = load_manifest(folder)
    return verify_manifest(manifest_path, manifest)


def problems_of(folder: Path) -> dict[str, list[str]]:
    return {c.path: [p.code for p in c.problems] for c in checks_of(folder) if not c.ok}


def edit_manifest(folder: Path, change: Any) -> None:
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    change(data["artifacts"])
    path.write_text(json.dumps(data, indent=2))


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_clean_folder_holds(artifacts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checks = checks_of(artifacts)

    assert len(checks) == 15
    assert all(c.ok for c in checks)
    status, out, err = run_cli(capsys, "verify", artifacts)
    assert (status, err) == (0, "")
    check_golden("verify-clean.txt", out)


def tamper(folder: Path, outside: Path) -> None:
    """One byte changed, one file removed, one extra file, and three paths out."""
    flip_byte(folder / "go-1.24/hello.wasm.gz", 40)
    (folder / "tinygo-0.41/hello.wasm.br").unlink()
    (folder / "notes.txt").write_text("an extra file\n")
    (folder / "go-1.24/escape.wasm").symlink_to(outside)

    def point_out(records: list[dict[str, Any]]) -> None:
        exec_filter = records[0]
        exec_filter["raw"]["path"] = str(outside)
        exec_filter["compressed"][0]["path"] = "../outside.wasm"
        exec_filter["compressed"][1]["path"] = "go-1.24/escape.wasm"

    edit_manifest(folder, point_out)


def test_tampering_is_reported_file_by_file(artifacts: Path) -> None:
    outside = Path("outside.wasm").resolve()
    tamper(artifacts, Path("../../outside.wasm"))
    edit_manifest(artifacts, lambda records: records[0]["raw"].update(path=str(outside)))

    assert problems_of(artifacts) == {
        str(outside): ["unsafe-path"],
        "../outside.wasm": ["unsafe-path"],
        "go-1.24/escape.wasm": ["unsafe-path"],
        "go-1.24/hello.wasm.gz": ["hash-mismatch"],
        "tinygo-0.41/hello.wasm.br": ["missing-file"],
        "notes.txt": ["unexpected-file"],
        # The files the redirected paths no longer name are now unexpected too.
        "go-1.24/exec-filter.debug.wasm": ["unexpected-file"],
        "go-1.24/exec-filter.wasm.gz": ["unexpected-file"],
        "go-1.24/exec-filter.wasm.zst": ["unexpected-file"],
    }


def test_tampering_in_the_cli(artifacts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # An absolute target the same on every machine; it is refused, never read.
    tamper(artifacts, Path("/etc/passwd"))

    status, out, err = run_cli(capsys, "verify", artifacts)

    assert status == 1
    assert err == "error: artifacts/manifest.json: 9 problems in 9 files\n"
    check_golden("verify-tampered.txt", out)


def test_json_lists_every_file_with_its_problems(
    artifacts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flip_byte(artifacts / "go-1.24/hello.wasm", 10)

    status, out, _ = run_cli(capsys, "verify", "--json", artifacts / "manifest.json")
    records = json.loads(out)

    assert status == 1
    assert len(records) == 15
    bad = [r for r in records if not r["ok"]]
    assert [(r["path"], r["gadget"], r["toolchain"], r["role"]) for r in bad] == [
        ("go-1.24/hello.wasm", "hello", "go-1.24", "stripped")
    ]
    assert bad[0]["problems"][0]["code"] == "hash-mismatch"


def test_truncated_file_is_a_size_mismatch(artifacts: Path) -> None:
    path = artifacts / "go-1.24/hello.debug.wasm"
    path.write_bytes(path.read_bytes()[:-10])

    [check] = [c for c in checks_of(artifacts) if not c.ok]

    assert check.problems[0].code == "size-mismatch"
    assert int(check.problems[0].expected or 0) - int(check.problems[0].found or 0) == 10


def test_changed_signature_in_the_manifest(artifacts: Path) -> None:
    def retype(records: list[dict[str, Any]]) -> None:
        hello_go = records[2]
        api = next(e for e in hello_go["exports"] if e["name"] == "gadgetAPIVersion")
        api["signature"] = "() -> i32"
        hello_go["imports"].pop(0)

    edit_manifest(artifacts, retype)

    [check] = [c for c in checks_of(artifacts) if not c.ok]

    assert (check.path, check.role) == ("go-1.24/hello.wasm", "stripped")
    assert [(p.code, p.expected, p.found) for p in check.problems] == [
        ("export-changed", "func () -> i32", "func () -> i64"),
        ("import-added", None, "func (i32, i64) -> ()"),
    ]


def test_unreadable_stripped_module(artifacts: Path) -> None:
    (artifacts / "go-1.24/hello.wasm").write_bytes(b"\0asm\x01\0\0\0\x01\x64")

    [check] = [c for c in checks_of(artifacts) if not c.ok]

    assert [p.code for p in check.problems] == ["size-mismatch", "unreadable-module"]
    assert "at byte offset 0x8" in check.problems[1].message


# SHA256SUMS itself is not among them: with one, the folder is a release that the list must
# cover whole (tests/test_release_docker.py).
IGNORED_FILES = [
    "SHA256SUMS.asc",
    "go-1.24/hello.wasm.sha256",
    "provenance.json",
    "release.intoto.jsonl",
    "publish.lock",
]


def test_checksum_provenance_and_lock_files_are_ignored(artifacts: Path) -> None:
    for name in IGNORED_FILES:
        (artifacts / name).write_text("x\n")

    assert problems_of(artifacts) == {}


def test_temporary_files_are_reported(artifacts: Path) -> None:
    (artifacts / ".manifest.json.k2j3.tmp").write_text("{")

    [check] = checks_of(artifacts)[15:]

    assert check.path == ".manifest.json.k2j3.tmp"
    assert "interrupted write" in check.problems[0].message


def test_symlinked_folder_is_an_unexpected_entry_not_followed(artifacts: Path) -> None:
    (artifacts / "elsewhere").symlink_to(Path.cwd(), target_is_directory=True)

    assert problems_of(artifacts) == {"elsewhere": ["unexpected-file"]}


def test_symlink_staying_inside_is_followed(artifacts: Path) -> None:
    target = artifacts / "go-1.24/hello.wasm.zst"
    moved = artifacts / "store/hello.wasm.zst"
    moved.parent.mkdir()
    target.rename(moved)
    target.symlink_to(Path("../store/hello.wasm.zst"))

    # The link holds; the file it leads to is not named by the manifest, so it is reported.
    assert problems_of(artifacts) == {"store/hello.wasm.zst": ["unexpected-file"]}


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("", "not a '/'-separated relative path"),
        ("go-1.24\\hello.wasm", "not a '/'-separated relative path"),
        ("/etc/passwd", "an absolute path"),
        ("C:/artifacts/hello.wasm", "an absolute path"),
        ("../hello.wasm", "through '..'"),
        ("go-1.24/../../hello.wasm", "through '..'"),
    ],
)
def test_unsafe_paths_are_refused(tmp_path: Path, relative: str, reason: str) -> None:
    refused = resolve_inside(tmp_path, relative)

    assert isinstance(refused, Problem)
    assert refused.code == "unsafe-path"
    assert reason in refused.message


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")

    refused = resolve_inside(tmp_path.resolve(), "a")

    assert isinstance(refused, Problem)
    assert refused.code == "unsafe-path"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file whatever its mode")
def test_unreadable_file(artifacts: Path) -> None:
    (artifacts / "go-1.24/hello.wasm.gz").chmod(0)

    assert problems_of(artifacts) == {"go-1.24/hello.wasm.gz": ["unreadable-file"]}
