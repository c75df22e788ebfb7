"""The manifest: models, atomic write, read with a schema-version check, merge."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gadgetbuild.errors import ManifestError
from gadgetbuild.specs import describe_validation_error

SCHEMA_VERSION: Literal[1] = 1
MANIFEST_NAME = "manifest.json"
# A release folder (`gadgetbuild release`) holds, beside the manifest, these names; the
# release writes them and `verify` checks them, so both read them from here.
SUMS_NAME = "SHA256SUMS"
PROVENANCE_NAME = "provenance.json"
OCI_FOLDER = "oci"

Codec = Literal["gzip", "zstd", "brotli"]
Backend = Literal["local", "docker"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArtifactStatus(StrEnum):
    BUILT = "built"
    CACHED = "cached"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"


class FileRecord(Record):
    path: str = Field(description="Relative to the manifest's folder, '/'-separated.")
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class CompressedFile(FileRecord):
    codec: Codec
    level: int


class ExportRecord(Record):
    name: str
    kind: str
    signature: str | None = Field(None, description="`(params) -> (results)` for functions.")


class ImportRecord(Record):
    module: str
    name: str
    kind: str
    signature: str | None = None


class SectionRecord(Record):
    name: str = Field(description="`type`, `code`, … or `custom:<name>` for custom sections.")
    size: int = Field(ge=0, description="The section's payload size in bytes.")


class ViolationRecord(Record):
    code: str
    item: str
    expected: str | None = None
    found: str | None = None
    message: str


class ToolchainIdentity(Record):
    name: str
    family: str
    version: str = Field(description="The version the toolchain spec pins.")
    compiler: str | None = Field(
        None, description="The toolchain and version the module's `producers` section names."
    )
    backend: Backend | None = None
    image: str | None = Field(None, description="The pinned image reference (Docker backend).")
    digest: str | None = Field(None, description="The resolved image digest (Docker backend).")
    recipe_hash: str | None = Field(None, description="The offline image recipe's hash.")
    executable: str | None = Field(None, description="The compiler's path (local backend).")


class SmokeRecord(Record):
    """The smoke stage's run of the stripped module on the gadget's scenario."""

    passed: bool
    runtime: str = Field(description="The runtime and its version, such as `wasmtime 50.0.1`.")
    exports_run: list[str] = Field(
        default_factory=list, description="The exports called, in order, each once."
    )
    events: int = Field(0, ge=0, description="Events delivered to `dataSourceCallback`.")
    checks: int = Field(0, ge=0, description="Expectations of the scenario that held.")
    logs: int = Field(0, ge=0, description="Log records the gadget produced.")
    memory_pages: int | None = Field(None, description="Linear memory at the end, in pages.")
    failure: str | None = Field(None, description="What failed, where the run stopped.")
    export: str | None = Field(None, description="The export running when it failed.")
    event: int | None = Field(None, description="The index of the event it failed on.")
    data_source: str | None = Field(None, description="That event's data source.")


class LastGood(Record):
    """The files of an artifact's last successful build, kept in place when a rebuild fails
    or its toolchain becomes unavailable: a broken change loses nothing already built."""

    source_hash: str | None = Field(None, description="The build context those files came from.")
    raw: FileRecord | None = None
    stripped: FileRecord | None = None
    compressed: list[CompressedFile] = Field(default_factory=list)


class ArtifactRecord(Record):
    gadget: str
    toolchain: ToolchainIdentity
    status: ArtifactStatus
    reason: str | None = Field(None, description="Why the artifact failed or is unavailable.")
    violations: list[ViolationRecord] = Field(default_factory=list)
    compiler_output: str | None = Field(None, description="The tail of a failed compile's output.")
    source_hash: str | None = Field(None, description="sha256 over the gadget's build context.")
    raw: FileRecord | None = Field(None, description="The module as compiled, with debug info.")
    stripped: FileRecord | None = None
    compressed: list[CompressedFile] = Field(default_factory=list)
    exports: list[ExportRecord] = Field(default_factory=list)
    imports: list[ImportRecord] = Field(default_factory=list)
    sections: list[SectionRecord] = Field(
        default_factory=list, description="Sections of the raw module."
    )
    memory_pages: int | None = Field(None, description="Initial linear memory, 64 KiB pages.")
    abi_version: int | None = None
    min_host: str | None = Field(None, description="The oldest host release that can load it.")
    smoke: SmokeRecord | None = Field(
        None, description="The smoke run in a real runtime; absent when skipped (--no-smoke)."
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)
    last_good: LastGood | None = Field(
        None,
        description="On a failed or unavailable artifact: the last good build's files, kept.",
    )

    @property
    def key(self) -> tuple[str, str]:
        return (self.gadget, self.toolchain.name)

    def all_files(self) -> list[FileRecord]:
        """Every file the record names: its own and those of its last good build."""
        files = [self.raw, self.stripped, *self.compressed]
        if self.last_good is not None:
            kept = self.last_good
            files += [kept.raw, kept.stripped, *kept.compressed]
        return [f for f in files if f is not None]

    def codec_file(self, codec: Codec) -> CompressedFile | None:
        return next((c for c in self.compressed if c.codec == codec), None)


class Manifest(Record):
    schema_version: Literal[1] = SCHEMA_VERSION
    gadgetbuild_version: str
    source_revision: str | None = Field(None, description="The git commit of the sources.")
    artifacts: list[ArtifactRecord] = Field(default_factory=list)


def write_manifest(manifest: Manifest, path: Path) -> None:
    """Write ``path`` atomically: a reader sees the old manifest or the new, never half."""
    text = manifest.model_dump_json(indent=2, exclude_none=True) + "\n"
    write_atomic(path, text.encode("utf-8"))


def write_atomic(path: Path, data: bytes) -> None:
    """Write a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private; outputs get the mode the user's umask gives.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


