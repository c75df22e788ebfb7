"""`gadgetbuild bench`: the runtime figures of built modules, or of any module files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gadgetbuild import render
from gadgetbuild.cli.group import EXIT_TABLE, cli, gadgets_dir_option
from gadgetbuild.errors import UsageError
from gadgetbuild.manifest import MANIFEST_NAME, ArtifactStatus, read_manifest, write_atomic
from gadgetbuild.scenario import SmokeSpec
from gadgetbuild.specs import GADGET_FILE, load_gadget
from gadgetbuild.wasm import read_module

if TYPE_CHECKING:
    from gadgetbuild.runtime.bench import BenchTarget

log = logging.getLogger("gadgetbuild")

API_CALLS = 1000
QUICK_SECONDS, QUICK_LOADS, QUICK_CALLS = 0.3, 1, 100


@cli.command(epilog=EXIT_TABLE)
@click.argument("modules", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--manifest",
    type=click.Path(path_type=Path),
    default=Path("artifacts"),
    show_default=True,
    help="A manifest, or its folder: its built modules are measured when no file is given.",
)
@gadgets_dir_option
@click.option("--gadget", "gadgets", multiple=True, help="Measure only this gadget (repeatable).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("bench-results"),
    show_default=True,
    help="Folder of bench.json and the plots (keep it outside the artifacts folder).",
)
@click.option("--levels", default="1,50,200,1000", show_default=True, help="Concurrency levels.")
@click.option(
    "--duration",
    type=click.FloatRange(min=0.01),
    default=3.0,
    show_default=True,
    help="Seconds producers push events at each level.",
)
@click.option(
    "--interval-ms",
    type=click.FloatRange(min=0.001),
    default=50.0,
    show_default=True,
    help="Each producer's pause between two events.",
)
@click.option(
    "--load-runs",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Loads timed; the median is reported.",
)
@click.option("--quick", is_flag=True, help="A short run for tests: 0.3 s per level, one load.")
@click.option("--no-plot", is_flag=True, help="Write no PNG (matplotlib is the `bench` extra).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead.")
def bench(
    modules: tuple[Path, ...],
    manifest: Path,
    gadgets_dir: Path,
    gadgets: tuple[str, ...],
    out_dir: Path,
    levels: str,
    duration: float,
    interval_ms: float,
    load_runs: int,
    quick: bool,
    no_plot: bool,
    as_json: bool,
) -> None:
    """Measure load time, event latency under load and memory of gadget modules.

    Files given are named `<gadget>.wasm` (the events come from that gadget's scenario);
    their toolchain is their `producers` section, else their folder's name.

    \b
    Example: the Go artifacts beside TinyGo modules built elsewhere:
      gadgetbuild bench artifacts/go-1.24/*.wasm ../tinygo-out/*.wasm
    """
    # Imported here: wasmtime loads only for the commands that run modules.
    from gadgetbuild.render_bench import by_gadget, draw_plots, gadget_table  # noqa: PLC0415
    from gadgetbuild.runtime.bench import (  # noqa: PLC0415
        REPORT_NAME,
        BenchOptions,
        run_bench,
    )

    targets = (
        file_targets(modules, gadgets_dir) if modules else manifest_targets(manifest, gadgets_dir)
    )
    targets = [t for t in targets if not gadgets or t.gadget in gadgets]
    if not targets:
        raise UsageError("no module to measure", hint="build first, or name module files")

    options = BenchOptions(
        levels=parse_levels(levels),
        duration_s=QUICK_SECONDS if quick else duration,
        interval_ms=interval_ms,
        load_runs=QUICK_LOADS if quick else load_runs,
        api_calls=QUICK_CALLS if quick else API_CALLS,
    )
    report = run_bench(targets, options)

    write_atomic(out_dir / REPORT_NAME, (report.model_dump_json(indent=2) + "\n").encode())
    plots = [] if no_plot else draw_plots(report, out_dir)
    if as_json:
        click.echo(report.model_dump_json(indent=2))
        return
    for gadget, results in by_gadget(report).items():
        render.stdout.print(gadget_table(gadget, results))
    log.info("figures: %s; plots: %s", out_dir / REPORT_NAME, ", ".join(map(str, plots)) or "none")


def parse_levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.split(","))
    except ValueError:
        levels = ()
    if not levels or min(levels) < 1:
        raise UsageError(f"--levels '{text}': expected positive counts, such as 1,50,200,1000")
    return levels


def scenario_of(gadget: str, gadgets_dir: Path) -> SmokeSpec:
    """The gadget's scenario when its spec is at hand, else none (load figures only)."""
    if not (gadgets_dir / gadget / GADGET_FILE).is_file():
        log.warning("%s: no %s under %s, so no events", gadget, GADGET_FILE, gadgets_dir)
        return SmokeSpec()
    return load_gadget(gadgets_dir / gadget).smoke


def manifest_targets(manifest: Path, gadgets_dir: Path) -> list[BenchTarget]:
    from gadgetbuild.runtime.bench import BenchTarget  # noqa: PLC0415

    path = manifest / MANIFEST_NAME if manifest.is_dir() else manifest
    done = {ArtifactStatus.BUILT, ArtifactStatus.CACHED}
    return [
        BenchTarget(
            r.gadget,
            r.toolchain.name,
            path.parent / r.stripped.path,
            scenario_of(r.gadget, gadgets_dir),
        )
        for r in read_manifest(path).artifacts
        if r.status in done and r.stripped is not None
    ]


def file_targets(modules: tuple[Path, ...], gadgets_dir: Path) -> list[BenchTarget]:
    from gadgetbuild.runtime.bench import BenchTarget  # noqa: PLC0415

    targets = []
    for path in modules:
        gadget = path.name.removesuffix(".wasm").removesuffix(".debug")
        producer = read_module(path.read_bytes(), path=path).toolchain()
        toolchain = " ".join(producer) if producer else path.resolve().parent.name
        targets.append(BenchTarget(gadget, toolchain, path, scenario_of(gadget, gadgets_dir)))
    return targets
