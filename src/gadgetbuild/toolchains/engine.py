"""The Docker engine: the connection, our labels, and hardened build containers that never outlive
their use.

Files reach a container only through the engine's API (``put_archive``, ``get_archive``), never
through a bind mount, so the same build works on a remote engine named by ``DOCKER_HOST``.
"""

from __future__ import annotations

import atexit
import io
import os
import socket
import tarfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import docker
import requests
from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container

from gadgetbuild.interrupts import register_cancel, unregister
from gadgetbuild.specs import ToolchainSpec

DEFAULT_HOST = "unix:///var/run/docker.sock"
# /tmp inside a build container: a private tmpfs, never the host's.
CONTAINER_TMP = "/tmp"  # noqa: S108
# Every container, volume and image we make carries this label, so they can be found and pruned.
MANAGED_LABEL = "io.gadgetbuild.managed"
TOOLCHAIN_LABEL = "io.gadgetbuild.toolchain"
ROLE_LABEL = "io.gadgetbuild.role"
# A container also names the process that made it, so the next run can tell one left by a run
# killed with SIGKILL (no handler ran) from one of a build still running (``leftovers.py``).
HOST_LABEL = "io.gadgetbuild.host"
PID_LABEL = "io.gadgetbuild.pid"
# The process's start time (clock ticks since boot): a pid reused by another process differs.
STARTED_LABEL = "io.gadgetbuild.pid-started"
RUN_LABEL = "io.gadgetbuild.run"
# A CI job (or a test session) may name its runs, to find every container they made.
RUN_ID_ENV = "GADGETBUILD_RUN_ID"

# A dead or distant engine must fail `gadgetbuild` quickly; builds and image loads then get the
# long timeout, since the engine answers them only when done.
PING_TIMEOUT_S = 10
API_TIMEOUT_S = 900
# Each running compile holds one connection while it waits: room for a wide `--jobs`.
MAX_CONNECTIONS = 64

# Caps of one build container. Go links a gadget in well under 1 GiB and TinyGo's LLVM stays
# under 2 GiB; 4 GiB leaves headroom while keeping a runaway compile from taking the host.
MEMORY_LIMIT = 4 * 1024**3
# Threads count against the pids limit: a parallel `go build` on a many-core host runs a few
# hundred; a fork bomb stops here.
PIDS_LIMIT = 4096
# A module copied out larger than this is refused instead of read into memory.
MAX_COPY_OUT = 512 * 1024**2


@dataclass(frozen=True, slots=True)
class Engine:
    client: docker.DockerClient
    host: str


@dataclass(frozen=True, slots=True)
class NoEngine:
    """No engine answered at ``host``; the reason and the fix say so in the user's words."""

    host: str
    error: str

    @property
    def reason(self) -> str:
        return f"no Docker engine answers at {self.host}: {self.error}"

    @property
    def fix(self) -> str:
        return "start the Docker engine or point DOCKER_HOST at one, or use --backend local"


def engine_host() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def connect_engine() -> Engine | NoEngine:
    """The engine the environment names (``DOCKER_HOST``, else the default socket), pinged."""
    host = engine_host()
    try:
        probe = docker.from_env(timeout=PING_TIMEOUT_S)
        probe.ping()
        probe.close()
        client = docker.from_env(timeout=API_TIMEOUT_S, max_pool_size=MAX_CONNECTIONS)
    except (DockerException, requests.RequestException) as exc:
        return NoEngine(host, short_error(exc))

    return Engine(client, host)


def short_error(exc: BaseException) -> str:
    """The engine's own explanation when it gave one, else the exception's text, one line."""
    text = exc.explanation if isinstance(exc, APIError) and exc.explanation else str(exc)
    line = " ".join(str(text).split())
    return line if len(line) <= 300 else f"{line[:297]}..."


def managed_labels(spec: ToolchainSpec, role: str) -> dict[str, str]:
    return {MANAGED_LABEL: "1", TOOLCHAIN_LABEL: spec.name, ROLE_LABEL: role}


_RUN_ID = uuid.uuid4().hex[:12]


def run_id() -> str:
    return os.environ.get(RUN_ID_ENV) or _RUN_ID


def owner_labels() -> dict[str, str]:
    """Who made a container: this host, this process (and when it started), this run."""
    pid = os.getpid()
    return {
        HOST_LABEL: socket.gethostname(),
        PID_LABEL: str(pid),
        STARTED_LABEL: process_start(pid) or "",
        RUN_LABEL: run_id(),
    }


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, from Linux's /proc; None elsewhere
    or when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None

    # Field 22 of proc(5); the name (field 2) may hold spaces and parentheses, so count from
    # the last ')'.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


