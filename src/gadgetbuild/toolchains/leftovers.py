"""Containers left behind by a run that could not clean up (SIGKILL, a crash, a power cut).

Every build container names the host, process and run that made it (``engine.owner_labels``).
The next run on the same host removes those whose process is gone. A container made on another
host is left alone: a shared remote engine serves builds whose processes this host cannot see.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

import requests
from docker.errors import DockerException

from gadgetbuild.toolchains.engine import (
    HOST_LABEL,
    MANAGED_LABEL,
    PID_LABEL,
    ROLE_LABEL,
    RUN_LABEL,
    STARTED_LABEL,
    TOOLCHAIN_LABEL,
    Engine,
    process_start,
    remove_container,
)


@dataclass(frozen=True, slots=True)
class Leftover:
    """A removed container and the run it outlived."""

    container_id: str
    toolchain: str
    role: str
    run: str
    pid: str

    def __str__(self) -> str:
        return (
            f"removed container {self.container_id[:12]} ({self.toolchain}, {self.role}) left "
            f"by run {self.run} (pid {self.pid}), which is gone"
        )


def remove_leftovers(engine: Engine) -> list[Leftover]:
    """Remove the containers of ours made on this host by a process that no longer runs."""
    labels = [MANAGED_LABEL, f"{HOST_LABEL}={socket.gethostname()}"]
    try:
        found = engine.client.containers.list(all=True, filters={"label": labels})
    except (DockerException, requests.RequestException):
        # Best effort: a failed listing must not stop the build; the next run tries again.
        return []

    removed = []
    for container in found:
        labels_of = container.labels
        if is_owner_alive(labels_of):
            continue
        remove_container(container)
        removed.append(
            Leftover(
                container.id or "",
                labels_of.get(TOOLCHAIN_LABEL, "?"),
                labels_of.get(ROLE_LABEL, "?"),
                labels_of.get(RUN_LABEL, "?"),
                labels_of.get(PID_LABEL, "?"),
            )
        )
    return removed


def is_owner_alive(labels: Mapping[str, str]) -> bool:
    """Whether the process the labels name still runs; a container without one is kept, since
    nothing says whose it is."""
    pid = labels.get(PID_LABEL, "")
    if not pid.isdigit():
        return True

    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it runs
    started = labels.get(STARTED_LABEL)
    now = process_start(int(pid))
    # A different start time is another process under a reused pid; None: it just ended, or
    # there is no /proc to ask, and a live run's container must never be removed.
    return not started or now is None or now == started
