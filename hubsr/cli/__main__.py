"""``python -m hubsr.cli``: the same as the ``hubsr`` command."""

import sys

from . import main

sys.exit(main())
