"""Injected time and randomness for the decision core.

Every decision that depends on time reads it from a :class:`Clock`, and every random
choice (backoff jitter) comes from an injected :class:`random.Random`. Tests and
decision-level scenarios use :class:`ManualClock`, so a five-minute backoff cap is checked
in microseconds and never with ``sleep``.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A monotonic source of time in milliseconds."""

    def now_ms(self) -> int:
        """Milliseconds on a monotonic timeline (the origin is arbitrary)."""
        ...


class MonotonicClock:
    """The real clock: ``time.monotonic_ns`` in milliseconds."""

    def now_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to. Thread-safe."""

    def __init__(self, start_ms: int = 0) -> None:
        if start_ms < 0:
            raise ValueError("start_ms must be >= 0")
        self._now = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now

    def advance(self, ms: int) -> int:
        """Move time forward by ``ms`` (never backwards) and return the new time."""
        if ms < 0:
            raise ValueError("a monotonic clock cannot go backwards")
        with self._lock:
            self._now += ms
            return self._now

    def set(self, now_ms: int) -> None:
        """Jump to ``now_ms``; refuses to go backwards."""
        with self._lock:
            if now_ms < self._now:
                raise ValueError("a monotonic clock cannot go backwards")
            self._now = now_ms
