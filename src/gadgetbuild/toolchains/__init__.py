"""Backends: how a toolchain is provisioned and how a compile runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gadgetbuild.context import BuildContext
from gadgetbuild.manifest import ToolchainIdentity
from gadgetbuild.specs import ToolchainSpec

OUTPUT_TAIL_LINES = 40


class Compiler(Protocol):
    """A provisioned toolchain: compiles one gadget's build context into one module."""

    identity: ToolchainIdentity

    def compile(self, gadget_dir: Path, context: BuildContext, output: Path) -> None:
        """Write the module to ``output``, or raise :class:`CompileError` with the output tail."""


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A toolchain that cannot be provisioned, with the reason and what a user can do."""

    spec: ToolchainSpec
    backend: str
    reason: str
    fix: str

    @property
    def message(self) -> str:
        return f"{self.reason}; {self.fix}" if self.fix else self.reason


def output_tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])
