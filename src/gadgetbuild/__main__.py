"""`python -m gadgetbuild`."""

import sys

from gadgetbuild.cli import main

sys.exit(main())
