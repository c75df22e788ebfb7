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

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gadgetbuild import __version__
from gadgetbuild.interrupts import deferred_signals
from gadgetbuild.manifest import (
    MANIFEST_NAME,
    OCI_FOLDER,
    PROVENANCE_NAME,
    ArtifactRecord,
    FileRecord,
    Manifest,
    write_atomic,
    write_manifest,
)
from gadgetbuild.outputs import put_in_place
from gadgetbuild.pipeline import BuildResult
from gadgetbuild.release.archive import (
    file_digests,
    release_files,
    rfc3339,
    write_sums,
    write_tarball,
)
from gadgetbuild.release.oci import ImageFacts, write_layout
from gadgetbuild.release.provenance import BuildFacts, provenance_statement
from gadgetbuild.specs import GadgetSpec

log = logging.getLogger(__name__)

DEBUG_FOLDER = "debug"


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
    """Assemble the folder and its archive in a staging folder of ``dist_dir``, then move
    both into place together; until then ``dist_dir`` holds what it held."""
    dist_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.staging-", dir=dist_dir))
    try:
        # Made by mkdir, not mkdtemp: the folder gets the mode the umask gives, not 0700.
        release = staging / version
        release.mkdir()
        records = [copy_artifact(built, r, release) for r in built.records]
        manifest = Manifest(
            gadgetbuild_version=__version__,
            source_revision=built.manifest.source_revision,
            artifacts=sorted(records, key=lambda r: r.key),
        )
        write_manifest(manifest, release / MANIFEST_NAME)

        image = ImageFacts(rfc3339(mtime), f"gadgetbuild {__version__}", facts.source_url)
        for record in records:
            module = (release / stripped_of(record).path).read_bytes()
            folder = release / OCI_FOLDER / record.toolchain.name / record.gadget
            write_layout(folder, gadgets[record.gadget], module, image, version)

        subjects = file_digests(release, release_files(release))
        write_atomic(release / PROVENANCE_NAME, provenance_statement(subjects, facts))
        write_sums(release)
        files = file_digests(release, release_files(release))
        archive = write_tarball(release, staging / f"{version}.tar.gz", mtime)

        folder, tarball = dist_dir / version, dist_dir / f"{version}.tar.gz"
        with deferred_signals():
            put_in_place([(release, folder), (archive, tarball)], staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if staging.exists():
            # What could not be removed (an immutable file of a replaced release) stays in
            # view: the dist folder is not left holding it unannounced.
            log.warning("%s: could not be removed entirely; delete it by hand", staging)
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
