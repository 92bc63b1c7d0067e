"""Bounded waiting on real processes (engines, a live manager): poll, never sleep blindly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T | None], timeout_s: float = 15.0, what: str = "condition"
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        pause.wait(0.02)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what} (last: {last!r})")
