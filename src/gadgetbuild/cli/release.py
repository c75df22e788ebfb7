"""`gadgetbuild release`: a verifiable, reproducible release in `dist/<version>/`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
from rich.table import Table

from gadgetbuild import render
from gadgetbuild.cli.group import (
    EXIT_TABLE,
    Percent,
    cli,
    gadgets_dir_option,
    jobs_option,
    toolchains_dir_option,
)
from gadgetbuild.errors import UsageError
from gadgetbuild.git import git_output
from gadgetbuild.pipeline import StageEvent
from gadgetbuild.release import DEFAULT_MAX_GROWTH, ReleaseRequest, ReleaseResult, run_release
from gadgetbuild.release.run import check_version
from gadgetbuild.release.source_url import public_url
from gadgetbuild.toolchains.provision import BackendChoice

log = logging.getLogger("gadgetbuild")


@cli.command(epilog=EXIT_TABLE, short_help="Build, prove, gate and package a release.")
@click.option("--version", "version", required=True, help="The release's version: dist/VERSION/.")
@gadgets_dir_option
@toolchains_dir_option
@click.option(
    "--dist",
    "dist_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Folder of the releases.",
)
@click.option("--gadget", "gadgets", multiple=True, help="Release only this gadget (repeatable).")
@click.option(
    "--toolchain",
    "toolchains",
    multiple=True,
    help="Release only this toolchain (repeatable); default: all, each must be available.",
)
@click.option(
    "--baseline",
    type=click.Path(exists=True, path_type=Path),
    help="The previous release's manifest (or its folder), for the growth gate.",
)
@click.option(
    "--max-growth",
    type=Percent(),
    default=DEFAULT_MAX_GROWTH,
    show_default=True,
    metavar="PCT",
    help="Growth gate: a stripped or compressed size may grow this many percent.",
)
@click.option(
    "--backend",
    type=click.Choice(["docker", "local"]),
    default="docker",
    show_default=True,
    help="Where compiles run; `local` is for trying a release where no engine runs.",
)
@click.option(
    "--source-url",
    default=None,
    help="The sources' home, for the image annotations and the provenance "
    "[default: git remote origin's URL, else none].",
)
@jobs_option
@click.option("--replace", is_flag=True, help="Write over an existing release of this version.")
@click.option(
    "--allow-dirty",
    is_flag=True,
    help="Release gadgets whose files differ from their git commit (the provenance says so).",
)
@click.option("--json", "as_json", is_flag=True, help="Print every released file as JSON.")
def release(
    version: str,
    gadgets_dir: Path,
    toolchains_dir: Path,
    dist_dir: Path,
    gadgets: tuple[str, ...],
    toolchains: tuple[str, ...],
    baseline: Path | None,
    max_growth: float,
    backend: BackendChoice,
    source_url: str | None,
    jobs: int,
    replace: bool,
    allow_dirty: bool,
    as_json: bool,
) -> None:
    """Build every gadget with every toolchain in Docker with no cache, build each again
    from a copy of its sources at another path and require the same bytes, hold the sizes
    to the budgets of gadget.toml and (with --baseline) to --max-growth, then write
    dist/VERSION/ (modules, debug/, manifest.json, oci/ layouts, provenance.json,
    SHA256SUMS) and dist/VERSION.tar.gz. A failure writes nothing. A version already in
    the dist folder, and gadgets whose files differ from their git commit, are refused
    before any work (--replace, --allow-dirty).

    \b
    Example: release what this machine can build (TinyGo has no image here):
      gadgetbuild release --version 0.2.0 --toolchain go-1.24 \\
          --baseline dist/0.1.0/manifest.json
    """
    check_version(version)  # before the origin remote is read, and perhaps warned about
    url = release_source_url(source_url, gadgets_dir)
    request = ReleaseRequest(
        version=version,
        gadgets_dir=gadgets_dir,
        toolchains_dir=toolchains_dir,
        dist_dir=dist_dir,
        gadgets=gadgets,
        toolchains=toolchains,
        baseline=baseline,
        max_growth=max_growth,
        backend=backend,
        source_url=url,
        jobs=jobs,
        replace=replace,
        allow_dirty=allow_dirty,
        on_event=log_stage,
        on_step=lambda step, seconds: log.info("%-10s done in %6.1f s", step, seconds),
        on_note=lambda note: log.warning("%s", note),
    )
    result = run_release(request)

    if as_json:
        click.echo(json.dumps(result.release.files, indent=2))
        return
    render.stdout.print(release_table(result))
    log.info("release: %s and %s", result.release.folder, result.release.tarball)


def release_source_url(given: str | None, gadgets_dir: Path) -> str:
    """--source-url checked (empty: none), else the origin remote when it is a public URL."""
    if given is not None:
        url = public_url(given)
        if given and url is None:
            raise UsageError(
                f"--source-url '{given}': expected an https, http, ssh or git URL with a host, "
                "such as https://example.org/gadgets (or '' for none)"
            )
        return url or ""

    origin = git_output(gadgets_dir, "remote", "get-url", "origin")
    if not origin:
        return ""
    url = public_url(origin)
    if url is None:
        log.warning(
            "the origin remote (%s) is no URL anyone can open: the release names no source "
            "URL; pass --source-url to name one",
            origin,
        )
    return url or ""


def log_stage(event: StageEvent) -> None:
    if event.record is not None:
        log.info("%s: %s", event.artifact.label, event.record.status)
    else:
        log.debug("%s: %s", event.artifact.label, event.stage)


def release_table(result: ReleaseResult) -> Table:
    """Each artifact's shipped files: size and the start of its sha256."""
    table = Table(title=f"release {result.release.folder}", title_justify="left")
    for name in ("file", "size", "sha256"):
        table.add_column(name, justify="right" if name == "size" else "left")
    for record in result.release.manifest.artifacts:
        for file in [record.stripped, *record.compressed, record.raw]:
            if file is not None:
                table.add_row(file.path, render.human_size(file.size), file.sha256[:16])
    for name in ("SHA256SUMS", "provenance.json"):
        table.add_row(name, "", result.release.files[name][:16])
    return table
