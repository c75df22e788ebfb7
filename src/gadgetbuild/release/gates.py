"""The release gates: each artifact's sizes against its budget, and against the baseline.

The growth gate is the one `gadgetbuild diff --fail-on-growth` applies (``views.diff``): the
release calls the same functions, so the two can never disagree on what grew.
"""

from __future__ import annotations

from typing import Literal

from gadgetbuild.manifest import ArtifactRecord, Manifest, Record
from gadgetbuild.specs import GadgetSpec
from gadgetbuild.views.diff import diff_manifests, growth_violations
from gadgetbuild.views.sizes import SHIPPED, artifact_sizes

# Percent a shipped size may grow over the baseline release before the release fails.
DEFAULT_MAX_GROWTH = 5.0

GateName = Literal["budget", "growth"]


class GateFailure(Record):
    """One limit an artifact passed: which gate, which size, the limit and the value."""

    gate: GateName
    gadget: str
    toolchain: str
    measure: str
    limit: str
    value: str
    message: str


class GateReport(Record):
    failures: list[GateFailure]
    notes: list[str]


def check_gates(
    records: list[ArtifactRecord],
    gadgets: dict[str, GadgetSpec],
    baseline: Manifest | None,
    max_growth: float,
) -> GateReport:
    """Both gates over ``records``; ``notes`` says what was not checked, and why."""
    failures, notes = budget_failures(records, gadgets)
    if baseline is None:
        notes.append("growth gate skipped: no --baseline manifest given")
    else:
        release = Manifest(gadgetbuild_version="", artifacts=records)
        # Only the artifacts of this release: one the baseline has and this release does not
        # build is not a growth.
        keys = {r.key for r in records}
        before = baseline.model_copy(
            update={"artifacts": [r for r in baseline.artifacts if r.key in keys]}
        )
        failures.extend(growth_failures(before, release, max_growth))
    return GateReport(failures=failures, notes=notes)


def budget_failures(
    records: list[ArtifactRecord], gadgets: dict[str, GadgetSpec]
) -> tuple[list[GateFailure], list[str]]:
    failures: list[GateFailure] = []
    notes: list[str] = []
    for record in records:
        budget = gadgets[record.gadget].budgets.get(record.toolchain.name)
        if budget is None:
            notes.append(f"{' × '.join(record.key)}: no budget in gadget.toml, sizes not limited")
            continue
        sizes = artifact_sizes(record)
        for measure in SHIPPED:
            limit: int | None = getattr(budget, measure)
            size = sizes.get(measure)
            if limit is None or size is None or size <= limit:
                continue
            failures.append(
                GateFailure(
                    gate="budget",
                    gadget=record.gadget,
                    toolchain=record.toolchain.name,
                    measure=measure,
                    limit=f"{limit} bytes",
                    value=f"{size} bytes",
                    message=f"{record.gadget} × {record.toolchain.name}: {measure} is {size} "
                    f"bytes, over its budget of {limit} bytes ({size - limit} bytes over; "
                    f'[budgets."{record.toolchain.name}"] in {record.gadget}/gadget.toml)',
                )
            )
    return failures, notes


def growth_failures(baseline: Manifest, release: Manifest, limit: float) -> list[GateFailure]:
    violations = growth_violations(diff_manifests(baseline, release), limit)
    return [
        GateFailure(
            gate="growth",
            gadget=v.gadget,
            toolchain=v.toolchain,
            measure=v.measure,
            limit=f"{limit:g}%",
            value=f"{v.percent:+.2f}%",
            message=v.describe(),
        )
        for v in violations
    ]
