"""`gadgetbuild merge` joins shard manifests; `gadgetbuild clean` empties or prunes the cache."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import click

from gadgetbuild.cache import BuildCache
from gadgetbuild.cli.group import EXIT_TABLE, cli, out_dir_option
from gadgetbuild.errors import ManifestError, UsageError
from gadgetbuild.manifest import (
    MANIFEST_NAME,
    FileRecord,
    Manifest,
    merge_manifests,
    write_manifest,
)
from gadgetbuild.views.sources import load_manifest
from gadgetbuild.views.verify import Problem, check_bytes, resolve_inside

log = logging.getLogger("gadgetbuild")

SIZE_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}


@cli.command(epilog=EXIT_TABLE)
@click.argument("manifests", nargs=-1, required=True, type=click.Path(path_type=Path))
@out_dir_option
def merge(manifests: tuple[Path, ...], out_dir: Path) -> None:
    """Join the manifests of shard builds (`build --shard i/n`) into one.

    Each manifest's files are copied beside the merged manifest in OUT.

    \b
    Example: gadgetbuild merge shard1/manifest.json shard2/manifest.json --out artifacts
    """
    loaded = [load_manifest(path) for path in manifests]
    merged = merge_manifests(loaded)
    copies = [planned_copy(path, file, out_dir) for path, m in loaded for file in files_of(m)]
    for source, target in copies:
        if source != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    write_manifest(merged, out_dir / MANIFEST_NAME)
    log.info("merged %d manifests into %s", len(loaded), out_dir / MANIFEST_NAME)


def files_of(manifest: Manifest) -> list[FileRecord]:
    return [file for record in manifest.artifacts for file in record.all_files()]


def planned_copy(manifest_path: Path, file: FileRecord, out_dir: Path) -> tuple[Path, Path]:
    """Where a named file comes from and goes to, refusing paths that leave either folder
    and files whose bytes differ from the record: checked before anything is copied."""
    source = resolve_inside(manifest_path.parent.resolve(), file.path)
    if isinstance(source, Problem):
        raise ManifestError(f"{file.path}: {source.message}", path=manifest_path)
    if out_dir.exists():
        target = resolve_inside(out_dir.resolve(), file.path)
        if isinstance(target, Problem):
            raise ManifestError(f"{file.path} in {out_dir}: {target.message}", path=manifest_path)
    problems = check_file_bytes(source, file)
    if problems:
        raise ManifestError(f"{file.path}: {problems}", path=manifest_path)
    return source, out_dir / file.path


def check_file_bytes(path: Path, file: FileRecord) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    return "; ".join(p.message for p in check_bytes(data, file))


@cli.command(epilog=EXIT_TABLE)
@click.option("--max-size", help="Prune the oldest entries down to this size (500M, 2G).")
def clean(max_size: str | None) -> None:
    """Empty the build cache, or prune it to --max-size."""
    cache = BuildCache.default()
    removed, freed = cache.clean(parse_size(max_size) if max_size is not None else None)
    log.info("removed %d cache entries (%.1f MB) from %s", removed, freed / 1e6, cache.root)


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)b?", text.strip().lower())
    if not match:
        raise UsageError(f"--max-size '{text}': expected a size such as 500M or 2G")
    return int(float(match[1]) * SIZE_UNITS[match[2]])
