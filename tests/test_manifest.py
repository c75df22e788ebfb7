from __future__ import annotations

import json
from pathlib import Path

import pytest

from gadgetbuild.errors import ManifestError
from gadgetbuild.manifest import (
    ArtifactRecord,
    ArtifactStatus,
    FileRecord,
    LastGood,
    Manifest,
    ToolchainIdentity,
    merge_records,
    read_manifest,
    write_manifest,
)


def record(gadget: str, toolchain: str, reason: str = "") -> ArtifactRecord:
    identity = ToolchainIdentity(name=toolchain, family="go", version="1.24.11")
    return ArtifactRecord(
        gadget=gadget, toolchain=identity, status=ArtifactStatus.UNAVAILABLE, reason=reason
    )


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    manifest = Manifest(gadgetbuild_version="1", artifacts=[record("a", "go-1.24")])
    path = tmp_path / "manifest.json"

    write_manifest(manifest, path)

    assert read_manifest(path) == manifest
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ('{"schema_version": 99}', "unknown manifest schema version 99"),
        ("{}", "no gadgetbuild manifest: it has no schema_version"),
        ("[]", "no gadgetbuild manifest: it has no schema_version"),
        ('{"schema_version": 1}', "gadgetbuild_version"),
    ],
)
def test_bad_manifests_name_file_and_cause(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(text)

    with pytest.raises(ManifestError, match=message) as caught:
        read_manifest(path)

    assert caught.value.path == path


def test_a_device_is_refused_unread() -> None:
    with pytest.raises(ManifestError, match="not a regular file"):
        read_manifest(Path("/dev/zero"))


def test_merge_keeps_others_and_drops_removed() -> None:
    previous = Manifest(
        gadgetbuild_version="1",
        artifacts=[record("a", "go"), record("b", "go"), record("gone", "go")],
    )

    merged = merge_records(previous, [record("b", "go", "new")], {"a", "b"}, {"go"})

    assert [(r.gadget, r.reason) for r in merged] == [("a", ""), ("b", "new")]


def built(gadget: str, digest: str) -> ArtifactRecord:
    file = FileRecord(path=f"go/{gadget}.wasm", size=1, sha256=digest * 64)
    return record(gadget, "go").model_copy(
        update={"status": ArtifactStatus.BUILT, "stripped": file, "source_hash": digest * 64}
    )


def failed(gadget: str) -> ArtifactRecord:
    return record(gadget, "go", "compile").model_copy(update={"status": ArtifactStatus.FAILED})


def test_a_failed_rebuild_keeps_the_last_good_files_through_later_failures() -> None:
    previous = Manifest(gadgetbuild_version="1", artifacts=[built("a", "1")])

    [first] = merge_records(previous, [failed("a")], {"a"}, {"go"})
    [second] = merge_records(
        Manifest(gadgetbuild_version="1", artifacts=[first]), [failed("a")], {"a"}, {"go"}
    )
    [fixed] = merge_records(
        Manifest(gadgetbuild_version="1", artifacts=[second]), [built("a", "2")], {"a"}, {"go"}
    )

    expected = LastGood(source_hash="1" * 64, stripped=built("a", "1").stripped)
    assert (first.status, first.reason, first.last_good) == ("failed", "compile", expected)
    assert second.last_good == expected
    assert fixed.last_good is None
    assert fixed.stripped is not None
    assert fixed.stripped.sha256 == "2" * 64


def test_a_first_build_that_fails_has_nothing_to_keep() -> None:
    previous = Manifest(gadgetbuild_version="1", artifacts=[failed("a")])

    [merged] = merge_records(previous, [failed("a")], {"a"}, {"go"})

    assert merged.last_good is None


def test_manifest_json_excludes_nones(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    write_manifest(Manifest(gadgetbuild_version="1", artifacts=[record("a", "go")]), path)

    data = json.loads(path.read_text())
    assert "image" not in data["artifacts"][0]["toolchain"]
