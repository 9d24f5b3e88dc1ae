"""``python -m hallujudge``: the same as the ``hallujudge`` command."""

import sys

from .cli import main

sys.exit(main())
