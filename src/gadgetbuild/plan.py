"""The build matrix: gadgets × toolchains, filtered by name and shard."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from gadgetbuild.errors import UsageError
from gadgetbuild.specs import (
    GadgetSpec,
    ToolchainSpec,
    discover_gadgets,
    discover_toolchains,
    load_gadget,
    load_toolchain,
)


@dataclass(frozen=True, slots=True)
class Artifact:
    """One gadget built by one toolchain: the unit of work."""

    gadget: GadgetSpec
    gadget_dir: Path
    toolchain: ToolchainSpec

    @property
    def key(self) -> tuple[str, str]:
        return (self.gadget.name, self.toolchain.name)

    @property
    def label(self) -> str:
        return f"{self.gadget.name} × {self.toolchain.name}"


@dataclass(frozen=True, slots=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise UsageError(f"--shard '{text}': expected i/n with 1 <= i <= n, such as 1/3")

        return cls(int(match[1]), int(match[2]))

    def holds(self, key: tuple[str, str]) -> bool:
        # A hash of the key, not a position: adding a gadget moves no other artifact.
        digest = hashlib.sha256("\0".join(key).encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


@dataclass(frozen=True, slots=True)
class Plan:
    artifacts: tuple[Artifact, ...]
    gadgets: dict[str, GadgetSpec]
    toolchains: dict[str, ToolchainSpec]


def make_plan(
    gadgets_root: Path,
    toolchains_root: Path,
    *,
    only_gadgets: tuple[str, ...] = (),
    only_toolchains: tuple[str, ...] = (),
    shard: Shard | None = None,
) -> Plan:
    """Load every spec (so a bad one stops the run before anything builds) and form the matrix."""
    gadget_dirs = discover_gadgets(gadgets_root)
    toolchain_files = discover_toolchains(toolchains_root)
    check_names("--gadget", only_gadgets, gadget_dirs, gadgets_root)
    check_names("--toolchain", only_toolchains, toolchain_files, toolchains_root)

    gadgets = {name: load_gadget(folder) for name, folder in gadget_dirs.items()}
    toolchains = {name: load_toolchain(path) for name, path in toolchain_files.items()}
    artifacts = tuple(
        Artifact(gadgets[g], gadget_dirs[g], toolchains[t])
        for g in gadgets
        for t in toolchains
        if (not only_gadgets or g in only_gadgets)
        and (not only_toolchains or t in only_toolchains)
        and (shard is None or shard.holds((g, t)))
    )
    return Plan(artifacts, gadgets, toolchains)


def check_names(option: str, asked: tuple[str, ...], known: dict[str, Path], root: Path) -> None:
    unknown = sorted(set(asked) - set(known))
    if unknown:
        raise UsageError(
            f"{option} {', '.join(unknown)}: no such name in {root}; "
            f"known: {', '.join(known) or 'none'}"
        )
