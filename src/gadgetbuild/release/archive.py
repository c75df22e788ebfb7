"""The release's checksum list and its archive, both the same bytes on every run.

``SHA256SUMS`` lists every other file of the folder in the format `sha256sum -c` reads. The
``.tar.gz`` holds the folder under its own name, entries sorted, each with the source
commit's time, owner 0 and a fixed mode, in a gzip stream whose header time is 0.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from gadgetbuild.errors import UsageError
from gadgetbuild.git import git_output
from gadgetbuild.manifest import SUMS_NAME, write_atomic

EPOCH_ENV = "SOURCE_DATE_EPOCH"


def source_time(folder: Path) -> int:
    """The time the release carries: SOURCE_DATE_EPOCH when set (the reproducible-builds
    convention), else the time of the commit holding ``folder``."""
    explicit = os.environ.get(EPOCH_ENV, "").strip()
    if explicit:
        if not explicit.isdigit():
            raise UsageError(f"{EPOCH_ENV}='{explicit}': expected seconds since 1970")
        return int(explicit)

    printed = git_output(folder, "log", "-1", "--format=%ct", "HEAD") or ""
    if not printed.isdigit():
        raise UsageError(
            "the sources are in no git commit, so the release has no time to carry",
            path=folder,
            hint=f"release from a git checkout, or set {EPOCH_ENV}",
        )
    return int(printed)


def rfc3339(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def release_files(folder: Path) -> list[str]:
    """Every regular file under ``folder``, '/'-separated and sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def file_digests(folder: Path, names: list[str]) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names}


def write_sums(folder: Path) -> Path:
    """``SHA256SUMS`` of every other file of ``folder``: `<sha256>  <path>` per line."""
    names = [n for n in release_files(folder) if n != SUMS_NAME]
    lines = [f"{digest}  {name}\n" for name, digest in file_digests(folder, names).items()]
    path = folder / SUMS_NAME
    write_atomic(path, "".join(lines).encode())
    return path


def write_tarball(folder: Path, target: Path, mtime: int) -> Path:
    """``target``: a gzip'd tar of ``folder`` under its own name, the same bytes every run."""
    entries = [folder, *sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).parts)]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in entries:
            name = Path(folder.name, path.relative_to(folder)).as_posix()
            tar.addfile(*tar_member(path, name, mtime))

    packed = io.BytesIO()
    # No name and time 0 in the gzip header: only the tar's bytes decide the archive's.
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=9) as out:
        out.write(raw.getvalue())
    write_atomic(target, packed.getvalue())
    return target


def tar_member(path: Path, name: str, mtime: int) -> tuple[tarfile.TarInfo, io.BytesIO | None]:
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if path.is_dir():
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        return info, None

    data = path.read_bytes()
    info.mode, info.size = 0o644, len(data)
    return info, io.BytesIO(data)
