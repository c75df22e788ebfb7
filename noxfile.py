"""Sessions: thin wrappers that call the package. Options after `--` go to the command."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"
LINT_PATHS = ["src", "tests", "noxfile.py", "benchmarks"]


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build every gadget with every toolchain: `nox -s build -- --help` for options."""
    session.install("-e", ".")
    session.run("gadgetbuild", "build", *session.posargs)


@nox.session(python=PYTHON)
def toolchains(session: nox.Session) -> None:
    """Provision every toolchain (pull, load or build its image) and report how: `-- --json`."""
    session.install("-e", ".")
    session.run("gadgetbuild", "toolchains", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit tests, then the integration tests that build real gadgets."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs, env={"PYTHONHASHSEED": "0"})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy strict on the package, the tests and this file."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)
    session.run("mypy", *LINT_PATHS)
    session.run("gadgetbuild", "schema", "--check")


@nox.session(python=PYTHON)
def release(session: nox.Session) -> None:
    """A verifiable, reproducible release in dist/VERSION: `-- --version X --toolchain go-1.24`."""
    session.install("-e", ".")
    session.run("gadgetbuild", "release", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The performance figures of the README (run `nox -s build` first)."""
    session.install("-e", ".[bench]")
    session.run("python", "benchmarks/stages.py", *session.posargs)
    session.run("gadgetbuild", "bench")
    session.run("python", "benchmarks/inspect_commands.py")
    session.run("python", "benchmarks/rebuild.py")
