"""The artifacts folder: one build at a time, outputs staged, then committed at once.

A build writes only into a staging folder inside the artifacts folder (same file system,
so a rename moves a file). The commit renames the staged files into place and then
replaces the manifest, with signals held (:func:`deferred_signals`): the folder holds
the previous manifest with every file it names, or the new one with every file it names.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from gadgetbuild.errors import EnvironmentUnavailableError, UsageError
from gadgetbuild.interrupts import deferred_signals
from gadgetbuild.manifest import (
    MANIFEST_NAME,
    ArtifactRecord,
    Manifest,
    read_manifest,
    write_manifest,
)

LOCK_NAME = ".gadgetbuild.lock"
STAGING_PREFIX = ".staging-"

log = logging.getLogger(__name__)


@contextlib.contextmanager
def locked(
    out_dir: Path, *, wait: bool, what: str = "artifacts folder", option: str = "--out"
) -> Iterator[None]:
    """Hold the folder's lock; a second build waits with a message, or fails with ``wait=False``.

    ``what`` and ``option`` name the folder in messages: the release locks its dist folder."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"the {what} is a file", path=out_dir, hint=f"pick another {option}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = (out_dir / LOCK_NAME).open("a")
    except OSError as exc:
        raise EnvironmentUnavailableError(
            f"cannot write to the {what}: {exc.strerror}", path=out_dir
        ) from exc
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise EnvironmentUnavailableError(
                    f"another build holds this {what}",
                    path=out_dir,
                    hint="wait for it, or drop --no-wait to queue behind it",
                ) from None
            log.warning("%s: another build holds this %s; waiting for it", out_dir, what)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def staging_folder(out_dir: Path) -> Iterator[Path]:
    """A fresh staging folder, removed when the block ends, whatever happens."""
    remove_stale_staging(out_dir)
    try:
        path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    except OSError as exc:
        raise EnvironmentUnavailableError(
            f"cannot write to the artifacts folder: {exc.strerror}", path=out_dir
        ) from exc
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def remove_stale_staging(out_dir: Path) -> None:
    """Staging folders of builds that were killed (the lock is ours, so none is live)."""
    for stale in out_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)


def record_paths(records: Iterable[ArtifactRecord]) -> set[str]:
    return {file.path for record in records for file in record.all_files()}


def commit(out_dir: Path, staging: Path, new: Iterable[ArtifactRecord], manifest: Manifest) -> Path:
    """Move the staged files of ``new`` into place, write ``manifest``, drop orphaned files.

    All or nothing: the files a move replaces wait in ``staging`` until the manifest is
    written, and go back if any step fails; the error then names the file.
    """
    manifest_path = out_dir / MANIFEST_NAME
    previous = previous_paths(manifest_path)
    moves = [(staging / relative, out_dir / relative) for relative in sorted(record_paths(new))]
    aside = staging / ".replaced"
    try:
        aside.mkdir()
        with deferred_signals():
            with put_back_on_error(moves, aside):
                write_manifest(manifest, manifest_path)
            for orphan in sorted(previous - record_paths(manifest.artifacts)):
                with contextlib.suppress(OSError):  # a file left over is only a file too many
                    (out_dir / orphan).unlink(missing_ok=True)
    except OSError as exc:
        raise EnvironmentUnavailableError(
            f"cannot write the build's outputs: {exc.strerror or exc}",
            # A failed rename names the staged file first, its place in the folder second.
            path=exc.filename2 or exc.filename or out_dir,
            hint="the artifacts folder holds the previous manifest and every file it names",
        ) from exc
    return manifest_path


@contextlib.contextmanager
def put_back_on_error(moves: list[tuple[Path, Path]], aside: Path) -> Iterator[None]:
    """:func:`put_in_place`, then the block; if the block fails, the old content returns."""
    done = put_in_place(moves, aside)
    try:
        yield
    except BaseException:
        restore(done)
        raise


def previous_paths(manifest_path: Path) -> set[str]:
    if not manifest_path.is_file():
        return set()
    return record_paths(read_manifest(manifest_path).artifacts)


# A target, where its old content waits (None: it had none), and whether the new is in.
Placed = tuple[Path, Path | None, bool]


def put_in_place(moves: list[tuple[Path, Path]], aside: Path) -> list[Placed]:
    """Rename each source onto its target, what the targets held moved into ``aside`` first;
    if one rename fails, every target gets its old content back before the error goes on."""
    done: list[Placed] = []
    try:
        for number, (source, target) in enumerate(moves):
            old = None
            if target.exists() or target.is_symlink():
                old = aside / f"old-{number}"
                target.replace(old)
            if not target.parent.is_dir():
                target.parent.mkdir(parents=True)
            done.append((target, old, False))
            source.replace(target)
            done[-1] = (target, old, True)
    except OSError:
        restore(done)
        raise
    return done


def restore(done: list[Placed]) -> None:
    """Undo :func:`put_in_place`: each target back to what it held, in reverse order."""
    for target, old, moved in reversed(done):
        with contextlib.suppress(OSError):
            if moved:
                remove(target)
            if old is not None:
                old.replace(target)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
