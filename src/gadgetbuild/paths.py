"""Where gadgetbuild keeps what outlives one build: the cache folder."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "GADGETBUILD_CACHE_DIR"


def cache_dir() -> Path:
    """``$GADGETBUILD_CACHE_DIR``, else ``$XDG_CACHE_HOME/gadgetbuild``, else ``~/.cache/…``."""
    if explicit := os.environ.get(CACHE_ENV):
        return Path(explicit)

    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "gadgetbuild"


def toolchain_cache(toolchain: str) -> Path:
    path = cache_dir() / "toolchains" / toolchain
    path.mkdir(parents=True, exist_ok=True)
    return path
