"""What git says about the folder holding the sources; ``None`` where git cannot say."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_output(folder: Path, *args: str) -> str | None:
    """``git ARGS`` run in ``folder``: its stdout, stripped, or ``None`` when git is missing
    or fails (no repository, no commit, no such remote)."""
    try:
        return subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
