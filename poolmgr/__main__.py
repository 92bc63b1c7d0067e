"""``python -m poolmgr`` is the ``poolmgr`` command."""

import sys

from poolmgr.cli import main

sys.exit(main())
