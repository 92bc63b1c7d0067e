"""behave step glue: registers the shared step table from :mod:`harness` (nothing else)."""

from harness.runners import register_behave

register_behave()
