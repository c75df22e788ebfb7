"""Which containers a run left behind: decided from the labels alone, no engine needed.

The removal itself, after a real SIGKILL, is tested against an engine in test_docker_backend.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

from gadgetbuild.toolchains.engine import (
    HOST_LABEL,
    PID_LABEL,
    RUN_LABEL,
    STARTED_LABEL,
    owner_labels,
    process_start,
    run_id,
)
from gadgetbuild.toolchains.leftovers import Leftover, is_owner_alive


def test_owner_labels_name_this_process_and_run() -> None:
    labels = owner_labels()

    assert labels[PID_LABEL] == str(os.getpid())
    assert labels[STARTED_LABEL] == process_start(os.getpid())
    assert labels[RUN_LABEL] == run_id()
    assert labels[HOST_LABEL]
    assert is_owner_alive(labels)


def test_a_process_that_ended_owns_nothing() -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = ended.stdout.strip()

    assert not is_owner_alive({PID_LABEL: pid, STARTED_LABEL: "1"})


def test_a_reused_pid_is_told_apart_by_its_start_time() -> None:
    labels = owner_labels()

    assert not is_owner_alive({**labels, STARTED_LABEL: "1"})
    # Without a start time (written where there is no /proc) the pid alone decides.
    assert is_owner_alive({**labels, STARTED_LABEL: ""})


def test_a_container_naming_no_process_is_kept() -> None:
    assert is_owner_alive({})
    assert is_owner_alive({PID_LABEL: "not-a-pid"})


def test_leftover_says_what_was_removed_and_whose_it_was() -> None:
    leftover = Leftover("0123456789abcdef", "go-1.24", "compile", "run1", "4242")

    assert str(leftover) == (
        "removed container 0123456789ab (go-1.24, compile) left by run run1 (pid 4242), "
        "which is gone"
    )
