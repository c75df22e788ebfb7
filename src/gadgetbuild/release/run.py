"""The release, step by step: provision, strict build, reproduction, gates, the folder."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gadgetbuild.errors import FailureError, UsageError
from gadgetbuild.manifest import Manifest
from gadgetbuild.pipeline import BuildOptions, EventSink, source_revision
from gadgetbuild.plan import Plan, make_plan
from gadgetbuild.release.archive import source_time
from gadgetbuild.release.gates import DEFAULT_MAX_GROWTH, GateReport, check_gates
from gadgetbuild.release.layout import ReleaseFolder, write_release
from gadgetbuild.release.provenance import BuildFacts
from gadgetbuild.release.reproduce import (
    Mismatch,
    build_strict,
    compare_builds,
    reproduce,
    require_available,
)
from gadgetbuild.toolchains.provision import BackendChoice
from gadgetbuild.views.sources import load_manifest

# A version names a folder and an OCI tag: the characters both accept, nothing that climbs.
VERSION_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"

StepSink = Callable[[str, float], None]


@dataclass(slots=True)
class ReleaseRequest:
    version: str
    gadgets_dir: Path = Path("gadgets")
    toolchains_dir: Path = Path("toolchains")
    dist_dir: Path = Path("dist")
    gadgets: tuple[str, ...] = ()
    toolchains: tuple[str, ...] = ()
    baseline: Path | None = None
    max_growth: float = DEFAULT_MAX_GROWTH
    backend: BackendChoice = "docker"
    source_url: str = ""
    jobs: int = 1
    command: list[str] = field(default_factory=list)
    on_event: EventSink = field(default=lambda _event: None)
    on_step: StepSink = field(default=lambda _step, _seconds: None)
    on_note: Callable[[str], None] = field(default=lambda _note: None)


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    release: ReleaseFolder
    gates: GateReport


def run_release(request: ReleaseRequest) -> ReleaseResult:
    """Build, prove, gate and write the release; any failure raises before ``dist`` changes.

    Raises UsageError (a bad version, baseline or spec), EnvironmentUnavailableError (a
    toolchain asked for is unavailable), FailureError (a build, the proof or a gate failed).
    """
    check_version(request.version)
    baseline = load_manifest(request.baseline)[1] if request.baseline else None
    plan = make_plan(
        # Absolute: the manifest's source revision asks git about these folders.
        request.gadgets_dir.absolute(),
        request.toolchains_dir,
        only_gadgets=request.gadgets,
        only_toolchains=request.toolchains,
    )
    if not plan.artifacts:
        raise UsageError("nothing to release: the filters leave no artifact")
    mtime = source_time(request.gadgets_dir)

    # Imported here: the engine client it loads costs the other commands their start-up.
    from gadgetbuild.toolchains.provision import provision_toolchains  # noqa: PLC0415

    with timed(request.on_step, "provision"):
        specs = {a.toolchain.name: a.toolchain for a in plan.artifacts}
        provisioned = provision_toolchains(
            specs, request.backend, toolchains_dir=request.toolchains_dir
        )
        require_available(provisioned)

    options = BuildOptions(Path(), jobs=request.jobs, on_event=request.on_event)
    with tempfile.TemporaryDirectory(prefix="gadgetbuild-release-") as tmp:
        work = Path(tmp)
        with timed(request.on_step, "build"):
            first = build_strict(plan, provisioned, work / "first", options)
        with timed(request.on_step, "reproduce"):
            mismatches = compare_builds(first, reproduce(plan, provisioned, work, options))
        with timed(request.on_step, "gates"):
            gates = check_gates(list(first.records), plan.gadgets, baseline, request.max_growth)
        for note in gates.notes:
            request.on_note(note)
        raise_for_release(mismatches, gates)

        facts = build_facts(request, plan, first.manifest)
        with timed(request.on_step, "write"):
            release = write_release(
                first, plan.gadgets, facts, request.dist_dir, request.version, mtime
            )
    return ReleaseResult(release, gates)


def check_version(version: str) -> None:
    if not re.fullmatch(VERSION_PATTERN, version) or ".." in version:
        raise UsageError(
            f"--version '{version}': expected letters, digits, '.', '_' or '-', such as 0.3.0"
        )


def raise_for_release(mismatches: list[Mismatch], gates: GateReport) -> None:
    """One error listing every problem: each unreproducible artifact, each failed gate."""
    problems = [m.describe() for m in mismatches] + [f.message for f in gates.failures]
    if problems:
        raise FailureError(
            f"the release is refused ({len(problems)} problem{'s' if len(problems) > 1 else ''}): "
            + "; ".join(problems),
            hint="nothing was written to the dist folder",
        )


def build_facts(request: ReleaseRequest, plan: Plan, manifest: Manifest) -> BuildFacts:
    return BuildFacts(
        command=request.command,
        source_revision=manifest.source_revision or source_revision(plan),
        source_url=request.source_url,
        records=list(manifest.artifacts),
        toolchains=plan.toolchains,
    )


@contextmanager
def timed(sink: StepSink, name: str) -> Iterator[None]:
    """Report the step's name and duration to the caller, who renders it, once it is done."""
    start = time.perf_counter()
    yield
    sink(name, time.perf_counter() - start)
