"""The command line. Only ``main()`` turns an exception into text and an exit status."""

from __future__ import annotations

import sys

import click

from gadgetbuild import render
from gadgetbuild.cli import bench as _bench  # noqa: F401  (registers its command)
from gadgetbuild.cli import build as _build  # noqa: F401  (registers its commands)
from gadgetbuild.cli import inspect as _inspect  # noqa: F401  (registers its commands)
from gadgetbuild.cli import maintain as _maintain  # noqa: F401  (registers its commands)
from gadgetbuild.cli import release as _release  # noqa: F401  (registers its command)
from gadgetbuild.cli import toolchains as _toolchains  # noqa: F401  (registers its command)
from gadgetbuild.cli.group import cli
from gadgetbuild.errors import ExitStatus, FailureError, GadgetbuildError
from gadgetbuild.interrupts import handle_signals

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status; errors become a headline on stderr."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        with handle_signals():
            cli.main(args=argv, prog_name="gadgetbuild", standalone_mode=False)
    except click.exceptions.Abort:
        render.stderr.print("interrupted")
        return ExitStatus.SIGINT
    except click.ClickException as exc:
        exc.show()
        return ExitStatus.USAGE
    except GadgetbuildError as exc:
        if debug:
            render.stderr.print_exception()
        render.print_error(exc)
        return exc.exit_status
    except KeyboardInterrupt:
        render.stderr.print("interrupted")
        return ExitStatus.SIGINT
    except OSError as exc:
        # The last resort: each command turns the faults it foresees into errors of its own;
        # one it did not still gets a headline naming the file, not a traceback.
        if debug:
            render.stderr.print_exception()
        error = FailureError(f"{exc.strerror or exc}", path=exc.filename)
        render.print_error(error)
        return error.exit_status
    return ExitStatus.OK
