"""What a command was given: a module, a manifest, or a folder holding ``manifest.json``."""

from __future__ import annotations

import stat
from pathlib import Path

from gadgetbuild.errors import UsageError, WasmFormatError
from gadgetbuild.manifest import MANIFEST_NAME, Manifest, read_manifest
from gadgetbuild.wasm.reader import MAGIC


def locate_manifest(path: Path) -> Path:
    """``path`` itself, or the manifest inside the folder ``path``."""
    if not path.is_dir():
        return path

    manifest = path / MANIFEST_NAME
    if not manifest.is_file():
        raise UsageError(
            f"no {MANIFEST_NAME} in this folder",
            path=path,
            hint=f"build into it first (`gadgetbuild build --out {path}`) or name the manifest",
        )
    return manifest


def load_manifest(path: Path) -> tuple[Path, Manifest]:
    """The manifest's own path and its content; every fault is a ``ManifestError``."""
    manifest_path = locate_manifest(path)
    return manifest_path, read_manifest(manifest_path)


# Far above any gadget (the host caps guest memory at 16 MiB, real modules are a few MB):
# a bound that keeps a device or a giant file from being read whole into memory.
MAX_FILE_BYTES = 256 * 1024 * 1024


def read_bytes(path: Path) -> bytes:
    """A regular file's bytes, at most MAX_FILE_BYTES; devices and FIFOs are refused unread."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise WasmFormatError("not a regular file: expected a module or a manifest", path=path)
        if info.st_size > MAX_FILE_BYTES:
            raise WasmFormatError(
                f"{info.st_size} bytes: larger than any module ({MAX_FILE_BYTES} at most)",
                path=path,
            )
        return path.read_bytes()
    except OSError as exc:
        raise WasmFormatError(f"cannot read the file: {exc.strerror}", path=path) from exc


def looks_like_manifest(path: Path, data: bytes) -> bool:
    """A folder, or a file that is JSON rather than wasm by its name or its first byte."""
    if path.is_dir():
        return True
    if data.startswith(MAGIC):
        return False
    return path.suffix == ".json" or data.lstrip()[:1] in {b"{", b"["}
