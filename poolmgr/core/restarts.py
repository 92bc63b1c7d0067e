"""The restart policy: may a failed pool's engine be started again now, and if not, when.

One object combines the two restart policies of a pool, in the spirit of tenacity's composable
``wait_*`` (how long) and ``stop_*`` (whether at all):

- the :class:`~poolmgr.core.backoff.Backoff` spaces restarts out (OC-POOL-3011, OC-POOL-3013);
- the :class:`~poolmgr.core.breaker.CircuitBreaker` bounds them: once it opens, no restart
  happens until its half-open trial (OC-POOL-3011, OC-POOL-3014).

After a failure the pool waits on one of two gates (:class:`Gate`): the backoff delay, or the
breaker's trial. :meth:`RestartPolicy.poll` answers ``None`` when the restart may happen now
(and consumes the schedule), otherwise the gate still being waited on; a backoff that has run
out while the breaker refuses moves the wait to the breaker's trial.

The lifecycle machine asks this object and nothing else; it never touches the two policies'
internals. Nothing here reads a clock: every method takes ``now_ms``.
"""

from __future__ import annotations

from enum import StrEnum

from poolmgr.core.backoff import Backoff
from poolmgr.core.breaker import BreakerState, CircuitBreaker

__all__ = ["Gate", "RestartPolicy"]


class Gate(StrEnum):
    """What a failed pool waits for before its next start."""

    BACKOFF = "backoff"
    """The backoff delay drawn for this failure."""
    TRIAL = "trial"
    """The circuit breaker's half-open trial."""


class RestartPolicy:
    """Backoff and circuit breaker of one pool, asked as one."""

    def __init__(self, backoff: Backoff, breaker: CircuitBreaker) -> None:
        self.backoff = backoff
        self.breaker = breaker

    def __repr__(self) -> str:
        return f"RestartPolicy({self.backoff!r}, {self.breaker!r})"

    # --- what happened to the engine -------------------------------------------------

    def failed(self, now_ms: int) -> Gate:
        """A counted failure: record it with both policies; answer the gate to wait on."""
        self.breaker.record_failure(now_ms)
        self.backoff.on_failure(now_ms)
        if self.breaker.state(now_ms) is BreakerState.OPEN:
            return Gate.TRIAL
        return Gate.BACKOFF

    def started(self, now_ms: int) -> None:
        """A start succeeded (preload done): the stable clock runs; a trial closes the breaker."""
        self.backoff.on_ready(now_ms)
        self.breaker.record_success(now_ms)

    def ready_again(self, now_ms: int) -> None:
        """The engine serves again after a blip (no new start): only the stable clock runs."""
        self.backoff.on_ready(now_ms)

    def not_ready(self, now_ms: int) -> None:
        """The engine stopped serving without a counted failure: the stable clock stops."""
        self.backoff.on_not_ready(now_ms)

    def observe(self, now_ms: int) -> None:
        """Let time pass: the backoff forgets its failures after a long enough Ready period."""
        self.backoff.observe(now_ms)

    def cancel(self) -> None:
        """Forget a scheduled restart (the pool was stopped or is starting for another reason)."""
        self.backoff.clear_schedule()

    # --- may it start again? ---------------------------------------------------------

    def poll(self, now_ms: int, gate: Gate) -> Gate | None:
        """``None``: restart now (the schedule is consumed). Otherwise the gate still closed.

        Waiting on the backoff: not due yet keeps waiting; due, but the breaker refuses, moves
        the wait to the breaker's trial. Waiting on the trial: the breaker admits exactly one
        start once half-open.
        """
        if gate is Gate.BACKOFF:
            if not self.backoff.due(now_ms):
                return Gate.BACKOFF
            if not self.breaker.allow_start(now_ms):
                return Gate.TRIAL  # the breaker opened while we were backing off
            self.backoff.clear_schedule()
            return None
        if self.breaker.state(now_ms) is not BreakerState.HALF_OPEN:
            return Gate.TRIAL
        if not self.breaker.allow_start(now_ms):
            return Gate.TRIAL
        self.backoff.clear_schedule()
        return None

    def next_start_at_ms(self, gate: Gate) -> int | None:
        """When the gate is expected to open: the backoff's due time, or the trial time."""
        if gate is Gate.BACKOFF:
            return self.backoff.next_restart_at_ms
        return self.breaker.next_trial_at_ms
