"""``python -m codistill``: the same as the ``codistill`` console script."""

import sys

from codistill.cli import main

sys.exit(main())
