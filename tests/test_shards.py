"""Shards built apart and merged equal the whole matrix built at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import MiniRepo
from gadgetbuild.cli import main
from gadgetbuild.manifest import Manifest, read_manifest, write_manifest

pytestmark = pytest.mark.integration


def build_into(repo: MiniRepo, out: Path, *extra: str) -> Manifest:
    args = repo._replace(out=out).build_args(*extra)
    assert main(args) == 0
    return read_manifest(out / "manifest.json")


def files_of(manifest: Manifest) -> dict[tuple[str, str], list[tuple[str, str]]]:
    return {
        r.key: [(f.path, f.sha256) for f in (r.raw, r.stripped, *r.compressed) if f]
        for r in manifest.artifacts
    }


def test_shards_merged_equal_the_whole(mini_repo: MiniRepo, tmp_path: Path) -> None:
    whole = build_into(mini_repo, tmp_path / "whole")
    shards = [tmp_path / f"shard{i}" for i in (1, 2, 3)]
    for index, out in enumerate(shards, start=1):
        build_into(mini_repo, out, "--shard", f"{index}/3")

    merged_dir = tmp_path / "merged"
    assert (
        main(["merge", *(str(s / "manifest.json") for s in shards), "--out", str(merged_dir)]) == 0
    )

    merged = read_manifest(merged_dir / "manifest.json")
    assert files_of(merged) == files_of(whole)
    assert main(["verify", str(merged_dir)]) == 0


def test_merge_carries_the_last_good_files_of_a_failed_shard(
    mini_repo: MiniRepo, tmp_path: Path
) -> None:
    shards = [tmp_path / "shard1", tmp_path / "shard2"]
    for index, out in enumerate(shards, start=1):
        build_into(mini_repo, out, "--shard", f"{index}/2")
    for name in ("alpha", "beta"):
        source = mini_repo.gadgets / name / "main.go"
        source.write_text(source.read_text() + "\nfunc broken() { undefinedThing() }\n")
    failed = mini_repo._replace(out=shards[0]).build_args("--shard", "1/2")
    assert main(failed) == 1

    merged_dir = tmp_path / "merged"
    args = ["merge", *(str(s / "manifest.json") for s in shards), "--out", str(merged_dir)]
    assert main(args) == 0

    kept = [r for r in read_manifest(merged_dir / "manifest.json").artifacts if r.last_good]
    assert kept
    for record in kept:
        assert record.last_good is not None
        assert record.last_good.stripped is not None
        assert (merged_dir / record.last_good.stripped.path).is_file()
    assert main(["verify", str(merged_dir)]) == 0


def test_merge_refuses_disagreeing_records(
    mini_repo: MiniRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = build_into(mini_repo, tmp_path / "a", "--gadget", "alpha")
    record = first.artifacts[0]
    toolchain = record.toolchain.model_copy(update={"backend": "docker"})
    changed = record.model_copy(update={"source_hash": "0" * 64, "toolchain": toolchain})
    other = tmp_path / "b" / "manifest.json"
    write_manifest(first.model_copy(update={"artifacts": [changed]}), other)

    status = main(
        ["merge", str(tmp_path / "a" / "manifest.json"), str(other), "--out", str(tmp_path / "m")]
    )

    assert status == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "(they differ in toolchain.backend, source_hash)" in err


def test_merge_refuses_different_source_revisions(mini_repo: MiniRepo, tmp_path: Path) -> None:
    first = build_into(mini_repo, tmp_path / "a", "--gadget", "alpha")
    other = tmp_path / "b" / "manifest.json"
    write_manifest(first.model_copy(update={"source_revision": "f" * 40, "artifacts": []}), other)

    status = main(
        ["merge", str(tmp_path / "a" / "manifest.json"), str(other), "--out", str(tmp_path / "m")]
    )

    assert status == 1


def test_merge_refuses_a_path_that_leaves_the_folder(mini_repo: MiniRepo, tmp_path: Path) -> None:
    first = build_into(mini_repo, tmp_path / "a", "--gadget", "alpha")
    record = first.artifacts[0]
    assert record.raw is not None
    escaping = record.model_copy(update={"raw": record.raw.model_copy(update={"path": "../x"})})
    evil = tmp_path / "evil" / "manifest.json"
    write_manifest(first.model_copy(update={"artifacts": [escaping]}), evil)
    (tmp_path / "x").write_bytes(b"secret")

    status = main(["merge", str(evil), "--out", str(tmp_path / "deep" / "out")])

    assert status == 1
    assert not (tmp_path / "deep").exists()
