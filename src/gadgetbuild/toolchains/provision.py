"""Provisioning: each toolchain of the plan made usable once, before any compile."""

from __future__ import annotations

from typing import Literal

from gadgetbuild.specs import ToolchainSpec
from gadgetbuild.toolchains import Compiler, Unavailable
from gadgetbuild.toolchains.local import provision_local

BackendChoice = Literal["auto", "docker", "local"]


def provision_toolchains(
    specs: dict[str, ToolchainSpec], backend: BackendChoice = "auto"
) -> dict[str, Compiler | Unavailable]:
    # The Docker backend is not written yet: `auto` and `docker` fall back to local.
    del backend
    return {name: provision_local(spec) for name, spec in specs.items()}
