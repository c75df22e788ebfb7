"""JSON Schemas generated from the pydantic models; `schemas/` holds the committed copies."""

from __future__ import annotations

import json
from pathlib import Path
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from gadgetbuild.manifest import Manifest
from gadgetbuild.specs import GadgetSpec, ToolchainSpec

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MODELS: dict[str, type[BaseModel]] = {
    "manifest.schema.json": Manifest,
    "gadget.schema.json": GadgetSpec,
    "toolchain.schema.json": ToolchainSpec,
}


def render_schema(model: type[BaseModel]) -> str:
    schema = {"$schema": SCHEMA_DIALECT, **model.model_json_schema(mode="validation")}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in MODELS.items():
        path = folder / name
        path.write_text(render_schema(model), encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(folder: Path) -> list[str]:
    """Names of the committed schemas that differ from what the models generate."""
    stale = []
    for name, model in MODELS.items():
        path = folder / name
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != render_schema(model):
            stale.append(name)
    return stale


def field_reference(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Markdown table rows, one per field, nested models flattened to dotted names."""
    rows = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        nested = _nested_model(annotation)
        required = "yes" if info.is_required() else "no"
        kind = _type_name(annotation)
        rows.append(f"| `{prefix}{name}` | {kind} | {required} | {info.description or ''} |")
        if nested is not None:
            key = "<key>." if get_origin(annotation) is dict else ""
            rows.extend(field_reference(nested, f"{prefix}{name}.{key}"))
    return rows


def reference_table(model: type[BaseModel]) -> str:
    head = ["| field | type | required | meaning |", "|---|---|---|---|"]
    return "\n".join(head + field_reference(model))


def _nested_model(annotation: object) -> type[BaseModel] | None:
    candidates = [annotation, *get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _type_name(annotation: object) -> str:
    """A type as the reference table shows it: `list of str`, `"go" or "tinygo"`, …"""
    origin = get_origin(annotation)
    args = [a for a in get_args(annotation) if a is not type(None)]
    if origin is Literal:
        return " or ".join(f'`"{a}"`' for a in args)
    if origin is list or origin is dict:
        kind = "list" if origin is list else "table"
        return f"{kind} of {_type_name(args[-1])}"
    if args and (origin in {Union, UnionType, Annotated}):
        # Annotated keeps only its type; a union lists each member (None left out above).
        members = args[:1] if origin is Annotated else args
        return " or ".join(_type_name(a) for a in members)
    return getattr(annotation, "__name__", str(annotation))


REFERENCES: dict[str, type[BaseModel]] = {"gadget": GadgetSpec, "toolchain": ToolchainSpec}


def update_readme(path: Path) -> bool:
    """Replace the README's generated field references; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    updated = text
    for tag, model in REFERENCES.items():
        start = f"<!-- reference:{tag} (generated: gadgetbuild schema) -->\n"
        end = f"\n<!-- /reference:{tag} -->"
        head, found, rest = updated.partition(start)
        if not found:
            continue
        _, _, tail = rest.partition(end)
        updated = f"{head}{start}{reference_table(model)}{end}{tail}"
    if updated != text:
        path.write_text(updated, encoding="utf-8")
    return updated != text
