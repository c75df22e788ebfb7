"""The release's two builds: a strict one with no build cache, then a reproduction.

The reproduction compiles every artifact again from a copy of the sources at another path on
the host, into another folder in the container, with compiler caches of its own, and the raw
modules must come out the same to the byte. A toolchain that lets the path or the build's
moment reach the module fails here, with the first section that differs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from pathlib import Path

from gadgetbuild.context import build_context
from gadgetbuild.errors import EnvironmentUnavailableError, FailureError
from gadgetbuild.manifest import ArtifactRecord, ArtifactStatus, Record
from gadgetbuild.pipeline import BuildOptions, BuildResult, Provisioned, run_build
from gadgetbuild.plan import Artifact, Plan
from gadgetbuild.specs import ToolchainSpec
from gadgetbuild.toolchains import Unavailable
from gadgetbuild.toolchains.docker import DockerCompiler
from gadgetbuild.toolchains.local import LocalCompiler, compile_env
from gadgetbuild.wasm import read_module

# Inside the container, the reproduction's sources sit beside the first build's, not on them.
REPRODUCE_SOURCE_ROOT = "/gadgetbuild/reproduce/src"
# The reproduction's compiler caches: a sub-folder of the toolchain's cache, so nothing the
# first build compiled is reused by the second.
REPRODUCE_CACHE = "reproduce"


class Mismatch(Record):
    """An artifact whose two builds differ: the raw modules' digests and where they part."""

    gadget: str
    toolchain: str
    first_sha256: str
    second_sha256: str
    section: str

    def describe(self) -> str:
        return (
            f"{self.gadget} × {self.toolchain}: not reproducible, the raw modules differ "
            f"(sha256 {self.first_sha256[:12]}… then {self.second_sha256[:12]}…), "
            f"first in section {self.section}"
        )


def require_available(provisioned: dict[str, Provisioned]) -> None:
    """A release builds every toolchain asked for, or none: an unavailable one stops it."""
    missing = {n: p for n, p in provisioned.items() if isinstance(p, Unavailable)}
    if not missing:
        return

    listing = "; ".join(f"{name}: {p.message}" for name, p in sorted(missing.items()))
    raise EnvironmentUnavailableError(
        f"toolchains unavailable for the release: {listing}",
        hint="provision them (`gadgetbuild toolchains`), or release the others with "
        "--toolchain NAME (this machine: --toolchain go-1.24)",
    )


def build_strict(
    plan: Plan, provisioned: dict[str, Provisioned], out_dir: Path, options: BuildOptions
) -> BuildResult:
    """Every artifact built now (no cache), smoke-tested; any failure stops the release."""
    options = dataclasses.replace(options, out_dir=out_dir, cache=None)
    result = run_build(plan, provisioned, options)
    raise_for_failures(result.records)
    return result


def raise_for_failures(records: tuple[ArtifactRecord, ...]) -> None:
    failed = [r for r in records if r.status is not ArtifactStatus.BUILT]
    if failed:
        listing = "; ".join(f"{' × '.join(r.key)}: {r.reason or r.status}" for r in failed)
        raise FailureError(f"{len(failed)} of {len(records)} artifacts did not build: {listing}")


def reproduce(
    plan: Plan,
    provisioned: dict[str, Provisioned],
    work: Path,
    options: BuildOptions,
) -> BuildResult:
    """The second build: the sources copied under ``work``, compiled at another path."""
    moved = copy_sources(plan, work / "elsewhere")
    again = {name: relocated(compiler) for name, compiler in provisioned.items()}
    options = dataclasses.replace(options, out_dir=work / "second", cache=None, smoke=False)
    result = run_build(moved, again, options)
    raise_for_failures(result.records)
    return result


def copy_sources(plan: Plan, target: Path) -> Plan:
    """Copy every artifact's build context under ``target``, keeping their relative places
    (so `replace ../_shared` still leads home), and return the plan pointed at the copy."""
    contexts = {a.gadget_dir: build_context(a.gadget_dir) for a in plan.artifacts}
    base = Path(os.path.commonpath([c.base for c in contexts.values()]))
    for context in contexts.values():
        for path in context.files():
            copy = target / path.relative_to(base)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
            shutil.copymode(path, copy)

    artifacts = tuple(
        Artifact(a.gadget, target / a.gadget_dir.resolve().relative_to(base), a.toolchain)
        for a in plan.artifacts
    )
    return dataclasses.replace(plan, artifacts=artifacts)


def relocated(provisioned: Provisioned) -> Provisioned:
    """The same toolchain, with its sources elsewhere in the container and its own caches."""
    if isinstance(provisioned, DockerCompiler):
        spec = own_caches(provisioned.spec)
        return dataclasses.replace(provisioned, spec=spec, source_root=REPRODUCE_SOURCE_ROOT)
    if isinstance(provisioned, LocalCompiler):
        spec = own_caches(provisioned.spec)
        env = compile_env(spec, provisioned.executable)
        return dataclasses.replace(provisioned, spec=spec, env=env)
    return provisioned


def own_caches(spec: ToolchainSpec) -> ToolchainSpec:
    cache_env = {var: f"{REPRODUCE_CACHE}/{sub}" for var, sub in spec.build.cache_env.items()}
    build = spec.build.model_copy(update={"cache_env": cache_env})
    return spec.model_copy(update={"build": build})


def compare_builds(first: BuildResult, second: BuildResult) -> list[Mismatch]:
    """Each artifact whose raw modules differ, with the first section where they do."""
    again = {r.key: r for r in second.records}
    mismatches = []
    for record in first.records:
        other = again[record.key]
        if record.raw is None or other.raw is None or record.raw.sha256 == other.raw.sha256:
            continue
        one = (first.manifest_path.parent / record.raw.path).read_bytes()
        two = (second.manifest_path.parent / other.raw.path).read_bytes()
        mismatches.append(
            Mismatch(
                gadget=record.gadget,
                toolchain=record.toolchain.name,
                first_sha256=hashlib.sha256(one).hexdigest(),
                second_sha256=hashlib.sha256(two).hexdigest(),
                section=first_difference(one, two),
            )
        )
    return mismatches


def first_difference(one: bytes, two: bytes) -> str:
    """The name of the first section, in module order, whose id or payload differs."""
    left, right = read_module(one).sections, read_module(two).sections
    for a, b in zip(left, right, strict=False):
        if a.name != b.name:
            return f"{a.name} (the other module has {b.name} there)"
        if one[a.offset : a.end] != two[b.offset : b.end]:
            return a.name
    if len(left) != len(right):
        longer = left if len(left) > len(right) else right
        return f"{longer[min(len(left), len(right))].name} (in one module only)"
    return "(none: the sections match, the bytes between them differ)"
