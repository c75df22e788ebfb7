"""Provisioning: each toolchain of the plan made usable once, before any compile, by the backend
the user chose.

- ``local``: the compiler of this machine only;
- ``docker``: the engine the environment names only; with none, nothing can be built there, and
  :class:`EnvironmentUnavailableError` (exit 3) says so before anything builds;
- ``auto``: per toolchain, Docker when an engine answers and the image can be provisioned, else
  the local compiler, else unavailable with both reasons.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gadgetbuild.errors import EnvironmentUnavailableError
from gadgetbuild.specs import ToolchainSpec
from gadgetbuild.toolchains import Compiler, Unavailable
from gadgetbuild.toolchains.docker import DockerCompiler, provision_docker
from gadgetbuild.toolchains.engine import Engine, NoEngine, connect_engine
from gadgetbuild.toolchains.leftovers import remove_leftovers
from gadgetbuild.toolchains.local import LocalCompiler, provision_local

BackendChoice = Literal["auto", "docker", "local"]
Provisioned = Compiler | Unavailable

log = logging.getLogger("gadgetbuild")


def provision_toolchains(
    specs: dict[str, ToolchainSpec],
    backend: BackendChoice = "auto",
    *,
    toolchains_dir: Path = Path("toolchains"),
) -> dict[str, Provisioned]:
    """Each toolchain as a compiler, or unavailable with the reason; ``toolchains_dir`` anchors
    the specs' relative paths (``image.archive``). Containers left by a killed run on this host
    are removed first, each with a warning.

    Raises EnvironmentUnavailableError: ``docker`` asked for and no engine answers.
    """
    if backend == "local":
        return {name: provision_local(spec) for name, spec in specs.items()}

    engine = connect_engine()
    if isinstance(engine, NoEngine):
        if backend == "docker":
            raise EnvironmentUnavailableError(engine.reason, hint=engine.fix)
        log.debug("%s", engine.reason)
    else:
        for leftover in remove_leftovers(engine):
            log.warning("%s", leftover)

    if backend == "docker":
        return {
            name: provision_in_docker(spec, engine, toolchains_dir) for name, spec in specs.items()
        }

    return {name: provision_auto(spec, engine, toolchains_dir) for name, spec in specs.items()}


def provision_in_docker(
    spec: ToolchainSpec, engine: Engine | NoEngine, toolchains_dir: Path
) -> Provisioned:
    if isinstance(engine, NoEngine):
        return Unavailable(spec, "docker", engine.reason, engine.fix)

    return provision_docker(spec, engine, toolchains_dir)


def provision_auto(
    spec: ToolchainSpec, engine: Engine | NoEngine, toolchains_dir: Path
) -> Provisioned:
    in_docker = provision_in_docker(spec, engine, toolchains_dir)
    if not isinstance(in_docker, Unavailable):
        return in_docker

    local = provision_local(spec)
    if not isinstance(local, Unavailable):
        # With no engine the local compiler is the expected way; with one, Docker failing is
        # news (a wrong pin, a missing image): the user is told rather than left to find out.
        level = logging.WARNING if isinstance(engine, Engine) else logging.DEBUG
        log.log(
            level,
            "%s: Docker cannot serve (%s); using the local compiler",
            spec.name,
            in_docker.reason,
        )
        return local

    # With an engine, the Docker fix already names the local way; without one, both count.
    fix = in_docker.fix if isinstance(engine, Engine) else f"{in_docker.fix}; or {local.fix}"
    return Unavailable(spec, "auto", f"docker: {in_docker.reason}; local: {local.reason}", fix)


class ToolchainRecord(BaseModel):
    """What `gadgetbuild toolchains` reports for one toolchain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    family: str
    version: str = Field(description="The version the spec pins.")
    status: Literal["available", "unavailable"]
    backend: str = Field(description="`docker` or `local`; `auto` when neither could serve.")
    obtained: str | None = Field(
        None, description="`present`, `pulled`, `loaded`, `built-offline`, or `local`."
    )
    image: str | None = Field(None, description="The pinned reference, or the offline image's tag.")
    digest: str | None = Field(None, description="The resolved image digest (or image id).")
    recipe_hash: str | None = Field(None, description="The offline image recipe's hash.")
    executable: str | None = None
    steps: list[str] = Field(default_factory=list, description="Each provisioning step's outcome.")
    reason: str | None = None
    fix: str | None = None


def describe_provisioned(spec: ToolchainSpec, provisioned: Provisioned) -> ToolchainRecord:
    base = {"name": spec.name, "family": spec.family, "version": spec.version}
    if isinstance(provisioned, Unavailable):
        return ToolchainRecord(
            **base,
            status="unavailable",
            backend=provisioned.backend,
            image=spec.image.ref if provisioned.backend != "local" else None,
            reason=provisioned.reason,
            fix=provisioned.fix or None,
        )

    identity = provisioned.identity
    obtained: str | None = "local" if isinstance(provisioned, LocalCompiler) else None
    steps: list[str] = []
    if isinstance(provisioned, DockerCompiler):
        obtained, steps = provisioned.image.how, [str(s) for s in provisioned.image.steps]
    return ToolchainRecord(
        **base,
        status="available",
        backend=identity.backend or "local",
        obtained=obtained,
        image=identity.image,
        digest=identity.digest,
        recipe_hash=identity.recipe_hash,
        executable=identity.executable,
        steps=steps,
    )
