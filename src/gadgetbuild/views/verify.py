"""`verify`: does the manifest's folder hold exactly the files it names, byte for byte?

Every path in a manifest is relative to the manifest's folder. A path that is absolute,
climbs out through ``..``, or reaches outside the folder through a symlink is refused
and never read. The stripped module of each artifact is read again and its exports and
imports compared with the record.

A file in the folder that the manifest does not name is a problem, except the manifest
itself and the files a release adds beside the artifacts (``IGNORED``): checksum lists,
provenance attestations, lock files. Temporary files are *not* ignored: the build writes
through hidden ``.*.tmp`` files renamed into place, so one that remains is the debris of
an interrupted write, which a release would otherwise publish.

A folder with a ``SHA256SUMS`` is a release (``gadgetbuild release``): the list must name
every other file, each is hashed against it, and only the list itself (and its detached
signatures) is exempt, so a file the manifest does not know (an OCI layout, the provenance)
is still checked, and one added beside them is found.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from gadgetbuild.errors import WasmFormatError
from gadgetbuild.manifest import (
    OCI_FOLDER,
    PROVENANCE_NAME,
    SUMS_NAME,
    ArtifactRecord,
    FileRecord,
    Manifest,
    Record,
)
from gadgetbuild.views.interface import InterfaceChange, interface_changes
from gadgetbuild.views.sources import read_bytes
from gadgetbuild.wasm import read_module
from gadgetbuild.wasm.records import describe_module

IGNORED: tuple[str, ...] = (
    # checksum lists and their detached signatures
    "SHA256SUMS",
    "SHA512SUMS",
    "SHA256SUMS.*",
    "SHA512SUMS.*",
    "*.sha256",
    "*.sha512",
    # provenance: in-toto / SLSA attestations
    "*.intoto.jsonl",
    "provenance.json",
    "*.provenance.json",
    # lock files of whatever publishes the folder
    "*.lock",
)
TEMPORARY = ".*.tmp"
# The list and its detached signatures (GnuPG, minisign or sigstore), which sign it and so
# cannot be in it; any other name beside it must be listed.
SUMS_EXEMPT: tuple[str, ...] = (
    SUMS_NAME,
    *(f"{SUMS_NAME}.{suffix}" for suffix in ("asc", "sig", "minisig", "pem", "sigstore.json")),
)
SUMS_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](.+)")


class Problem(Record):
    code: str
    message: str
    expected: str | None = None
    found: str | None = None


class FileCheck(Record):
    """One file: named by the manifest (with its artifact and role) or found unexpected."""

    path: str
    gadget: str | None = None
    toolchain: str | None = None
    role: str | None = None
    ok: bool
    problems: list[Problem]


def verify_manifest(manifest_path: Path, manifest: Manifest) -> list[FileCheck]:
    """Check every file ``manifest`` names, then look for files it does not name."""
    root = manifest_path.parent
    real_root = root.resolve()
    named = {manifest_path.name}
    digests: dict[str, str] = {}
    checks = []
    for record in manifest.artifacts:
        for role, file in named_files(record):
            named.add(PurePosixPath(file.path).as_posix())
            digests[PurePosixPath(file.path).as_posix()] = file.sha256
            problems = check_file(real_root, record, role, file)
            checks.append(
                FileCheck(
                    path=file.path,
                    gadget=record.gadget,
                    toolchain=record.toolchain.name,
                    role=role,
                    ok=not problems,
                    problems=problems,
                )
            )
    if not (root / SUMS_NAME).is_file():
        return checks + unexpected_files(root, named)

    listed_checks, listed = check_sums(real_root, root / SUMS_NAME, digests, manifest_path.name)
    layers = [layer_check(real_root, record) for record in manifest.artifacts]
    return (
        checks
        + listed_checks
        + [c for c in layers if c is not None]
        + unexpected_files(root, named | listed, SUMS_EXEMPT)
    )


def layer_check(real_root: Path, record: ArtifactRecord) -> FileCheck | None:
    """A release's OCI layout must carry the stripped module it ships beside it: a blob of
    that module's sha256 (the blobs are named by their digest)."""
    if record.stripped is None:
        return None
    layout = f"{OCI_FOLDER}/{record.toolchain.name}/{record.gadget}"
    blob = real_root / layout / "blobs" / "sha256" / record.stripped.sha256
    problems = []
    if not blob.is_file():
        message = f"holds no blob of the stripped module {record.stripped.path}'s sha256"
        problems.append(Problem(code="layer-mismatch", message=message))
    return FileCheck(
        path=layout,
        gadget=record.gadget,
        toolchain=record.toolchain.name,
        role="oci layout",
        ok=not problems,
        problems=problems,
    )


