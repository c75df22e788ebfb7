"""Rebuild figures: a no-op rebuild, a one-line change, and a cold build with 1 and 2 jobs.

Each figure is the wall time of a whole `gadgetbuild build` process (not nox's environment
setup), median of a few runs, on a copy of the gadgets so the repository is never edited.
The cold builds start from an empty build cache and empty compiler caches each time.
Usage: python benchmarks/rebuild.py [--backend auto|docker|local] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
TOUCHED_GADGET = "hello"


def timed_build(workdir: Path, cache: Path, *extra: str) -> float:
    argv = [
        sys.executable, "-m", "gadgetbuild", "-q", "build",
        "--gadgets-dir", str(workdir / "gadgets"),
        "--toolchains-dir", str(workdir / "toolchains"),
        "--out", str(workdir / "artifacts"),
        "--toolchain", "go-1.24",
        *extra,
    ]  # fmt: skip
    env = {**os.environ, "GADGETBUILD_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def one_line_change(workdir: Path, run: int) -> None:
    source = workdir / "gadgets" / TOUCHED_GADGET / "main.go"
    source.write_text(source.read_text() + f"\n// bench edit {run}\n")


def cold(workdir: Path, backend: str, jobs: int) -> float:
    with tempfile.TemporaryDirectory() as cache:
        # A fresh cache folder: no build cache and, locally, no compiler cache either.
        return timed_build(workdir, Path(cache), "--backend", backend, "--jobs", str(jobs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="auto", choices=["auto", "docker", "local"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir, cache = Path(tmp), Path(tmp) / "cache"
        shutil.copytree(REPO / "gadgets", workdir / "gadgets")
        shutil.copytree(REPO / "toolchains", workdir / "toolchains")
        backend = ("--backend", args.backend)

        timed_build(workdir, cache, *backend)
        noop = [timed_build(workdir, cache, *backend) for _ in range(args.runs)]
        changed = []
        for run in range(args.runs):
            one_line_change(workdir, run)
            changed.append(timed_build(workdir, cache, *backend))
        jobs1 = [cold(workdir, args.backend, 1) for _ in range(args.runs)]
        jobs2 = [cold(workdir, args.backend, 2) for _ in range(args.runs)]

    table = Table(title=f"rebuilds, backend {args.backend}, s (median of {args.runs})")
    for column in ("measure", "seconds", "goal"):
        table.add_column(column)
    table.add_row("no-op rebuild, warm cache", f"{statistics.median(noop):.2f}", "< 1 s")
    table.add_row(
        f"one-line change in {TOUCHED_GADGET}", f"{statistics.median(changed):.2f}", "< 2 s"
    )
    table.add_row("cold build, --jobs 1", f"{statistics.median(jobs1):.2f}", "")
    table.add_row("cold build, --jobs 2", f"{statistics.median(jobs2):.2f}", "")
    ratio = statistics.median(jobs2) / statistics.median(jobs1)
    table.add_row("--jobs 2 / --jobs 1", f"{ratio:.2f}x", "<= 0.85x")
    Console().print(table)


if __name__ == "__main__":
    main()
