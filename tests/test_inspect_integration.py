"""Integration: the view commands on gadgets built by the real Go toolchain.

TinyGo cannot be installed here, so the TinyGo side of `compare` is a WAT module shaped
like its output, recorded into the real manifest beside the Go artifacts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gadgetbuild.cli import main
from gadgetbuild.manifest import read_manifest
from inspect_support import TINYGO, run_cli, save_manifest, tinygo_like, write_artifact

REPO = Path(__file__).resolve().parents[1]
GADGETS = ("exec-filter", "hello")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two gadgets built with Go 1.24, plus a TinyGo-shaped `hello` in the same manifest."""
    out = tmp_path_factory.mktemp("artifacts")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GADGETBUILD_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        args = ["build", "--gadgets-dir", str(REPO / "gadgets"), "--toolchain", "go-1.24"]
        args += ["--toolchains-dir", str(REPO / "toolchains"), "--out", str(out)]
        for gadget in GADGETS:
            args += ["--gadget", gadget]
        assert main(args) == 0

    records = read_manifest(out / "manifest.json").artifacts
    save_manifest(out, [*records, write_artifact(out, "hello", TINYGO, tinygo_like(2000))])
    return out


def json_of(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, Any]:
    status, out, _ = run_cli(capsys, *args, "--json")
    return status, json.loads(out)


@pytest.mark.parametrize("gadget", GADGETS)
def test_inspect_raw_module(built: Path, capsys: pytest.CaptureFixture[str], gadget: str) -> None:
    status, report = json_of(capsys, "inspect", built / "go-1.24" / f"{gadget}.debug.wasm")

    assert status == 0
    assert (report["toolchain"], report["toolchain_version"]) == ("Go cmd/compile", "go1.24.11")
    assert report["entry"] == "reactor"
    assert report["abi_holds"], report["violations"]
    assert report["memory"]["within_cap"]
    assert {"custom:name", "custom:producers"} <= {s["name"] for s in report["sections"]}
    exports = {e["name"]: e["signature"] for e in report["exports"]}
    assert exports["gadgetAPIVersion"] == "() -> i64"


def test_inspect_stripped_module_has_no_custom_sections(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = json_of(capsys, "inspect", built / "go-1.24/hello.wasm")

    assert status == 0
    assert report["toolchain"] is None
    assert not [s for s in report["sections"] if s["name"].startswith("custom:")]


def test_inspect_manifest(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, rows = json_of(capsys, "inspect", built)

    assert status == 0
    assert [(r["gadget"], r["toolchain"], r["status"]) for r in rows] == [
        ("exec-filter", "go-1.24", "built"),
        ("hello", "go-1.24", "built"),
        ("hello", "tinygo-0.41", "built"),
    ]


def test_verify_holds(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, checks = json_of(capsys, "verify", built)

    assert status == 0
    assert len(checks) == 15
    assert all(c["ok"] for c in checks)


def test_verify_reports_tampering(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "artifacts"
    shutil.copytree(built, folder)
    stripped = folder / "go-1.24/hello.wasm"
    data = bytearray(stripped.read_bytes())
    data[len(data) // 2] ^= 0x01
    stripped.write_bytes(bytes(data))
    (folder / "go-1.24/exec-filter.wasm.br").unlink()
    (folder / "go-1.24/stray.wasm").write_bytes(b"\0asm\x01\0\0\0")
    (folder / "go-1.24/out.wasm").symlink_to(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["artifacts"][0]["raw"]["path"] = "../elsewhere.wasm"
    manifest["artifacts"][0]["compressed"][0]["path"] = "go-1.24/out.wasm/x"
    (folder / "manifest.json").write_text(json.dumps(manifest))

    status, checks = json_of(capsys, "verify", folder)
    problems = {c["path"]: [p["code"] for p in c["problems"]] for c in checks if not c["ok"]}

    assert status == 1
    assert problems == {
        "../elsewhere.wasm": ["unsafe-path"],
        "go-1.24/out.wasm/x": ["unsafe-path"],
        "go-1.24/hello.wasm": ["hash-mismatch"],
        "go-1.24/exec-filter.wasm.br": ["missing-file"],
        "go-1.24/stray.wasm": ["unexpected-file"],
        # `go-1.24/out.wasm`, the link itself, is the way to a named path: not unexpected.
        "go-1.24/exec-filter.debug.wasm": ["unexpected-file"],
        "go-1.24/exec-filter.wasm.gz": ["unexpected-file"],
    }


def test_top_names_the_raw_module_functions(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, raw = json_of(capsys, "top", built / "go-1.24/hello.debug.wasm", "-n", "10")
    _, stripped = json_of(capsys, "top", built / "go-1.24/hello.wasm", "-n", "10")

    assert status == 0
    assert len(raw) == 10
    assert all(f["name"] for f in raw)
    assert [f["size"] for f in raw] == sorted((f["size"] for f in raw), reverse=True)
    assert all(f["name"] is None for f in stripped)
    assert [(f["index"], f["size"]) for f in stripped] == [(f["index"], f["size"]) for f in raw]


def test_diff_of_a_build_with_itself_passes_the_gate(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, diffs = json_of(capsys, "diff", built, built, "--fail-on-growth", "0")

    assert status == 0
    assert {d["change"] for d in diffs} == {"unchanged"}


def test_compare_go_with_a_tinygo_shaped_module(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, comparisons = json_of(capsys, "compare", built, "--baseline", "tinygo-0.41")

    assert status == 0
    hello = next(c for c in comparisons if c["gadget"] == "hello")
    tinygo, go = hello["toolchains"]
    assert (tinygo["toolchain"], go["toolchain"]) == ("tinygo-0.41", "go-1.24")
    # A Go 1.24 module is far larger than TinyGo's: the reason IG compared them.
    assert go["ratio"]["stripped"] > 10
