"""The sizes every view compares: the raw module, the stripped one, each codec's file."""

from __future__ import annotations

from typing import get_args

from gadgetbuild.manifest import ArtifactRecord, Codec

CODEC_NAMES: tuple[str, ...] = get_args(Codec)
MEASURES: tuple[str, ...] = ("raw", "stripped", *CODEC_NAMES)
# What ships: the release gate watches these; the raw module is the debug artifact.
SHIPPED: tuple[str, ...] = ("stripped", *CODEC_NAMES)


def artifact_sizes(record: ArtifactRecord) -> dict[str, int | None]:
    """Each measure's size in bytes, ``None`` where the artifact has no such file."""
    sizes: dict[str, int | None] = {
        "raw": record.raw.size if record.raw else None,
        "stripped": record.stripped.size if record.stripped else None,
    }
    for codec in CODEC_NAMES:
        packed = next((c for c in record.compressed if c.codec == codec), None)
        sizes[codec] = packed.size if packed else None
    return sizes


def percent_change(old: int | None, new: int | None) -> float | None:
    """``new`` against ``old`` in percent, rounded to 0.01; ``None`` when there is no base."""
    if old is None or new is None or old == 0:
        return None
    return round((new - old) * 100 / old, 2)


def ratio(size: int | None, base: int | None) -> float | None:
    if size is None or base is None or base == 0:
        return None
    return round(size / base, 3)