GZIP_MAGIC = b"\x1f\x8b"
# Thousands of artifacts' records fit in a few MB: a bound that keeps a device or a stray
# giant file from being read whole.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def read_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; every failure is a :class:`ManifestError` naming ``path``."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST_BYTES:
            what = "not a regular file" if not stat.S_ISREG(info.st_mode) else "too large"
            raise ManifestError(
                f"{what}: a manifest is a JSON file of at most {MAX_MANIFEST_BYTES} bytes",
                path=path,
            )
        raw = path.read_bytes()
        data = json.loads(raw)
    except OSError as exc:
        raise ManifestError(f"cannot read the manifest: {exc.strerror}", path=path) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if raw.startswith(GZIP_MAGIC):
            raise ManifestError(
                "a gzip archive, not a manifest",
                path=path,
                hint="extract it (`tar -xzf`) and name the folder it holds",
            ) from exc
        raise ManifestError(f"not JSON: {exc}", path=path) from exc

    if not isinstance(data, dict) or "schema_version" not in data:
        raise ManifestError(
            "JSON, but no gadgetbuild manifest: it has no schema_version",
            path=path,
            hint="name a manifest.json that `gadgetbuild build` or `release` wrote",
        )
    version = data["schema_version"]
    if version != SCHEMA_VERSION:
        raise ManifestError(
            f"unknown manifest schema version {version!r}; this gadgetbuild reads version "
            f"{SCHEMA_VERSION}",
            path=path,
            hint="rebuild the manifest with this gadgetbuild, or use the release that wrote it",
        )

    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(
            f"fails the manifest schema: {describe_validation_error(exc)}", path=path
        ) from exc


def merge_records(
    previous: Manifest | None,
    new: list[ArtifactRecord],
    gadgets: set[str],
    toolchains: set[str],
) -> list[ArtifactRecord]:
    """The new records, plus previous ones not rebuilt whose gadget and toolchain still exist.

    The order is stable: by gadget, then toolchain.
    """
    merged = {r.key: r for r in (previous.artifacts if previous else [])}
    merged = {k: r for k, r in merged.items() if k[0] in gadgets and k[1] in toolchains}
    merged.update({r.key: keep_last_good(r, merged.get(r.key)) for r in new})
    return [merged[k] for k in sorted(merged)]


def keep_last_good(record: ArtifactRecord, previous: ArtifactRecord | None) -> ArtifactRecord:
    """``record``, holding the files of ``previous`` when it has none of its own and the
    previous build (or the one before it) succeeded."""
    if previous is None or record.status in {ArtifactStatus.BUILT, ArtifactStatus.CACHED}:
        return record
    kept: LastGood | None = previous.last_good
    if previous.status in {ArtifactStatus.BUILT, ArtifactStatus.CACHED}:
        kept = LastGood(
            source_hash=previous.source_hash,
            raw=previous.raw,
            stripped=previous.stripped,
            compressed=previous.compressed,
        )
    return record if kept is None else record.model_copy(update={"last_good": kept})


def differing_fields(one: Record, two: Record, prefix: str = "") -> list[str]:
    """The dotted names of the fields where two records of one model differ."""
    found = []
    for name in type(one).model_fields:
        a, b = getattr(one, name), getattr(two, name)
        if a == b:
            continue
        if isinstance(a, Record) and isinstance(b, Record) and type(a) is type(b):
            found += differing_fields(a, b, f"{prefix}{name}.")
        else:
            found.append(f"{prefix}{name}")
    return found


def merge_manifests(manifests: list[tuple[Path, Manifest]]) -> Manifest:
    """Join the manifests of shards into one.

    Refuses manifests made from different source revisions, and two records of the same
    artifact that disagree (the same record twice is fine).
    """
    revisions = {m.source_revision for _, m in manifests}
    if len(revisions) > 1:
        listing = ", ".join(f"{path}: {m.source_revision}" for path, m in manifests)
        raise ManifestError(f"the manifests come from different source revisions ({listing})")

    merged: dict[tuple[str, str], tuple[Path, ArtifactRecord]] = {}
    for path, manifest in manifests:
        for record in manifest.artifacts:
            seen = merged.get(record.key)
            if seen is not None and seen[1] != record:
                raise ManifestError(
                    f"{' × '.join(record.key)} has different records in {seen[0]} and {path} "
                    f"(they differ in {', '.join(differing_fields(seen[1], record))})",
                    path=path,
                )
            merged[record.key] = (path, record)

    first = manifests[0][1]
    return Manifest(
        gadgetbuild_version=first.gadgetbuild_version,
        source_revision=first.source_revision,
        artifacts=[merged[key][1] for key in sorted(merged)],
    )
