"""`gadgetbuild inspect`: a module's outline and ABI verdict, or a manifest's artifacts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import CorpusModule
from gadgetbuild.views.inspection import ModuleReport, inspect_manifest, inspect_module
from gadgetbuild.views.sources import load_manifest
from gadgetbuild.wasm import load_contract, read_module
from inspect_support import check_golden, run_cli, standard_artifacts


def report_of(module: CorpusModule) -> ModuleReport:
    info = read_module(module.data, path=module.path)
    return inspect_module(Path(module.name), module.data, info, load_contract())


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder, so paths in the output are short and the same on every run."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def copy_in(module: CorpusModule, folder: Path) -> Path:
    shutil.copyfile(module.path, folder / f"{module.name}.wasm")
    return Path(f"{module.name}.wasm")


def test_reactor_report(corpus: dict[str, CorpusModule]) -> None:
    report = report_of(corpus["reactor"])

    assert report.entry == "reactor"
    assert report.abi_holds
    assert report.violations == []
    assert (report.toolchain, report.toolchain_version) == ("Go cmd/compile", "go1.24.11")
    assert report.language == "Go go1.24.11"
    assert report.memory is not None
    assert (report.memory.initial_pages, report.memory.cap_pages) == (2, 256)
    assert report.memory.within_cap
    assert {e.name: e.signature for e in report.exports}["gadgetAPIVersion"] == "() -> i64"
    assert ("ig", "gadgetLog", "(i32, i64) -> ()") in {
        (i.module, i.name, i.signature) for i in report.imports
    }


def test_section_shares_add_up_to_the_file(corpus: dict[str, CorpusModule]) -> None:
    report = report_of(corpus["tinygo_like"])
    payload = sum(s.size for s in report.sections)

    assert 0 < payload < report.size
    assert all(s.share == pytest.approx(s.size / report.size, abs=1e-6) for s in report.sections)
    assert [s.offset for s in report.sections] == sorted(s.offset for s in report.sections)


def test_tinygo_extras_and_kept_name_section_hold(corpus: dict[str, CorpusModule]) -> None:
    report = report_of(corpus["tinygo_like"])
    names = {s.name for s in report.sections}

    assert (report.toolchain, report.toolchain_version) == ("TinyGo", "0.41.1")
    assert report.abi_holds, report.violations
    assert {"custom:name", "custom:target_features", "custom:producers"} <= names
    assert {"malloc", "asyncify_get_state"} <= {e.name for e in report.exports}


@pytest.mark.parametrize(
    ("name", "entry", "code"),
    [
        ("command", "command", "command-module"),
        ("legacy_env", "reactor", "legacy-abi"),
        ("big_memory", "reactor", "memory-too-large"),
        ("bad_lifecycle", "reactor", "export-signature"),
        ("unknown_ig", "reactor", "unknown-import"),
    ],
)
def test_breaking_modules_show_their_violations(
    corpus: dict[str, CorpusModule], name: str, entry: str, code: str
) -> None:
    report = report_of(corpus[name])

    assert report.entry == entry
    assert not report.abi_holds
    assert code in [v.code for v in report.violations]


def test_memory_over_the_cap_is_marked(corpus: dict[str, CorpusModule]) -> None:
    memory = report_of(corpus["big_memory"]).memory

    assert memory is not None
    assert (memory.initial_pages, memory.within_cap) == (300, False)


def test_imported_memory_and_start_function(corpus: dict[str, CorpusModule]) -> None:
    report = report_of(corpus["kitchen_sink"])

    assert report.memory is not None
    assert report.memory.imported
    assert report.start_function
    assert report.entry == "neither"


def test_empty_module_has_no_memory_and_misses_every_required_export(
    corpus: dict[str, CorpusModule],
) -> None:
    report = report_of(corpus["empty"])

    assert report.memory is None
    assert report.sections == []
    assert {v.item for v in report.violations if v.code == "missing-export"} == {
        "_initialize",
        "memory",
        "gadgetAPIVersion",
    }


def test_cli_tinygo_like_module(
    corpus: dict[str, CorpusModule], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, "inspect", copy_in(corpus["tinygo_like"], workdir))

    assert (status, err) == (0, "")
    check_golden("inspect-tinygo-like.txt", out)


def test_cli_module_breaking_the_abi_exits_1(
    corpus: dict[str, CorpusModule], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, "inspect", copy_in(corpus["legacy_env"], workdir))

    assert status == 1
    assert err == "error: legacy_env.wasm: breaks the gadget ABI: 1 violation (legacy-abi)\n"
    check_golden("inspect-legacy-env.txt", out)


def test_cli_command_module_as_json(
    corpus: dict[str, CorpusModule], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_cli(capsys, "inspect", "--json", copy_in(corpus["command"], workdir))
    data = json.loads(out)

    assert status == 1
    assert data["entry"] == "command"
    assert data["abi_holds"] is False
    assert [v["code"] for v in data["violations"]] == ["command-module"]
    # The records alone: no remainder or total row among the sections.
    assert {s["name"] for s in data["sections"]} <= {
        "type", "import", "function", "memory", "export", "code", "custom:name"
    }  # fmt: skip
    check_golden("inspect-command.json", out)


def test_manifest_rows(tmp_path: Path) -> None:
    _, manifest = load_manifest(standard_artifacts(tmp_path))
    rows = {(r.gadget, r.toolchain): r for r in inspect_manifest(manifest)}

    assert list(rows) == [
        ("exec-filter", "go-1.24"),
        ("exec-filter", "tinygo-0.41"),
        ("hello", "go-1.24"),
        ("hello", "tinygo-0.41"),
    ]
    hello = rows["hello", "tinygo-0.41"]
    assert hello.compiler == "TinyGo 0.41.1"
    assert hello.sizes["stripped"] is not None
    assert hello.sizes["raw"] is not None
    assert hello.sizes["stripped"] < hello.sizes["raw"]
    assert rows["exec-filter", "tinygo-0.41"].sizes == dict.fromkeys(hello.sizes)


def test_cli_manifest_folder_as_table(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    standard_artifacts(workdir / "artifacts")

    status, out, err = run_cli(capsys, "inspect", "artifacts")

    assert (status, err) == (0, "")
    check_golden("inspect-manifest.txt", out)


def test_cli_manifest_as_json_has_no_totals(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = standard_artifacts(workdir / "artifacts")

    status, out, _ = run_cli(capsys, "inspect", "--json", manifest)
    rows = json.loads(out)

    assert status == 0
    assert [(r["gadget"], r["toolchain"], r["status"]) for r in rows] == [
        ("exec-filter", "go-1.24", "built"),
        ("exec-filter", "tinygo-0.41", "unavailable"),
        ("hello", "go-1.24", "built"),
        ("hello", "tinygo-0.41", "built"),
    ]


def test_cli_manifest_with_a_failed_artifact_exits_1(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = standard_artifacts(workdir / "artifacts")
    data = json.loads(manifest.read_text())
    data["artifacts"][0].update(status="failed", reason="compile failed")
    manifest.write_text(json.dumps(data))

    status, _, err = run_cli(capsys, "inspect", "artifacts/manifest.json")

    assert status == 1
    assert err == "error: artifacts/manifest.json: 1 of 4 artifacts failed\n"
