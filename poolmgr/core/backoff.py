"""Restart backoff: how long a pool waits before its engine is started again.

Serves OC-POOL-3011 (restart storms are bounded by exponential backoff) and OC-POOL-3002
(preflight failures leave the pool Unready and retry with backoff).

Two pieces, each usable alone:

* :class:`BackoffPolicy` is the schedule as data: the ceiling for attempt *n* is
  ``min(max_ms, initial_ms * multiplier**n)`` and, with full jitter, the actual delay is a
  uniform integer in ``[0, ceiling]`` (the AWS "full jitter" rule), so pools that failed
  together do not restart in lockstep.
* :class:`Backoff` tracks one pool: consecutive failures, when the next restart is due, and
  how long the engine has been Ready. The failure counter is reset only after the engine has
  stayed Ready for ``stable_reset_ms`` without a break (Kubernetes uses ten minutes), never
  the moment it first looks Ready: a crash-right-after-ready loop keeps backing off.

Nothing here reads a clock or sleeps: every method takes ``now_ms`` and randomness comes from
an injected :class:`random.Random`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Backoff", "BackoffPolicy", "Jitter"]


class Jitter(StrEnum):
    """How the delay is drawn below the ceiling."""

    FULL = "full"
    """Uniform integer in ``[0, ceiling]``."""
    NONE = "none"
    """Exactly the ceiling (deterministic schedule)."""


@dataclass(frozen=True)
class BackoffPolicy:
    """The restart-delay schedule, as data."""

    initial_ms: int = 1_000
    max_ms: int = 300_000
    multiplier: float = 2.0
    stable_reset_ms: int = 600_000
    """The attempt counter resets only after the engine has been Ready this long."""
    jitter: Jitter = Jitter.FULL

    def __post_init__(self) -> None:
        if self.initial_ms <= 0:
            raise ValueError(f"initial_ms must be > 0, got {self.initial_ms}")
        if self.max_ms < self.initial_ms:
            raise ValueError(f"max_ms must be >= initial_ms ({self.initial_ms}), got {self.max_ms}")
        if not math.isfinite(self.multiplier) or self.multiplier < 1:
            raise ValueError(f"multiplier must be a finite number >= 1, got {self.multiplier}")
        if self.stable_reset_ms < 0:
            raise ValueError(f"stable_reset_ms must be >= 0, got {self.stable_reset_ms}")
        # Accept the plain string form too ("full"), as a config file would carry it.
        try:
            object.__setattr__(self, "jitter", Jitter(self.jitter))
        except ValueError:
            allowed = ", ".join(j.value for j in Jitter)
            raise ValueError(f"jitter must be one of {allowed}, got {self.jitter!r}") from None

    def ceiling_ms(self, attempt: int) -> int:
        """The largest delay for the 0-based ``attempt``.

        That is ``min(max_ms, initial_ms * multiplier**attempt)``, rounded to whole ms.

        Safe for any attempt number: growth past ``max_ms`` is detected before it can
        overflow a float.
        """
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0, got {attempt}")
        if self.multiplier == 1 or self.initial_ms == self.max_ms:
            return self.initial_ms
        # Smallest real exponent at which the schedule reaches the cap; beyond it, the cap.
        if attempt >= math.log(self.max_ms / self.initial_ms, self.multiplier):
            return self.max_ms
        raw = self.initial_ms * self.multiplier**attempt
        return min(self.max_ms, round(raw))

    def delay_ms(self, attempt: int, rng: random.Random) -> int:
        """The delay before the 0-based ``attempt``; full jitter draws it from ``rng``."""
        ceiling = self.ceiling_ms(attempt)
        if self.jitter is Jitter.NONE:
            return ceiling
        return rng.randint(0, ceiling)


class Backoff:
    """Stateful restart-delay tracker for one pool."""

    def __init__(self, policy: BackoffPolicy, rng: random.Random) -> None:
        self.policy = policy
        self._rng = rng
        self._attempt = 0
        self._next_restart_at_ms: int | None = None
        self._last_delay_ms: int | None = None
        self._ready_since_ms: int | None = None

    def __repr__(self) -> str:
        return (
            f"Backoff(attempt={self._attempt}, next_restart_at_ms={self._next_restart_at_ms}, "
            f"last_delay_ms={self._last_delay_ms}, ready_since_ms={self._ready_since_ms})"
        )

    @property
    def attempt(self) -> int:
        """Consecutive failures counted since the last reset (the next delay uses this attempt)."""
        return self._attempt

    @property
    def next_restart_at_ms(self) -> int | None:
        """When the scheduled restart is due; ``None`` when none is scheduled."""
        return self._next_restart_at_ms

    @property
    def last_delay_ms(self) -> int | None:
        """The delay drawn by the latest failure; ``None`` before any failure."""
        return self._last_delay_ms

    @property
    def ready_since_ms(self) -> int | None:
        """Start of the current unbroken Ready period; ``None`` when not Ready."""
        return self._ready_since_ms

    def on_failure(self, now_ms: int) -> int:
        """Count a failure: schedule the restart and return its delay.

        The delay is drawn for the current attempt, the restart is due at ``now_ms + delay``,
        the attempt counter grows by one, and any stable Ready period ends.
        """
        delay = self.policy.delay_ms(self._attempt, self._rng)
        self._next_restart_at_ms = now_ms + delay
        self._last_delay_ms = delay
        self._attempt += 1
        self._ready_since_ms = None
        return delay

    def on_ready(self, now_ms: int) -> None:
        """The engine became Ready: start the stable clock unless it is already running.

        This deliberately does not reset the attempt counter; only :meth:`observe` does,
        after ``stable_reset_ms`` of continuous readiness.
        """
        if self._ready_since_ms is None:
            self._ready_since_ms = now_ms

    def on_not_ready(self, now_ms: int) -> None:
        """The engine stopped being Ready without a counted failure: stop the stable clock."""
        self._ready_since_ms = None

    def observe(self, now_ms: int) -> bool:
        """Reset the attempt counter once the engine has been Ready for ``stable_reset_ms``.

        Returns True whenever the Ready period has lasted long enough (the counter is then
        zero), False otherwise.
        """
        if self._ready_since_ms is None:
            return False
        if now_ms - self._ready_since_ms < self.policy.stable_reset_ms:
            return False
        self._attempt = 0
        return True

    def due(self, now_ms: int) -> bool:
        """True when no restart is scheduled or the scheduled time has come."""
        return self._next_restart_at_ms is None or now_ms >= self._next_restart_at_ms

    def remaining_ms(self, now_ms: int) -> int:
        """Milliseconds until the scheduled restart; 0 when due or none is scheduled."""
        if self._next_restart_at_ms is None:
            return 0
        return max(0, self._next_restart_at_ms - now_ms)

    def clear_schedule(self) -> None:
        """Forget the scheduled restart (call once the restart has happened)."""
        self._next_restart_at_ms = None
