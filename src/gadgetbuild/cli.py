"""The command line. Only ``main()`` turns an exception into text and an exit status."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from gadgetbuild import __version__, render
from gadgetbuild.errors import (
    EnvironmentUnavailableError,
    ExitStatus,
    FailureError,
    GadgetbuildError,
)
from gadgetbuild.manifest import ArtifactRecord, ArtifactStatus
from gadgetbuild.pipeline import BuildOptions, run_build
from gadgetbuild.plan import Shard, make_plan
from gadgetbuild.schemas import stale_schemas, update_readme, write_schemas
from gadgetbuild.toolchains.provision import provision_toolchains

log = logging.getLogger("gadgetbuild")

EXIT_TABLE = """\b
Exit status:
  0    everything asked for holds
  1    something failed: a compile, a contract, a check, a gate
  2    nothing ran: the command line or a spec is wrong
  3    the environment cannot serve: a required toolchain is unavailable
  130  interrupted (SIGINT), 143 terminated (SIGTERM)"""


@click.group(epilog=EXIT_TABLE)
@click.version_option(__version__, prog_name="gadgetbuild")
@click.option("-v", "--verbose", count=True, help="More log output.")
@click.option("-q", "--quiet", is_flag=True, help="Warnings and errors only.")
@click.option("--debug", is_flag=True, help="Show a traceback on error.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, debug: bool) -> None:
    """Build WebAssembly gadgets with every toolchain, validate them and record a manifest."""
    ctx.obj = {"debug": debug}
    render.setup_logging(-1 if quiet else verbose)


@cli.command(epilog=EXIT_TABLE)
@click.option(
    "--gadgets-dir",
    type=click.Path(path_type=Path),
    default=Path("gadgets"),
    show_default=True,
    help="Folder of gadget folders (each with a gadget.toml).",
)
@click.option(
    "--toolchains-dir",
    type=click.Path(path_type=Path),
    default=Path("toolchains"),
    show_default=True,
    help="Folder of toolchain specs.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("artifacts"),
    show_default=True,
    help="Output folder; the manifest is <out>/manifest.json.",
)
@click.option("--gadget", "gadgets", multiple=True, help="Build only this gadget (repeatable).")
@click.option(
    "--toolchain",
    "toolchains",
    multiple=True,
    help="Build only with this toolchain (repeatable); it must then be available.",
)
@click.option("--shard", help="Build the i-th of n stable shares of the matrix, as i/n.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="number of cores",
    help="Artifacts built at once.",
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
    provisioned = provision_toolchains({a.toolchain.name: a.toolchain for a in plan.artifacts})
    with render.BuildProgress(plan.artifacts, enabled=not as_json) as progress:
        result = run_build(plan, provisioned, BuildOptions(out_dir, jobs, progress.on_event))

    if as_json:
        click.echo(render.records_json(result.records))
    else:
        render.stdout.print(render.build_summary(result.records))
        render.failure_details(result.records)
        log.info("manifest: %s", result.manifest_path)
    raise_for_records(result.records, strict=strict or bool(toolchains))


def raise_for_records(records: tuple[ArtifactRecord, ...], *, strict: bool) -> None:
    statuses = [r.status for r in records]
    failed = statuses.count(ArtifactStatus.FAILED)
    if failed:
        raise FailureError(f"{failed} of {len(records)} artifacts failed")

    unavailable = statuses.count(ArtifactStatus.UNAVAILABLE)
    if unavailable and strict:
        raise EnvironmentUnavailableError(
            f"{unavailable} artifacts have an unavailable toolchain",
            hint="see the reason column; drop --strict or --toolchain to build the others",
        )


@cli.command()
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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status; errors become a headline on stderr."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="gadgetbuild", standalone_mode=False)
    except click.exceptions.Abort:
        render.stderr.print("interrupted")
        return ExitStatus.SIGINT
    except click.ClickException as exc:
        exc.show()
        return ExitStatus.USAGE
    except GadgetbuildError as exc:
        if debug:
            render.stderr.print_exception()
        render.print_error(exc)
        return exc.exit_status
    except KeyboardInterrupt:
        render.stderr.print("interrupted")
        return ExitStatus.SIGINT
    return ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
