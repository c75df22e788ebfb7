"""SIGINT and SIGTERM at any moment leave a consistent artifacts folder; one build at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import MINI_GADGET, MiniRepo
from gadgetbuild.cli import main
from gadgetbuild.outputs import locked

pytestmark = pytest.mark.integration


def start_build(repo: MiniRepo, *extra: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "gadgetbuild", *repo.build_args("--no-cache", *extra)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def leftovers(repo: MiniRepo) -> list[str]:
    names = [p.name for p in repo.out.rglob("*")]
    return [n for n in names if n.startswith(".staging-") or n.endswith(".tmp")]


def compilers_running(repo: MiniRepo) -> bool:
    found = subprocess.run(["pgrep", "-f", str(repo.root)], capture_output=True, check=False)
    return found.returncode == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
@pytest.mark.parametrize("delay", [0.3, 0.9, 1.6, 2.5])
def test_interrupted_build_leaves_a_verified_folder(
    mini_repo: MiniRepo, sig: signal.Signals, delay: float
) -> None:
    assert main(mini_repo.build_args()) == 0
    for name in ("alpha", "beta"):
        # A changed source that still passes the smoke stage: gadgetInit returns 0.
        (mini_repo.gadgets / name / "main.go").write_text(MINI_GADGET % 0 + "\n// changed\n")

    build = start_build(mini_repo)
    time.sleep(delay)
    build.send_signal(sig)
    _, err = build.communicate(timeout=120)

    assert build.returncode in {0, 128 + sig.value}, err.decode()
    # Compiles stopped by the interrupt are not reported as failures of their gadgets.
    assert "failed" not in err.decode(), err.decode()
    assert main(["verify", str(mini_repo.out)]) == 0
    assert leftovers(mini_repo) == []
    time.sleep(0.2)
    assert not compilers_running(mini_repo)


def test_a_second_build_waits_or_fails_with_no_wait(mini_repo: MiniRepo) -> None:
    with locked(mini_repo.out, wait=False):
        refused = subprocess.run(
            [sys.executable, "-m", "gadgetbuild", *mini_repo.build_args("--no-wait")],
            capture_output=True,
            text=True,
            check=False,
        )
        waiting = start_build(mini_repo)
        time.sleep(3)
        still_waiting = waiting.poll() is None

    _, err = waiting.communicate(timeout=120)
    assert refused.returncode == 3
    assert "another build holds" in refused.stderr
    assert still_waiting
    assert waiting.returncode == 0
    assert b"waiting" in err


def test_two_concurrent_builds_never_interleave(mini_repo: MiniRepo) -> None:
    builds = [start_build(mini_repo) for _ in range(2)]

    results = [b.communicate(timeout=180)[1].decode() for b in builds]
    assert [b.returncode for b in builds] == [0, 0], results
    assert main(["verify", str(mini_repo.out)]) == 0
    assert leftovers(mini_repo) == []


def test_sigterm_exit_status_is_143(mini_repo: MiniRepo) -> None:
    build = start_build(mini_repo)
    time.sleep(0.5)
    os.kill(build.pid, signal.SIGTERM)

    assert build.wait(timeout=60) == 143


def test_an_interrupted_release_reports_no_failed_artifact(
    mini_repo: MiniRepo, tmp_path: Path
) -> None:
    argv = [
        sys.executable, "-m", "gadgetbuild", "release", "--version", "1", "--backend", "local",
        "--gadgets-dir", str(mini_repo.gadgets), "--toolchains-dir", str(mini_repo.toolchains),
        "--dist", str(tmp_path / "dist"),
    ]  # fmt: skip
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "COLUMNS": "200"}
    release = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env)
    assert release.stderr is not None
    seen = []
    for line in release.stderr:
        seen.append(line)
        if "provision" in line:
            break
    time.sleep(1.0)  # into the build: the compiles are running
    release.send_signal(signal.SIGINT)
    seen.append(release.stderr.read())
    release.wait(timeout=120)

    err = "".join(seen)
    assert release.returncode == 130, err
    # The compiles the interrupt stopped are not failures of their gadgets.
    assert "failed" not in err, err
    assert not (tmp_path / "dist" / "1").exists()
