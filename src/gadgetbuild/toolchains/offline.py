"""The offline image: with no registry, a ``FROM scratch`` image holding the pinned wheel's GOROOT.

Go needs no libc to build wasip1 modules, so the image holds nothing but the toolchain root, the
build user's cache folder and its environment: no shell, no package manager. Its identity is the
wheel's sha256 and the recipe's hash (the Dockerfile text and the inputs that shape it), carried
as labels; the image id a daemon gives it is not part of it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from docker.errors import APIError
from docker.models.images import Image

from gadgetbuild.paths import cache_dir
from gadgetbuild.specs import OfflineImageSpec, ToolchainSpec
from gadgetbuild.toolchains.engine import (
    MANAGED_LABEL,
    TOOLCHAIN_LABEL,
    Engine,
    is_in_tmp,
    numeric_user,
)

# Bump when the context's layout changes in a way the Dockerfile text does not show.
RECIPE_VERSION = 1
TOOLCHAIN_ROOT = "/usr/local/go"
WHEEL_LABEL = "io.gadgetbuild.wheel-sha256"
RECIPE_LABEL = "io.gadgetbuild.recipe-hash"
PIP_TIMEOUT_S = 900
# Context entries carry a fixed time, so the layer does not depend on when the wheel was unpacked.
FIXED_MTIME = 946_684_800  # 2000-01-01T00:00:00Z
HASH_CHUNK = 1 << 20

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the offline image cannot be had, in one line."""

    detail: str


@dataclass(frozen=True, slots=True)
class OfflineRecipe:
    spec: ToolchainSpec
    offline: OfflineImageSpec
    dockerfile: str
    owned: tuple[str, ...]  # folders the build user owns in the image

    @property
    def hash(self) -> str:
        shape = {
            "recipe_version": RECIPE_VERSION,
            "dockerfile": self.dockerfile,
            "wheel": self.offline.wheel,
            "wheel_sha256": self.offline.wheel_sha256,
            "root": self.offline.root,
            "owned": self.owned,
        }
        text = json.dumps(shape, sort_keys=True)
        return f"sha256:{hashlib.sha256(text.encode()).hexdigest()}"

    @property
    def tag(self) -> str:
        return f"gadgetbuild/{self.spec.name}:offline"

    @property
    def labels(self) -> dict[str, str]:
        return {
            MANAGED_LABEL: "1",
            TOOLCHAIN_LABEL: self.spec.name,
            WHEEL_LABEL: self.offline.wheel_sha256,
            RECIPE_LABEL: self.hash,
        }


def offline_recipe(spec: ToolchainSpec) -> OfflineRecipe | Refusal:
    """The recipe, computed from the spec alone, so a built image is found without the wheel."""
    if spec.offline is None:
        return Refusal("the spec has no offline recipe")

    ids = numeric_user(spec.image.user)
    if ids is None:
        return Refusal(f"image.user '{spec.image.user}' is a name; a scratch image needs uid:gid")

    # /tmp is a tmpfs in every build container: folders under it are made at run time.
    owned = tuple(p for p in (spec.image.cache_dir, spec.image.home) if not is_in_tmp(p))
    uid, gid = ids
    wheel = f"{spec.offline.wheel} (sha256 {spec.offline.wheel_sha256})"
    lines = [
        f"# {wheel}: its {spec.offline.root}/ folder is the GOROOT",
        "FROM scratch",
        f"COPY root/ {TOOLCHAIN_ROOT}/",
        *([f"COPY --chown={uid}:{gid} owned/ /"] if owned else []),
        f"ENV GOROOT={TOOLCHAIN_ROOT} PATH={TOOLCHAIN_ROOT}/bin",
        f"USER {uid}:{gid}",
    ]
    return OfflineRecipe(spec, spec.offline, "\n".join(lines) + "\n", owned)


def find_built_image(engine: Engine, recipe: OfflineRecipe) -> Image | None:
    """The image under the recipe's tag when its labels carry this recipe's hash."""
    images = engine.client.images.list(name=recipe.tag)
    return next((i for i in images if i.labels.get(RECIPE_LABEL) == recipe.hash), None)


