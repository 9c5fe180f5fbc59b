"""``python -m sim`` is the ``pground`` command."""

import sys

from sim.cli import main

sys.exit(main())
