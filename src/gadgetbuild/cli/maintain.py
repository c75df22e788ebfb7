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
from gadgetbuild.manifest import MANIFEST_NAME, merge_manifests, read_manifest, write_manifest

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
    loaded = [(path, read_manifest(path)) for path in manifests]
    merged = merge_manifests(loaded)
    for path, manifest in loaded:
        for record in manifest.artifacts:
            for file in (record.raw, record.stripped, *record.compressed):
                if file is None:
                    continue
                source, target = path.parent / file.path, out_dir / file.path
                if not source.is_file():
                    raise ManifestError(f"names {file.path}, which is missing", path=path)
                if source.resolve() != target.resolve():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
    write_manifest(merged, out_dir / MANIFEST_NAME)
    log.info("merged %d manifests into %s", len(loaded), out_dir / MANIFEST_NAME)


@cli.command()
@click.option("--max-size", help="Prune the oldest entries down to this size (500M, 2G).")
def clean(max_size: str | None) -> None:
    """Empty the build cache, or prune it to --max-size."""
    cache = BuildCache.default()
    removed, freed = cache.clean(parse_size(max_size) if max_size else None)
    log.info("removed %d cache entries (%.1f MB) from %s", removed, freed / 1e6, cache.root)


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)b?", text.strip().lower())
    if not match:
        raise UsageError(f"--max-size '{text}': expected a size such as 500M or 2G")
    return int(float(match[1]) * SIZE_UNITS[match[2]])
