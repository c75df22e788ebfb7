"""The `gadgetbuild` executable: signals are handled before the heavy imports begin.

This module imports only ``signal`` and ``sys`` before its handlers are in place: every
millisecond of start-up before them is a window in which SIGTERM kills the process with no
status of ours.
"""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import FrameType
    from typing import NoReturn

# ExitStatus.SIGINT and ExitStatus.SIGTERM, written out: errors.py is not loaded yet.
_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _exit(signum: int, _frame: FrameType | None) -> NoReturn:
    sys.exit(_STATUS.get(signal.Signals(signum), 130))


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
