"""The benchmark's views: one rich table per gadget, toolchains side by side, and a plot."""

from __future__ import annotations

import io
from collections.abc import Callable
from itertools import groupby
from pathlib import Path

from rich.table import Table

from gadgetbuild.manifest import write_atomic
from gadgetbuild.render import human_size
from gadgetbuild.runtime.bench import BenchReport, LatencyFigures, ModuleFigures

Row = tuple[str, Callable[[ModuleFigures], str]]


def by_gadget(report: BenchReport) -> dict[str, list[ModuleFigures]]:
    ordered = sorted(report.results, key=lambda r: (r.gadget, r.toolchain))
    return {gadget: list(group) for gadget, group in groupby(ordered, key=lambda r: r.gadget)}


def level_of(figures: ModuleFigures, concurrency: int) -> LatencyFigures | None:
    return next((f for f in figures.latency if f.concurrency == concurrency), None)


def latency_cell(figures: ModuleFigures, concurrency: int) -> str:
    level = level_of(figures, concurrency)
    if level is None:
        return "-"
    return f"{level.p50_us:,.0f} / {level.p99_us:,.0f} / {level.p999_us:,.0f} / {level.max_us:,.0f}"


def drops_cell(figures: ModuleFigures, concurrency: int) -> str:
    level = level_of(figures, concurrency)
    if level is None:
        return "-"
    share = level.dropped / level.offered if level.offered else 0.0
    return f"{level.dropped:,} of {level.offered:,} ({share:.0%})"


def gadget_table(gadget: str, results: list[ModuleFigures]) -> Table:
    table = Table(title=f"{gadget}: runtime figures (wasmtime)", title_justify="left")
    table.add_column("measure")
    for figures in results:
        table.add_column(figures.toolchain, justify="right")
    rows: list[Row] = [
        ("module size", lambda f: human_size(f.size)),
        ("load: compile + instantiate + _initialize", lambda f: f"{f.load_ms:,.0f} ms"),
        ("one gadgetAPIVersion call", lambda f: f"{f.api_call_us:.1f} µs"),
        ("memory pages, start -> end", lambda f: f"{f.memory_pages_start} -> {f.memory_pages_end}"),
    ]
    levels = sorted({level.concurrency for f in results for level in f.latency})
    for label, cell in rows:
        table.add_row(label, *(cell(f) for f in results))
    for c in levels:
        table.add_row(
            f"latency µs at {c}: p50 / p99 / p99.9 / max", *(latency_cell(f, c) for f in results)
        )
        table.add_row(f"dropped at {c}", *(drops_cell(f, c) for f in results))
    return table


def draw_plots(report: BenchReport, folder: Path) -> list[Path]:
    """One PNG per gadget with events: p50 and p99 latency against concurrency."""
    # Imported here: matplotlib is an optional extra, and Agg needs no display.
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415

    written = []
    for gadget, results in by_gadget(report).items():
        measured = [r for r in results if r.latency]
        if not measured:
            continue
        figure, axes = plt.subplots(figsize=(7, 4.5))
        for figures in measured:
            levels = [level.concurrency for level in figures.latency]
            line = axes.plot(
                levels,
                [lv.p50_us for lv in figures.latency],
                marker="o",
                label=f"{figures.toolchain} p50",
            )
            axes.plot(
                levels,
                [lv.p99_us for lv in figures.latency],
                marker="x",
                linestyle="--",
                color=line[0].get_color(),
                label=f"{figures.toolchain} p99",
            )
        axes.set(
            xscale="log",
            yscale="log",
            xlabel="concurrent producers",
            ylabel="enqueue -> callback return (µs)",
            title=f"{gadget}: event latency",
        )
        axes.grid(visible=True, which="both", alpha=0.3)
        axes.legend()
        path = folder / f"{gadget}-latency.png"
        image = io.BytesIO()
        figure.savefig(image, format="png", dpi=120, bbox_inches="tight")
        plt.close(figure)
        write_atomic(path, image.getvalue())
        written.append(path)
    return written
