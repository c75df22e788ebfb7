"""`gadgetbuild toolchains`: provision every toolchain and report how each was obtained."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from gadgetbuild import render
from gadgetbuild.cli.group import EXIT_TABLE, cli, toolchains_dir_option
from gadgetbuild.errors import EnvironmentUnavailableError
from gadgetbuild.plan import check_names
from gadgetbuild.specs import ToolchainSpec, discover_toolchains, load_toolchain
from gadgetbuild.toolchains.provision import (
    BackendChoice,
    ToolchainRecord,
    describe_provisioned,
    provision_toolchains,
)


@cli.command("toolchains", epilog=EXIT_TABLE)
@toolchains_dir_option
@click.option(
    "--toolchain",
    "names",
    multiple=True,
    help="Only this toolchain (repeatable); it must then be available.",
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "docker", "local"]),
    default="auto",
    show_default=True,
    help="Where compiles would run, as for `gadgetbuild build`.",
)
@click.option("--strict", is_flag=True, help="An unavailable toolchain is an error (exit 3).")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON instead.")
def toolchains_command(
    toolchains_dir: Path,
    names: tuple[str, ...],
    backend: BackendChoice,
    strict: bool,
    as_json: bool,
) -> None:
    """Provision every toolchain (pull, load or build its image) and report each one.

    \b
    Example: provision in Docker only and print the records:
      gadgetbuild toolchains --backend docker --json
    \b
    An image archive for a toolchain is named by GADGETBUILD_IMAGE_ARCHIVE_<NAME>, the
    toolchain's name in capitals with every other character an underscore
    (GADGETBUILD_IMAGE_ARCHIVE_TINYGO_0_41).
    """
    specs = load_specs(toolchains_dir, names)
    provisioned = provision_toolchains(specs, backend, toolchains_dir=toolchains_dir)
    records = [describe_provisioned(specs[name], p) for name, p in provisioned.items()]

    if as_json:
        click.echo(
            json.dumps([r.model_dump(mode="json", exclude_none=True) for r in records], indent=2)
        )
    else:
        render.stdout.print(toolchains_table(records))
        print_unavailable(records)

    unavailable = [r.name for r in records if r.status == "unavailable"]
    if unavailable and (strict or names):
        raise EnvironmentUnavailableError(
            f"unavailable toolchains: {', '.join(unavailable)}",
            hint="each reason names every way tried and its fix (--json prints them as records)",
        )


def load_specs(root: Path, names: tuple[str, ...]) -> dict[str, ToolchainSpec]:
    files = discover_toolchains(root)
    check_names("--toolchain", names, files, root)
    return {n: load_toolchain(p) for n, p in files.items() if not names or n in names}


def toolchains_table(records: list[ToolchainRecord]) -> Table:
    table = Table(title="toolchains", title_justify="left")
    for name in ("toolchain", "backend", "image", "digest / recipe", "obtained"):
        table.add_column(name)

    for r in records:
        obtained = (r.obtained or "-") if r.status == "available" else "[yellow]unavailable"
        image = r.image or r.executable or "-"
        table.add_row(r.name, r.backend, escape(shorten(image)), short_identity(r), obtained)
    return table


def print_unavailable(records: list[ToolchainRecord]) -> None:
    """Under the table, each unavailable toolchain's reason (every way tried) and fix."""
    for r in records:
        if r.status == "unavailable":
            render.stdout.print(
                f"\n[yellow]unavailable[/] {r.name} ({r.backend}): {escape(r.reason or '')}"
            )
            if r.fix:
                render.stdout.print(f"  fix: {escape(r.fix)}", highlight=False)


def shorten(text: str) -> str:
    """Digests cut to 12 hex digits, as Docker shows ids; the JSON keeps them whole."""
    return re.sub(r"sha256:([0-9a-f]{12})[0-9a-f]{52}", r"sha256:\1…", text)


def short_identity(record: ToolchainRecord) -> str:
    if record.digest:
        return shorten(record.digest)
    if record.recipe_hash:
        return f"recipe {shorten(record.recipe_hash)}"
    return "-"
