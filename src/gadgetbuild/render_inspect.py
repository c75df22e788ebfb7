"""Text views of the inspection records (`inspect`, `verify`, `diff`, `compare`, `top`).

Computed once, rendered as a table, Markdown or JSON. Size tables end with a remainder
row and a total row; those rows exist only here, never in the ``--json`` records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel
from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from gadgetbuild.manifest import ArtifactStatus
from gadgetbuild.render import STATUS_STYLE, human_size
from gadgetbuild.views.compare import GadgetComparison
from gadgetbuild.views.diff import ArtifactDiff, GrowthViolation, same_outcome
from gadgetbuild.views.inspection import ArtifactRow, ModuleReport
from gadgetbuild.views.sizes import MEASURES
from gadgetbuild.views.top import TopReport
from gadgetbuild.views.verify import FileCheck
from gadgetbuild.wasm.contract import PAGE_SIZE

# Rules under the head and above the total (the footer); gadgets are apart by a blank line.
RULED = box.Box("    \n    \n ── \n    \n    \n ── \n    \n    \n")


def records_json(records: BaseModel | Sequence[BaseModel]) -> str:
    if isinstance(records, BaseModel):
        return records.model_dump_json(indent=2)
    return json.dumps([r.model_dump(mode="json") for r in records], indent=2)


def table(*columns: str, right: Sequence[str] = ()) -> Table:
    """A borderless table, a rule under the head: one record per line, easy to scan."""
    # Two blanks between columns (the divider and a right pad): the wide tables fit 120.
    grid = Table(box=RULED, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for name in columns:
        grid.add_column(name, justify="right" if name in right else "left", no_wrap=True)
    return grid


def total_row(grid: Table, *cells: str) -> None:
    """The footer: a rule, then ``cells``, which only the text view ever shows."""
    grid.show_footer = True
    for column, cell in zip(grid.columns, cells, strict=True):
        column.footer = cell


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def pages(count: int) -> str:
    size = count * PAGE_SIZE
    amount = f"{size / 2**20:g} MiB" if size >= 2**20 else f"{size / 2**10:g} KiB"
    return f"{plural(count, 'page')} ({amount})"


def number(value: int) -> str:
    return f"{value:,}"


def percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"


def signed(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value:+,}" if value else "0"


def signed_percent(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:+.2f}%" if value else "0%"


def module_view(report: ModuleReport) -> RenderableType:
    """Facts, every ABI violation, then the section, export and import tables."""
    facts = table("", "")
    facts.show_header = False
    for name, value in module_facts(report):
        facts.add_row(name, value)
    parts: list[RenderableType] = [facts, ""]
    parts.extend(violation_lines(report))
    parts += [sections_table(report), "", exports_table(report), "", imports_table(report)]
    return Group(*parts)


def module_facts(report: ModuleReport) -> list[tuple[str, str]]:
    producer = " ".join(filter(None, (report.toolchain, report.toolchain_version)))
    if report.language:
        producer = f"{producer or 'unknown'} (language {report.language})"
    abi = f"gadget ABI v{report.abi_version}, Inspektor Gadget {report.min_host} and later"
    if report.abi_holds:
        verdict = f"[green]holds[/]: {abi}"
    else:
        verdict = f"[bold red]broken[/]: {plural(len(report.violations), 'violation')} of the {abi}"
    return [
        ("module", escape(report.path)),
        ("size", f"{number(report.size)} bytes, sha256 {report.sha256}"),
        ("toolchain", escape(producer or "unknown: no producers section")),
        ("entry", entry_text(report)),
        ("memory", memory_text(report)),
        ("ABI", verdict),
    ]


def entry_text(report: ModuleReport) -> str:
    text = {
        "reactor": "reactor: exports `_initialize`",
        "command": "command: exports `_start`, not `_initialize`",
        "command and reactor": "command and reactor: exports `_start` and `_initialize`",
        "neither": "neither reactor nor command: no `_initialize`, no `_start`",
    }[report.entry]
    return f"{text}; a start function runs at instantiation" if report.start_function else text


def memory_text(report: ModuleReport) -> str:
    memory = report.memory
    if memory is None:
        return "none"

    size = (
        f"imported, {pages(memory.initial_pages)}"
        if memory.imported
        else pages(memory.initial_pages)
    )
    cap = f"the host's cap of {pages(memory.cap_pages)}"
    if memory.within_cap:
        return f"{size}, within {cap}"
    return f"{size}, [bold red]over {cap}[/]"


def violation_lines(report: ModuleReport) -> list[RenderableType]:
    """Numbered, the code in bold; a long message wraps inside its own column."""
    if not report.violations:
        return []

    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", style="bold red", no_wrap=True)
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold", ratio=1)
    for index, v in enumerate(report.violations, 1):
        grid.add_row(f"{index}.", v.code, escape(v.message))
    return [grid, ""]


def sections_table(report: ModuleReport) -> Table:
    grid = table("section", "offset", "bytes", "share", right=("offset", "bytes", "share"))
    for s in report.sections:
        grid.add_row(escape(s.name), f"{s.offset:#x}", number(s.size), percent(s.share))
    headers = report.size - sum(s.size for s in report.sections)
    grid.add_row("(preamble, section headers)", "", number(headers), percent(headers / report.size))
    total_row(grid, "total", "", number(report.size), percent(1.0))
    return grid


def exports_table(report: ModuleReport) -> Table:
    grid = table("export", "kind", "signature")
    for e in report.exports:
        grid.add_row(escape(e.name), e.kind, e.signature or "")
    return grid


def imports_table(report: ModuleReport) -> Table:
    grid = table("import", "kind", "signature")
    for i in report.imports:
        grid.add_row(escape(f"{i.module}.{i.name}"), i.kind, i.signature or "")
    return grid


def artifacts_table(rows: Sequence[ArtifactRow]) -> Table:
    """Sizes, memory and ABI verdict per artifact; the JSON rows also count exports and imports."""
    grid = table(
        "gadget",
        "toolchain",
        "status",
        "compiler",
        *MEASURES,
        "pages",
        "ABI",
        right=(*MEASURES, "pages"),
    )
    for r in rows:
        grid.add_row(
            r.gadget,
            r.toolchain,
            f"[{STATUS_STYLE[r.status]}]{r.status.value}",
            # The version is the telling part of `Go cmd/compile go1.24.11` or `TinyGo 0.41.1`.
            escape(r.compiler.split()[-1]) if r.compiler else "-",
            *(human_size(r.sizes[m]) for m in MEASURES),
            str(r.memory_pages) if r.memory_pages is not None else "-",
            abi_cell(r),
        )
    return grid


def abi_cell(row: ArtifactRow) -> str:
    if row.violations:
        return f"[bold red]{row.violations} violations"
    if row.status in {ArtifactStatus.BUILT, ArtifactStatus.CACHED}:
        return "[green]holds"
    return "-"


def artifact_notes(rows: Sequence[ArtifactRow]) -> list[Text]:
    """Why artifacts failed or are unavailable; one line per toolchain for the latter."""
    notes, seen = [], set()
    for r in rows:
        if r.reason is None:
            continue
        key = (
            r.toolchain if r.status is ArtifactStatus.UNAVAILABLE else f"{r.gadget} × {r.toolchain}"
        )
        if key in seen:
            continue
        seen.add(key)
        note = Text(f"{r.status.value} ", style=STATUS_STYLE[r.status])
        notes.append(note.append(f"{key}: {r.reason}", style="default"))
    return notes


def verify_view(checks: Sequence[FileCheck]) -> Group:
    """One line per file, `ok` or `FAIL`, each problem indented under its file."""
    width = max((len(c.path) for c in checks), default=0)
    lines: list[RenderableType] = []
    for c in checks:
        line = Text("ok   " if c.ok else "FAIL ", style="green" if c.ok else "bold red")
        line.append(c.path.ljust(width))
        if c.gadget is not None:
            line.append(f"  {c.gadget} × {c.toolchain} {c.role}", style="dim")
        lines.append(line)
        for p in c.problems:
            problem = Text(p.code, style="bold").append(f": {p.message}", style="default")
            # Indented as a block, so a long message wraps under itself, not under `FAIL`.
            lines.append(Padding(problem, (0, 0, 0, 5)))
    return Group(*lines)


def verify_summary(checks: Sequence[FileCheck]) -> str:
    named = [c for c in checks if c.gadget is not None and c.role != "oci layout"]
    failing = sum(1 for c in named if not c.ok)
    # A release's SHA256SUMS vouches for the files the manifest does not name.
    listed = [c for c in checks if c.role in {"listed", "checksums"}]
    layouts = [c for c in checks if c.role == "oci layout"]
    others = len(checks) - len(named) - len(listed) - len(layouts)
    summary = f"{plural(len(named), 'file')} named by the manifest: {len(named) - failing} hold"
    summary += f", {failing} with problems" if failing else ""
    if listed:
        holding = sum(1 for c in listed if c.ok)
        summary += f"; {plural(len(listed), 'file')} checked by SHA256SUMS: {holding} hold"
    if layouts:
        holding = sum(1 for c in layouts if c.ok)
        summary += f"; {plural(len(layouts), 'OCI layout')} carry their module: {holding} do"
    return summary + (f"; {plural(others, 'file')} not named" if others else "")


def diff_table(diffs: Sequence[ArtifactDiff]) -> Table:
    """Unchanged artifacts take one row; the others one row per size they have."""
    grid = table(
        "gadget",
        "toolchain",
        "change",
        "size",
        "old",
        "new",
        "delta",
        "delta %",
        right=("old", "new", "delta", "delta %"),
    )
    for d in diffs:
        label: str = d.change
        if d.change == "changed" and not same_outcome(d.old_status, d.new_status):
            label = f"changed ({status_change(d)})"
        for index, cells in enumerate(size_cells(d)):
            grid.add_row(*((d.gadget, d.toolchain, label) if index == 0 else ("", "", "")), *cells)
    return grid


def size_cells(d: ArtifactDiff) -> list[tuple[str, ...]]:
    """One row per size; an unchanged artifact shows only its stripped size."""
    sizes = [s for s in d.sizes if d.change != "unchanged" or s.measure == "stripped"]
    if not sizes:
        return [("-",) * 5]
    return [
        (
            s.measure,
            human_size(s.old),
            human_size(s.new),
            signed(s.delta),
            signed_percent(s.percent),
        )
        for s in sizes
    ]


def status_change(d: ArtifactDiff) -> str:
    old = d.old_status.value if d.old_status else "absent"
    new = d.new_status.value if d.new_status else "absent"
    return f"{old} -> {new}"


def interface_lines(diffs: Sequence[ArtifactDiff]) -> list[Text]:
    lines = []
    for d in diffs:
        for change in d.interface:
            sign = {"added": "+", "removed": "-", "changed": "~"}[change.change]
            line = Text(f"{sign} {d.gadget} × {d.toolchain}: ", style="bold")
            lines.append(line.append(change.describe(), style="default"))
    return lines


def growth_lines(violations: Sequence[GrowthViolation]) -> list[Text]:
    return [Text(f"over the limit: {v.describe()}", style="bold red") for v in violations]


def compare_rows(comparisons: Sequence[GadgetComparison]) -> tuple[list[str], list[list[str]]]:
    """The head and rows shared by the table and the Markdown forms."""
    if not comparisons:
        return ["gadget", "size"], []

    names = [t.toolchain for t in comparisons[0].toolchains]
    base = comparisons[0].baseline
    head = ["gadget", "size", *names, *(f"{n} / {base}" for n in names[1:])]
    rows = []
    for c in comparisons:
        for index, measure in enumerate(MEASURES):
            cells = [size_cell(t.status, t.sizes[measure]) for t in c.toolchains]
            ratios = [ratio_cell(t.ratio[measure]) for t in c.toolchains[1:]]
            rows.append([c.gadget if index == 0 else "", measure, *cells, *ratios])
    return head, rows


def size_cell(status: object, size: int | None) -> str:
    if size is not None:
        return human_size(size)
    return getattr(status, "value", "absent")


def ratio_cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}×"


def compare_table(comparisons: Sequence[GadgetComparison]) -> Table:
    head, rows = compare_rows(comparisons)
    grid = table(*head, right=head[2:])
    for index, row in enumerate(rows):
        last_of_gadget = (index + 1) % len(MEASURES) == 0 and index + 1 < len(rows)
        grid.add_row(*map(escape, row), end_section=last_of_gadget)
    return grid


def compare_markdown(comparisons: Sequence[GadgetComparison]) -> str:
    head, rows = compare_rows(comparisons)
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---", "---", *(["--:"] * (len(head) - 2))]) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def top_table(report: TopReport) -> Table:
    grid = table("bytes", "share", "index", "function", right=("bytes", "share", "index"))
    for f in report.functions:
        name = Text(f.name) if f.name else Text(f"func[{f.index}]", style="dim")
        grid.add_row(number(f.size), percent(f.share), str(f.index), name)

    shown = sum(f.size for f in report.functions)
    rest = report.code_size - shown
    others = report.function_count - len(report.functions)
    grid.add_row(
        number(rest),
        percent(rest / report.code_size if report.code_size else 0.0),
        "",
        f"({plural(others, 'other function')} and the body size fields)",
    )
    total = f"code section ({plural(report.function_count, 'function')})"
    total_row(grid, number(report.code_size), percent(1.0), "", total)
    return grid
