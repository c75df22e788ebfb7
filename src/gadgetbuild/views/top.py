"""`top`: a module's largest functions by body size, read from the code section's size
fields alone (no instruction is decoded), named from the ``name`` section when present."""

from __future__ import annotations

from pathlib import Path

from gadgetbuild.manifest import Record
from gadgetbuild.views.inspection import share
from gadgetbuild.wasm import ModuleInfo, function_body_sizes, function_names


class FunctionSize(Record):
    index: int
    name: str | None
    size: int
    share: float


class TopReport(Record):
    """``functions`` are the largest first; the rest is summed in the text view only."""

    path: str
    code_size: int
    function_count: int
    named: bool
    functions: list[FunctionSize]


def top_functions(path: Path, data: bytes, info: ModuleInfo, limit: int | None) -> TopReport:
    """The ``limit`` largest function bodies (all with ``None``), ties by index."""
    sizes = function_body_sizes(data, info, path=path)
    names = function_names(data, info, path=path)
    code_size = info.code.size if info.code else 0
    # Bodies follow the imported functions in the function index space.
    first = info.imported_function_count
    ranked = sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))
    shown = ranked if limit is None else ranked[:limit]
    return TopReport(
        path=str(path),
        code_size=code_size,
        function_count=len(sizes),
        named=bool(names),
        functions=[
            FunctionSize(
                index=first + i,
                name=names.get(first + i),
                size=sizes[i],
                share=share(sizes[i], code_size),
            )
            for i in shown
        ],
    )
