"""`gadgetbuild inspect`, `verify`, `diff`, `compare` and `top`: read-only views of artifacts."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import RenderableType

from gadgetbuild import render, render_inspect
from gadgetbuild.cli.group import EXIT_TABLE, Percent, cli
from gadgetbuild.errors import FailureError
from gadgetbuild.manifest import ArtifactStatus
from gadgetbuild.views.compare import compare_toolchains
from gadgetbuild.views.diff import diff_manifests, growth_violations
from gadgetbuild.views.inspection import inspect_manifest, inspect_module
from gadgetbuild.views.sources import load_manifest, looks_like_manifest, read_bytes
from gadgetbuild.views.top import top_functions
from gadgetbuild.views.verify import IGNORED, verify_manifest
from gadgetbuild.wasm import load_contract, read_module

JSON_HELP = "Print the records as JSON: no totals, no decoration."
EXISTING = click.Path(exists=True, path_type=Path)
MODULE = click.Path(exists=True, dir_okay=False, path_type=Path)


def show(renderable: RenderableType) -> None:
    render.stdout.print(renderable, highlight=False)


@cli.command(
    epilog=EXIT_TABLE, short_help="A module's outline and ABI verdict, or a manifest's artifacts."
)
@click.argument("path", type=EXISTING)
@click.option(
    "--contract",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An ABI contract file instead of the one shipped (gadget ABI v1).",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def inspect(path: Path, contract: Path | None, as_json: bool) -> None:
    """Show a module's sections, toolchain, entry kind, memory, exports, imports and ABI
    verdict; or, given a manifest (or its folder), one row per artifact.

    Exits 1 when the module breaks the gadget ABI, or a manifest holds a failed artifact.

    \b
    Example:
      gadgetbuild inspect artifacts/go-1.24/hello.wasm
      gadgetbuild inspect artifacts --json | jq '.[] | {gadget, toolchain, status}'
    """
    data = b"" if path.is_dir() else read_bytes(path)
    if looks_like_manifest(path, data):
        inspect_artifacts(path, as_json=as_json)
        return

    report = inspect_module(path, data, read_module(data, path=path), load_contract(contract))
    if as_json:
        click.echo(render_inspect.records_json(report))
    else:
        show(render_inspect.module_view(report))
    if not report.abi_holds:
        codes = ", ".join(sorted({v.code for v in report.violations}))
        count = render_inspect.plural(len(report.violations), "violation")
        raise FailureError(f"breaks the gadget ABI: {count} ({codes})", path=path)


def inspect_artifacts(path: Path, *, as_json: bool) -> None:
    manifest_path, manifest = load_manifest(path)
    rows = inspect_manifest(manifest)
    if as_json:
        click.echo(render_inspect.records_json(rows))
    else:
        show(render_inspect.artifacts_table(rows))
        for note in render_inspect.artifact_notes(rows):
            show(note)

    failed = [r for r in rows if r.status is ArtifactStatus.FAILED]
    if failed:
        raise FailureError(f"{len(failed)} of {len(rows)} artifacts failed", path=manifest_path)


IGNORED_LIST = ", ".join(IGNORED)
VERIFY_HELP = f"""Check that the manifest's folder holds exactly the files it names.

PATH is a manifest or a folder holding manifest.json (default: artifacts). Every file is
hashed again and each stripped module's exports and imports re-read. A path that is
absolute or leaves the folder (`..`, a symlink out) is refused unread. A file the
manifest does not name is a problem, except the manifest itself and checksum,
provenance and lock files: {IGNORED_LIST}. Temporary files are reported: they are
debris of an interrupted write.

A folder with a SHA256SUMS beside the manifest is a release (`gadgetbuild release`): the
list must name every other file of the folder (OCI layouts and provenance included), each
is hashed against it, and only the list and its signatures are exempt; the provenance's
subjects must be the listed files at the listed digests.

Exits 0 when every file holds, 1 on any problem.

\b
Example:
  gadgetbuild verify artifacts
  gadgetbuild verify dist/0.2.0
