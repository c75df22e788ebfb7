"""SIGINT and SIGTERM: stop what the build started, and never in the middle of a commit.

While a build runs, both signals raise :class:`InterruptedBuildError` in the main thread
and every registered cancel callback (a compiler process, a container) is called. Inside
:func:`deferred_signals` a signal is only noted, and raised once the block has ended, so
the artifacts folder is never left half-committed.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from gadgetbuild.errors import ExitStatus, InterruptedBuildError

SIGNAL_STATUS = {signal.SIGINT: ExitStatus.SIGINT, signal.SIGTERM: ExitStatus.SIGTERM}

_lock = threading.Lock()
_cancels: dict[int, Callable[[], None]] = {}
_next_token = 0
_cancelled = False
_deferring = False
_pending: list[signal.Signals] = []


def begin_run() -> None:
    """A new build starts: what an earlier interrupt cancelled no longer matters."""
    global _cancelled  # noqa: PLW0603 - one registry per process, shared by worker threads
    with _lock:
        _cancelled = False


def cancelled() -> bool:
    """Whether this run was interrupted: its workers' failures are the interrupt's doing."""
    with _lock:
        return _cancelled


def register_cancel(callback: Callable[[], None]) -> int:
    """Call ``callback`` if the build is interrupted; returns a token for :func:`unregister`.

    After an interrupt, a worker thread may still be starting a process: it is stopped at
    once, here.
    """
    global _next_token  # noqa: PLW0603 - one registry per process, shared by worker threads
    with _lock:
        _next_token += 1
        if not _cancelled:
            _cancels[_next_token] = callback
            return _next_token
    with contextlib.suppress(Exception):
        callback()
    return _next_token


def unregister(token: int) -> None:
    with _lock:
        _cancels.pop(token, None)


def cancel_all() -> None:
    """Stop every process and container still registered; errors of one never stop the rest."""
    global _cancelled  # noqa: PLW0603 - read by register_cancel
    with _lock:
        _cancelled = True
        callbacks = list(_cancels.values())
        _cancels.clear()
    for callback in callbacks:
        # Best effort: the process or container may have ended already.
        with contextlib.suppress(Exception):
            callback()


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    sig = signal.Signals(signum)
    if _deferring:
        _pending.append(sig)
        return

    raise InterruptedBuildError(sig.name, SIGNAL_STATUS[sig])


@contextmanager
def handle_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`InterruptedBuildError` for the block's duration."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    previous = {sig: signal.signal(sig, _interrupt) for sig in SIGNAL_STATUS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then raise the first one that came."""
    global _deferring  # noqa: PLW0603 - the signal handler reads it
    _deferring = True
    try:
        yield
    finally:
        _deferring = False
    if _pending:
        sig = _pending[0]
        _pending.clear()
        raise InterruptedBuildError(sig.name, SIGNAL_STATUS[sig])
