"""The build: every artifact of the plan through the same stages, then one manifest.

compile -> inspect -> validate -> strip -> validate again -> smoke -> compress -> record
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gadgetbuild import __version__
from gadgetbuild.cache import BuildCache, cache_key
from gadgetbuild.compress import CODECS, compress_all
from gadgetbuild.context import build_context
from gadgetbuild.errors import (
    CompileError,
    FailureError,
    GadgetbuildError,
    GadgetRunError,
    SpecError,
)
from gadgetbuild.git import git_output
from gadgetbuild.interrupts import begin_run, cancel_all, cancelled, handle_signals
from gadgetbuild.manifest import (
    MANIFEST_NAME,
    ArtifactRecord,
    ArtifactStatus,
    CompressedFile,
    FileRecord,
    Manifest,
    SmokeRecord,
    ToolchainIdentity,
    ViolationRecord,
    merge_records,
    read_manifest,
    write_atomic,
)
from gadgetbuild.outputs import commit, locked, staging_folder
from gadgetbuild.plan import Artifact, Plan
from gadgetbuild.toolchains import Compiler, Unavailable
from gadgetbuild.wasm import (
    AbiContract,
    ModuleInfo,
    check_contract,
    load_contract,
    read_module,
    strip,
    validate,
)
from gadgetbuild.wasm.records import describe_module, interface_of

Provisioned = Compiler | Unavailable


@dataclass(frozen=True, slots=True)
class StageEvent:
    """Progress of one artifact: a stage began, or the artifact ended with ``record``."""

    artifact: Artifact
    stage: str
    record: ArtifactRecord | None = None


EventSink = Callable[[StageEvent], None]


@dataclass(slots=True)
class BuildOptions:
    out_dir: Path
    jobs: int = 1
    on_event: EventSink = field(default=lambda _event: None)
    cache: BuildCache | None = None
    wait: bool = True
    smoke: bool = True


@dataclass(frozen=True, slots=True)
class BuildResult:
    manifest: Manifest
    manifest_path: Path
    records: tuple[ArtifactRecord, ...]


def run_build(plan: Plan, toolchains: dict[str, Provisioned], options: BuildOptions) -> BuildResult:
    """Build every artifact of ``plan``, then commit the outputs and the merged manifest.

    Holds the artifacts folder's lock throughout; SIGINT and SIGTERM stop the compiles and
    leave the folder as it was.
    """
    contract = load_contract()
    options.out_dir = options.out_dir.absolute()
    with (
        locked(options.out_dir, wait=options.wait),
        handle_signals(),
        staging_folder(options.out_dir) as staging,
    ):
        # Read first: a manifest this build could not merge into stops it before any compile.
        manifest_path = options.out_dir / MANIFEST_NAME
        previous = read_manifest(manifest_path) if manifest_path.is_file() else None
        records = build_all(plan, toolchains, contract, options, staging)

        merged = merge_records(previous, list(records), set(plan.gadgets), set(plan.toolchains))
        manifest = Manifest(
            gadgetbuild_version=__version__,
            source_revision=source_revision(plan),
            artifacts=merged,
        )
        done = [r for r in records if r.status in {ArtifactStatus.BUILT, ArtifactStatus.CACHED}]
        commit(options.out_dir, staging, done, manifest)
    return BuildResult(manifest, manifest_path, records)


def build_all(
    plan: Plan,
    toolchains: dict[str, Provisioned],
    contract: AbiContract,
    options: BuildOptions,
    staging: Path,
) -> tuple[ArtifactRecord, ...]:
    """Every artifact on a pool of ``options.jobs`` threads; records in the plan's order."""
    gates = {name: WarmUpGate() for name in toolchains}
    begin_run()

    def one(artifact: Artifact) -> ArtifactRecord:
        name = artifact.toolchain.name
        record = build_artifact(
            artifact, toolchains[name], contract, options, staging, gate=gates[name]
        )
        if not cancelled():
            # After an interrupt, a compile killed on purpose is no failure to report.
            options.on_event(StageEvent(artifact, "done", record))
        return record

    pool = ThreadPoolExecutor(max_workers=max(1, options.jobs))
    try:
        futures = [pool.submit(one, artifact) for artifact in plan.artifacts]
        return tuple(future.result() for future in futures)
    except BaseException:
        # Interrupted: stop the running compiles first, or shutting the pool down waits
        # for them to finish.
        cancel_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def build_artifact(
    artifact: Artifact,
    provisioned: Provisioned,
    contract: AbiContract,
    options: BuildOptions,
    staging: Path,
    *,
    gate: WarmUpGate | None = None,
) -> ArtifactRecord:
    """Run one artifact through every stage; a failure becomes a `failed` record, never a raise."""
    if isinstance(provisioned, Unavailable):
        identity = ToolchainIdentity(
            name=artifact.toolchain.name,
            family=artifact.toolchain.family,
            version=artifact.toolchain.version,
        )
        return ArtifactRecord(
            gadget=artifact.gadget.name,
            toolchain=identity,
            status=ArtifactStatus.UNAVAILABLE,
            reason=provisioned.message,
        )

    stages = Stages(artifact, provisioned, contract, options, staging, gate=gate or WarmUpGate())
    try:
        return stages.run()
    except CompileError as exc:
        return stages.failed(exc.message, compiler_output=exc.output)
    except (FailureError, SpecError) as exc:
        # A spec fault found only now (a go.mod `replace` that leads nowhere) belongs to
        # this artifact alone.
        return stages.failed(exc.headline())


