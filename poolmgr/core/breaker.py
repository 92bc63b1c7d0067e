"""Circuit breaker: when a pool stops being restarted at all, and when it may try again.

Serves OC-POOL-3011 (restart storms are bounded by exponential backoff and a circuit breaker).

Backoff alone only spaces restarts out; the breaker bounds them. Failures are counted over a
sliding window; ``failure_threshold`` (N) of them within ``window_ms`` open the breaker, and no
start is allowed until the cool-down has passed AND enough failures have left the window that
fewer than N remain. Then the breaker is HALF_OPEN and admits exactly one trial start. A
successful trial closes it (cool-down back to the base value; the failure history is kept, so a
pool that fails again at once re-opens at once); a failed trial opens it again with a cool-down
``cooldown_multiplier`` times longer, capped at ``max_cooldown_ms``.

The guarantee this buys (checked by the stateful tests): when every restart follows one
recorded failure and is admitted by :meth:`CircuitBreaker.allow_start`, no window of
``window_ms`` ever contains more than N restarts. Proof sketch: a restart at time t is only
admitted while at most N-1 failures lie in (t - window, t]; the triggers of all but the first
restart inside any window lie inside the window of the last one.

Nothing here reads a clock: every method takes ``now_ms``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BreakerPolicy", "BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    CLOSED = "closed"
    """Starts are allowed; failures are being counted."""
    OPEN = "open"
    """Starts are refused until the cool-down ends."""
    HALF_OPEN = "half_open"
    """The cool-down ended: one trial start is allowed."""


@dataclass(frozen=True)
class BreakerPolicy:
    """When the breaker opens and how long it stays open, as data."""

    failure_threshold: int = 5
    """Failures within ``window_ms`` that open the breaker."""
    window_ms: int = 120_000
    cooldown_ms: int = 60_000
    """Length of the first open period."""
    cooldown_multiplier: float = 2.0
    """Each re-open after a failed trial multiplies the cool-down by this."""
    max_cooldown_ms: int = 900_000

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {self.failure_threshold}")
        if self.window_ms <= 0:
            raise ValueError(f"window_ms must be > 0, got {self.window_ms}")
        if self.cooldown_ms <= 0:
            raise ValueError(f"cooldown_ms must be > 0, got {self.cooldown_ms}")
        if not math.isfinite(self.cooldown_multiplier) or self.cooldown_multiplier < 1:
            raise ValueError(
                f"cooldown_multiplier must be a finite number >= 1, got {self.cooldown_multiplier}"
            )
        if self.max_cooldown_ms < self.cooldown_ms:
            raise ValueError(
                f"max_cooldown_ms must be >= cooldown_ms ({self.cooldown_ms}), "
                f"got {self.max_cooldown_ms}"
            )

    def next_cooldown_ms(self, previous_ms: int) -> int:
        """The cool-down after a failed trial that followed one of ``previous_ms``."""
        return min(self.max_cooldown_ms, round(previous_ms * self.cooldown_multiplier))


class CircuitBreaker:
    """Restart circuit breaker for one pool."""

    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self._state = BreakerState.CLOSED
        self._failures: deque[int] = deque()
        self._next_trial_at_ms: int | None = None
        self._cooldown_ms: int | None = None
        self._open_count = 0
        self._trial_in_flight = False

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(state={self._state.value}, failures={len(self._failures)}, "
            f"next_trial_at_ms={self._next_trial_at_ms}, cooldown_ms={self._cooldown_ms}, "
            f"open_count={self._open_count}, trial_in_flight={self._trial_in_flight})"
        )

    def state(self, now_ms: int) -> BreakerState:
        """The state at ``now_ms``: OPEN becomes HALF_OPEN once the trial time has come."""
        if (
            self._state is BreakerState.OPEN
            and self._next_trial_at_ms is not None
            and now_ms >= self._next_trial_at_ms
        ):
            self._state = BreakerState.HALF_OPEN
            self._trial_in_flight = False
        return self._state

    @property
    def next_trial_at_ms(self) -> int | None:
        """When the trial start becomes allowed; set while OPEN (and HALF_OPEN), else ``None``."""
        return self._next_trial_at_ms

    @property
    def current_cooldown_ms(self) -> int | None:
        """The cool-down of the current or latest open period.

        ``None`` before the breaker has ever opened; back to ``policy.cooldown_ms`` after a
        successful trial closes it.
        """
        return self._cooldown_ms

    @property
    def open_count(self) -> int:
        """How many times the breaker has opened (re-opens after failed trials included)."""
        return self._open_count

    def failures_in_window(self, now_ms: int) -> int:
        """Recorded failures that still lie within ``window_ms`` of ``now_ms``."""
        self._prune(now_ms)
        return len(self._failures)

    def allow_start(self, now_ms: int) -> bool:
        """May the engine be started now?

        CLOSED: yes. OPEN: no. HALF_OPEN: yes exactly once (the trial); later calls say no
        until the trial's outcome is recorded.
        """
        state = self.state(now_ms)
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self._trial_in_flight:
            return False
        self._trial_in_flight = True
        return True

    def record_failure(self, now_ms: int) -> BreakerState:
        """Record a failed start (or crash) and return the resulting state."""
        state = self.state(now_ms)
        if state is BreakerState.CLOSED:
            self._failures.append(now_ms)
            self._prune(now_ms)
            if len(self._failures) >= self.policy.failure_threshold:
                self._open(now_ms, self.policy.cooldown_ms)
        elif state is BreakerState.HALF_OPEN:
            self._failures.append(now_ms)
            self._prune(now_ms)
            previous = self._cooldown_ms or self.policy.cooldown_ms
            self._open(now_ms, self.policy.next_cooldown_ms(previous))
        # OPEN: already refusing starts; the trial time does not move.
        return self._state

    def record_success(self, now_ms: int) -> BreakerState:
        """Record a successful start and return the resulting state.

        A successful trial closes the breaker and puts the cool-down back to its base value;
        the failure history stays (it ages out of the window). While CLOSED or OPEN nothing
        changes.
        """
        state = self.state(now_ms)
        if state is BreakerState.HALF_OPEN:
            self._state = BreakerState.CLOSED
            self._next_trial_at_ms = None
            self._cooldown_ms = self.policy.cooldown_ms
            self._trial_in_flight = False
        return self._state

    def _open(self, now_ms: int, cooldown_ms: int) -> None:
        self._state = BreakerState.OPEN
        self._cooldown_ms = cooldown_ms
        trial_at = now_ms + cooldown_ms
        excess = len(self._failures) - self.policy.failure_threshold
        if excess >= 0:
            # Wait until fewer than N failures remain in the window (see module docstring).
            trial_at = max(trial_at, self._failures[excess] + self.policy.window_ms)
        self._next_trial_at_ms = trial_at
        self._open_count += 1
        self._trial_in_flight = False

    def _prune(self, now_ms: int) -> None:
        """Drop failures at or before ``now_ms - window_ms`` (the window is half-open)."""
        horizon = now_ms - self.policy.window_ms
        while self._failures and self._failures[0] <= horizon:
            self._failures.popleft()
