"""The whole Docker build on a second engine of the test's own, reached over TCP on a loopback
port: the offline image built from the wheel, the containers and the cache volume all happen on
the engine DOCKER_HOST names, and nothing happens on the first one.

Slow (the offline image is built from nothing, about 20 s), so it builds one gadget. It needs
`dockerd` and root; elsewhere it skips with the reason, or fails when GADGETBUILD_REQUIRE_DOCKER=1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path

import docker
import pytest

from conftest import MiniRepo
from docker_support import REQUIRE_ENV
from gadgetbuild.cli import main
from gadgetbuild.toolchains.engine import MANAGED_LABEL, TOOLCHAIN_LABEL, NoEngine, connect_engine
from gadgetbuild.toolchains.offline import RECIPE_LABEL
from test_docker_backend import DIGEST, NO_REGISTRY, TOOLCHAINS

# The toolchain's name makes its image tag, volume name and labels the test's own.
NAME = "gbtest-second-engine"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60


def skip_or_fail(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def dockerd_argv(root: Path, host: str) -> list[str]:
    """A daemon that shares nothing with the first: its own folders, its own containerd
    namespace, and no bridge or iptables rules, so the host's network stays as it was."""
    namespace = f"gbtest-{root.name}"
    return [
        "dockerd",
        f"--data-root={root / 'data'}",
        f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'dockerd.pid'}",
        f"--host={host}",
        "--tls=false",  # loopback only; newer daemons refuse plain TCP unless told
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
        f"--containerd-namespace={namespace}",
        f"--containerd-plugins-namespace={namespace}-plugins",
    ]


def wait_until_answers(host: str, daemon: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            pytest.fail(f"dockerd exited with {daemon.returncode}:\n{log.read_text()[-3000:]}")
        with suppress(docker.errors.DockerException), closing(docker.DockerClient(host)) as c:
            c.ping()
            return
        time.sleep(0.5)
    pytest.fail(f"dockerd did not answer at {host} in {START_TIMEOUT_S} s")


def stop_daemon(daemon: subprocess.Popen[bytes], root: Path) -> None:
    """SIGTERM: the daemon stops its containerd and unmounts its layers; SIGKILL if it hangs,
    then its containerd (which would outlive it) too."""
    daemon.terminate()
    try:
        daemon.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
        pid_file = root / "exec" / "containerd" / "containerd.pid"
        with suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


@pytest.fixture
def second_engine() -> Iterator[str]:
    """A dockerd of the test's own on a loopback TCP port; its DOCKER_HOST. Its folders go
    with it."""
    if shutil.which("dockerd") is None:
        skip_or_fail("no dockerd to start a second engine with")
    if os.geteuid() != 0:
        skip_or_fail("a second dockerd needs root")

    # Short: containerd's unix sockets live under the exec root, and their paths are bounded.
    root = Path(tempfile.mkdtemp(prefix="gbd-"))
    host = f"tcp://127.0.0.1:{free_port()}"
    with (root / "dockerd.log").open("wb") as log:
        daemon = subprocess.Popen(
            dockerd_argv(root, host), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_answers(host, daemon, root / "dockerd.log")
        yield host
    finally:
        stop_daemon(daemon, root)
        shutil.rmtree(root)


def ours_on(client: docker.DockerClient) -> tuple[list[str], list[str], list[str]]:
    """The containers, images and volumes carrying the test toolchain's label."""
    label: dict[str, str | list[str] | bool] = {"label": f"{TOOLCHAIN_LABEL}={NAME}"}
    return (
        [c.id or "" for c in client.containers.list(all=True, filters=label)],
        [i.id or "" for i in client.images.list(filters=label)],
        [v.name or "" for v in client.volumes.list(filters=label)],
    )


def events_since(client: docker.DockerClient, since: int, **filters: str) -> list[dict[str, str]]:
    until = int(time.time()) + 1
    stream = client.events(since=since, until=until, filters=filters, decode=True)
    return [{"type": e["Type"], "action": e["Action"], "id": e["Actor"]["ID"]} for e in stream]


@pytest.mark.docker
def test_whole_build_happens_on_the_engine_docker_host_names(
    second_engine: str,
    mini_repo: MiniRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = connect_engine()
    if isinstance(first, NoEngine):
        skip_or_fail(f"the first engine must answer to compare with: {first.reason}")
    assert not isinstance(first, NoEngine)
    # A pin no registry serves (a closed loopback port): the image must be built offline.
    spec = (TOOLCHAINS / "go-1.24.toml").read_text().replace('"go-1.24"', f'"{NAME}"')
    spec = spec.replace(spec.split('ref = "')[1].split('"')[0], f"{NO_REGISTRY}/go@{DIGEST}")
    (mini_repo.toolchains / "go-1.24.toml").unlink()
    (mini_repo.toolchains / f"{NAME}.toml").write_text(spec)
    before, start = ours_on(first.client), int(time.time()) - 1

    monkeypatch.setenv("DOCKER_HOST", second_engine)
    status = main(mini_repo.build_args("--gadget", "alpha", "--backend", "docker", "--json"))

    [record] = json.loads(capsys.readouterr().out)
    # The reason in full (a record's repr is shortened): why the second engine could not serve.
    assert (status, record["status"]) == (0, "built"), record.get("reason")
    assert record["toolchain"]["backend"] == "docker", record
    assert record["toolchain"]["image"] == f"gadgetbuild/{NAME}:offline"
    with closing(docker.DockerClient(second_engine)) as second:
        containers, images, volumes = ours_on(second)
        assert containers == []  # each removed after its use
        assert len(images) == 1
        labels = second.images.get(images[0]).labels
        assert labels[RECIPE_LABEL] == record["toolchain"]["recipe_hash"]
        assert volumes == [f"gadgetbuild-cache-{NAME}"]
        assert second.volumes.get(volumes[0]).attrs["Labels"][MANAGED_LABEL] == "1"
        created = events_since(second, start, type="container", event="create")
        assert len(created) >= 2  # the version probe and the compile
    assert ours_on(first.client) == before == ([], [], [])
    assert events_since(first.client, start, label=f"{TOOLCHAIN_LABEL}={NAME}") == []
    first.client.close()