def check_sums(
    real_root: Path, sums: Path, digests: dict[str, str], manifest_name: str
) -> tuple[list[FileCheck], set[str]]:
    """Each file ``SHA256SUMS`` lists that the manifest does not name, hashed against the
    list; the list's own problems (a bad line, a digest the manifest contradicts, a named
    file left out) in one check of its own. Returns the checks and the paths listed."""
    problems: list[Problem] = []
    checks: list[FileCheck] = []
    listed: dict[str, str] = {}
    for number, raw in enumerate(read_bytes(sums).splitlines(), start=1):
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        match = SUMS_LINE.fullmatch(line)
        if match is None or "\ufffd" in line:
            problems.append(Problem(code="bad-checksum-line", message=f"line {number} unreadable"))
            continue
        digest, path = match[1].lower(), match[2]
        if path in listed:
            message = f"line {number} lists {path} again"
            problems.append(Problem(code="duplicate-line", message=message))
            continue
        listed[path] = digest
        if path in digests and digests[path] != digest:
            message = f"lists {path} with sha256 {digest[:12]}…, the manifest another"
            problems.append(Problem(code="checksum-mismatch", message=message))
        elif path not in digests:
            file = listed_file(real_root, path, digest)
            checks.append(FileCheck(path=path, role="listed", ok=not file, problems=file))
    problems.extend(
        Problem(code="not-listed", message=f"does not list {path}, which the manifest names")
        for path in sorted(set(digests) - set(listed))
    )
    problems.extend(
        Problem(code="not-listed", message=f"does not list {name}, which a release holds")
        for name in (manifest_name, PROVENANCE_NAME)
        if name not in listed
    )
    own = FileCheck(path=SUMS_NAME, role="checksums", ok=not problems, problems=problems)
    checks = [with_subjects(real_root, check, listed) for check in checks]
    return [own, *checks], set(listed)


def with_subjects(real_root: Path, check: FileCheck, listed: dict[str, str]) -> FileCheck:
    """The provenance's check, with its subjects held against ``SHA256SUMS``: the same files
    at the same digests, so a file changed and listed again still differs from it."""
    if check.path != PROVENANCE_NAME or not check.ok:
        return check
    try:
        statement = json.loads((real_root / check.path).read_bytes())
        subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    except (OSError, ValueError, KeyError, TypeError):
        message = "not an in-toto statement whose subjects each have a name and a sha256"
        problem = Problem(code="bad-provenance", message=message)
        return check.model_copy(update={"ok": False, "problems": [problem]})

    expected = {p: d for p, d in listed.items() if p not in {PROVENANCE_NAME, SUMS_NAME}}
    problems = [
        Problem(
            code="subject-mismatch",
            message=f"names {path} with sha256 {subjects[path][:12]}…, {SUMS_NAME} "
            f"{expected[path][:12]}…",
            expected=subjects[path],
            found=expected[path],
        )
        for path in sorted(set(subjects) & set(expected))
        if subjects[path] != expected[path]
    ]
    problems += [
        Problem(code="not-a-subject", message=f"does not name {path}, which {SUMS_NAME} lists")
        for path in sorted(set(expected) - set(subjects))
    ]
    problems += [
        Problem(code="subject-missing", message=f"names {path}, which {SUMS_NAME} does not list")
        for path in sorted(set(subjects) - set(expected))
    ]
    return check.model_copy(update={"ok": not problems, "problems": problems})


def listed_file(real_root: Path, relative: str, digest: str) -> list[Problem]:
    read = read_inside(real_root, relative, named_by=f"listed in {SUMS_NAME}")
    if isinstance(read, list):
        return read
    found = hashlib.sha256(read[1]).hexdigest()
    if found != digest:
        message = f"sha256 {found[:12]}…, {SUMS_NAME} says {digest[:12]}…"
        return [Problem(code="hash-mismatch", message=message, expected=digest, found=found)]
    return []


def named_files(record: ArtifactRecord) -> list[tuple[str, FileRecord]]:
    files: list[tuple[str, FileRecord]] = []
    if record.raw:
        files.append(("raw", record.raw))
    if record.stripped:
        files.append(("stripped", record.stripped))
    files.extend((packed.codec, packed) for packed in record.compressed)
    kept = record.last_good
    if kept is not None:
        # Hashed, not read for their interface: the record's exports are of no build of theirs.
        files += [
            (f"last good {role}", f)
            for role, f in (("raw", kept.raw), ("stripped", kept.stripped))
            if f
        ]
        files.extend((f"last good {packed.codec}", packed) for packed in kept.compressed)
    return files


def check_file(
    real_root: Path, record: ArtifactRecord, role: str, file: FileRecord
) -> list[Problem]:
    read = read_inside(real_root, file.path, named_by="named by the manifest")
    if isinstance(read, list):
        return read

    target, data = read
    problems = check_bytes(data, file)
    if role == "stripped":
        problems.extend(check_interface(target, data, record))
    return problems


