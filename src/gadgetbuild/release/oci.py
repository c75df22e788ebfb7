"""One OCI image layout per artifact, in Inspektor Gadget's format (FACTS.md section 5).

The layout's ``index.json`` names one image index, tagged with the release version; the
index holds one manifest per architecture, and since a wasm module runs on both, the two
manifests are the same bytes: one blob, two descriptors. Each manifest has the gadget's
metadata as a YAML config and the stripped module as its one layer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from gadgetbuild.manifest import write_atomic
from gadgetbuild.specs import GadgetSpec

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
ARTIFACT_TYPE = "application/vnd.gadget.v1+binary"
CONFIG_MEDIA_TYPE = "application/vnd.gadget.config.v1+yaml"
WASM_MEDIA_TYPE = "application/vnd.gadget.wasm.program.v1+binary"
ARCHITECTURES = ("amd64", "arm64")
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What the annotations and the metadata say beside the gadget's own spec."""

    created: str  # RFC 3339, the source commit's time: a rebuild gives the same image
    builder_version: str
    source_url: str = ""


def image_annotations(spec: GadgetSpec, facts: ImageFacts) -> dict[str, str]:
    found = {
        "org.opencontainers.image.title": spec.name,
        "org.opencontainers.image.description": spec.description,
        "org.opencontainers.image.created": facts.created,
        "io.inspektor-gadget.builder.version": facts.builder_version,
    }
    if facts.source_url:
        # No other home than the sources: the host only shows these as links.
        for key in ("url", "documentation", "source"):
            found[f"org.opencontainers.image.{key}"] = facts.source_url
    return dict(sorted(found.items()))


def gadget_metadata(spec: GadgetSpec, facts: ImageFacts) -> bytes:
    """The config blob: IG's gadget metadata file as YAML, keys in a fixed order."""
    metadata: dict[str, object] = {"name": spec.name, "description": spec.description}
    if facts.source_url:
        metadata |= {
            "homepageURL": facts.source_url,
            "documentationURL": facts.source_url,
            "sourceURL": facts.source_url,
        }
    if spec.params:
        params = {
            key: {"key": key, "description": p.description, "defaultValue": p.default}
            for key, p in sorted(spec.params.items())
        }
        metadata["params"] = {"wasm": params}
    text: str = yaml.safe_dump(
        metadata, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000
    )
    return text.encode()


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


class Blobs:
    """The layout's content-addressed store, filled in memory and written at the end."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def add(self, data: bytes, media_type: str, **extra: object) -> dict[str, object]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.data[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data), **extra}


def write_layout(
    folder: Path, spec: GadgetSpec, module: bytes, facts: ImageFacts, ref_name: str
) -> None:
    """The OCI image layout of one artifact in ``folder``: ``oci-layout``, ``index.json``
    and ``blobs/sha256/…``; ``ref_name`` tags the image index (`oci:<folder>:<ref_name>`)."""
    notes = image_annotations(spec, facts)
    blobs = Blobs()
    config = blobs.add(gadget_metadata(spec, facts), CONFIG_MEDIA_TYPE, annotations=notes)
    layer = blobs.add(module, WASM_MEDIA_TYPE)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": config,
        "layers": [layer],
        "annotations": notes,
    }
    manifest_bytes = canonical_json(manifest)
    per_arch = [
        blobs.add(manifest_bytes, MANIFEST_MEDIA_TYPE, platform={"architecture": a, "os": "linux"})
        for a in ARCHITECTURES
    ]
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": per_arch,
        "annotations": notes,
    }
    tagged = blobs.add(canonical_json(index), INDEX_MEDIA_TYPE, annotations={REF_NAME: ref_name})
    layout_index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": [tagged]}

    for digest, data in sorted(blobs.data.items()):
        write_atomic(folder / "blobs" / "sha256" / digest.removeprefix("sha256:"), data)
    write_atomic(folder / "oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}))
    write_atomic(folder / "index.json", canonical_json(layout_index))
