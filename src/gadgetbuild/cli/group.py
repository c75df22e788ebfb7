"""The `gadgetbuild` command group; each command lives in a module of this package."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import click

from gadgetbuild import __version__, render

EXIT_TABLE = """\b
Exit status:
  0    everything asked for holds
  1    something failed: a compile, a contract, a check, a gate
  2    nothing ran: the command line or a spec is wrong
  3    the environment cannot serve: no engine answers, a required toolchain is missing
  130  interrupted (SIGINT), 143 terminated (SIGTERM)"""


@click.group(epilog=EXIT_TABLE)
@click.version_option(__version__, prog_name="gadgetbuild")
@click.option(
    "-v", "--verbose", count=True, help="More log output; -vv adds the libraries' debug lines."
)
@click.option("-q", "--quiet", is_flag=True, help="Warnings and errors only.")
@click.option("--debug", is_flag=True, help="Show a traceback on error.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, debug: bool) -> None:
    """Build WebAssembly gadgets with every toolchain, validate them and record a manifest."""
    ctx.obj = {"debug": debug}
    render.setup_logging(-1 if quiet else verbose)


# Options several commands share; each is a decorator, applied like `@click.option(…)`.
gadgets_dir_option = click.option(
    "--gadgets-dir",
    type=click.Path(path_type=Path),
    default=Path("gadgets"),
    show_default=True,
    help="Folder of gadget folders (each with a gadget.toml).",
)
toolchains_dir_option = click.option(
    "--toolchains-dir",
    type=click.Path(path_type=Path),
    default=Path("toolchains"),
    show_default=True,
    help="Folder of toolchain specs.",
)
jobs_option = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="number of cores",
    help="Artifacts built at once.",
)
out_dir_option = click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("artifacts"),
    show_default=True,
    help="Output folder; the manifest is <out>/manifest.json.",
)


class Percent(click.FloatRange):
    """A percentage limit: finite and not negative (`nan` would compare false and pass all)."""

    name = "percent"

    def __init__(self) -> None:
        super().__init__(min=0)

    def convert(
        self,
        value: Any,  # noqa: ANN401 - click passes the raw string, or a default
        param: click.Parameter | None,
        ctx: click.Context | None,
    ) -> float:
        number: float = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite percentage, such as 5", param, ctx)
        return number
