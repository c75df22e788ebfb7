"""The local backend: a compiler of this machine, its version checked against the spec."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from gadgetbuild.context import BuildContext
from gadgetbuild.errors import CompileError
from gadgetbuild.interrupts import register_cancel, unregister
from gadgetbuild.manifest import ToolchainIdentity
from gadgetbuild.paths import toolchain_cache
from gadgetbuild.specs import ToolchainSpec
from gadgetbuild.toolchains import Unavailable, output_tail

VERSION_TIMEOUT_S = 30
# Only these variables of the caller's environment reach a compile: a user's GOFLAGS or
# GOPATH must not change what the spec says.
PASSED_ENV = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL")


@dataclass(slots=True)
class LocalCompiler:
    spec: ToolchainSpec
    executable: Path
    env: dict[str, str]
    identity: ToolchainIdentity

    def compile(self, gadget_dir: Path, context: BuildContext, output: Path) -> None:
        del context  # the compile reads the sources where they are
        # The compile runs in the gadget's folder: a relative output path would land there.
        argv = render_argv(self.spec.build.argv, self.executable, output.absolute())
        timeout = self.spec.build.timeout_s
        with subprocess.Popen(
            argv,
            cwd=gadget_dir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a terminal's Ctrl-C reaches us, not the compiler
        ) as process:
            token = register_cancel(lambda: kill_group(process))
            try:
                printed, _ = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(process)
                printed, _ = process.communicate()
                raise CompileError(
                    f"the compile ran past its timeout of {timeout:g} s and was killed",
                    output=output_tail(printed),
                ) from None
            finally:
                unregister(token)

        if process.returncode != 0 or not output.is_file():
            raise CompileError(
                f"{self.spec.build.argv[0]} exited with status {process.returncode}",
                output=output_tail(printed),
            )


def kill_group(process: subprocess.Popen[str]) -> None:
    """Kill the compiler and the tools it started (they share its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def render_argv(argv: list[str], executable: Path, output: Path) -> list[str]:
    return [str(executable), *(a.replace("{output}", str(output)) for a in argv[1:])]


def find_executable(spec: ToolchainSpec) -> Path | Unavailable:
    local = spec.local
    if local.distribution is None:
        found = shutil.which(local.path)
        if found is None:
            return Unavailable(spec, "local", f"no `{local.path}` on PATH", local.install_hint)
        return Path(found)

    try:
        dist = metadata.distribution(local.distribution)
    except metadata.PackageNotFoundError:
        return Unavailable(
            spec,
            "local",
            f"the Python package {local.distribution} is not installed",
            local.install_hint,
        )

    path = Path(str(dist.locate_file(local.path)))
    if not path.is_file():
        return Unavailable(
            spec, "local", f"{local.distribution} holds no {local.path}", local.install_hint
        )
    return path


def compile_env(spec: ToolchainSpec, executable: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update(spec.build.env)
    cache = toolchain_cache(spec.name)
    env.update({var: str(cache / sub) for var, sub in spec.build.cache_env.items()})
    if spec.local.root_env:
        env[spec.local.root_env] = str(executable.parent.parent)
    return env


def read_version(spec: ToolchainSpec, executable: Path, env: dict[str, str]) -> str | None:
    argv = [str(executable), *spec.build.version_argv[1:]]
    try:
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=VERSION_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None

    match = re.search(spec.build.version_regex, done.stdout + done.stderr)
    return match[1] if match else None


def provision_local(spec: ToolchainSpec) -> LocalCompiler | Unavailable:
    """Find the compiler the spec names and check that it is the version pinned."""
    executable = find_executable(spec)
    if isinstance(executable, Unavailable):
        return executable

    env = compile_env(spec, executable)
    version = read_version(spec, executable, env)
    if version != spec.version:
        return Unavailable(
            spec,
            "local",
            f"{executable} reports version {version or 'unknown'}, the spec pins {spec.version}",
            spec.local.install_hint,
        )

    identity = ToolchainIdentity(
        name=spec.name,
        family=spec.family,
        version=spec.version,
        backend="local",
        executable=str(executable),
    )
    return LocalCompiler(spec, executable, env, identity)