"""


@cli.command(
    epilog=EXIT_TABLE, help=VERIFY_HELP, short_help="Check a manifest's folder file by file."
)
@click.argument("path", type=EXISTING, default=Path("artifacts"))
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def verify(path: Path, as_json: bool) -> None:
    manifest_path, manifest = load_manifest(path)
    checks = verify_manifest(manifest_path, manifest)
    if as_json:
        click.echo(render_inspect.records_json(checks))
    else:
        show(render_inspect.verify_view(checks))
        show(render_inspect.verify_summary(checks))

    failing = [c for c in checks if not c.ok]
    if failing:
        problems = sum(len(c.problems) for c in failing)
        raise FailureError(
            f"{render_inspect.plural(problems, 'problem')} in "
            f"{render_inspect.plural(len(failing), 'file')}",
            path=manifest_path,
        )


@cli.command(epilog=EXIT_TABLE, short_help="Size and interface changes between two manifests.")
@click.argument("old", type=EXISTING)
@click.argument("new", type=EXISTING)
@click.option(
    "--fail-on-growth",
    "limit",
    type=Percent(),
    metavar="PCT",
    help="Exit 1 when a stripped or compressed size grew by more than PCT percent.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def diff(old: Path, new: Path, limit: float | None, as_json: bool) -> None:
    """Compare two manifests (or folders holding one): per artifact, the size changes of
    the raw, stripped and compressed files, and exports and imports added, removed or
    changed in signature; artifacts added or removed.

    \b
    Example: the release gate, against the last release's manifest:
      gadgetbuild diff release/manifest.json artifacts --fail-on-growth 5
    """
    _, before = load_manifest(old)
    new_path, after = load_manifest(new)
    diffs = diff_manifests(before, after)
    violations = growth_violations(diffs, limit) if limit is not None else []
    if as_json:
        click.echo(render_inspect.records_json(diffs))
    else:
        show(render_inspect.diff_table(diffs))
        for line in render_inspect.interface_lines(diffs) + render_inspect.growth_lines(violations):
            show(line)

    if violations:
        listing = ", ".join(f"{v.gadget} × {v.toolchain} {v.measure}" for v in violations)
        count = render_inspect.plural(len(violations), "size")
        raise FailureError(f"{count} grew by more than {limit:g}%: {listing}", path=new_path)


@cli.command(epilog=EXIT_TABLE, short_help="Per gadget, the toolchains' sizes side by side.")
@click.argument("path", type=EXISTING, default=Path("artifacts"))
@click.option("--baseline", metavar="TOOLCHAIN", help="Ratios against this toolchain.")
@click.option(
    "--format",
    "form",
    type=click.Choice(["table", "markdown"]),
    default="table",
    show_default=True,
    help="Markdown for release notes.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def compare(path: Path, baseline: str | None, form: str, as_json: bool) -> None:
    """Per gadget, the toolchains side by side: raw, stripped and compressed sizes, and
    each toolchain's ratio to the baseline (by default the first toolchain by name).

    \b
    Example: the TinyGo against Go table for the release notes:
      gadgetbuild compare artifacts --baseline go-1.24 --format markdown
    """
    _, manifest = load_manifest(path)
    comparisons = compare_toolchains(manifest, baseline)
    if as_json:
        click.echo(render_inspect.records_json(comparisons))
    elif form == "markdown":
        click.echo(render_inspect.compare_markdown(comparisons))
    else:
        show(render_inspect.compare_table(comparisons))


@cli.command(epilog=EXIT_TABLE, short_help="A module's largest functions.")
@click.argument("file", type=MODULE)
@click.option(
    "-n",
    "limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="How many functions; 0 for all.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def top(file: Path, limit: int, as_json: bool) -> None:
    """The largest functions by code size, named from the `name` section when the module
    has one (the raw, debug artifact does), with their share of the code section.

    \b
    Example:
      gadgetbuild top artifacts/go-1.24/hello.debug.wasm -n 10
    """
    data = read_bytes(file)
    report = top_functions(file, data, read_module(data, path=file), limit or None)
    if as_json:
        click.echo(render_inspect.records_json(report.functions))
    else:
        show(render_inspect.top_table(report))
