"""What a command was given: a module, a manifest, or a folder holding ``manifest.json``."""

from __future__ import annotations

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


def read_bytes(path: Path) -> bytes:
    try:
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
