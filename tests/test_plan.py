from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import MiniRepo
from gadgetbuild.context import MAX_SOURCE_BYTES, build_context, replace_targets
from gadgetbuild.errors import SpecError, UsageError
from gadgetbuild.pipeline import source_revision
from gadgetbuild.plan import Shard, make_plan

REPO = Path(__file__).resolve().parents[1]


def test_matrix_is_gadgets_by_toolchains() -> None:
    plan = make_plan(REPO / "gadgets", REPO / "toolchains")

    keys = [a.key for a in plan.artifacts]
    assert len(keys) == len(plan.gadgets) * len(plan.toolchains) == 8
    assert ("dns-json", "go-1.24") in keys


def test_filters() -> None:
    plan = make_plan(
        REPO / "gadgets", REPO / "toolchains", only_gadgets=("hello",), only_toolchains=("go-1.24",)
    )

    assert [a.key for a in plan.artifacts] == [("hello", "go-1.24")]


def test_unknown_filter_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--gadget nope"):
        make_plan(REPO / "gadgets", REPO / "toolchains", only_gadgets=("nope",))


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "1"])
def test_bad_shard(text: str) -> None:
    with pytest.raises(UsageError, match="--shard"):
        Shard.parse(text)


def test_shards_partition_the_matrix() -> None:
    full = {a.key for a in make_plan(REPO / "gadgets", REPO / "toolchains").artifacts}
    parts = [
        {
            a.key
            for a in make_plan(REPO / "gadgets", REPO / "toolchains", shard=Shard(i, 3)).artifacts
        }
        for i in (1, 2, 3)
    ]

    assert set().union(*parts) == full
    assert sum(len(p) for p in parts) == len(full)


def test_build_context_includes_replace_targets() -> None:
    context = build_context(REPO / "gadgets" / "hello")

    names = {p.relative_to(context.base).as_posix() for p in context.files()}
    assert "hello/gadget.toml" in names
    assert any(n.startswith("_shared/ig/") and n.endswith(".go") for n in names)


def test_source_hash_changes_with_shared_code(tmp_path: Path) -> None:
    shared = tmp_path / "lib"
    shared.mkdir()
    (shared / "go.mod").write_text("module lib\n")
    (shared / "lib.go").write_text("package lib\n")
    gadget = tmp_path / "g"
    gadget.mkdir()
    (gadget / "go.mod").write_text("module g\n\nrequire lib v0.0.0\n\nreplace lib => ../lib\n")

    before = build_context(gadget).source_hash()
    (shared / "lib.go").write_text("package lib // changed\n")

    assert build_context(gadget).source_hash() != before


def gadget_with_lib(tmp_path: Path, target: str = "../lib") -> Path:
    shared = tmp_path / "lib"
    shared.mkdir()
    (shared / "go.mod").write_text("module lib\n")
    gadget = tmp_path / "g"
    gadget.mkdir()
    (gadget / "go.mod").write_text(f"module g\n\nreplace (\n\tlib => {target}\n)\n")
    return gadget


def test_an_absolute_replace_target_is_refused(tmp_path: Path) -> None:
    # No container has it, and a change in it would not change the source hash.
    gadget = gadget_with_lib(tmp_path, str(tmp_path / "lib"))

    with pytest.raises(SpecError, match="is an absolute path") as caught:
        build_context(gadget)
    assert caught.value.path == gadget / "go.mod"


@pytest.mark.parametrize(
    "directive",
    [
        "replace lib => {target}",
        "replace (\n\t// shared code\n\tlib v0.0.0 => {target} // here\n)",
        'replace "lib" => "{target}"',
        "replace lib => `{target}`",
    ],
)
def test_an_absolute_replace_target_is_refused_in_every_form(
    tmp_path: Path, directive: str
) -> None:
    gadget = gadget_with_lib(tmp_path)
    (gadget / "go.mod").write_text(f"module g\n\n{directive.format(target=tmp_path / 'lib')}\n")

    with pytest.raises(SpecError, match="is an absolute path"):
        build_context(gadget)


def test_replace_targets_read_like_go_reads_them() -> None:
    text = (
        "module g\n"
        'replace (\n  // a comment => ../not/this\n  a v1.0.0 => ../a // why\n  "b" => "./b"\n)\n'
        "replace c => example.org/c v1.2.0\n"
        "require d v1.0.0 // => ../not/this\n"
    )

    assert replace_targets(text) == ["../a", "./b", "example.org/c"]


def test_a_replace_target_through_a_symlink_is_refused(tmp_path: Path) -> None:
    # A container's copy holds the real folder, not the link go.mod names.
    gadget = gadget_with_lib(tmp_path, "../linked")
    (tmp_path / "linked").symlink_to(tmp_path / "lib")

    with pytest.raises(SpecError, match="passes through a symlink"):
        build_context(gadget)


def test_a_symlink_loop_fails_its_artifact_not_the_run(tmp_path: Path) -> None:
    gadget = gadget_with_lib(tmp_path)
    (gadget / "one").symlink_to(gadget / "two")
    (gadget / "two").symlink_to(gadget / "one")

    with pytest.raises(SpecError, match="a symlink that cannot be followed"):
        build_context(gadget).files()


def test_a_symlink_out_of_the_context_is_refused(tmp_path: Path) -> None:
    gadget = gadget_with_lib(tmp_path)
    (tmp_path / "outside.go").write_text("package main\n")
    (gadget / "inside.go").write_text("package main\n")
    (gadget / "linked.go").symlink_to(gadget / "inside.go")
    (tmp_path / "lib" / "up.go").symlink_to(tmp_path / "lib" / "go.mod")
    assert len(build_context(gadget).files()) == 5  # links inside the context are read

    (gadget / "leak").symlink_to(tmp_path / "outside.go")
    with pytest.raises(SpecError, match="a symlink out of the build context") as caught:
        build_context(gadget).files()
    assert caught.value.path == gadget / "leak"


def test_a_file_larger_than_any_source_is_refused(tmp_path: Path) -> None:
    gadget = gadget_with_lib(tmp_path)
    with (gadget / "disk.img").open("wb") as sparse:
        sparse.truncate(MAX_SOURCE_BYTES + 1)

    with pytest.raises(SpecError, match="larger than any gadget source") as caught:
        build_context(gadget).source_hash()
    assert caught.value.path == gadget / "disk.img"


def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=gadgetbuild tests", "-c", "user.email=tests@gadgetbuild.invalid"]
    argv = ["git", *identity, "-C", str(repo), *args]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def test_source_revision_of_relative_gadget_folders_sees_a_change(
    mini_repo: MiniRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(mini_repo.root, "init", "-q")
    git(mini_repo.root, "add", "-A")
    git(mini_repo.root, "commit", "-q", "-m", "gadgets")
    head = git(mini_repo.root, "rev-parse", "HEAD")
    # Relative, as `--gadgets-dir gadgets` gives them: git runs in one gadget's folder and
    # must still find the others.
    monkeypatch.chdir(mini_repo.root)
    plan = make_plan(Path("gadgets"), Path("toolchains"))

    assert source_revision(plan) == head
    (mini_repo.gadgets / "beta" / "main.go").write_text("package main\n")
    assert source_revision(plan) == f"{head}-dirty"
