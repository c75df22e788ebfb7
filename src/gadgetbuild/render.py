"""Terminal views: progress while building, summary tables, JSON. Decides nothing."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from gadgetbuild.errors import GadgetbuildError
from gadgetbuild.manifest import ArtifactRecord, ArtifactStatus
from gadgetbuild.plan import Artifact

if TYPE_CHECKING:
    from gadgetbuild.pipeline import StageEvent

STATUS_STYLE = {
    ArtifactStatus.BUILT: "green",
    ArtifactStatus.CACHED: "cyan",
    ArtifactStatus.FAILED: "bold red",
    ArtifactStatus.UNAVAILABLE: "yellow",
}

# Off a terminal (CI logs, pipes) rich assumes 80 columns, too narrow for the size tables
# and a release's paths; COLUMNS, when set, still decides.
PIPE_WIDTH = 160


def _width(stream: TextIO) -> int | None:
    if stream.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


stdout = Console(soft_wrap=False, width=_width(sys.stdout))
stderr = Console(stderr=True, soft_wrap=False, width=_width(sys.stderr))


def setup_logging(verbosity: int) -> None:
    """-q: warnings; default: our progress; -v: our debug lines; -vv: the libraries' too
    (the Docker SDK and urllib3 log every API call at debug level)."""
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = RichHandler(console=stderr, show_path=False, show_time=False)
    others = logging.DEBUG if verbosity >= 2 else logging.WARNING
    logging.basicConfig(level=others, format="%(message)s", handlers=[handler], force=True)
    logging.getLogger("gadgetbuild").setLevel(level)


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / 1e6:.2f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"


class BuildProgress:
    """One line per artifact showing its current stage; a no-op when not on a terminal."""

    def __init__(self, artifacts: Sequence[Artifact], *, enabled: bool) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("[dim]{task.fields[stage]}"),
            TimeElapsedColumn(),
            console=stderr,
            disable=not enabled,
            transient=True,
        )
        self.tasks: dict[tuple[str, str], TaskID] = {
            a.key: self.progress.add_task(a.label, total=1, stage="queued") for a in artifacts
        }

    def __enter__(self) -> BuildProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def on_event(self, event: StageEvent) -> None:
        task = self.tasks[event.artifact.key]
        if event.record is None:
            self.progress.update(task, stage=event.stage)
            return

        status = event.record.status
        self.progress.update(task, stage=status.value, completed=1)
        if not logging.getLogger("gadgetbuild").isEnabledFor(logging.INFO):
            return  # -q: the summary table is enough
        style = STATUS_STYLE[status]
        self.progress.console.print(f"[{style}]{status.value:>11}[/] {event.artifact.label}")


def build_summary(records: Iterable[ArtifactRecord]) -> Table:
    table = Table(title="gadgetbuild", title_justify="left")
    for name in ("gadget", "toolchain", "backend", "status"):
        table.add_column(name, no_wrap=True)
    for name in ("raw", "stripped", "zstd"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold")

    for r in records:
        zstd = r.codec_file("zstd")
        table.add_row(
            r.gadget,
            r.toolchain.name,
            r.toolchain.backend or "-",
            f"[{STATUS_STYLE[r.status]}]{r.status.value}",
            human_size(r.raw.size if r.raw else None),
            human_size(r.stripped.size if r.stripped else None),
            human_size(zstd.size if zstd else None),
            escape(short_reason(r)),
        )
    return table


def short_reason(record: ArtifactRecord, width: int = 60) -> str:
    """The table's reason cell; the full text is printed under the table."""
    if record.status is ArtifactStatus.UNAVAILABLE:
        return "toolchain unavailable (below)"
    first = (record.reason or "").split(";")[0]
    return first if len(first) <= width else first[: width - 1] + "…"


def failure_details(records: Sequence[ArtifactRecord]) -> None:
    """Print, under the table, each unavailable toolchain's reason and fix once, and each
    failure's violations and compiler output tail."""
    unavailable = {
        r.toolchain.name: r.reason for r in records if r.status is ArtifactStatus.UNAVAILABLE
    }
    for name, reason in unavailable.items():
        stderr.print(f"[yellow]unavailable[/] {escape(name)}: {escape(reason or '')}")
    for r in records:
        if r.status is not ArtifactStatus.FAILED:
            continue
        label = f"{r.gadget} × {r.toolchain.name}: {r.reason}"
        stderr.print(f"\n[bold red]failed[/] {escape(label)}")
        for v in r.violations:
            stderr.print(f"  - {escape(v.message)}")
        if r.compiler_output:
            stderr.print(r.compiler_output, markup=False, highlight=False)


def records_json(records: Iterable[ArtifactRecord]) -> str:
    data = [r.model_dump(mode="json", exclude_none=True) for r in records]
    return json.dumps(data, indent=2)


def print_error(error: GadgetbuildError) -> None:
    stderr.print(f"[bold red]error:[/] {escape(error.headline())}", highlight=False)
    if error.hint:
        stderr.print(f"  next: {error.hint}", highlight=False)
