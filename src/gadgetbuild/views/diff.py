"""`diff`: what changed between two manifests, and the growth gate of the release.

:func:`diff_manifests` and :func:`growth_violations` are pure: records in, records out.
The release gate calls them as the CLI does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from gadgetbuild.manifest import ArtifactRecord, ArtifactStatus, Manifest, Record
from gadgetbuild.views.interface import InterfaceChange, interface_changes
from gadgetbuild.views.sizes import MEASURES, SHIPPED, artifact_sizes, percent_change
from gadgetbuild.views.verify import named_files

ArtifactChange = Literal["added", "removed", "changed", "unchanged"]


class SizeChange(Record):
    measure: str
    old: int | None
    new: int | None
    delta: int | None
    percent: float | None


class ArtifactDiff(Record):
    gadget: str
    toolchain: str
    change: ArtifactChange
    old_status: ArtifactStatus | None
    new_status: ArtifactStatus | None
    sizes: list[SizeChange]
    interface: list[InterfaceChange]


class GrowthViolation(Record):
    gadget: str
    toolchain: str
    measure: str
    old: int
    new: int
    percent: float
    limit: float

    def describe(self) -> str:
        return (
            f"{self.gadget} × {self.toolchain}: {self.measure} grew {self.percent:+.2f}% "
            f"({self.old} -> {self.new} bytes), over the {self.limit:g}% limit"
        )


def diff_manifests(old: Manifest, new: Manifest) -> list[ArtifactDiff]:
    """One diff per artifact in either manifest, ordered by gadget, then toolchain."""
    before = {r.key: r for r in old.artifacts}
    after = {r.key: r for r in new.artifacts}
    return [diff_artifact(before.get(key), after.get(key)) for key in sorted(before | after)]


def diff_artifact(old: ArtifactRecord | None, new: ArtifactRecord | None) -> ArtifactDiff:
    either = new or old
    if either is None:
        msg = "diff_artifact needs at least one record"
        raise ValueError(msg)

    old_sizes = artifact_sizes(old) if old else {}
    new_sizes = artifact_sizes(new) if new else {}
    sizes = [
        size_change(measure, old_sizes.get(measure), new_sizes.get(measure))
        for measure in MEASURES
        if old_sizes.get(measure) is not None or new_sizes.get(measure) is not None
    ]
    interface = interface_changes(
        old.exports if old else [],
        old.imports if old else [],
        new.exports if new else [],
        new.imports if new else [],
    )
    return ArtifactDiff(
        gadget=either.gadget,
        toolchain=either.toolchain.name,
        change=artifact_change(old, new, interface),
        old_status=old.status if old else None,
        new_status=new.status if new else None,
        sizes=sizes,
        interface=interface,
    )


def size_change(measure: str, old: int | None, new: int | None) -> SizeChange:
    delta = new - old if old is not None and new is not None else None
    percent = percent_change(old, new)
    return SizeChange(measure=measure, old=old, new=new, delta=delta, percent=percent)


def artifact_change(
    old: ArtifactRecord | None, new: ArtifactRecord | None, interface: list[InterfaceChange]
) -> ArtifactChange:
    if old is None:
        return "added"
    if new is None:
        return "removed"
    if not same_outcome(old.status, new.status) or interface or _digests(old) != _digests(new):
        return "changed"
    return "unchanged"


def same_outcome(old: ArtifactStatus | None, new: ArtifactStatus | None) -> bool:
    """Built and cached differ only in whether this run compiled: the same outcome."""
    return _OUTCOMES.get(old, old) == _OUTCOMES.get(new, new)


_OUTCOMES: dict[ArtifactStatus | None, ArtifactStatus | None] = {
    ArtifactStatus.CACHED: ArtifactStatus.BUILT
}


def _digests(record: ArtifactRecord) -> dict[str, str]:
    # Same bytes, same sizes: the file digests settle whether anything changed at all.
    return {role: file.sha256 for role, file in named_files(record)}


def growth_violations(diffs: Iterable[ArtifactDiff], limit: float) -> list[GrowthViolation]:
    """Each shipped size (stripped, compressed) that grew by more than ``limit`` percent."""
    violations = []
    for diff in diffs:
        for size in diff.sizes:
            old, new = size.old, size.new
            if size.measure not in SHIPPED or old is None or new is None or old == 0:
                continue
            # Exact arithmetic: the rounded percent could hide a growth just over the limit.
            if (new - old) * 100 > limit * old:
                violations.append(
                    GrowthViolation(
                        gadget=diff.gadget,
                        toolchain=diff.toolchain,
                        measure=size.measure,
                        old=old,
                        new=new,
                        percent=round((new - old) * 100 / old, 2),
                        limit=limit,
                    )
                )
    return violations
