"""A gadget's build context: its folder and the local `replace` targets of its go.mod."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from gadgetbuild.errors import SpecError

# `replace a => ../b` and the lines of a `replace ( … )` block whose target is a local path.
REPLACE_LOCAL = re.compile(r"^\s*(?:replace\s+)?\S+(?:\s+\S+)?\s+=>\s+(\.{1,2}/\S*)\s*$", re.M)
# The same with an absolute target: a path of this machine, which no container has.
REPLACE_ABSOLUTE = re.compile(r"^\s*(?:replace\s+)?\S+(?:\s+\S+)?\s+=>\s+(/\S*)\s*$", re.M)
# Far above any gadget's sources (Go files, a few embedded assets): a bound that keeps a
# stray disk image or core dump from being hashed and copied into every build.
MAX_SOURCE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BuildContext:
    """Folders copied together into a build; ``base`` is their nearest common parent."""

    base: Path
    folders: tuple[Path, ...]

    def files(self) -> list[Path]:
        """Every regular file of the context, sorted, hidden files and folders left out.

        Raises SpecError: a symlink leading out of the context (what it leads to would be
        built, hashed and copied into containers without being part of the sources), or a
        file larger than :data:`MAX_SOURCE_BYTES`.
        """
        found: set[Path] = set()
        for folder in self.folders:
            for path in folder.rglob("*"):
                relative = path.relative_to(folder).parts
                if any(p.startswith(".") for p in relative):
                    continue
                if path.is_symlink():
                    self._check_link(path)
                if path.is_file():
                    self._check_size(path)
                    found.add(path)
        return sorted(found)

    def _check_link(self, path: Path) -> None:
        target = path.resolve()
        if not any(target.is_relative_to(folder) for folder in self.folders):
            raise SpecError(
                f"a symlink out of the build context, to {target}",
                path=path,
                hint="copy the file into the gadget's folder, or into a module it replaces",
            )

    @staticmethod
    def _check_size(path: Path) -> None:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise SpecError(
                f"{size} bytes: larger than any gadget source ({MAX_SOURCE_BYTES} at most)",
                path=path,
                hint="move it out of the gadget's folder, or hide it (a leading '.')",
            )

    def source_hash(self) -> str:
        digest = hashlib.sha256()
        for path in self.files():
            name = path.relative_to(self.base).as_posix().encode()
            data = path.read_bytes()
            digest.update(b"%d:%s%d:" % (len(name), name, len(data)))
            digest.update(data)
        return digest.hexdigest()


def local_replace_targets(gadget_dir: Path) -> list[Path]:
    """The local folders `replace` points at, followed through their own go.mod files."""
    seen: list[Path] = [gadget_dir.resolve()]
    pending = [gadget_dir.resolve()]
    while pending:
        folder = pending.pop()
        gomod = folder / "go.mod"
        text = gomod.read_text(encoding="utf-8") if gomod.is_file() else ""
        if absolute := REPLACE_ABSOLUTE.findall(text):
            raise SpecError(
                f"replace target {absolute[0]} is an absolute path, which a build in a container "
                "cannot reach and the source hash would not cover",
                path=gomod,
                hint="write it relative to the go.mod, such as ../_shared/ig",
            )
        for target in REPLACE_LOCAL.findall(text):
            path = (folder / target).resolve()
            if not (path / "go.mod").is_file():
                raise SpecError(f"replace target {target} holds no go.mod", path=gomod)
            if path not in seen:
                seen.append(path)
                pending.append(path)
    return seen[1:]


def build_context(gadget_dir: Path) -> BuildContext:
    folders = (gadget_dir.resolve(), *local_replace_targets(gadget_dir))
    return BuildContext(Path(os.path.commonpath(folders)), folders)
