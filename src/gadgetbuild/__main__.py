"""`python -m gadgetbuild`."""

from gadgetbuild.entry import run

run()
