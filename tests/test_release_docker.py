"""`gadgetbuild release` end to end in Docker: one gadget with Go 1.24, released twice.

Every test here goes through the `engine` fixture (tests/docker_support.py): it skips with
the reason where no engine answers, and fails instead under GADGETBUILD_REQUIRE_DOCKER=1.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from docker_support import REQUIRE_ENV, engine_or_skip
from gadgetbuild.cli import main
from gadgetbuild.manifest import read_manifest, write_manifest
from gadgetbuild.specs import load_toolchain
from gadgetbuild.toolchains.docker import DockerCompiler, provision_docker
from gadgetbuild.toolchains.engine import Engine, cache_volume_name
from gadgetbuild.toolchains.offline import OfflineRecipe, offline_recipe

pytestmark = [pytest.mark.docker, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[1]
TOOLCHAINS = REPO / "toolchains"
NONTRIMPATH = Path(__file__).parent / "data" / "toolchains"
VERSION = "1.0.0"
EPOCH = "1700000000"


class Released(NamedTuple):
    first: Path  # dist/1.0.0 of the first run
    second: Path  # the same of a second run into another dist folder


def release_args(dist: Path, *extra: str) -> list[str]:
    return [
        "release",
        "--version",
        VERSION,
        "--toolchain",
        "go-1.24",
        "--gadget",
        "hello",
        "--dist",
        str(dist),
        "--gadgets-dir",
        str(REPO / "gadgets"),
        "--toolchains-dir",
        str(TOOLCHAINS),
        "--source-url",
        "https://example.org/gadgets",
        "--jobs",
        "2",
        # The checkout the tests run in may hold uncommitted work; the refusal of dirty
        # sources is tested on a repository of its own (tests/test_release.py).
        "--allow-dirty",
        *extra,
    ]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return engine_or_skip()


@pytest.fixture(scope="module")
def released(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Released:
    del engine  # the engine must answer
    folders = []
    for run in ("one", "two"):
        dist = tmp_path_factory.mktemp(run) / "dist"
        assert main(release_args(dist)) == 0
        folders.append(dist / VERSION)
    return Released(*folders)


def test_two_runs_give_the_same_bytes(released: Released) -> None:
    for name in ("SHA256SUMS", "provenance.json", "manifest.json"):
        assert (released.first / name).read_bytes() == (released.second / name).read_bytes()
    tarballs = [(f.parent / f"{VERSION}.tar.gz").read_bytes() for f in released]
    assert tarballs[0] == tarballs[1]


def test_replace_writes_over_a_release_and_a_rerun_gives_its_bytes(
    released: Released, tmp_path: Path
) -> None:
    dist = shutil.copytree(released.first.parent, tmp_path / "dist")
    (dist / VERSION / "stale.txt").write_text("from the release written over")

    assert main(release_args(dist, "--replace")) == 0

    assert not (dist / VERSION / "stale.txt").exists()
    for name in ("SHA256SUMS", f"../{VERSION}.tar.gz"):
        assert (dist / VERSION / name).read_bytes() == (released.first / name).read_bytes()
    assert [p.name for p in dist.iterdir() if p.name.startswith(".")] == [".gadgetbuild.lock"]


def test_a_staging_folder_that_cannot_be_removed_is_named(
    released: Released,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # As when a file of the replaced release is immutable: the release stands, the debris
    # is reported rather than left unannounced.
    dist = shutil.copytree(released.first.parent, tmp_path / "dist")
    monkeypatch.setattr("gadgetbuild.release.layout.shutil.rmtree", lambda *_a, **_k: None)

    assert main(release_args(dist, "--replace")) == 0

    [staging] = [p for p in dist.iterdir() if p.name.startswith(f".{VERSION}.staging-")]
    err = "".join(capsys.readouterr().err.split())
    assert f"{staging.name}:couldnotberemovedentirely" in err


def test_the_release_folder_has_the_mode_the_umask_gives(released: Released) -> None:
    umask = os.umask(0)
    os.umask(umask)
    assert released.first.stat().st_mode & 0o777 == 0o777 & ~umask


def test_the_folder_holds_modules_debug_oci_provenance_and_sums(released: Released) -> None:
    folder = released.first
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    manifest = read_manifest(folder / "manifest.json")
    statement = json.loads((folder / "provenance.json").read_text())

    assert {
        "go-1.24/hello.wasm",
        "go-1.24/hello.wasm.gz",
        "go-1.24/hello.wasm.zst",
        "go-1.24/hello.wasm.br",
        "debug/go-1.24/hello.debug.wasm",
        "oci/go-1.24/hello/index.json",
        "oci/go-1.24/hello/oci-layout",
    } <= set(files)
    assert [r.timings_ms for r in manifest.artifacts] == [{}]
    subjects = {s["name"] for s in statement["subject"]}
    assert subjects == set(files) - {"SHA256SUMS", "provenance.json"}


def test_sha256sum_accepts_the_list(released: Released) -> None:
    done = subprocess.run(
        ["sha256sum", "--check", "--strict", "SHA256SUMS"],
        cwd=released.first,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    listed = len((released.first / "SHA256SUMS").read_text().splitlines())
    assert listed == sum(1 for p in released.first.rglob("*") if p.is_file()) - 1


@pytest.fixture(scope="module")
def skopeo() -> str:
    found = shutil.which("skopeo")
    if found is None:
        reason = "no skopeo on PATH (apt-get install skopeo)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def test_skopeo_reads_and_copies_the_layout(
    released: Released, skopeo: str, tmp_path: Path
) -> None:
    layout = f"oci:{released.first / 'oci/go-1.24/hello'}"
    raw = subprocess.run(
        [skopeo, "inspect", "--raw", layout], capture_output=True, text=True, check=True
    ).stdout
    subprocess.run(
        [skopeo, "copy", "--quiet", f"{layout}:{VERSION}", f"dir:{tmp_path / 'copy'}"],
        check=True,
    )

    index = json.loads(raw)
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    copied = json.loads((tmp_path / "copy" / "manifest.json").read_text())
    assert copied["artifactType"] == "application/vnd.gadget.v1+binary"
    [layer] = copied["layers"]
    module = (tmp_path / "copy" / layer["digest"].removeprefix("sha256:")).read_bytes()
    assert module == (released.first / "go-1.24/hello.wasm").read_bytes()


def relist(folder: Path, path: str, data: bytes) -> None:
    """``path`` rewritten to ``data``, with the manifest and SHA256SUMS made to agree."""
    (folder / path).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    manifest = read_manifest(folder / "manifest.json")
    [record] = manifest.artifacts
    compressed = [
        c.model_copy(update={"sha256": digest, "size": len(data)}) if c.path == path else c
        for c in record.compressed
    ]
    record = record.model_copy(update={"compressed": compressed})
    write_manifest(manifest.model_copy(update={"artifacts": [record]}), folder / "manifest.json")
    sums = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        old, name = line.split("  ", 1)
        sums[name] = old
    sums[path] = digest
    sums["manifest.json"] = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    (folder / "SHA256SUMS").write_text("".join(f"{d}  {n}\n" for n, d in sums.items()))


def verify_problems(folder: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:
    capsys.readouterr()
    status = main(["verify", str(folder), "--json"])
    checks = json.loads(capsys.readouterr().out)
    problems = {c["path"]: [p["code"] for p in c["problems"]] for c in checks if not c["ok"]}
    assert (status == 0) == (not problems)
    return problems


def test_verify_passes_then_catches_changed_removed_added(
    released: Released, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify_problems(released.first, capsys) == {}
    names = ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k")
    copies = {n: shutil.copytree(released.first, tmp_path / n) for n in names}
    blob = next((copies["a"] / "oci/go-1.24/hello/blobs/sha256").iterdir()).name

    (copies["a"] / "oci/go-1.24/hello/blobs/sha256" / blob).write_bytes(b"changed")
    (copies["b"] / "oci/go-1.24/hello/index.json").unlink()
    (copies["c"] / "debug/go-1.24/extra.wasm").write_bytes(b"added")
    (copies["d"] / "provenance.json").write_text("{}")
    sums = copies["e"] / "SHA256SUMS"
    sums.write_text("".join(x for x in sums.read_text().splitlines(True) if "manifest" not in x))
    (copies["f"] / "SHA256SUMS.evil").write_bytes(b"a payload beside the list")
    (copies["g"] / "SHA256SUMS.asc").write_bytes(b"a detached signature")
    # A module changed, and the manifest and the list rewritten to match: the provenance
    # still names the module that was built.
    relist(copies["h"], "go-1.24/hello.wasm.gz", b"another module")
    with (copies["i"] / "SHA256SUMS").open("ab") as sums_file:
        sums_file.write(b"\xff\xfe not UTF-8\n")
    lines = (copies["j"] / "SHA256SUMS").read_text().splitlines(True)
    (copies["j"] / "SHA256SUMS").write_text("".join(x.upper()[:64] + x[64:] for x in lines))
    (copies["k"] / "provenance.json").unlink()
    without = [x for x in lines if "provenance.json" not in x]
    (copies["k"] / "SHA256SUMS").write_text("".join(without))

    assert verify_problems(copies["a"], capsys) == {
        f"oci/go-1.24/hello/blobs/sha256/{blob}": ["hash-mismatch"]
    }
    assert verify_problems(copies["b"], capsys) == {
        "oci/go-1.24/hello/index.json": ["missing-file"]
    }
    assert verify_problems(copies["c"], capsys) == {"debug/go-1.24/extra.wasm": ["unexpected-file"]}
    assert verify_problems(copies["d"], capsys) == {"provenance.json": ["hash-mismatch"]}
    assert verify_problems(copies["e"], capsys) == {
        "SHA256SUMS": ["not-listed"],
        "provenance.json": ["subject-missing"],
    }
    assert verify_problems(copies["f"], capsys) == {"SHA256SUMS.evil": ["unexpected-file"]}
    assert verify_problems(copies["g"], capsys) == {}
    assert verify_problems(copies["i"], capsys) == {"SHA256SUMS": ["bad-checksum-line"]}
    assert verify_problems(copies["j"], capsys) == {}  # sha256sum reads either case
    assert verify_problems(copies["k"], capsys) == {"SHA256SUMS": ["not-listed"]}
    # The module and the manifest both differ from what was built.
    assert verify_problems(copies["h"], capsys) == {
        "provenance.json": ["subject-mismatch", "subject-mismatch"]
    }


def test_verify_requires_the_layout_to_carry_the_shipped_module(
    released: Released, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The loose module forged, manifest and list made to agree: the layer still differs.
    # The provenance, left as it is, differs too.
    copy = shutil.copytree(released.first, tmp_path / "forged")
    relist(copy, "go-1.24/hello.wasm.gz", b"x")  # the manifest is rewritten through it
    stripped = copy / "go-1.24/hello.wasm"
    stripped.write_bytes(stripped.read_bytes() + b"\0")
    manifest = read_manifest(copy / "manifest.json")
    [record] = manifest.artifacts
    assert record.stripped is not None
    digest = hashlib.sha256(stripped.read_bytes()).hexdigest()
    changed = record.stripped.model_copy(update={"sha256": digest, "size": stripped.stat().st_size})
    record = record.model_copy(update={"stripped": changed})
    write_manifest(manifest.model_copy(update={"artifacts": [record]}), copy / "manifest.json")
    lines = (copy / "SHA256SUMS").read_text().splitlines()
    fixed = {name: old for old, name in (x.split("  ", 1) for x in lines)}
    fixed["go-1.24/hello.wasm"] = digest
    fixed["manifest.json"] = hashlib.sha256((copy / "manifest.json").read_bytes()).hexdigest()
    (copy / "SHA256SUMS").write_text("".join(f"{d}  {n}\n" for n, d in fixed.items()))

    problems = verify_problems(copy, capsys)

    assert problems["oci/go-1.24/hello"] == ["layer-mismatch"]


def test_verify_of_the_archive_says_to_extract_it(
    released: Released, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["verify", str(released.first.parent / f"{VERSION}.tar.gz")])

    err = " ".join(capsys.readouterr().err.split())
    assert status == 1
    assert "a gzip archive, not a manifest" in err
    assert "extract it" in err


@pytest.fixture
def nontrimpath(engine: Engine) -> Iterator[OfflineRecipe]:
    """The test-only toolchain's offline image: the same recipe as go-1.24's (only the build
    argv differs), so go-1.24's image is tagged for it rather than built again."""
    spec = load_toolchain(NONTRIMPATH / "go-1.24-nontrimpath.toml")
    go = provision_docker(load_toolchain(TOOLCHAINS / "go-1.24.toml"), engine, TOOLCHAINS)
    assert isinstance(go, DockerCompiler), go
    ours, theirs = offline_recipe(spec), offline_recipe(go.spec)
    assert isinstance(ours, OfflineRecipe)
    assert isinstance(theirs, OfflineRecipe)
    assert ours.hash == theirs.hash
    repo, _, tag = ours.tag.partition(":")
    engine.client.images.get(go.image.image_id).tag(repo, tag)
    yield ours
    engine.client.images.remove(ours.tag)  # the tag only: go-1.24's image stays
    engine.client.volumes.get(cache_volume_name(spec)).remove(force=True)


