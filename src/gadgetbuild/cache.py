"""The content-addressed build cache: an artifact whose inputs are unchanged is not rebuilt.

An entry is keyed by everything that shapes an artifact's files and record (DESIGN stage
2): the build context's hash, the toolchain's identity, the build argv and environment,
the ABI contract, the codec levels and gadgetbuild's own version. It holds the artifact's
files and its record; a hit copies the files back, checked against their sha256.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from gadgetbuild import __version__
from gadgetbuild.compress import CODECS
from gadgetbuild.manifest import ArtifactRecord, ArtifactStatus, FileRecord, write_atomic
from gadgetbuild.paths import cache_dir
from gadgetbuild.plan import Artifact
from gadgetbuild.wasm import AbiContract

CACHE_FORMAT = 1
RECORD_NAME = "record.json"


def cache_key(
    artifact: Artifact,
    record_identity: dict[str, object],
    source_hash: str,
    contract: AbiContract,
    *,
    smoke: bool = True,
) -> str:
    """sha256 of every input of the artifact, as canonical JSON.

    ``smoke`` is part of it: a record built with ``--no-smoke`` holds no smoke result, so
    a build that runs the smoke stage must not take it from the cache.
    """
    build = artifact.toolchain.build
    inputs = {
        "format": CACHE_FORMAT,
        "gadgetbuild": __version__,
        "gadget": artifact.gadget.model_dump(mode="json"),
        "source": source_hash,
        "toolchain": record_identity,
        "argv": build.argv,
        "env": build.env,
        "cache_env": sorted(build.cache_env),
        "contract": contract.model_dump(mode="json"),
        "codecs": [(c.codec, c.level) for c in CODECS],
        "smoke": smoke,
    }
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class BuildCache:
    root: Path

    @classmethod
    def default(cls) -> BuildCache:
        return cls(cache_dir() / "builds")

    def entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def restore(self, key: str, staging: Path) -> ArtifactRecord | None:
        """Copy a cached artifact's files into ``staging``; None on a miss or a bad entry."""
        folder = self.entry(key)
        try:
            record = ArtifactRecord.model_validate_json((folder / RECORD_NAME).read_bytes())
        except (OSError, ValidationError):
            return None

        for file in files_of(record):
            data = read_if_intact(folder / Path(file.path).name, file)
            if data is None:
                return None
            write_atomic(staging / file.path, data)
        return record.model_copy(update={"status": ArtifactStatus.CACHED, "timings_ms": {}})

    def store(self, key: str, record: ArtifactRecord, staging: Path) -> None:
        """Save a built artifact; a half-written entry is never visible (rename at the end)."""
        folder = self.entry(key)
        if folder.is_dir():
            return

        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}.", dir=folder.parent))
        try:
            for file in files_of(record):
                shutil.copyfile(staging / file.path, tmp / Path(file.path).name)
            (tmp / RECORD_NAME).write_text(record.model_dump_json(exclude_none=True))
            tmp.replace(folder)
        except OSError:
            # A concurrent build stored the same key first, or the disk is full: the cache
            # is an optimisation, the build goes on without this entry.
            shutil.rmtree(tmp, ignore_errors=True)

    def clean(self, max_bytes: int | None = None) -> tuple[int, int]:
        """Remove entries, oldest first, until at most ``max_bytes`` remain (all if None).

        Returns the number of entries removed and the bytes freed.
        """
        entries = sorted(
            (p for p in self.root.glob("??/*") if p.is_dir()), key=lambda p: p.stat().st_mtime
        )
        sizes = {p: sum(f.stat().st_size for f in p.iterdir()) for p in entries}
        total = sum(sizes.values())
        removed = freed = 0
        for entry in entries:
            if max_bytes is not None and total - freed <= max_bytes:
                break
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
            freed += sizes[entry]
        return removed, freed


def files_of(record: ArtifactRecord) -> list[FileRecord]:
    return [f for f in (record.raw, record.stripped, *record.compressed) if f is not None]


def read_if_intact(path: Path, expected: FileRecord) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) != expected.size or hashlib.sha256(data).hexdigest() != expected.sha256:
        return None
    return data