def build_image(engine: Engine, recipe: OfflineRecipe) -> Image | Refusal:
    """Fetch and check the wheel, then build the image through the engine's API."""
    wheel = fetch_wheel(recipe.offline)
    if isinstance(wheel, Refusal):
        return wheel

    log.info("%s: building %s from %s (once per recipe)", recipe.spec.name, recipe.tag, wheel.name)
    previous = [i.id for i in engine.client.images.list(name=recipe.tag)]
    # A file, not memory: the unpacked GOROOT is about 240 MB.
    with tempfile.TemporaryFile(dir=wheel.parent) as context:
        problem = write_context(wheel, recipe, context)
        if problem is not None:
            return problem
        context.seek(0)
        image, _log = engine.client.images.build(
            fileobj=context,
            custom_context=True,
            tag=recipe.tag,
            labels=recipe.labels,
            rm=True,
            forcerm=True,
            network_mode="none",
        )
    remove_replaced(engine, previous, image)
    return image


def remove_replaced(engine: Engine, previous: list[str | None], current: Image) -> None:
    """Drop the images of an older recipe that the new one took the tag from."""
    for image_id in previous:
        if image_id and image_id != current.id:
            # Still used by a container of another run: it stays, untagged, until pruned.
            with suppress(APIError):
                engine.client.images.remove(image_id)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_wheel(offline: OfflineImageSpec) -> Path | Refusal:
    """The wheel from gadgetbuild's cache, else from ``pip download``; its sha256 must match."""
    folder = cache_dir() / "wheels" / offline.wheel_sha256
    for path in sorted(folder.glob("*.whl")):
        if file_sha256(path) == offline.wheel_sha256:
            return path

    folder.parent.mkdir(parents=True, exist_ok=True)
    log.info("fetching %s with pip download into %s", offline.wheel, folder)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".download-") as tmp:
        downloaded = pip_download(offline.wheel, Path(tmp))
        if isinstance(downloaded, Refusal):
            return downloaded

        found = file_sha256(downloaded)
        if found != offline.wheel_sha256:
            return Refusal(
                f"refused {downloaded.name}: its sha256 is {found}, the spec pins "
                f"{offline.wheel_sha256}"
            )
        folder.mkdir(exist_ok=True)
        return downloaded.replace(folder / downloaded.name)


def pip_download(requirement: str, dest: Path) -> Path | Refusal:
    """``pip download`` of one wheel, by the pip of this Python, with pip's own configuration
    (index, find-links, proxy): the one wheel it wrote."""
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    try:
        done = subprocess.run(
            [*argv, "--dest", str(dest), requirement],
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Refusal(f"pip download {requirement} ran past {PIP_TIMEOUT_S} s")

    wheels = sorted(dest.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["it wrote no wheel"])[-1]
        return Refusal(f"pip download {requirement} failed: {last}")
    return wheels[0]


def write_context(wheel: Path, recipe: OfflineRecipe, out: IO[bytes]) -> Refusal | None:
    """The build context: the Dockerfile, the wheel's root folder as ``root/``, ``owned/``."""
    prefix = recipe.offline.root.strip("/") + "/"
    copied = 0
    with tarfile.open(fileobj=out, mode="w") as tar, zipfile.ZipFile(wheel) as wheel_zip:
        add_entry(tar, "Dockerfile", recipe.dockerfile.encode())
        for folder in recipe.owned:
            parts = PurePosixPath(folder).parts[1:]
            for depth in range(len(parts)):
                add_entry(tar, "/".join(("owned", *parts[: depth + 1])), None)

        for info in wheel_zip.infolist():
            relative = PurePosixPath(info.filename[len(prefix) :])
            if not info.filename.startswith(prefix) or info.is_dir():
                continue
            if relative.is_absolute() or ".." in relative.parts:
                return Refusal(f"the wheel holds an unsafe path {info.filename}")
            # The zip keeps the unix mode in the high bits: compilers must stay executable.
            executable = (info.external_attr >> 16) & 0o111
            with wheel_zip.open(info) as data:
                add_entry(
                    tar, f"root/{relative}", data, info.file_size, executable=bool(executable)
                )
            copied += 1

    return None if copied else Refusal(f"the wheel holds no {prefix} folder")


def add_entry(
    tar: tarfile.TarFile,
    name: str,
    data: bytes | IO[bytes] | None,
    size: int | None = None,
    *,
    executable: bool = False,
) -> None:
    """A regular file (``data``) or a folder (``data`` None), owned by root, at a fixed time."""
    info = tarfile.TarInfo(name)
    info.mtime = FIXED_MTIME
    if data is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
        return

    info.mode = 0o755 if executable else 0o644
    if isinstance(data, bytes):
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        return
    info.size = size or 0
    tar.addfile(info, data)
