"""``dist/<version>/``: the release folder, assembled in a staging folder and moved into place.

```
dist/<version>/
  manifest.json                      the records, with release paths and no timings
  <toolchain>/<gadget>.wasm[.gz|.zst|.br]   stripped modules and their compressed forms
  debug/<toolchain>/<gadget>.debug.wasm     the raw modules, debug information kept
  oci/<toolchain>/<gadget>/          one OCI image layout per artifact
  provenance.json                    in-toto Statement, SLSA Provenance predicate
  SHA256SUMS                         every other file
dist/<version>.tar.gz
```
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gadgetbuild import __version__
from gadgetbuild.manifest import (
    MANIFEST_NAME,
    ArtifactRecord,
    FileRecord,
    Manifest,
    write_atomic,
    write_manifest,
)
from gadgetbuild.pipeline import BuildResult
from gadgetbuild.release.archive import (
    file_digests,
    release_files,
    rfc3339,
    write_sums,
    write_tarball,
)
from gadgetbuild.release.oci import ImageFacts, write_layout
from gadgetbuild.release.provenance import PROVENANCE_NAME, BuildFacts, provenance_statement
from gadgetbuild.specs import GadgetSpec

DEBUG_FOLDER = "debug"
OCI_FOLDER = "oci"


@dataclass(frozen=True, slots=True)
class ReleaseFolder:
    folder: Path
    tarball: Path
    manifest: Manifest
    files: dict[str, str]  # path -> sha256, every file of the folder


def write_release(
    built: BuildResult,
    gadgets: dict[str, GadgetSpec],
    facts: BuildFacts,
    dist_dir: Path,
    version: str,
    mtime: int,
) -> ReleaseFolder:
    """Assemble the release beside ``dist_dir/version``, then put it in that folder's place."""
    dist_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.staging-", dir=dist_dir))
    try:
        records = [copy_artifact(built, r, staging) for r in built.records]
        manifest = Manifest(
            gadgetbuild_version=__version__,
            source_revision=built.manifest.source_revision,
            artifacts=sorted(records, key=lambda r: r.key),
        )
        write_manifest(manifest, staging / MANIFEST_NAME)

        image = ImageFacts(rfc3339(mtime), f"gadgetbuild {__version__}", facts.source_url)
        for record in records:
            module = (staging / stripped_of(record).path).read_bytes()
            folder = staging / OCI_FOLDER / record.toolchain.name / record.gadget
            write_layout(folder, gadgets[record.gadget], module, image, version)

        subjects = file_digests(staging, release_files(staging))
        write_atomic(staging / PROVENANCE_NAME, provenance_statement(subjects, facts))
        write_sums(staging)
        files = file_digests(staging, release_files(staging))

        folder = dist_dir / version
        replace_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    tarball = write_tarball(folder, dist_dir / f"{version}.tar.gz", mtime)
    return ReleaseFolder(folder, tarball, manifest, files)


def copy_artifact(built: BuildResult, record: ArtifactRecord, staging: Path) -> ArtifactRecord:
    """The artifact's files at their release paths; its record pointed there, timings dropped
    (a release must be the same bytes on every run)."""
    source = built.manifest_path.parent
    toolchain = record.toolchain.name

    def moved(file: FileRecord, target: str) -> FileRecord:
        shutil.copyfile(source / file.path, staging / target)
        return file.model_copy(update={"path": target})

    (staging / DEBUG_FOLDER / toolchain).mkdir(parents=True, exist_ok=True)
    (staging / toolchain).mkdir(parents=True, exist_ok=True)
    raw = record.raw
    stripped = stripped_of(record)
    return record.model_copy(
        update={
            "raw": moved(raw, f"{DEBUG_FOLDER}/{toolchain}/{Path(raw.path).name}") if raw else None,
            "stripped": moved(stripped, f"{toolchain}/{Path(stripped.path).name}"),
            "compressed": [moved(c, f"{toolchain}/{Path(c.path).name}") for c in record.compressed],
            "timings_ms": {},
        }
    )


def stripped_of(record: ArtifactRecord) -> FileRecord:
    if record.stripped is None:
        msg = f"{' × '.join(record.key)} has no stripped module: only built artifacts ship"
        raise ValueError(msg)
    return record.stripped


def replace_folder(staging: Path, folder: Path) -> None:
    """Put ``staging`` at ``folder``, the previous release of that version moved aside first."""
    if folder.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
        folder.replace(old / folder.name)
        staging.replace(folder)
        shutil.rmtree(old, ignore_errors=True)
        return
    staging.replace(folder)
