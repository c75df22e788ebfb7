"""Image provisioning: the toolchain's pinned image, obtained in a fixed order of steps.

1. present: the pinned image is in the engine already, or the offline image of the current
   recipe (its labels carry the recipe hash) is;
2. pull: a pull by digest;
3. load: ``docker load`` of an image archive, named by the environment variable
   ``GADGETBUILD_IMAGE_ARCHIVE_<TOOLCHAIN>`` or by the spec's ``image.archive``;
4. offline: a ``FROM scratch`` image built from the spec's pinned wheel (``offline.py``).

A pin is a registry digest ``repo@sha256:…`` (matched against the image's RepoDigests) or an
image id ``sha256:…`` (the config digest, which survives ``docker save`` and ``docker load``).
Every image accepted is checked against the pin; each step's outcome is kept for the report.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from docker.errors import APIError, DockerException, ImageNotFound
from docker.models.images import Image

from gadgetbuild.specs import ToolchainSpec
from gadgetbuild.toolchains.engine import Engine, short_error
from gadgetbuild.toolchains.offline import Refusal, build_image, find_built_image, offline_recipe

How = Literal["present", "pulled", "loaded", "built-offline"]
ARCHIVE_ENV_PREFIX = "GADGETBUILD_IMAGE_ARCHIVE_"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """One step's result: ``ok`` when it gave the image, else why not."""

    step: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.step}: {self.detail}"


