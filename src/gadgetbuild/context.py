"""A gadget's build context: its folder and the local `replace` targets of its go.mod."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from gadgetbuild.errors import SpecError

# A go.mod token: a quoted string ("…" with escapes, or `…`), or a run of other characters;
# `//` starts a comment that runs to the end of the line.
GOMOD_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`]*`|//.*|[^\s"`]+')
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
        try:
            target = path.resolve(strict=True)
        except FileNotFoundError:
            return  # dangling: it holds nothing to build or hash
        except (OSError, RuntimeError) as exc:  # a loop: RuntimeError before Python 3.13
            raise SpecError(f"a symlink that cannot be followed: {exc}", path=path) from exc
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


def replace_targets(text: str) -> list[str]:
    """The target of every `replace` directive of a go.mod, one-line or in a block, quoted
    or not, comments left out. Go's own grammar; written here because no library parses
    go.mod, and asking the `go` command would need a Go toolchain where none may be."""
    targets = []
    in_block = False
    for line in text.splitlines():
        tokens = [t for t in GOMOD_TOKEN.findall(line) if not t.startswith("//")]
        if in_block:
            if tokens == [")"]:
                in_block = False
                continue
        elif tokens[:2] == ["replace", "("]:
            in_block = True
            continue
        elif tokens[:1] == ["replace"]:
            tokens = tokens[1:]
        else:
            continue
        if "=>" in tokens and tokens.index("=>") + 1 < len(tokens):
            targets.append(unquote(tokens[tokens.index("=>") + 1]))
    return targets


def unquote(token: str) -> str:
    if token[:1] == "`":
        return token[1:-1]
    if token[:1] == '"':
        return str(json.loads(token))
    return token


def local_replace_targets(gadget_dir: Path) -> list[Path]:
    """The local folders `replace` points at, followed through their own go.mod files.

    Raises SpecError: a target that is an absolute path (no container has it, and the
    source hash would not cover it), that passes through a symlink (the container's copy
    follows the real folder, not the link), or that holds no go.mod.
    """
    seen: list[Path] = [gadget_dir.resolve()]
    pending = [gadget_dir.resolve()]
    while pending:
        folder = pending.pop()
        gomod = folder / "go.mod"
        text = gomod.read_text(encoding="utf-8") if gomod.is_file() else ""
        for target in replace_targets(text):
            if Path(target).is_absolute():
                raise SpecError(
                    f"replace target {target} is an absolute path, which a build in a "
                    "container cannot reach and the source hash would not cover",
                    path=gomod,
                    hint="write it relative to the go.mod, such as ../_shared/ig",
                )
            if not target.startswith(("./", "../")) and target not in {".", ".."}:
                continue  # a module path: fetched, not local (and builds are offline)
            path = (folder / target).resolve()
            if path != Path(os.path.normpath(folder / target)):
                raise SpecError(
                    f"replace target {target} passes through a symlink, to {path}",
                    path=gomod,
                    hint="point the replace at the real folder",
                )
            if not (path / "go.mod").is_file():
                raise SpecError(f"replace target {target} holds no go.mod", path=gomod)
            if path not in seen:
                seen.append(path)
                pending.append(path)
    return seen[1:]


def build_context(gadget_dir: Path) -> BuildContext:
    folders = (gadget_dir.resolve(), *local_replace_targets(gadget_dir))
    return BuildContext(Path(os.path.commonpath(folders)), folders)
