"""Figures for the inspection commands against their speed goals, on the modules a build wrote.

Goals (issue 4): the whole `gadgetbuild inspect` process on a 3 MB module under 0.5 s, and
`gadgetbuild verify` of the manifest of the four Go artifacts under 1 s. The 3 MB module
is the largest raw module of the manifest; when it is smaller, a copy padded to 3 MB with
a custom section (which every reader skips by its size) stands in, and both are measured.
Whole-process figures include the interpreter's start and every import; `--version` shows
that floor. Figures are medians of several runs, printed, never asserted.
Usage: python benchmarks/inspect_commands.py [ARTIFACTS] [--runs N]
(Not `inspect.py`: run as a script, that name would shadow the standard library module.)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gadgetbuild.manifest import Manifest
from gadgetbuild.views.inspection import inspect_module
from gadgetbuild.views.sources import load_manifest
from gadgetbuild.views.verify import verify_manifest
from gadgetbuild.wasm import load_contract, read_module
from gadgetbuild.wasm.model import encode_u32

TARGET_SIZE = 3_000_000
INSPECT_GOAL_S = 0.5
VERIFY_GOAL_S = 1.0
COMMAND = [sys.executable, "-m", "gadgetbuild"]


def median_s(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_command(*args: str) -> Callable[[], object]:
    # Exit status 1 (a broken ABI, a problem found) is a result here, not a failure.
    argv = [*COMMAND, *args]
    return lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=False)


def custom_section(name: str, size: int) -> bytes:
    """A custom section whose whole encoding takes ``size`` bytes or a few more."""
    label = len(name).to_bytes(1, "little") + name.encode()
    payload = label + bytes(max(0, size - len(label) - 6))
    return b"\0" + encode_u32(len(payload)) + payload


def largest_module(folder: Path, manifest: Manifest) -> Path:
    raws = [r.raw for r in manifest.artifacts if r.raw]
    if not raws:
        sys.exit(f"{folder}: no built artifact; run `gadgetbuild build` first")
    return folder / max(raws, key=lambda f: f.size).path


def floor_rows(runs: int) -> list[list[str]]:
    return [
        ["python -c pass (interpreter floor)", ms(median_s(run_python("-c", "pass"), runs))],
        ["gadgetbuild --version (import floor)", ms(median_s(run_command("--version"), runs))],
    ]


def run_python(*args: str) -> Callable[[], object]:
    argv = [sys.executable, *args]
    return lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=False)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def module_rows(module: Path, runs: int) -> tuple[list[list[str]], float]:
    """Rows for ``module``, and the median of the whole `gadgetbuild inspect` process."""
    data = module.read_bytes()
    contract = load_contract()
    size = f"{len(data) / 1e6:.2f} MB"
    whole = median_s(run_command("inspect", str(module)), runs)
    figures = {
        "inspect, in process": median_s(
            lambda: inspect_module(module, data, read_module(data), contract), runs
        ),
        "gadgetbuild inspect": whole,
        "gadgetbuild inspect --json": median_s(run_command("inspect", "--json", str(module)), runs),
        "gadgetbuild top": median_s(run_command("top", str(module)), runs),
    }
    return [[f"{name} ({size})", ms(seconds)] for name, seconds in figures.items()], whole


def verify_rows(
    manifest_path: Path, manifest: Manifest, runs: int
) -> tuple[list[list[str]], float]:
    """Rows for verifying the whole manifest, and the median of the whole process."""
    go = [r for r in manifest.artifacts if r.toolchain.family == "go" and r.stripped]
    files = sum(1 + (r.raw is not None) + len(r.compressed) for r in go)
    in_process = median_s(lambda: verify_manifest(manifest_path, manifest), runs)
    whole = median_s(run_command("verify", str(manifest_path)), runs)
    label = f"{len(go)} Go artifacts, {files} files"
    rows = [
        [f"verify, in process ({label})", ms(in_process)],
        [f"gadgetbuild verify ({label})", ms(whole)],
    ]
    return rows, whole


def padded_copy(module: Path, folder: Path) -> Path | None:
    """``module`` grown to the target size by a custom section; ``None`` if already as big."""
    data = module.read_bytes()
    if len(data) >= TARGET_SIZE:
        return None
    padded = folder / f"padded-{module.name}"
    padded.write_bytes(data + custom_section("bench-padding", TARGET_SIZE - len(data)))
    return padded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", nargs="?", type=Path, default=Path("artifacts"))
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    manifest_path, manifest = load_manifest(args.artifacts)
    module = largest_module(manifest_path.parent, manifest)
    table = Table("measure", "median", title="inspection commands", title_justify="left")
    rows, inspect_s = module_rows(module, args.runs)
    rows = floor_rows(args.runs) + rows
    with tempfile.TemporaryDirectory() as tmp:
        padded = padded_copy(module, Path(tmp))
        if padded is not None:
            padded_rows, inspect_s = module_rows(padded, args.runs)
            rows += padded_rows
    verify, verify_s = verify_rows(manifest_path, manifest, args.runs)
    for row in rows + verify:
        table.add_row(*row)

    console = Console()
    console.print(table)
    for name, seconds, goal in (
        ("inspect of a 3 MB module", inspect_s, INSPECT_GOAL_S),
        ("verify of the Go artifacts' manifest", verify_s, VERIFY_GOAL_S),
    ):
        verdict = "met" if seconds < goal else "MISSED"
        console.print(f"goal: {name} < {goal} s: {seconds:.3f} s, {verdict}")


if __name__ == "__main__":
    main()