def test_proof_refuses_a_build_that_depends_on_its_path(
    nontrimpath: OfflineRecipe,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    del nontrimpath
    args = release_args(tmp_path / "dist")
    args[args.index("go-1.24")] = "go-1.24-nontrimpath"
    args[args.index(str(TOOLCHAINS))] = str(NONTRIMPATH)

    status = main(args)

    err = " ".join(capsys.readouterr().err.split())
    assert status == 1
    assert "hello × go-1.24-nontrimpath: not reproducible, the raw modules differ" in err
    assert "first in section" in err
    assert not (tmp_path / "dist" / VERSION).exists()


def test_gates_refuse_the_release_naming_each_limit(
    released: Released,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gadgets = shutil.copytree(REPO / "gadgets", tmp_path / "gadgets")
    spec = gadgets / "hello" / "gadget.toml"
    spec.write_text(spec.read_text().replace("stripped = 2_200_000", "stripped = 1_000_000"))
    baseline = read_manifest(released.first / "manifest.json")
    [record] = baseline.artifacts
    assert record.compressed[0].codec == "gzip"
    smaller = record.compressed[0].model_copy(update={"size": record.compressed[0].size // 2})
    shrunk = record.model_copy(update={"compressed": [smaller, *record.compressed[1:]]})
    write_manifest(baseline.model_copy(update={"artifacts": [shrunk]}), tmp_path / "base.json")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)  # the copy is in no git commit
    args = release_args(tmp_path / "dist", "--baseline", str(tmp_path / "base.json"))
    args[args.index(str(REPO / "gadgets"))] = str(gadgets)

    status = main(args)

    err = " ".join(capsys.readouterr().err.split())
    assert status == 1
    assert "over its budget of 1000000 bytes" in err
    assert "hello × go-1.24: stripped is" in err
    assert "hello × go-1.24: gzip grew +100" in err
    assert "over the 5% limit" in err
    assert not (tmp_path / "dist" / VERSION).exists()
