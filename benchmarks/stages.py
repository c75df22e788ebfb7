"""Figures for the post-compile stages, on the modules a build wrote.

For each built module: the section reader in process against the whole `wasm-tools
validate` process, each stage's time, and each codec's ratio and time at several levels.
Figures are medians of several runs, printed as tables; the ratios matter more than the
times on a noisy machine. Usage: python benchmarks/stages.py [ARTIFACTS] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gadgetbuild.compress import CODECS
from gadgetbuild.manifest import ArtifactStatus, read_manifest
from gadgetbuild.wasm import check_contract, load_contract, read_module, strip, validate
from gadgetbuild.wasm.tools import wasm_tools_path

LEVELS = {"gzip": (6, 9), "zstd": (3, 12, 16, 18, 19, 22), "brotli": (5, 9, 11)}


def median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def stage_row(path: Path, runs: int) -> list[str]:
    data = path.read_bytes()
    contract = load_contract()
    tool = str(wasm_tools_path())
    with tempfile.TemporaryDirectory() as tmp:
        stripped = Path(tmp) / "stripped.wasm"
        strip(path, stripped)
        reader = median_ms(lambda: read_module(data), runs)
        process = median_ms(lambda: subprocess.run([tool, "validate", str(path)], check=True), runs)
        info = read_module(data)
        figures = {
            "validate": median_ms(lambda: validate(path), runs),
            "contract": median_ms(lambda: check_contract(info, contract), runs),
            "strip": median_ms(lambda: strip(path, stripped), runs),
            "validate again": median_ms(lambda: validate(stripped), runs),
        }
    return [
        path.name,
        f"{len(data) / 1e6:.2f} MB",
        f"{reader:.1f}",
        f"{process:.1f}",
        f"{reader / process:.2f}x",
        *(f"{v:.1f}" for v in figures.values()),
    ]


def codec_rows(name: str, data: bytes, runs: int) -> list[list[str]]:
    rows = []
    for spec in CODECS:
        for level in LEVELS[spec.codec]:
            packed = spec.compress(data, level)
            took = median_ms(partial(spec.compress, data, level), runs)
            chosen = "yes" if level == spec.level else ""
            rows.append(
                [
                    name,
                    spec.codec,
                    str(level),
                    f"{len(packed) / len(data):.1%}",
                    f"{took:.0f}",
                    chosen,
                ]
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("artifacts", nargs="?", type=Path, default=Path("artifacts"))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    manifest = read_manifest(args.artifacts / "manifest.json")
    done = {ArtifactStatus.BUILT, ArtifactStatus.CACHED}
    built = [r for r in manifest.artifacts if r.status in done and r.raw]
    console = Console(width=140)

    stages = Table(title="post-compile stages, ms (median)", title_justify="left")
    for col in (
        "module",
        "size",
        "reader",
        "wasm-tools validate (process)",
        "reader/validate",
        "validate",
        "contract",
        "strip",
        "validate again",
    ):
        stages.add_column(col, justify="right")
    codecs = Table(title="codecs on stripped modules", title_justify="left")
    for col in ("module", "codec", "level", "size", "ms", "chosen"):
        codecs.add_column(col, justify="right")

    for record in built:
        if record.raw is None or record.stripped is None:
            continue
        stages.add_row(*stage_row(args.artifacts / record.raw.path, args.runs))
        stripped = (args.artifacts / record.stripped.path).read_bytes()
        label = f"{record.gadget} ({record.toolchain.name})"
        for row in codec_rows(label, stripped, max(1, args.runs // 3)):
            codecs.add_row(*row)

    console.print(stages)
    console.print(codecs)


if __name__ == "__main__":
    main()