@dataclass(frozen=True, slots=True)
class ProvisionedImage:
    """An image the engine holds and that matches the pin (or the offline recipe)."""

    image_id: str
    ref: str
    how: How
    digest: str | None = None
    recipe_hash: str | None = None
    steps: tuple[StepOutcome, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageUnavailable:
    steps: tuple[StepOutcome, ...]

    @property
    def reason(self) -> str:
        return "; ".join(str(s) for s in self.steps)


@dataclass(frozen=True, slots=True)
class Pin:
    """A parsed ``image.ref``: ``repo`` (without a tag) is None for an image-id pin; ``tag`` is
    the tag written in the reference, if any; ``digest`` is ``sha256:<hex>`` either way."""

    repo: str | None
    tag: str | None
    digest: str

    @classmethod
    def parse(cls, ref: str) -> Pin:
        name, _, digest = ref.rpartition("@")
        if not name:
            return cls(None, None, digest)

        # A tag follows the last ':' after the last '/'; a registry's port comes before it.
        slash = name.rfind("/")
        repo, colon, tag = name.rpartition(":")
        if not colon or len(repo) <= slash:
            return cls(name, None, digest)
        return cls(repo, tag, digest)

    @property
    def reference(self) -> str:
        """What the engine resolves: ``repo@digest`` (no tag), or the image id."""
        return f"{self.repo}@{self.digest}" if self.repo else self.digest

    def matches(self, image: Image) -> bool:
        if self.repo is None:
            return image.id == self.digest

        wanted = f"{familiar_name(self.repo)}@{self.digest}"
        return any(familiar_ref(r) == wanted for r in image.attrs.get("RepoDigests") or [])


def familiar_name(repo: str) -> str:
    """The short form Docker shows: ``docker.io/library/golang`` is ``golang``."""
    name = repo.removeprefix("docker.io/").removeprefix("index.docker.io/")
    return name.removeprefix("library/")


def familiar_ref(ref: str) -> str:
    repo, _, digest = ref.rpartition("@")
    return f"{familiar_name(repo)}@{digest}"


def describe_image(image: Image) -> str:
    """What identifies an image: its registry digests if any, and its id."""
    digests = [r.rpartition("@")[2] for r in image.attrs.get("RepoDigests") or []]
    shown = ", ".join(sorted(set(digests))) or "no registry digest"
    return f"{shown} (image id {image.id})"


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """One toolchain's image to provision; ``toolchains_dir`` anchors ``image.archive``."""

    engine: Engine
    spec: ToolchainSpec
    toolchains_dir: Path

    @property
    def pin(self) -> Pin:
        return Pin.parse(self.spec.image.ref)


Step = Callable[[ImageRequest], "ProvisionedImage | StepOutcome"]


def provision_image(request: ImageRequest) -> ProvisionedImage | ImageUnavailable:
    """Try each step in order; the first that gives an image wins, the others are recorded."""
    steps: list[StepOutcome] = []
    offline = request.spec.offline is not None
    order: tuple[tuple[str, Step], ...] = (
        ("present", find_pinned_image),
        *((("present-offline", find_offline_image),) if offline else ()),
        ("pull", pull_pinned_image),
        ("load", load_image_archive),
        ("offline", build_offline_image),
    )
    for name, step in order:
        try:
            result = step(request)
        except (DockerException, OSError) as exc:
            result = StepOutcome(name, ok=False, detail=short_error(exc))
        if isinstance(result, ProvisionedImage):
            done = StepOutcome(name, ok=True, detail=f"{result.ref} ({result.image_id})")
            log.debug("%s: image %s", request.spec.name, done)
            return replace(result, steps=(*steps, done))
        log.debug("%s: image %s", request.spec.name, result)
        steps.append(result)
    return ImageUnavailable(tuple(steps))


def find_pinned_image(request: ImageRequest) -> ProvisionedImage | StepOutcome:
    """The pinned image if the engine holds it; an image under the pinned name is refused."""
    pin = request.pin
    try:
        image = request.engine.client.images.get(pin.reference)
    except ImageNotFound:
        image = None
    if image is not None and pin.matches(image):
        return accepted(request, image, "present")

    for name in pinned_names(request.spec):
        try:
            other = request.engine.client.images.get(name)
        except ImageNotFound:
            continue
        if not pin.matches(other):
            return StepOutcome(
                "present",
                ok=False,
                detail=f"refused {name}: it is {describe_image(other)}, the spec pins {pin.digest}",
            )
    return StepOutcome("present", ok=False, detail=f"the engine holds no {pin.reference}")


def pinned_names(spec: ToolchainSpec) -> list[str]:
    """The tagged name an image of the pinned repository would carry here (a pull by tag)."""
    pin = Pin.parse(spec.image.ref)
    if pin.repo is None:
        return []

    return [f"{pin.repo}:{pin.tag or spec.image.tag or 'latest'}"]


NO_PULL_ENV = "GADGETBUILD_NO_PULL"


def pull_pinned_image(request: ImageRequest) -> ProvisionedImage | StepOutcome:
    if os.environ.get(NO_PULL_ENV):
        # Air-gapped hosts (and CI here) skip the registry round trip they know will fail.
        return StepOutcome("pull", ok=False, detail=f"skipped: {NO_PULL_ENV} is set")
    pin = request.pin
    if pin.repo is None:
        return StepOutcome(
            "pull", ok=False, detail="an image-id pin names no registry to pull from"
        )

    try:
        image = request.engine.client.images.pull(pin.reference)
    except APIError as exc:
        return StepOutcome("pull", ok=False, detail=short_error(exc))

    if not pin.matches(image):
        detail = f"the registry gave {describe_image(image)}, the spec pins {pin.digest}"
        return StepOutcome("pull", ok=False, detail=detail)
    return accepted(request, image, "pulled")


def archive_env_var(spec: ToolchainSpec) -> str:
    """``GADGETBUILD_IMAGE_ARCHIVE_GO_1_24`` for toolchain ``go-1.24``."""
    return ARCHIVE_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", spec.name.upper())


def archive_path(spec: ToolchainSpec, toolchains_dir: Path) -> Path | None:
    """The environment variable's archive (relative to the working folder), else the spec's
    (relative to the toolchain file's folder), else None."""
    if named := os.environ.get(archive_env_var(spec)):
        return Path(named)

    if spec.image.archive:
        return toolchains_dir / spec.image.archive
    return None


def load_image_archive(request: ImageRequest) -> ProvisionedImage | StepOutcome:
    spec, pin = request.spec, request.pin
    path = archive_path(spec, request.toolchains_dir)
    if path is None:
        detail = f"no image archive named (set {archive_env_var(spec)} or image.archive)"
        return StepOutcome("load", ok=False, detail=detail)
    if not path.is_file():
        problem = "is not a file" if path.exists() else "does not exist"
        return StepOutcome("load", ok=False, detail=f"the image archive {path} {problem}")

    try:
        with path.open("rb") as data:
            loaded = request.engine.client.images.load(data)
    except (DockerException, OSError) as exc:
        # A truncated or foreign file: the engine's own words say what is wrong with it.
        detail = f"the image archive {path} could not be loaded: {short_error(exc)}"
        return StepOutcome("load", ok=False, detail=detail)

    for image in loaded:
        if pin.matches(image):
            return accepted(request, image, "loaded")

    found = ", ".join(describe_image(i) for i in loaded) or "no image"
    detail = f"{path} holds {found}, the spec pins {pin.digest}"
    if pin.repo is not None:
        # `docker save` keeps no registry digest, so only an image-id pin can match an archive.
        detail += "; an archive keeps no registry digest: pin its image id (sha256:…) instead"
    return StepOutcome("load", ok=False, detail=detail)


def accepted(request: ImageRequest, image: Image, how: How) -> ProvisionedImage:
    return ProvisionedImage(
        image_id=image.id or "", ref=request.spec.image.ref, how=how, digest=request.pin.digest
    )


def find_offline_image(request: ImageRequest) -> ProvisionedImage | StepOutcome:
    """The offline image already built from the current recipe: no wheel needed to know it."""
    recipe = offline_recipe(request.spec)
    if isinstance(recipe, Refusal):
        return StepOutcome("present-offline", ok=False, detail=recipe.detail)

    image = find_built_image(request.engine, recipe)
    if image is None:
        return StepOutcome("present-offline", ok=False, detail=f"no {recipe.tag} of this recipe")
    return ProvisionedImage(image.id or "", recipe.tag, "present", recipe_hash=recipe.hash)


def build_offline_image(request: ImageRequest) -> ProvisionedImage | StepOutcome:
    recipe = offline_recipe(request.spec)
    if isinstance(recipe, Refusal):
        return StepOutcome("offline", ok=False, detail=recipe.detail)

    image = build_image(request.engine, recipe)
    if isinstance(image, Refusal):
        return StepOutcome("offline", ok=False, detail=image.detail)
    return ProvisionedImage(image.id or "", recipe.tag, "built-offline", recipe_hash=recipe.hash)