def read_inside(
    real_root: Path, relative: str, *, named_by: str
) -> tuple[Path, bytes] | list[Problem]:
    """The file ``relative`` names under ``real_root`` and its bytes, or why it cannot be
    read; ``named_by`` says who expects it, for the missing file's message."""
    target = resolve_inside(real_root, relative)
    if isinstance(target, Problem):
        return [target]

    try:
        return target, target.read_bytes()
    except FileNotFoundError:
        return [Problem(code="missing-file", message=f"{named_by}, not in the folder")]
    except OSError as exc:
        return [Problem(code="unreadable-file", message=f"cannot be read: {exc.strerror}")]


def resolve_inside(real_root: Path, relative: str) -> Path | Problem:
    """The file ``relative`` names under ``real_root``, or why it is refused unread."""
    if not relative or "\\" in relative or "\0" in relative:
        return _unsafe("not a '/'-separated relative path")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or PureWindowsPath(relative).drive:
        return _unsafe("an absolute path: manifest paths are relative to its folder")
    if ".." in pure.parts:
        return _unsafe("leaves the manifest's folder through '..'")

    try:
        resolved = (real_root / pure).resolve()
    except (OSError, RuntimeError) as exc:
        return _unsafe(f"cannot be resolved ({exc})")
    if not resolved.is_relative_to(real_root):
        return _unsafe(f"leads out of the manifest's folder through a symlink, to {resolved}")
    return resolved


def _unsafe(reason: str) -> Problem:
    return Problem(code="unsafe-path", message=f"refused, not read: {reason}")


def check_bytes(data: bytes, file: FileRecord) -> list[Problem]:
    # A size mismatch implies a hash mismatch: report the more telling of the two only.
    if len(data) != file.size:
        message = f"{len(data)} bytes, the manifest says {file.size}"
        found, expected = str(len(data)), str(file.size)
        return [Problem(code="size-mismatch", message=message, expected=expected, found=found)]

    digest = hashlib.sha256(data).hexdigest()
    if digest != file.sha256:
        message = f"sha256 {digest[:12]}…, the manifest says {file.sha256[:12]}…"
        return [Problem(code="hash-mismatch", message=message, expected=file.sha256, found=digest)]
    return []


def check_interface(path: Path, data: bytes, record: ArtifactRecord) -> list[Problem]:
    """The record's exports and imports against those the module really has."""
    try:
        info = read_module(data, path=path)
    except WasmFormatError as exc:
        at = f" at byte offset {exc.offset:#x}" if exc.offset is not None else ""
        return [Problem(code="unreadable-module", message=f"not a readable module{at}: {exc}")]

    found = describe_module(info)
    changes = interface_changes(record.exports, record.imports, found.exports, found.imports)
    return [_interface_problem(change) for change in changes]


def _interface_problem(change: InterfaceChange) -> Problem:
    what = f"{change.direction} `{change.name}`"
    if change.change == "added":
        message = f"the module has {what} ({change.new}), which the manifest does not record"
    elif change.change == "removed":
        message = f"the manifest records {what} ({change.old}), which the module lacks"
    else:
        message = f"{what} is {change.new} in the module, {change.old} in the manifest"
    return Problem(code=change.code, message=message, expected=change.old, found=change.new)


def unexpected_files(
    root: Path, named: set[str], ignored: tuple[str, ...] = IGNORED
) -> list[FileCheck]:
    """Files (and symlinks) under ``root`` that are neither named nor on the ignored list."""
    found: list[FileCheck] = []
    errors: list[OSError] = []
    for folder, dirs, files in os.walk(root, onerror=errors.append):
        base = Path(folder)
        # os.walk does not descend into a symlinked folder; the link itself is an entry.
        links = [d for d in dirs if (base / d).is_symlink()]
        for name in sorted([*files, *links]):
            relative = (base / name).relative_to(root).as_posix()
            if relative in named or _ignored(name, ignored) or _leads_to_named(relative, named):
                continue
            found.append(_unexpected(relative, name))
    for error in errors:
        problem = Problem(code="unreadable-folder", message=f"cannot be listed: {error.strerror}")
        path = Path(error.filename).relative_to(root).as_posix() if error.filename else "."
        found.append(FileCheck(path=path, ok=False, problems=[problem]))
    return sorted(found, key=lambda check: check.path)


def _ignored(name: str, ignored: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in ignored)


def _leads_to_named(relative: str, named: set[str]) -> bool:
    return any(path.startswith(f"{relative}/") for path in named)


def _unexpected(relative: str, name: str) -> FileCheck:
    if fnmatch.fnmatchcase(name, TEMPORARY):
        message = "a temporary file left by an interrupted write: delete it"
    else:
        message = "not named by the manifest"
    problem = Problem(code="unexpected-file", message=message)
    return FileCheck(path=relative, ok=False, problems=[problem])
