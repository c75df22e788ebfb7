"""The release, step by step: provision, strict build, reproduction, gates, the folder."""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gadgetbuild.errors import FailureError, ManifestError, UsageError
from gadgetbuild.manifest import Manifest
from gadgetbuild.outputs import locked
from gadgetbuild.pipeline import (
    BuildOptions,
    BuildResult,
    EventSink,
    source_state,
)
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
    replace: bool = False  # write over an existing release of this version
    allow_dirty: bool = False  # release sources that differ from their commit
    on_event: EventSink = field(default=lambda _event: None)
    on_step: StepSink = field(default=lambda _step, _seconds: None)
    on_note: Callable[[str], None] = field(default=lambda _note: None)


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    release: ReleaseFolder
    gates: GateReport


def run_release(request: ReleaseRequest) -> ReleaseResult:
    """Build, prove, gate and write the release; any failure raises before ``dist`` changes.

    Raises UsageError (a bad version, baseline or spec, an existing release, dirty sources),
    EnvironmentUnavailableError (a toolchain asked for is unavailable), FailureError (a
    build, the proof or a gate failed, the release could not be written).
    """
    check_version(request.version)
    baseline, baseline_digest = load_baseline(request)
    plan = make_plan(
        # Absolute: the manifest's source revision asks git about these folders.
        request.gadgets_dir.absolute(),
        request.toolchains_dir,
        only_gadgets=request.gadgets,
        only_toolchains=request.toolchains,
    )
    if not plan.artifacts:
        raise UsageError("nothing to release: the filters leave no artifact")
    check_clean(plan, request)
    mtime = source_time(request.gadgets_dir)

    # Imported here: the engine client it loads costs the other commands their start-up.
    from gadgetbuild.toolchains.provision import provision_toolchains  # noqa: PLC0415

    check_not_released(request)  # before any work; again under the lock, for a race
    with timed(request.on_step, "provision"):
        specs = {a.toolchain.name: a.toolchain for a in plan.artifacts}
        provisioned = provision_toolchains(
            specs, request.backend, toolchains_dir=request.toolchains_dir
        )
        require_available(provisioned)

    # One release at a time per dist folder; the second, once it runs, finds the first's.
    with locked(request.dist_dir, wait=True, what="dist folder", option="--dist"):
        check_not_released(request)
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

            facts = BuildFacts(
                command=recorded_command(request, baseline_digest),
                source_revision=first.manifest.source_revision,
                source_url=request.source_url,
                records=list(first.manifest.artifacts),
                toolchains=plan.toolchains,
            )
            with timed(request.on_step, "write"):
                release = write_or_fail(request, first, plan, facts, mtime)
    return ReleaseResult(release, gates)


def load_baseline(request: ReleaseRequest) -> tuple[Manifest | None, str | None]:
    """The baseline manifest and the sha256 of its bytes (what the gate read)."""
    if request.baseline is None:
        return None, None
    try:
        path, manifest = load_manifest(request.baseline)
    except (ManifestError, UsageError) as exc:
        raise UsageError(
            f"--baseline: {exc.message}",
            path=exc.path,
            hint="name the previous release's manifest.json, or its folder",
        ) from exc
    return manifest, hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_command(request: ReleaseRequest, baseline_digest: str | None) -> list[str]:
    """The command line as the provenance records it: options in one order, the baseline by
    digest (its path is this machine's; its bytes are what the gate read)."""
    argv = ["gadgetbuild", "release", "--version", request.version]
    argv += [arg for g in sorted(request.gadgets) for arg in ("--gadget", g)]
    argv += [arg for t in sorted(request.toolchains) for arg in ("--toolchain", t)]
    argv += ["--max-growth", f"{request.max_growth:g}", "--backend", request.backend]
    argv += ["--source-url", request.source_url]
    if baseline_digest is not None:
        argv += ["--baseline", f"sha256:{baseline_digest}"]
    return argv


def check_clean(plan: Plan, request: ReleaseRequest) -> None:
    """A release is rebuilt from its commit: sources that differ from it are refused."""
    state = source_state(plan)
    if state is None or not state[1] or request.allow_dirty:
        return
    head, changed = state
    # Each line is a status (one or two letters, `??`) and a path; git_output strips the
    # first line's leading space, so the status is split off, not cut at a column.
    listing = ", ".join(line.split(maxsplit=1)[-1] for line in changed[:5])
    more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
    raise UsageError(
        f"the gadgets differ from commit {head[:12]}: {listing}{more} (`git status`: "
        "changed or untracked), which a rebuild from the commit would not have",
        path=request.gadgets_dir,
        hint="commit them, or pass --allow-dirty: the manifest and the provenance then say `dirty`",
    )


def check_not_released(request: ReleaseRequest) -> None:
    """A version is released once: writing over it takes --replace."""
    version = request.version
    targets = (request.dist_dir / version, request.dist_dir / f"{version}.tar.gz")
    found = [p for p in targets if p.exists() or p.is_symlink()]
    if found and not request.replace:
        raise UsageError(
            f"a release of {version} is already there",
            path=found[0],
            hint="pick a new --version, or pass --replace to write over it",
        )


def write_or_fail(
    request: ReleaseRequest, built: BuildResult, plan: Plan, facts: BuildFacts, mtime: int
) -> ReleaseFolder:
    try:
        return write_release(built, plan.gadgets, facts, request.dist_dir, request.version, mtime)
    except OSError as exc:
        raise FailureError(
            f"cannot write the release: {exc.strerror or exc}",
            path=exc.filename2 or exc.filename or request.dist_dir,
            hint="the dist folder holds what it held before",
        ) from exc


def check_version(version: str) -> None:
    if not re.fullmatch(VERSION_PATTERN, version) or ".." in version:
        raise UsageError(
            f"--version '{version}': expected up to 128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, such as 0.3.0"
        )


def raise_for_release(mismatches: list[Mismatch], gates: GateReport) -> None:
    """One error listing every problem: each unreproducible artifact, each failed gate."""
    problems = [m.describe() for m in mismatches] + [f.message for f in gates.failures]
    if problems:
        raise FailureError(
            f"the release is refused ({len(problems)} problem{'s' if len(problems) > 1 else ''}):"
            + "".join(f"\n  - {problem}" for problem in problems),
            hint="nothing was written to the dist folder",
        )


@contextmanager
def timed(sink: StepSink, name: str) -> Iterator[None]:
    """Report the step's name and duration to the caller, who renders it, once it is done."""
    start = time.perf_counter()
    yield
    sink(name, time.perf_counter() - start)
