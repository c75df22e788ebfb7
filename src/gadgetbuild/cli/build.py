"""`gadgetbuild build` and `gadgetbuild schema`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gadgetbuild import render
from gadgetbuild.cache import BuildCache
from gadgetbuild.cli.group import (
    EXIT_TABLE,
    cli,
    gadgets_dir_option,
    jobs_option,
    out_dir_option,
    toolchains_dir_option,
)
from gadgetbuild.errors import EnvironmentUnavailableError, FailureError
from gadgetbuild.manifest import ArtifactRecord, ArtifactStatus, Manifest
from gadgetbuild.pipeline import BuildOptions, run_build
from gadgetbuild.plan import Shard, make_plan
from gadgetbuild.schemas import stale_schemas, update_readme, write_schemas

if TYPE_CHECKING:
    from gadgetbuild.toolchains.provision import BackendChoice

log = logging.getLogger("gadgetbuild")


@cli.command(epilog=EXIT_TABLE)
@gadgets_dir_option
@toolchains_dir_option
@out_dir_option
@click.option("--gadget", "gadgets", multiple=True, help="Build only this gadget (repeatable).")
@click.option(
    "--toolchain",
    "toolchains",
    multiple=True,
    help="Build only with this toolchain (repeatable); it must then be available.",
)
@click.option("--shard", help="Build the i-th of n stable shares of the matrix, as i/n.")
@jobs_option
@click.option(
    "--backend",
    type=click.Choice(["auto", "docker", "local"]),
    default="auto",
    show_default=True,
    help="Where compiles run; auto takes Docker when an engine answers and the image "
    "can be provisioned, else a local compiler.",
)
@click.option("--no-cache", is_flag=True, help="Rebuild every artifact; the cache is not read.")
@click.option(
    "--no-smoke",
    is_flag=True,
    help="Skip the smoke stage: the modules are not run in wasmtime on their scenario.",
)
@click.option(
    "--no-wait", is_flag=True, help="Fail at once when another build holds the artifacts folder."
)
@click.option("--strict", is_flag=True, help="An unavailable toolchain is an error (exit 3).")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON instead.")
def build(
    gadgets_dir: Path,
    toolchains_dir: Path,
    out_dir: Path,
    gadgets: tuple[str, ...],
    toolchains: tuple[str, ...],
    shard: str | None,
    jobs: int,
    backend: BackendChoice,
    no_cache: bool,
    no_smoke: bool,
    no_wait: bool,
    strict: bool,
    as_json: bool,
) -> None:
    """Build every gadget with every toolchain.

    \b
    Example: build one gadget with Go 1.24 and print its record:
      gadgetbuild build --gadget hello --toolchain go-1.24 --json
    """
    plan = make_plan(
        gadgets_dir,
        toolchains_dir,
        only_gadgets=gadgets,
        only_toolchains=toolchains,
        shard=Shard.parse(shard) if shard else None,
    )
    # Imported here: the engine client it loads costs every other command its start-up time.
    from gadgetbuild.toolchains.provision import provision_toolchains  # noqa: PLC0415

    specs = {a.toolchain.name: a.toolchain for a in plan.artifacts}
    provisioned = provision_toolchains(specs, backend, toolchains_dir=toolchains_dir)
    with render.BuildProgress(plan.artifacts, enabled=not as_json) as progress:
        options = BuildOptions(
            out_dir,
            jobs=jobs,
            on_event=progress.on_event,
            cache=None if no_cache else BuildCache.default(),
            wait=not no_wait,
            smoke=not no_smoke,
        )
        result = run_build(plan, provisioned, options)

    if as_json:
        click.echo(render.records_json(result.records))
    else:
        render.stdout.print(render.build_summary(result.records))
        render.failure_details(result.records)
        log.info("manifest: %s", result.manifest_path)
    raise_for_records(result.records, result.manifest, strict=strict or bool(toolchains))


def raise_for_records(
    records: tuple[ArtifactRecord, ...], manifest: Manifest, *, strict: bool
) -> None:
    statuses = [r.status for r in records]
    failed = statuses.count(ArtifactStatus.FAILED)
    if failed:
        rebuilt = {r.key for r in records}
        kept = [" × ".join(r.key) for r in manifest.artifacts if r.last_good and r.key in rebuilt]
        hint = f"the last good files stay in place for {', '.join(kept)}" if kept else ""
        raise FailureError(f"{failed} of {len(records)} artifacts failed", hint=hint)

    unavailable = statuses.count(ArtifactStatus.UNAVAILABLE)
    if unavailable and strict:
        raise EnvironmentUnavailableError(
            f"{unavailable} artifact{'s have' if unavailable > 1 else ' has'} an unavailable "
            "toolchain",
            hint="see the reason column; drop --strict or --toolchain to build the others",
        )


@cli.command(epilog=EXIT_TABLE)
@click.option(
    "--out",
    "folder",
    type=click.Path(path_type=Path),
    default=Path("schemas"),
    show_default=True,
    help="Folder of the JSON Schemas.",
)
@click.option(
    "--readme",
    type=click.Path(path_type=Path),
    default=Path("README.md"),
    show_default=True,
    help="README whose spec field references are regenerated.",
)
@click.option("--check", is_flag=True, help="Exit 1 when a committed schema is stale.")
def schema(folder: Path, readme: Path, check: bool) -> None:
    """Write the JSON Schemas of the manifest and spec files, generated from the models."""
    if not check:
        for path in write_schemas(folder):
            log.info("wrote %s", path)
        if readme.is_file() and update_readme(readme):
            log.info("updated the field references in %s", readme)
        return

    stale = stale_schemas(folder)
    if stale:
        raise FailureError(
            f"stale schemas: {', '.join(stale)}", path=folder, hint="run `gadgetbuild schema`"
        )
