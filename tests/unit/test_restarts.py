"""The restart policy: backoff and circuit breaker asked as one (OC-POOL-3011, 3013, 3014)."""

from __future__ import annotations

import random

from poolmgr.core.backoff import Backoff, BackoffPolicy, Jitter
from poolmgr.core.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from poolmgr.core.restarts import Gate, RestartPolicy


def make_policy(threshold: int = 3) -> RestartPolicy:
    backoff = Backoff(
        BackoffPolicy(initial_ms=1_000, max_ms=8_000, jitter=Jitter.NONE), random.Random(1)
    )
    breaker = CircuitBreaker(
        BreakerPolicy(failure_threshold=threshold, window_ms=60_000, cooldown_ms=30_000)
    )
    return RestartPolicy(backoff, breaker)


def test_oc_pool_3011_a_failure_below_the_threshold_waits_for_the_backoff() -> None:
    policy = make_policy()
    assert policy.failed(10_000) is Gate.BACKOFF
    assert policy.next_start_at_ms(Gate.BACKOFF) == 11_000
    assert policy.poll(10_999, Gate.BACKOFF) is Gate.BACKOFF
    assert policy.poll(11_000, Gate.BACKOFF) is None
    assert policy.next_start_at_ms(Gate.BACKOFF) is None  # the schedule was consumed


def test_oc_pool_3011_the_failure_that_opens_the_breaker_waits_for_its_trial() -> None:
    policy = make_policy(threshold=2)
    assert policy.failed(0) is Gate.BACKOFF
    assert policy.poll(1_000, Gate.BACKOFF) is None
    assert policy.failed(2_000) is Gate.TRIAL
    trial_at = policy.next_start_at_ms(Gate.TRIAL)
    # The cool-down ends at 32 s, but the trial waits until the failure at 0 left the window.
    assert trial_at == 60_000
    assert policy.poll(trial_at - 1, Gate.TRIAL) is Gate.TRIAL
    assert policy.poll(trial_at, Gate.TRIAL) is None
    # Exactly one trial start is admitted until its outcome is known.
    assert policy.poll(trial_at + 1, Gate.TRIAL) is Gate.TRIAL


def test_oc_pool_3011_a_due_backoff_moves_to_the_trial_when_the_breaker_refuses() -> None:
    policy = make_policy(threshold=1)
    policy.backoff.on_failure(0)
    policy.breaker.record_failure(0)  # opened behind the backoff's back
    assert policy.poll(1_000, Gate.BACKOFF) is Gate.TRIAL
    assert policy.next_start_at_ms(Gate.BACKOFF) == 1_000  # the backoff schedule is kept


def test_oc_pool_3014_a_successful_start_closes_a_half_open_breaker() -> None:
    policy = make_policy(threshold=1)
    assert policy.failed(0) is Gate.TRIAL
    at = policy.next_start_at_ms(Gate.TRIAL) or 0
    assert policy.poll(at, Gate.TRIAL) is None
    policy.ready_again(at + 10)  # a probe recovering is no start: the breaker stays half open
    assert policy.breaker.state(at + 10) is BreakerState.HALF_OPEN
    policy.started(at + 20)
    assert policy.breaker.state(at + 20) is BreakerState.CLOSED


def test_oc_pool_3013_attempts_reset_only_after_the_stable_period() -> None:
    policy = make_policy(threshold=10)
    policy.failed(0)
    policy.failed(1_000)
    assert policy.backoff.attempt == 2
    policy.started(2_000)
    policy.observe(2_000 + 599_999)
    assert policy.backoff.attempt == 2
    policy.observe(2_000 + 600_000)
    assert policy.backoff.attempt == 0


def test_cancel_forgets_the_scheduled_restart() -> None:
    policy = make_policy()
    policy.failed(0)
    policy.cancel()
    assert policy.next_start_at_ms(Gate.BACKOFF) is None
