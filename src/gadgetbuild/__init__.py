"""gadgetbuild: build, validate and measure WebAssembly gadgets."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gadgetbuild")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0"
