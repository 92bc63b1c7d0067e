"""Wall-clock times for clients: the one seam where the manager's monotonic times meet UTC.

Decides how a time on the manager's monotonic clock (every ``*_at_ms`` field, meaningless
outside the process) is told to a client as an RFC 3339 UTC time with milliseconds, e.g.
``2026-12-01T02:03:04.567Z`` (OC-CTL-4010): the wall clock is read once, beside the
monotonic clock, and the monotonic distance is added to it. The core never reads a wall
clock; the wall clock is injected here (:data:`WallClock`), so tests pin it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["WallClock", "rfc3339_ms", "system_wall_ms", "wall_time_of"]

WallClock = Callable[[], int]
"""Milliseconds since the Unix epoch, UTC."""


def system_wall_ms() -> int:
    """The system's wall clock (``time.time_ns``) in milliseconds."""
    return time.time_ns() // 1_000_000


def rfc3339_ms(epoch_ms: int) -> str:
    """``epoch_ms`` as RFC 3339 in UTC with exactly three fractional digits and a ``Z``."""
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch_ms)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def wall_time_of(at_ms: int, *, monotonic_now_ms: int, wall_now_ms: int) -> str:
    """The wall-clock time of the monotonic instant ``at_ms``, read against one pair of clocks."""
    return rfc3339_ms(wall_now_ms + (at_ms - monotonic_now_ms))
