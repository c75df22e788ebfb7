"""The provenance: an in-toto Statement v1 whose predicate is SLSA Provenance v1.

Subjects are the release's files by sha256. The resolved dependencies are what the bytes
came from: the source commit, each gadget's build-context hash, each toolchain's image
digest or offline recipe hash, and the pinned wheel the offline image was built from. No
time and no host name goes in, so the statement is the same on every run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gadgetbuild import __version__
from gadgetbuild.manifest import ArtifactRecord, ToolchainIdentity
from gadgetbuild.specs import ToolchainSpec

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
# The build's template: what the external parameters below mean (the README's release section).
BUILD_TYPE = "urn:gadgetbuild:release:v1"
BUILDER_ID = f"pkg:pypi/gadgetbuild@{__version__}"

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class BuildFacts:
    """What the release was asked for and built from."""

    command: list[str]
    source_revision: str | None
    source_url: str
    records: list[ArtifactRecord]
    toolchains: dict[str, ToolchainSpec]


def provenance_statement(subjects: dict[str, str], facts: BuildFacts) -> bytes:
    """The statement for ``subjects`` (path -> sha256), as JSON with sorted keys."""
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": n, "digest": {"sha256": d}} for n, d in sorted(subjects.items())],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external_parameters(facts),
                "resolvedDependencies": resolved_dependencies(facts),
            },
            "runDetails": {"builder": {"id": BUILDER_ID, "version": {"gadgetbuild": __version__}}},
        },
    }
    return (json.dumps(statement, indent=2, sort_keys=True) + "\n").encode()


def external_parameters(facts: BuildFacts) -> Json:
    """The release's command line and, per toolchain, the compile's argv and environment."""
    used = sorted({r.toolchain.name for r in facts.records})
    return {
        "command": facts.command,
        "gadgets": sorted({r.gadget for r in facts.records}),
        "toolchains": {
            name: {
                "argv": facts.toolchains[name].build.argv,
                "env": facts.toolchains[name].build.env,
            }
            for name in used
        },
    }


def resolved_dependencies(facts: BuildFacts) -> list[Json]:
    found = [source_dependency(facts.source_revision, facts.source_url)]
    found.extend(
        {"name": f"gadgets/{r.gadget}", "digest": {"sha256": r.source_hash}}
        for r in unique_by(facts.records, lambda r: r.gadget)
        if r.source_hash
    )
    for record in unique_by(facts.records, lambda r: r.toolchain.name):
        found.extend(toolchain_dependencies(record.toolchain, facts.toolchains[record.key[1]]))
    return found


def source_dependency(revision: str | None, url: str) -> Json:
    commit = (revision or "").removesuffix("-dirty")
    found: Json = {"name": "source"}
    if url:
        found["uri"] = f"git+{url}@{commit}" if commit else url
    if commit:
        found["digest"] = {"gitCommit": commit}
    if revision is None or revision.endswith("-dirty"):
        # Said plainly: these bytes are not that commit's alone.
        found["annotations"] = {"dirty": revision is not None, "inGit": revision is not None}
    return found


def toolchain_dependencies(identity: ToolchainIdentity, spec: ToolchainSpec) -> list[Json]:
    """The image by digest, or the offline image by recipe hash and its wheel by sha256."""
    notes = {"backend": identity.backend, "compiler": identity.compiler, "version": spec.version}
    image: Json = {
        "name": f"toolchains/{spec.name}",
        "annotations": {k: v for k, v in notes.items() if v},
    }
    if identity.image:
        image["uri"] = identity.image
    if identity.digest:
        image["digest"] = {"sha256": identity.digest.rpartition("sha256:")[2]}
    elif identity.recipe_hash:
        image["digest"] = {"sha256": identity.recipe_hash.removeprefix("sha256:")}
        image["annotations"]["digestOf"] = "offline image recipe"
    found = [image]

    if identity.recipe_hash and spec.offline is not None:
        name, _, version = spec.offline.wheel.partition("==")
        found.append(
            {
                "name": f"toolchains/{spec.name}/wheel",
                "uri": f"pkg:pypi/{name}@{version}",
                "digest": {"sha256": spec.offline.wheel_sha256},
            }
        )
    return found


def unique_by(
    records: list[ArtifactRecord], key: Callable[[ArtifactRecord], str]
) -> list[ArtifactRecord]:
    seen: dict[str, ArtifactRecord] = {}
    for record in records:
        seen.setdefault(key(record), record)
    return [seen[k] for k in sorted(seen)]