class LiveContainers:
    """Containers created and not yet removed, so an interrupt can remove them all at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[str, Container] = {}

    def add(self, container: Container) -> None:
        with self._lock:
            self._live[container.id or ""] = container

    def discard(self, container: Container) -> None:
        with self._lock:
            self._live.pop(container.id or "", None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._live)

    def remove_all(self) -> int:
        with self._lock:
            live, self._live = list(self._live.values()), {}
        for container in live:
            remove_container(container)
        return len(live)


LIVE = LiveContainers()
# A last resort; the CLI's interrupt handling calls remove_live_containers() itself, sooner.
atexit.register(LIVE.remove_all)


def remove_live_containers() -> int:
    """Remove every build container still alive (on SIGINT, SIGTERM); returns how many."""
    return LIVE.remove_all()


def remove_container(container: Container) -> None:
    # Already gone (removed by an interrupt handler, or the engine went away): nothing to do.
    with suppress(NotFound, APIError, requests.RequestException):
        container.remove(force=True)


def cache_volume_name(spec: ToolchainSpec) -> str:
    return f"gadgetbuild-cache-{spec.name}"


def ensure_cache_volume(engine: Engine, spec: ToolchainSpec) -> str:
    """The toolchain's named cache volume, created (with our label) when missing."""
    name = cache_volume_name(spec)
    try:
        engine.client.volumes.get(name)
    except NotFound:
        engine.client.volumes.create(name, labels=managed_labels(spec, "cache"))
    return name


def numeric_user(user: str) -> tuple[int, int] | None:
    """``uid[:gid]`` as numbers, or None for a user name the image's /etc/passwd resolves."""
    uid, _, gid = user.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        return None

    return int(uid), int(gid or uid)


def tmpfs_mounts(spec: ToolchainSpec) -> dict[str, str]:
    """A private tmpfs at /tmp; a home inside it gets its own, owned by the build user."""
    mounts = {CONTAINER_TMP: "rw,nosuid,nodev,mode=1777"}
    ids = numeric_user(spec.image.user)
    if is_in_tmp(spec.image.home) and ids is not None:
        uid, gid = ids
        mounts[spec.image.home] = f"rw,nosuid,nodev,mode=0700,uid={uid},gid={gid}"
    return mounts


def is_in_tmp(path: str) -> bool:
    return path.startswith(f"{CONTAINER_TMP}/")


@dataclass(frozen=True, slots=True)
class ContainerRequest:
    """What one container runs: ``argv`` in ``workdir`` with ``env``, as ``role``."""

    image_id: str
    spec: ToolchainSpec
    argv: list[str]
    env: dict[str, str]
    role: str
    workdir: str | None = None


def create_container(engine: Engine, request: ContainerRequest) -> Container:
    """A created, not started, hardened container; the caller must remove it."""
    spec = request.spec
    return engine.client.containers.create(
        request.image_id,
        request.argv,
        user=spec.image.user,
        working_dir=request.workdir,
        environment=request.env,
        labels={**managed_labels(spec, request.role), **owner_labels()},
        network_mode="none",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        mem_limit=MEMORY_LIMIT,
        memswap_limit=MEMORY_LIMIT,
        pids_limit=PIDS_LIMIT,
        tmpfs=tmpfs_mounts(spec),
        volumes={cache_volume_name(spec): {"bind": spec.image.cache_dir, "mode": "rw"}},
    )


@contextmanager
def build_container(engine: Engine, request: ContainerRequest) -> Iterator[Container]:
    """A hardened container, removed on success, failure, timeout and interrupt alike."""
    container = create_container(engine, request)
    LIVE.add(container)
    # The build's interrupt handling (gadgetbuild.interrupts) removes it at once on a signal.
    token = register_cancel(lambda: remove_container(container))
    try:
        yield container
    finally:
        unregister(token)
        remove_container(container)
        LIVE.discard(container)


@dataclass(frozen=True, slots=True)
class RunResult:
    exit_code: int | None  # None: killed at the timeout
    output: str
    # The kernel killed a process of the container at its memory limit (the engine's own view):
    # the main process then dies of SIGKILL, or a compiler it started does and it exits 1.
    oom_killed: bool = False
    memory_limit: int | None = None


def run_to_end(container: Container, timeout_s: float) -> RunResult:
    """Start ``container`` and wait for it; past ``timeout_s`` it is killed."""
    container.start()
    try:
        status = container.wait(timeout=timeout_s)
    except requests.RequestException:
        # The wait's read timed out: the compile is still running.
        with suppress(APIError):
            container.kill()
        return RunResult(None, read_logs(container))

    container.reload()
    state, host = container.attrs.get("State") or {}, container.attrs.get("HostConfig") or {}
    return RunResult(
        int(status["StatusCode"]),
        read_logs(container),
        oom_killed=bool(state.get("OOMKilled")),
        memory_limit=host.get("Memory") or None,
    )


def read_logs(container: Container) -> str:
    try:
        return container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    except (APIError, requests.RequestException):
        return ""


def copy_in(container: Container, archive: bytes) -> None:
    """Extract a tar archive at the container's root (volumes included)."""
    if not container.put_archive("/", archive):
        msg = "the engine refused the build context archive"
        raise DockerException(msg)


def copy_out(container: Container, path: str) -> bytes | None:
    """The bytes of the regular file at ``path`` in the container, or None where there is none."""
    try:
        stream, _stat = container.get_archive(path)
    except NotFound:
        return None

    buffer = io.BytesIO()
    for chunk in stream:
        buffer.write(chunk)
        if buffer.tell() > MAX_COPY_OUT:
            msg = f"{path} is larger than {MAX_COPY_OUT} bytes"
            raise DockerException(msg)

    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode="r:") as archive:
        # Read the one file's bytes; nothing from the archive is ever written to disk by name.
        for member in archive:
            if member.isfile():
                data = archive.extractfile(member)
                return data.read() if data is not None else None
    return None
