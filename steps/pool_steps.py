"""behave step glue: registers the shared step table from :mod:`harness` (nothing else)."""

from harness.behave_glue import register_all

register_all()
