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


@dataclass(frozen=True, slots=True)
class BuildContext:
    """Folders copied together into a build; ``base`` is their nearest common parent."""

    base: Path
    folders: tuple[Path, ...]

    def files(self) -> list[Path]:
        """Every regular file of the context, sorted, hidden files and folders left out."""
        found: set[Path] = set()
        for folder in self.folders:
            for path in folder.rglob("*"):
                relative = path.relative_to(folder).parts
                if path.is_file() and not any(p.startswith(".") for p in relative):
                    found.add(path)
        return sorted(found)

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
