"""`compare`: per gadget, each toolchain's sizes side by side and their ratio to a baseline."""

from __future__ import annotations

from gadgetbuild.errors import UsageError
from gadgetbuild.manifest import ArtifactStatus, Manifest, Record
from gadgetbuild.views.sizes import MEASURES, artifact_sizes, ratio


class ToolchainSizes(Record):
    toolchain: str
    status: ArtifactStatus | None
    compiler: str | None
    sizes: dict[str, int | None]
    ratio: dict[str, float | None]


class GadgetComparison(Record):
    gadget: str
    baseline: str
    toolchains: list[ToolchainSizes]


def toolchain_order(manifest: Manifest, baseline: str | None) -> list[str]:
    """The baseline (by default the first toolchain by name) first, then the others by name."""
    names = sorted({r.toolchain.name for r in manifest.artifacts})
    if baseline is None:
        return names
    if baseline not in names:
        known = ", ".join(names) or "none"
        raise UsageError(f"no toolchain {baseline!r} in the manifest (it has {known})")
    return [baseline, *(name for name in names if name != baseline)]


def compare_toolchains(manifest: Manifest, baseline: str | None = None) -> list[GadgetComparison]:
    """One comparison per gadget, its toolchains in :func:`toolchain_order`."""
    order = toolchain_order(manifest, baseline)
    records = {r.key: r for r in manifest.artifacts}
    comparisons = []
    for gadget in sorted({r.gadget for r in manifest.artifacts}):
        base = records.get((gadget, order[0]))
        base_sizes = artifact_sizes(base) if base else {}
        columns = []
        for name in order:
            record = records.get((gadget, name))
            sizes = artifact_sizes(record) if record else dict.fromkeys(MEASURES)
            columns.append(
                ToolchainSizes(
                    toolchain=name,
                    status=record.status if record else None,
                    compiler=record.toolchain.compiler if record else None,
                    sizes=sizes,
                    ratio={m: ratio(sizes[m], base_sizes.get(m)) for m in MEASURES},
                )
            )
        comparisons.append(GadgetComparison(gadget=gadget, baseline=order[0], toolchains=columns))
    return comparisons
