"""Wall-clock times for clients, converted at the HTTP seam from the manager's monotonic clock.

Decides how a ``*_at_ms`` figure (milliseconds on the manager's monotonic clock, meaningless
outside the process) becomes an RFC 3339 UTC time a client can compare with its own clock
(OC-CTL-4021): read the monotonic clock and an injected wall clock once per response, and shift
each figure by its distance from "now". The decision core stays clock-free; this module is the
only place that pairs the two clocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["WallClock", "WallTimes", "rfc3339", "system_wall_clock"]

WallClock = Callable[[], datetime]
"""Answers the current wall-clock time as an aware :class:`~datetime.datetime`."""


def system_wall_clock() -> datetime:
    """The host's clock, in UTC."""
    return datetime.now(UTC)


def rfc3339(when: datetime) -> str:
    """``when`` in UTC as RFC 3339 with milliseconds and a ``Z``: ``2026-12-01T02:03:04.567Z``."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class WallTimes:
    """One reading of both clocks; converts monotonic instants to wall-clock text."""

    mono_now_ms: int
    wall_now: datetime

    def at(self, mono_ms: int) -> str:
        """The wall-clock time of the monotonic instant ``mono_ms``, as RFC 3339."""
        return rfc3339(self.wall_now - timedelta(milliseconds=self.mono_now_ms - mono_ms))
