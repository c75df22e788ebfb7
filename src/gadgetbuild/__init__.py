"""gadgetbuild: build, validate and measure WebAssembly gadgets."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # Looked up on first use: importlib.metadata costs the executable's start-up about 40 ms,
    # time in which a signal would find no handler installed yet (entry.py).
    if name != "__version__":
        raise AttributeError(f"module 'gadgetbuild' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("gadgetbuild")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0.0.0"
