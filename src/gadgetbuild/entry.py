"""The `gadgetbuild` executable: signals are handled before the heavy imports begin."""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import NoReturn

from gadgetbuild.errors import ExitStatus


def _exit(signum: int, _frame: FrameType | None) -> NoReturn:
    sys.exit(ExitStatus.SIGTERM if signum == signal.SIGTERM else ExitStatus.SIGINT)


def run() -> NoReturn:
    # A signal while pydantic, rich and the engine client load must still give 130 or 143,
    # not a traceback; main() installs the build's own handlers.
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    from gadgetbuild.cli import main  # noqa: PLC0415 - after the handler, on purpose

    status = main()
    # The work is done and its status known: a signal now, while the interpreter shuts down
    # with default handlers back, would kill the process and lose that status.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(status)
