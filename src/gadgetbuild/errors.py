"""One exception class per exit status; only the CLI's ``main()`` turns them into text.

| status | class |
|---|---|
| 1 | :class:`FailureError` and its subclasses: a compile, a contract, a check, a gate |
| 2 | :class:`UsageError`, :class:`SpecError`: nothing ran |
| 3 | :class:`EnvironmentUnavailableError`: no engine answers, a required toolchain is missing |
| 130, 143 | :class:`InterruptedBuildError`: SIGINT, SIGTERM |
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    ENVIRONMENT = 3
    SIGINT = 130
    SIGTERM = 143


class GadgetbuildError(Exception):
    """Base of every error the CLI reports as a headline instead of a traceback."""

    exit_status: ExitStatus = ExitStatus.FAILED

    def __init__(self, message: str, *, path: Path | str | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.hint = hint

    def headline(self) -> str:
        where = f"{self.path}: " if self.path is not None else ""
        return f"{where}{self.message}"


class FailureError(GadgetbuildError):
    """Something asked for failed: a compile, a contract, a check, a verification, a gate."""

    exit_status = ExitStatus.FAILED


class WasmFormatError(FailureError):
    """A byte string that is not a well-formed wasm module; ``offset`` points at the fault."""

    def __init__(
        self, message: str, *, offset: int | None = None, path: Path | str | None = None
    ) -> None:
        super().__init__(message, path=path)
        self.offset = offset

    def headline(self) -> str:
        at = f" (at byte offset {self.offset:#x})" if self.offset is not None else ""
        return f"{super().headline()}{at}"


class ToolError(FailureError):
    """An external tool (wasm-tools, a compiler) ran and reported a failure."""


class ManifestError(FailureError):
    """A manifest that is not JSON, fails its schema, or has an unknown schema version."""


class UsageError(GadgetbuildError):
    """The command line is wrong; nothing ran."""

    exit_status = ExitStatus.USAGE


class SpecError(UsageError):
    """A gadget or toolchain spec is missing, unreadable or invalid; nothing ran."""


class EnvironmentUnavailableError(GadgetbuildError):
    """The environment cannot serve: no engine answers, or a required toolchain is missing."""

    exit_status = ExitStatus.ENVIRONMENT


class InterruptedBuildError(GadgetbuildError):
    """The run was interrupted by a signal; the artifacts folder was left consistent."""

    def __init__(self, signal_name: str, status: ExitStatus) -> None:
        super().__init__(f"interrupted by {signal_name}")
        self.exit_status = status


class CompileError(FailureError):
    """A compiler ran and failed; ``output`` is the tail of what it printed."""

    def __init__(self, message: str, *, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class GadgetRunError(FailureError):
    """A gadget failed in the runtime: a trap, a non-zero lifecycle result, a wrong output.

    ``export`` is the export that was running (None outside one), ``event`` the index of
    the event being delivered, and ``data_source`` its data source.
    """

    def __init__(
        self,
        message: str,
        *,
        export: str | None = None,
        event: int | None = None,
        data_source: str | None = None,
    ) -> None:
        super().__init__(message)
        self.export = export
        self.event = event
        self.data_source = data_source

    def headline(self) -> str:
        where = self.export or ""
        if self.event is not None:
            where += f" on event #{self.event} of '{self.data_source}'"
        return f"{where}: {self.message}" if where else self.message


class ToolchainUnavailableError(GadgetbuildError):
    """A toolchain cannot be provisioned here; its artifacts are recorded as `unavailable`."""

    exit_status = ExitStatus.ENVIRONMENT