class WarmUpGate:
    """Holds a toolchain's other compiles back until its first one has ended.

    A cold Go build spends most of its time compiling the standard library into the
    compiler's cache, on both cores; two cold compiles at once would each do that work.
    After the first, the others find the cache warm and overlap with each other's
    post-compile stages.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken = False
        self._first_done = threading.Event()

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._lock:
            first, self._taken = not self._taken, True
        if not first:
            self._first_done.wait()
        try:
            yield
        finally:
            if first:
                self._first_done.set()


@dataclass(slots=True)
class Stages:
    artifact: Artifact
    compiler: Compiler
    contract: AbiContract
    options: BuildOptions
    staging: Path
    gate: WarmUpGate
    timings: dict[str, float] = field(default_factory=dict)
    violations: list[ViolationRecord] = field(default_factory=list)
    source_hash: str | None = None
    smoke_record: SmokeRecord | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.options.on_event(StageEvent(self.artifact, name))
        start = time.perf_counter()
        yield
        self.timings[name] = round((time.perf_counter() - start) * 1000, 3)

    def run(self) -> ArtifactRecord:
        gadget, toolchain = self.artifact.key
        context = build_context(self.artifact.gadget_dir)
        self.source_hash = context.source_hash()
        key = self.cache_key()
        cache = self.options.cache
        if cache is not None and (hit := cache.restore(key, self.staging)):
            return hit

        with tempfile.TemporaryDirectory(prefix=f".{gadget}.", dir=self.staging) as tmp:
            work = Path(tmp)
            raw_path, stripped_path = work / "raw.wasm", work / "stripped.wasm"

            with self.gate.turn(), self.stage("compile"):
                self.compiler.compile(self.artifact.gadget_dir, context, raw_path)

            raw = raw_path.read_bytes()
            with self.stage("inspect"):
                info = read_module(raw, path=raw_path)

            with self.stage("validate"):
                self.validate(raw_path, info)

            with self.stage("strip"):
                strip(raw_path, stripped_path, keep=self.contract.custom_sections_allowed)
                stripped = stripped_path.read_bytes()
                self.check_stripped(stripped_path, stripped, info)

            # Compression and the smoke run both read the stripped module alone: overlapping
            # them saves the shorter of the two on every rebuilt artifact.
            with ThreadPoolExecutor(max_workers=1) as background:
                packing = background.submit(self.compress, stripped)
                if self.options.smoke:
                    with self.stage("smoke"):
                        self.smoke(stripped)
                packed = packing.result()

        with self.stage("record"):
            files = self.write_outputs(self.staging / toolchain, gadget, raw, stripped, packed)

        record = self.record(info, files)
        if cache is not None:
            cache.store(key, record, self.staging)
        return record

    def compress(self, stripped: bytes) -> dict[str, bytes]:
        with self.stage("compress"):
            return compress_all(stripped)

    def cache_key(self) -> str:
        identity = self.compiler.identity.model_dump(
            mode="json", exclude={"executable", "compiler"}
        )
        return cache_key(
            self.artifact,
            identity,
            self.source_hash or "",
            self.contract,
            smoke=self.options.smoke,
        )

    def validate(self, path: Path, info: ModuleInfo) -> None:
        validate(path)
        found = check_contract(info, self.contract)
        if found:
            self.violations = [ViolationRecord(**v.as_dict()) for v in found]
            listing = "; ".join(v.message for v in found)
            count = f"{len(found)} problem{'s' if len(found) > 1 else ''}"
            raise FailureError(f"breaks the gadget ABI ({count}): {listing}")

    def check_stripped(self, path: Path, data: bytes, raw_info: ModuleInfo) -> None:
        validate(path)
        if interface_of(read_module(data, path=path)) != interface_of(raw_info):
            msg = "stripping changed the module's imports or exports"
            raise FailureError(msg)

    def smoke(self, stripped: bytes) -> None:
        # Imported here: wasmtime loads only for builds that run the module.
        from gadgetbuild.runtime.instance import runtime_name  # noqa: PLC0415
        from gadgetbuild.runtime.smoke import run_smoke  # noqa: PLC0415

        try:
            self.smoke_record = run_smoke(stripped, self.artifact.gadget.smoke)
        except GadgetRunError as exc:
            self.smoke_record = SmokeRecord(
                passed=False,
                runtime=runtime_name(),
                failure=exc.message,
                export=exc.export,
                event=exc.event,
                data_source=exc.data_source,
            )
            raise FailureError(f"smoke: {exc.headline()}") from exc

    def write_outputs(
        self, target: Path, gadget: str, raw: bytes, stripped: bytes, packed: dict[str, bytes]
    ) -> dict[str, FileRecord]:
        names = {"raw": f"{gadget}.debug.wasm", "stripped": f"{gadget}.wasm"}
        names.update({spec.codec: f"{gadget}.wasm{spec.suffix}" for spec in CODECS})
        contents: dict[str, bytes] = {"raw": raw, "stripped": stripped, **packed}
        files = {}
        for role, data in contents.items():
            path = target / names[role]
            write_atomic(path, data)
            files[role] = file_record(path, data, self.staging)
        return files

    def record(self, info: ModuleInfo, files: dict[str, FileRecord]) -> ArtifactRecord:
        described = describe_module(info)
        compressed = [
            CompressedFile(**files[spec.codec].model_dump(), codec=spec.codec, level=spec.level)
            for spec in CODECS
        ]
        identity = self.compiler.identity.model_copy(update={"compiler": described.compiler})
        return ArtifactRecord(
            gadget=self.artifact.gadget.name,
            toolchain=identity,
            status=ArtifactStatus.BUILT,
            source_hash=self.source_hash,
            raw=files["raw"],
            stripped=files["stripped"],
            compressed=compressed,
            exports=described.exports,
            imports=described.imports,
            sections=described.sections,
            memory_pages=described.memory_pages,
            abi_version=self.contract.abi_version,
            min_host=self.contract.min_host,
            smoke=self.smoke_record,
            timings_ms=self.timings,
        )

    def failed(self, reason: str, *, compiler_output: str | None = None) -> ArtifactRecord:
        return ArtifactRecord(
            gadget=self.artifact.gadget.name,
            toolchain=self.compiler.identity,
            status=ArtifactStatus.FAILED,
            reason=reason,
            violations=self.violations,
            compiler_output=compiler_output,
            source_hash=self.source_hash,
            smoke=self.smoke_record,
            timings_ms=self.timings,
        )


def file_record(path: Path, data: bytes, root: Path) -> FileRecord:
    return FileRecord(
        path=path.relative_to(root).as_posix(),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


DIRTY = "-dirty"


def source_revision(plan: Plan) -> str | None:
    """The git commit holding the gadgets, with `-dirty` when their files, or those of the
    modules they build with (``replace`` targets), differ from it."""
    found = source_state(plan)
    if found is None:
        return None
    head, changed = found
    return f"{head}{DIRTY}" if changed else head


def source_state(plan: Plan) -> tuple[str, list[str]] | None:
    """The commit holding the gadgets and the files of their build contexts that differ
    from it (as `git status --porcelain` lists them); None outside a git checkout."""
    # Absolute: git runs in the first folder, and reads the others' paths from there.
    folders = sorted({f.resolve() for a in plan.artifacts for f in context_folders(a)})
    if not folders:
        return None

    head = git_output(folders[0], "rev-parse", "HEAD")
    # Ignored files count: the build context holds them, the commit does not. Hidden ones
    # (a leading '.') are left out of the context, so they are left out here too.
    status = git_output(
        folders[0],
        *("-c", "core.quotePath=false", "status", "--porcelain", "--ignored=matching", "--"),
        *map(str, folders),
    )
    if head is None or status is None:
        return None
    changed = [line for line in status.splitlines() if not hidden(line.split(maxsplit=1)[-1])]
    return head, changed


def hidden(path: str) -> bool:
    """A path of `git status`, relative to the repository: in or under a hidden name."""
    return any(part.startswith(".") for part in path.strip('"').rstrip("/").split("/"))


def context_folders(artifact: Artifact) -> tuple[Path, ...]:
    try:
        return build_context(artifact.gadget_dir).folders
    except (GadgetbuildError, OSError):
        # A context that cannot be formed fails its artifact's build; its own folder is
        # still what the revision covers.
        return (artifact.gadget_dir,)
