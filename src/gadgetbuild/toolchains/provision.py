"""Provisioning: each toolchain of the plan made usable once, before any compile."""

from __future__ import annotations

from typing import Literal

from gadgetbuild.specs import ToolchainSpec
from gadgetbuild.toolchains import Compiler, Unavailable
from gadgetbuild.toolchains.local import provision_local

BackendChoice = Literal["local"]


def provision_toolchains(
    specs: dict[str, ToolchainSpec], backend: BackendChoice = "local"
) -> dict[str, Compiler | Unavailable]:
    del backend  # the local backend is the only one so far
    return {name: provision_local(spec) for name, spec in specs.items()}
