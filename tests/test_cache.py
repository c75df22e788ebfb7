"""The build cache: hits run no compiler; each input change rebuilds exactly what it affects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import MINI_GADGET, MiniRepo
from gadgetbuild.cli import main
from gadgetbuild.manifest import ArtifactStatus, read_manifest
from gadgetbuild.toolchains.local import LocalCompiler

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_cache: Path) -> Path:
    """A build cache of this test alone (other tests build the same small gadgets), beside
    the session's warm compiler caches."""
    path = tmp_path / "cache"
    path.mkdir()
    (isolated_cache / "toolchains").mkdir(exist_ok=True)
    (path / "toolchains").symlink_to(isolated_cache / "toolchains")
    monkeypatch.setenv("GADGETBUILD_CACHE_DIR", str(path))
    return path


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The gadgets the local compiler was asked to build, in order."""
    calls: list[str] = []
    real = LocalCompiler.compile

    def counting(self: LocalCompiler, gadget_dir: Path, *args: object) -> None:
        calls.append(gadget_dir.name)
        real(self, gadget_dir, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalCompiler, "compile", counting)
    return calls


def statuses(repo: MiniRepo) -> dict[str, ArtifactStatus]:
    manifest = read_manifest(repo.out / "manifest.json")
    return {r.gadget: r.status for r in manifest.artifacts}


def test_a_cache_hit_runs_no_compiler(mini_repo: MiniRepo, compiled: list[str]) -> None:
    assert main(mini_repo.build_args()) == 0
    assert sorted(compiled) == ["alpha", "beta"]
    compiled.clear()

    assert main(mini_repo.build_args()) == 0

    assert compiled == []
    assert statuses(mini_repo) == {"alpha": "cached", "beta": "cached"}


def test_no_cache_compiles_again(mini_repo: MiniRepo, compiled: list[str]) -> None:
    assert main(mini_repo.build_args()) == 0
    compiled.clear()

    assert main(mini_repo.build_args("--no-cache")) == 0

    assert sorted(compiled) == ["alpha", "beta"]


def edit_gadget_source(repo: MiniRepo) -> None:
    (repo.gadgets / "alpha" / "main.go").write_text(MINI_GADGET % 0 + "\n// changed\n")


def edit_gadget_spec(repo: MiniRepo) -> None:
    spec = repo.gadgets / "alpha" / "gadget.toml"
    spec.write_text(spec.read_text().replace("gadget 0", "gadget zero"))


def edit_shared_module(repo: MiniRepo) -> None:
    lib = repo.gadgets / "_lib" / "lib.go"
    lib.write_text(lib.read_text() + "\n// changed\n")


def edit_toolchain_env(repo: MiniRepo) -> None:
    spec = repo.toolchains / "go-1.24.toml"
    spec.write_text(spec.read_text().replace('GOWORK = "off"', 'GOWORK = "off"\nGODEBUG = ""'))


def edit_toolchain_argv(repo: MiniRepo) -> None:
    spec = repo.toolchains / "go-1.24.toml"
    spec.write_text(spec.read_text().replace('"-trimpath", ', '"-trimpath", "-p=2", '))


@pytest.mark.parametrize(
    ("edit", "rebuilt"),
    [
        (edit_gadget_source, ["alpha"]),
        (edit_gadget_spec, ["alpha"]),
        (edit_shared_module, ["alpha", "beta"]),
        (edit_toolchain_env, ["alpha", "beta"]),
        (edit_toolchain_argv, ["alpha", "beta"]),
    ],
    ids=lambda v: v.__name__ if callable(v) else "+".join(v),
)
def test_an_input_change_rebuilds_exactly_what_it_affects(
    mini_repo: MiniRepo,
    compiled: list[str],
    edit: Callable[[MiniRepo], None],
    rebuilt: list[str],
) -> None:
    assert main(mini_repo.build_args()) == 0
    compiled.clear()

    edit(mini_repo)
    assert main(mini_repo.build_args()) == 0

    assert sorted(compiled) == rebuilt
    expected = {
        g: ArtifactStatus.BUILT if g in rebuilt else ArtifactStatus.CACHED
        for g in ("alpha", "beta")
    }
    assert statuses(mini_repo) == expected


def test_a_corrupt_cache_entry_is_rebuilt(
    mini_repo: MiniRepo, compiled: list[str], fresh_cache: Path
) -> None:
    assert main(mini_repo.build_args("--gadget", "alpha")) == 0
    for entry in (fresh_cache / "builds").glob("??/*/*.wasm"):
        entry.write_bytes(b"corrupt")
    compiled.clear()

    assert main(mini_repo.build_args("--gadget", "alpha")) == 0

    assert compiled == ["alpha"]


def test_clean_empties_the_cache(mini_repo: MiniRepo, fresh_cache: Path) -> None:
    assert main(mini_repo.build_args("--gadget", "alpha")) == 0
    assert list((fresh_cache / "builds").glob("??/*"))

    assert main(["clean"]) == 0

    assert not list((fresh_cache / "builds").glob("??/*"))
