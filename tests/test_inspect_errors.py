"""Bad input to every view command: a headline naming the file, the cause and the offset,
the exit status of the design's table, and never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import CorpusModule
from inspect_support import run_cli, standard_artifacts

# A type section claiming 100 bytes after a valid preamble, in a file of 14 bytes.
SECTION_PAST_END = b"\0asm\x01\0\0\0" + b"\x01\x64" + b"\x01\x60\0\0"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def bad_modules(reactor: bytes) -> dict[str, tuple[bytes, str, int]]:
    """File content, the cause the headline must give, and its byte offset."""
    return {
        "not-wasm": (b"#!/bin/sh\necho hi\n", "not a wasm module", 0x0),
        "empty": (b"", "not a wasm module", 0x0),
        "truncated": (reactor[: len(reactor) // 2], "runs past the end of the file", -1),
        "section-past-end": (SECTION_PAST_END, "section of 100 bytes runs past the end", 0x8),
    }


@pytest.mark.usefixtures("workdir")
@pytest.mark.parametrize("command", ["inspect", "top"])
@pytest.mark.parametrize("case", ["not-wasm", "empty", "truncated", "section-past-end"])
def test_bad_module(
    corpus: dict[str, CorpusModule],
    capsys: pytest.CaptureFixture[str],
    command: str,
    case: str,
) -> None:
    data, cause, offset = bad_modules(corpus["reactor"].data)[case]
    Path("bad.wasm").write_bytes(data)

    status, out, err = run_cli(capsys, command, "bad.wasm")

    assert status == 1
    assert out == ""
    assert err.startswith("error: bad.wasm: ")
    assert cause in err
    assert "at byte offset 0x" in err
    if offset >= 0:
        assert f"at byte offset {offset:#x}" in err
    assert "Traceback" not in err


BAD_MANIFESTS = {
    "not-json": ("{ this is not json", "not JSON"),
    "fails-schema": (
        json.dumps({"schema_version": 1, "artifacts": 3}),
        "fails the manifest schema",
    ),
    "no-version": (
        json.dumps({"artifacts": []}),
        "no gadgetbuild manifest: it has no schema_version",
    ),
    "unknown-version": (json.dumps({"schema_version": 9}), "unknown manifest schema version 9"),
}
MANIFEST_COMMANDS = [["inspect"], ["verify"], ["compare"], ["diff", "good"], ["diff", "-", "good"]]


def manifest_args(command: list[str], bad: str) -> list[str]:
    """The command with the bad manifest in its place: after the other operands, or at `-`."""
    if "-" in command:
        return [bad if arg == "-" else arg for arg in command]
    return [*command, bad]


@pytest.mark.parametrize("command", MANIFEST_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_bad_manifest(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: list[str], case: str
) -> None:
    standard_artifacts(workdir / "good")
    content, cause = BAD_MANIFESTS[case]
    Path("bad").mkdir()
    Path("bad/manifest.json").write_text(content)

    status, out, err = run_cli(capsys, *manifest_args(command, "bad"))

    assert status == 1
    assert out == ""
    assert err.startswith("error: bad/manifest.json: ")
    assert cause in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", MANIFEST_COMMANDS, ids=" ".join)
def test_folder_without_manifest_is_a_usage_error(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    standard_artifacts(workdir / "good")
    Path("empty").mkdir()

    status, _, err = run_cli(capsys, *manifest_args(command, "empty"))

    assert status == 2
    assert err.startswith("error: empty: no manifest.json in this folder\n  next: ")


@pytest.mark.parametrize("command", [["inspect"], ["top"], ["verify"], ["compare"], ["diff", "a"]])
@pytest.mark.usefixtures("workdir")
def test_missing_path_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    status, _, err = run_cli(capsys, *command, "nowhere")

    assert status == 2
    assert "does not exist" in err


def test_verify_defaults_to_the_artifacts_folder(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(capsys, "verify")
    assert (status, "'artifacts' does not exist" in err) == (2, True)

    standard_artifacts(workdir / "artifacts")
    status, _, _ = run_cli(capsys, "verify")
    assert status == 0


@pytest.mark.usefixtures("workdir")
def test_top_refuses_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "top", ".")

    assert status == 2
    assert "is a directory" in err
