"""Integration: the real gadgets built by the real Go toolchain, through the CLI."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import jsonschema
import pytest

from conftest import MiniRepo
from gadgetbuild import render
from gadgetbuild.cli import main
from gadgetbuild.manifest import ArtifactStatus, Manifest, read_manifest
from gadgetbuild.wasm import load_contract

REPO = Path(__file__).resolve().parents[1]
GADGETS = ("dns-json", "exec-filter", "hello", "tcp-top")

pytestmark = pytest.mark.integration


def build(*args: str | Path) -> int:
    return main(["build", *map(str, args)])


def copy_tree(tmp_path: Path) -> tuple[Path, Path]:
    gadgets = tmp_path / "gadgets"
    toolchains = tmp_path / "toolchains"
    shutil.copytree(REPO / "gadgets", gadgets)
    shutil.copytree(REPO / "toolchains", toolchains)
    return gadgets, toolchains


@pytest.fixture(scope="module")
def full_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("artifacts")
    status = build(
        "--gadgets-dir",
        REPO / "gadgets",
        "--toolchains-dir",
        REPO / "toolchains",
        "--out",
        out,
        "--jobs",
        "2",
    )
    assert status == 0
    return out


def test_manifest_validates_against_committed_schema(full_build: Path) -> None:
    schema = json.loads((REPO / "schemas" / "manifest.schema.json").read_text())
    data = json.loads((full_build / "manifest.json").read_text())

    jsonschema.validate(data, schema)


def test_every_go_artifact_is_built_and_its_files_match(full_build: Path) -> None:
    manifest = read_manifest(full_build / "manifest.json")
    go = [r for r in manifest.artifacts if r.toolchain.name == "go-1.24"]

    assert sorted(r.gadget for r in go) == list(GADGETS)
    for record in go:
        assert record.status is ArtifactStatus.BUILT, record.reason
        assert record.raw
        assert record.stripped
        files = [record.raw, record.stripped, *record.compressed]
        assert {c.codec for c in record.compressed} == {"gzip", "zstd", "brotli"}
        for file in files:
            data = (full_build / file.path).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (file.size, file.sha256)
        assert record.stripped.size < record.raw.size
        assert record.toolchain.compiler
        assert "1.24.11" in record.toolchain.compiler


def test_records_carry_exact_signatures(full_build: Path) -> None:
    manifest = read_manifest(full_build / "manifest.json")
    contract = load_contract()
    for record in (r for r in manifest.artifacts if r.status is ArtifactStatus.BUILT):
        exports = {e.name: e.signature for e in record.exports}
        assert exports["gadgetAPIVersion"] == "() -> i64"
        assert exports["_initialize"] == "() -> ()"
        ig = [i for i in record.imports if i.module == "ig"]
        assert ig, record.gadget
        for imp in ig:
            assert imp.signature == contract.ig_signature(imp.name), imp.name
    exec_filter = next(r for r in manifest.artifacts if r.key == ("exec-filter", "go-1.24"))
    assert {e.name: e.signature for e in exec_filter.exports}["dataSourceCallback"] == (
        "(i64, i32, i32) -> ()"
    )


def test_tinygo_without_compiler_is_unavailable_with_a_reason(full_build: Path) -> None:
    if shutil.which("tinygo"):
        pytest.skip("a tinygo is on PATH: the unavailable state cannot be shown here")

    manifest: Manifest = read_manifest(full_build / "manifest.json")
    tinygo = [r for r in manifest.artifacts if r.toolchain.name == "tinygo-0.41"]

    assert len(tinygo) == len(GADGETS)
    for record in tinygo:
        assert record.status is ArtifactStatus.UNAVAILABLE
        assert record.reason
        assert "tinygo" in record.reason


def test_compile_error_fails_one_artifact_and_keeps_the_others(tmp_path: Path) -> None:
    gadgets, toolchains = copy_tree(tmp_path)
    source = next((gadgets / "tcp-top").glob("*.go"))
    source.write_text(source.read_text() + "\nfunc broken() { undefinedThing() }\n")

    status = build(
        "--gadgets-dir",
        gadgets,
        "--toolchains-dir",
        toolchains,
        "--out",
        tmp_path / "out",
        "--toolchain",
        "go-1.24",
    )

    assert status == 1
    manifest = read_manifest(tmp_path / "out" / "manifest.json")
    by_gadget = {r.gadget: r for r in manifest.artifacts}
    assert by_gadget["tcp-top"].status is ArtifactStatus.FAILED
    assert "undefinedThing" in (by_gadget["tcp-top"].compiler_output or "")
    others = {by_gadget[g].status for g in ("hello", "exec-filter", "dns-json")}
    assert others <= {ArtifactStatus.BUILT, ArtifactStatus.CACHED}


def test_a_failed_rebuild_loses_nothing_already_built(
    mini_repo: MiniRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(mini_repo.build_args()) == 0
    before = {r.gadget: r for r in read_manifest(mini_repo.out / "manifest.json").artifacts}
    kept = {f.path: f.sha256 for f in [before["alpha"].stripped, *before["alpha"].compressed] if f}
    source = mini_repo.gadgets / "alpha" / "main.go"
    source.write_text(source.read_text() + "\nfunc broken() { undefinedThing() }\n")
    capsys.readouterr()

    assert main(mini_repo.build_args()) == 1

    err = capsys.readouterr().err
    assert "the last good files stay in place for alpha × go-1.24" in " ".join(err.split())
    after = {r.gadget: r for r in read_manifest(mini_repo.out / "manifest.json").artifacts}
    alpha = after["alpha"]
    assert alpha.status is ArtifactStatus.FAILED
    assert alpha.stripped is None
    assert alpha.last_good is not None
    assert alpha.last_good.source_hash == before["alpha"].source_hash
    for path, digest in kept.items():
        assert hashlib.sha256((mini_repo.out / path).read_bytes()).hexdigest() == digest
    assert main(["verify", str(mini_repo.out)]) == 0

    source.write_text(source.read_text().replace("func broken() { undefinedThing() }", ""))
    assert main(mini_repo.build_args()) == 0
    assert read_manifest(mini_repo.out / "manifest.json").artifacts[0].last_good is None


def test_abi_violation_lists_expected_and_found(tmp_path: Path) -> None:
    gadgets, toolchains = copy_tree(tmp_path)
    main_go = gadgets / "hello" / "abi_break.go"
    main_go.write_text(
        "package main\n\n//go:wasmexport gadgetPostStop\nfunc gadgetPostStop() int64 { return 0 }\n"
    )

    status = build(
        "--gadgets-dir",
        gadgets,
        "--toolchains-dir",
        toolchains,
        "--out",
        tmp_path / "out",
        "--gadget",
        "hello",
        "--toolchain",
        "go-1.24",
    )

    assert status == 1
    record = read_manifest(tmp_path / "out" / "manifest.json").artifacts[0]
    assert record.status is ArtifactStatus.FAILED
    (violation,) = [v for v in record.violations if v.item == "gadgetPostStop"]
    assert (violation.expected, violation.found) == ("() -> i32", "() -> i64")


def test_bad_spec_exits_2_and_builds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gadgets, toolchains = copy_tree(tmp_path)
    spec = gadgets / "hello" / "gadget.toml"
    spec.write_text(spec.read_text().replace("description", "descr", 1))

    status = build(
        "--gadgets-dir", gadgets, "--toolchains-dir", toolchains, "--out", tmp_path / "out"
    )

    assert status == 2
    assert not (tmp_path / "out").exists()
    err = capsys.readouterr().err
    assert "gadget.toml" in err
    assert "description" in err


def test_strict_makes_an_unavailable_toolchain_exit_3(tmp_path: Path) -> None:
    gadgets, toolchains = copy_tree(tmp_path)
    spec = toolchains / "tinygo-0.41.toml"
    spec.write_text(spec.read_text().replace('path = "tinygo"', 'path = "tinygo-not-installed"'))
    common = ("--gadgets-dir", gadgets, "--toolchains-dir", toolchains, "--gadget", "hello")

    assert build(*common, "--out", tmp_path / "a") == 0
    assert build(*common, "--out", tmp_path / "b", "--strict") == 3
    assert build(*common, "--out", tmp_path / "c", "--toolchain", "tinygo-0.41") == 3


def test_a_relative_out_folder_works_with_the_local_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gadgets, toolchains = copy_tree(tmp_path)
    monkeypatch.chdir(tmp_path)

    status = main(["build", "--gadget", "hello", "--toolchain", "go-1.24", "--backend", "local"])

    assert status == 0
    assert (tmp_path / "artifacts" / "go-1.24" / "hello.wasm").is_file()
    assert not list(gadgets.rglob("*.wasm"))
    assert toolchains.is_dir()


def test_out_folder_that_is_a_file_exits_2(tmp_path: Path) -> None:
    gadgets, toolchains = copy_tree(tmp_path)
    (tmp_path / "afile").write_text("x")

    status = build(
        "--gadgets-dir",
        gadgets,
        "--toolchains-dir",
        toolchains,
        "--out",
        tmp_path / "afile",
        "--backend",
        "local",
    )

    assert status == 2


def test_a_replace_leading_nowhere_fails_only_its_artifact(tmp_path: Path) -> None:
    gadgets, toolchains = copy_tree(tmp_path)
    gomod = gadgets / "hello" / "go.mod"
    gomod.write_text(gomod.read_text().replace("../_shared/ig", "../_nothere/ig"))

    status = build(
        "--gadgets-dir",
        gadgets,
        "--toolchains-dir",
        toolchains,
        "--out",
        tmp_path / "out",
        "--toolchain",
        "go-1.24",
        "--backend",
        "local",
        "--gadget",
        "hello",
        "--gadget",
        "exec-filter",
    )

    assert status == 1
    records = {r.gadget: r for r in read_manifest(tmp_path / "out" / "manifest.json").artifacts}
    assert records["hello"].status is ArtifactStatus.FAILED
    assert "holds no go.mod" in (records["hello"].reason or "")
    assert records["exec-filter"].status in {ArtifactStatus.BUILT, ArtifactStatus.CACHED}


@pytest.mark.parametrize(
    ("verbosity", "ours", "libraries"),
    [(-1, logging.WARNING, logging.WARNING), (0, logging.INFO, logging.WARNING),
     (1, logging.DEBUG, logging.WARNING), (2, logging.DEBUG, logging.DEBUG)],
)  # fmt: skip
def test_verbosity_shows_library_debug_lines_only_at_vv(
    verbosity: int, ours: int, libraries: int
) -> None:
    try:
        render.setup_logging(verbosity)
        assert logging.getLogger("gadgetbuild.pipeline").getEffectiveLevel() == ours
        # The Docker SDK and urllib3 log each API call at debug level.
        assert logging.getLogger("docker.api").getEffectiveLevel() == libraries
        assert logging.getLogger("urllib3").getEffectiveLevel() == libraries
    finally:
        render.setup_logging(0)


def test_a_commit_that_fails_midway_leaves_the_previous_build_whole(
    mini_repo: MiniRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(mini_repo.build_args()) == 0
    before = {p: p.read_bytes() for p in mini_repo.out.rglob("*") if p.is_file()}
    for name in ("alpha", "beta"):
        source = mini_repo.gadgets / name / "main.go"
        source.write_text(source.read_text() + "\n// changed\n")
    real = Path.replace

    def full_disk_at_beta(self: Path, target: Path) -> Path:
        # The staged files move in sorted order: alpha's are in place when beta's fails.
        if ".staging-" in str(self) and self.name == "beta.wasm":
            raise OSError(28, "No space left on device", str(target))
        return real(self, target)

    monkeypatch.setattr(Path, "replace", full_disk_at_beta)
    capsys.readouterr()
    status = main(mini_repo.build_args("--no-cache"))
    monkeypatch.undo()

    err = " ".join(capsys.readouterr().err.split())
    assert status == 3, err
    assert "cannot write the build's outputs: No space left on device" in err
    assert "beta.wasm" in err
    assert "Traceback" not in err
    after = {p: p.read_bytes() for p in mini_repo.out.rglob("*") if p.is_file()}
    assert after == before
    assert main(["verify", str(mini_repo.out)]) == 0
