"""Restart circuit breaker (OC-POOL-3011, OC-POOL-3014).

N failures within the window open the breaker; the single trial start waits until the cool-down
has passed AND fewer than N failures remain in the window; a failed trial is recorded and re-opens
with a longer cool-down; a successful trial closes the breaker but keeps the failure history.
Expected values are worked out here from those rules, never read back from the breaker.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poolmgr.core.breaker import BreakerPolicy, BreakerState, CircuitBreaker

SECOND = 1_000
MINUTE = 60 * SECOND

COOLDOWN_BOUND = BreakerPolicy(window_ms=30 * SECOND)
"""Defaults, but a window (30 s) shorter than the cool-down (60 s): after a burst of failures the
window has room again long before the cool-down ends, so the cool-down alone sets the trial time."""


def tripped(policy: BreakerPolicy | None = None, at_ms: int = 0) -> CircuitBreaker:
    """A breaker opened by ``failure_threshold`` failures at ``at_ms``."""
    breaker = CircuitBreaker(policy or BreakerPolicy())
    for _ in range(breaker.policy.failure_threshold):
        breaker.record_failure(at_ms)
    assert breaker.state(at_ms) is BreakerState.OPEN
    return breaker


def in_trial(policy: BreakerPolicy | None = None) -> tuple[CircuitBreaker, int]:
    """A half-open breaker whose single trial start has been admitted; returns it and the time."""
    breaker = tripped(policy)
    assert breaker.next_trial_at_ms is not None
    now = breaker.next_trial_at_ms
    assert breaker.allow_start(now)
    return breaker, now


def earliest_trial_ms(
    policy: BreakerPolicy, opened_at_ms: int, cooldown_ms: int, failures: list[int]
) -> int:
    """The earliest time, not before the cool-down ends, at which fewer than N of ``failures`` lie
    in the window ``(t - window_ms, t]``; found by trying every time at which the count can drop."""
    candidates = sorted({opened_at_ms + cooldown_ms, *(f + policy.window_ms for f in failures)})
    for t in candidates:
        if t < opened_at_ms + cooldown_ms:
            continue
        if sum(1 for f in failures if t - policy.window_ms < f <= t) < policy.failure_threshold:
            return t
    raise AssertionError("no candidate time leaves the window with room")  # pragma: no cover


# --- policy --------------------------------------------------------------------------------------


def test_default_policy_opens_after_five_failures_in_two_minutes_for_one_minute() -> None:
    policy = BreakerPolicy()
    assert (policy.failure_threshold, policy.window_ms, policy.cooldown_ms) == (
        5,
        2 * MINUTE,
        MINUTE,
    )
    assert (policy.cooldown_multiplier, policy.max_cooldown_ms) == (2.0, 15 * MINUTE)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("failure_threshold", {"failure_threshold": 0}),
        ("window_ms", {"window_ms": 0}),
        ("cooldown_ms", {"cooldown_ms": 0}),
        ("cooldown_multiplier", {"cooldown_multiplier": 0.9}),
        ("cooldown_multiplier", {"cooldown_multiplier": float("nan")}),
        ("max_cooldown_ms", {"cooldown_ms": 10_000, "max_cooldown_ms": 9_999}),
    ],
)
def test_invalid_policy_is_rejected_naming_the_field(field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=field):
        BreakerPolicy(**kwargs)


def test_state_values_are_stable_strings() -> None:
    assert [s.value for s in BreakerState] == ["closed", "open", "half_open"]


# --- closed --------------------------------------------------------------------------------------


def test_new_breaker_is_closed_and_allows_starts() -> None:
    breaker = CircuitBreaker(BreakerPolicy())
    assert breaker.state(0) is BreakerState.CLOSED
    assert breaker.allow_start(0)
    assert breaker.allow_start(0)
    assert breaker.next_trial_at_ms is None
    assert breaker.current_cooldown_ms is None
    assert breaker.open_count == 0


def test_oc_pool_3014_failures_below_the_threshold_keep_the_breaker_closed() -> None:
    breaker = CircuitBreaker(BreakerPolicy())
    states = [breaker.record_failure(t * SECOND) for t in range(4)]
    assert states == [BreakerState.CLOSED] * 4
    assert breaker.failures_in_window(4 * SECOND) == 4
    assert breaker.allow_start(4 * SECOND)


def test_oc_pool_3014_five_failures_within_two_minutes_open_the_default_breaker() -> None:
    breaker = CircuitBreaker(BreakerPolicy())
    for t in (0, 30 * SECOND, 60 * SECOND, 90 * SECOND):
        assert breaker.record_failure(t) is BreakerState.CLOSED
    # The fifth failure comes 1 ms before the first one leaves the two-minute window.
    assert breaker.record_failure(2 * MINUTE - 1) is BreakerState.OPEN
    assert breaker.current_cooldown_ms == MINUTE
    assert breaker.open_count == 1


def test_five_failures_spread_over_exactly_two_minutes_keep_the_default_breaker_closed() -> None:
    breaker = CircuitBreaker(BreakerPolicy())
    for t in (0, 30 * SECOND, 60 * SECOND, 90 * SECOND):
        breaker.record_failure(t)
    # The failure at 0 is exactly one window old at 2 min, so only four remain in the window.
    assert breaker.record_failure(2 * MINUTE) is BreakerState.CLOSED
    assert breaker.failures_in_window(2 * MINUTE) == 4


def test_failures_spread_wider_than_the_window_do_not_open_the_breaker() -> None:
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=3, window_ms=1_000))
    assert breaker.record_failure(0) is BreakerState.CLOSED
    assert breaker.record_failure(600) is BreakerState.CLOSED
    assert breaker.record_failure(1_200) is BreakerState.CLOSED
    assert breaker.record_failure(1_300) is BreakerState.OPEN


def test_a_failure_exactly_one_window_old_no_longer_counts() -> None:
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=2, window_ms=1_000))
    breaker.record_failure(0)
    assert breaker.failures_in_window(999) == 1
    assert breaker.failures_in_window(1_000) == 0
    assert breaker.record_failure(1_000) is BreakerState.CLOSED


def test_success_while_closed_keeps_recent_failures_in_the_window() -> None:
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=3))
    breaker.record_failure(0)
    breaker.record_failure(1)
    assert breaker.record_success(2) is BreakerState.CLOSED
    assert breaker.failures_in_window(2) == 2
    assert breaker.record_failure(3) is BreakerState.OPEN


def test_threshold_of_one_opens_on_the_first_failure() -> None:
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=1))
    assert breaker.record_failure(0) is BreakerState.OPEN


# --- open: when the trial comes ------------------------------------------------------------------


def test_oc_pool_3014_trial_comes_when_the_cooldown_ends_if_the_window_has_room_by_then() -> None:
    breaker = tripped(COOLDOWN_BOUND, at_ms=1_000)
    # The burst at 1 s leaves the 30 s window at 31 s, long before the 60 s cool-down ends.
    assert breaker.next_trial_at_ms == 1_000 + MINUTE
    assert not breaker.allow_start(1_000)
    assert not breaker.allow_start(1_000 + MINUTE - 1)
    assert breaker.state(1_000 + MINUTE - 1) is BreakerState.OPEN
    assert breaker.state(1_000 + MINUTE) is BreakerState.HALF_OPEN


def test_oc_pool_3014_trial_waits_for_room_in_the_window_when_the_cooldown_is_shorter() -> None:
    breaker = CircuitBreaker(BreakerPolicy())  # cool-down 1 min, window 2 min
    for t in (0, 10 * SECOND, 20 * SECOND, 30 * SECOND, 40 * SECOND):
        breaker.record_failure(t)
    cooldown_end = 40 * SECOND + MINUTE
    # The cool-down has passed at 100 s, but all five failures still lie in (-20 s, 100 s].
    assert breaker.failures_in_window(cooldown_end) == 5
    assert not breaker.allow_start(cooldown_end)
    # Only once the failure at 0 leaves the window (at 0 + 2 min) do fewer than five remain.
    assert breaker.next_trial_at_ms == 2 * MINUTE
    assert not breaker.allow_start(2 * MINUTE - 1)
    assert breaker.state(2 * MINUTE - 1) is BreakerState.OPEN
    assert breaker.allow_start(2 * MINUTE)
    assert breaker.failures_in_window(2 * MINUTE) == 4


def test_oc_pool_3014_after_a_failed_trial_the_next_waits_for_room_in_the_window() -> None:
    policy = BreakerPolicy(failure_threshold=3, window_ms=10_000, cooldown_ms=1_000)
    breaker = CircuitBreaker(policy)
    for t in (0, 4_000, 5_000):
        breaker.record_failure(t)
    # Opened at 5 s; fewer than 3 failures remain once the one at 0 leaves the window, at 10 s.
    assert breaker.next_trial_at_ms == 10_000
    assert breaker.allow_start(10_000)
    # The trial fails at 10 s: history in the window is 4 s, 5 s, 10 s; the third most recent (4 s)
    # leaves at 14 s, later than the doubled cool-down's end at 12 s.
    assert breaker.record_failure(10_000) is BreakerState.OPEN
    assert breaker.next_trial_at_ms == 14_000


def test_oc_pool_3011_open_breaker_refuses_starts_until_the_trial_time() -> None:
    breaker = tripped(at_ms=1_000)
    trial_at = 1_000 + 2 * MINUTE  # the default window outlasts the default cool-down
    assert breaker.next_trial_at_ms == trial_at
    assert not breaker.allow_start(1_000)
    assert not breaker.allow_start(trial_at - 1)
    assert breaker.allow_start(trial_at)


def test_failures_while_open_do_not_move_the_trial_time() -> None:
    breaker = tripped(COOLDOWN_BOUND)
    assert breaker.record_failure(30 * SECOND) is BreakerState.OPEN
    assert breaker.record_failure(59 * SECOND) is BreakerState.OPEN
    assert breaker.next_trial_at_ms == MINUTE
    assert breaker.open_count == 1
    assert breaker.state(MINUTE) is BreakerState.HALF_OPEN


def test_success_while_open_does_not_close_the_breaker() -> None:
    breaker = tripped()
    assert breaker.record_success(30 * SECOND) is BreakerState.OPEN
    assert not breaker.allow_start(30 * SECOND)


# --- half-open -----------------------------------------------------------------------------------


def test_oc_pool_3014_open_breaker_becomes_half_open_at_the_trial_time() -> None:
    breaker = tripped()  # default policy: the 2 min window sets the trial time
    assert breaker.state(2 * MINUTE - 1) is BreakerState.OPEN
    assert breaker.state(2 * MINUTE) is BreakerState.HALF_OPEN
    assert breaker.next_trial_at_ms == 2 * MINUTE


def test_oc_pool_3014_half_open_breaker_admits_exactly_one_trial_start() -> None:
    breaker = tripped(COOLDOWN_BOUND)
    admitted = [breaker.allow_start(MINUTE + t) for t in range(5)]
    assert admitted == [True, False, False, False, False]
    assert breaker.state(MINUTE + 5) is BreakerState.HALF_OPEN


def test_oc_pool_3014_successful_trial_closes_the_breaker() -> None:
    breaker, now = in_trial()
    assert breaker.record_success(now + SECOND) is BreakerState.CLOSED
    assert breaker.state(now + SECOND) is BreakerState.CLOSED
    assert breaker.allow_start(now + SECOND)
    assert breaker.allow_start(now + SECOND)
    assert breaker.next_trial_at_ms is None


def test_oc_pool_3011_failure_right_after_a_successful_trial_reopens_at_once() -> None:
    """The history survives the successful trial: with N-1 older failures still in the window,
    one more failure reaches the threshold again."""
    policy = BreakerPolicy(failure_threshold=3, window_ms=10_000, cooldown_ms=500)
    breaker = CircuitBreaker(policy)
    for t in (0, 8_000, 9_000):
        breaker.record_failure(t)
    # Opened at 9 s; the cool-down ends at 9.5 s, the failure at 0 leaves the window at 10 s.
    assert breaker.next_trial_at_ms == 10_000
    assert breaker.allow_start(10_000)
    assert breaker.record_success(10_500) is BreakerState.CLOSED
    assert breaker.failures_in_window(10_500) == 2  # 8 s and 9 s: N-1 of them
    assert breaker.record_failure(11_000) is BreakerState.OPEN
    assert breaker.open_count == 2
    assert breaker.current_cooldown_ms == 500  # the success put the cool-down back to base
    # Trial once the failure at 8 s leaves the window (18 s), later than 11 s + 0.5 s.
    assert breaker.next_trial_at_ms == 18_000
    assert not breaker.allow_start(17_999)


def test_once_the_kept_failures_age_out_a_full_storm_is_needed_to_reopen() -> None:
    policy = BreakerPolicy(failure_threshold=3, window_ms=10_000, cooldown_ms=500)
    breaker = CircuitBreaker(policy)
    for t in (0, 8_000, 9_000):
        breaker.record_failure(t)
    assert breaker.allow_start(10_000)
    assert breaker.record_success(10_000) is BreakerState.CLOSED
    # The failures at 8 s and 9 s have left the window by 19 s; three new ones are needed.
    assert breaker.failures_in_window(19_000) == 0
    assert breaker.record_failure(19_000) is BreakerState.CLOSED
    assert breaker.record_failure(19_001) is BreakerState.CLOSED
    assert breaker.record_failure(19_002) is BreakerState.OPEN


def test_oc_pool_3014_failed_trial_reopens_with_a_doubled_cooldown() -> None:
    breaker, now = in_trial()
    assert breaker.record_failure(now + SECOND) is BreakerState.OPEN
    assert breaker.current_cooldown_ms == 2 * MINUTE
    # The storm's failures (at 0) have left the window by now, so the cool-down alone counts.
    assert breaker.next_trial_at_ms == now + SECOND + 2 * MINUTE
    assert breaker.open_count == 2
    assert not breaker.allow_start(now + SECOND)


def test_oc_pool_3014_failed_trial_is_recorded_as_a_failure() -> None:
    policy = BreakerPolicy(failure_threshold=1, window_ms=10_000, cooldown_ms=1_000)
    breaker = CircuitBreaker(policy)
    breaker.record_failure(0)
    assert breaker.next_trial_at_ms == 10_000  # the failure at 0 must leave the window first
    assert breaker.allow_start(10_000)
    breaker.record_failure(10_000)
    assert breaker.failures_in_window(10_000) == 1
    # The failed trial itself must leave the window (20 s) before the next trial; the doubled
    # cool-down alone would allow one at 12 s.
    assert breaker.next_trial_at_ms == 20_000


def test_oc_pool_3014_repeated_failed_trials_lengthen_the_cooldown_up_to_the_cap() -> None:
    breaker = tripped()
    cooldowns = [breaker.current_cooldown_ms]
    for _ in range(6):
        assert breaker.next_trial_at_ms is not None
        now = breaker.next_trial_at_ms
        assert breaker.allow_start(now)
        breaker.record_failure(now)
        cooldowns.append(breaker.current_cooldown_ms)
    assert [c // MINUTE for c in cooldowns if c is not None] == [1, 2, 4, 8, 15, 15, 15]


def test_successful_trial_puts_the_cooldown_back_to_its_base_value() -> None:
    breaker, now = in_trial(COOLDOWN_BOUND)
    breaker.record_failure(now)  # re-open with 2 min
    assert breaker.current_cooldown_ms == 2 * MINUTE
    assert breaker.next_trial_at_ms is not None
    now = breaker.next_trial_at_ms
    breaker.allow_start(now)
    breaker.record_success(now)
    assert breaker.current_cooldown_ms == MINUTE
    for _ in range(5):
        breaker.record_failure(now + 1)
    assert breaker.current_cooldown_ms == MINUTE
    assert breaker.next_trial_at_ms == now + 1 + MINUTE


def test_failure_reported_in_half_open_counts_as_a_failed_trial() -> None:
    breaker = tripped()
    assert breaker.state(2 * MINUTE) is BreakerState.HALF_OPEN
    assert breaker.record_failure(2 * MINUTE) is BreakerState.OPEN
    assert breaker.current_cooldown_ms == 2 * MINUTE
    assert breaker.open_count == 2


def test_cooldown_growth_follows_the_configured_multiplier() -> None:
    policy = BreakerPolicy(cooldown_ms=10_000, cooldown_multiplier=1.5, max_cooldown_ms=100_000)
    breaker, now = in_trial(policy)
    breaker.record_failure(now)
    assert breaker.current_cooldown_ms == 15_000


# --- properties over random event sequences ------------------------------------------------------

breaker_policies = st.builds(
    BreakerPolicy,
    failure_threshold=st.integers(1, 6),
    window_ms=st.integers(1, 5_000),
    cooldown_ms=st.integers(1, 3_000),
    cooldown_multiplier=st.floats(1.0, 4.0, allow_nan=False),
    max_cooldown_ms=st.integers(3_000, 20_000),
)
breaker_events = st.lists(
    st.tuples(st.sampled_from(("failure", "success", "allow")), st.integers(0, 2_000)),
    min_size=1,
    max_size=60,
)


def apply(breaker: CircuitBreaker, event: str, now: int) -> None:
    if event == "failure":
        breaker.record_failure(now)
    elif event == "success":
        breaker.record_success(now)
    else:
        breaker.allow_start(now)


@settings(max_examples=60, deadline=None)
@given(policy=breaker_policies, events=breaker_events)
def test_oc_pool_3014_closed_breaker_never_holds_threshold_failures_in_one_window(
    policy: BreakerPolicy, events: list[tuple[str, int]]
) -> None:
    """Failures reported while closed or half-open are all remembered (a successful trial keeps
    them); the one that brings N into the window opens the breaker, so a closed breaker never
    holds N."""
    breaker = CircuitBreaker(policy)
    now = 0
    recorded: list[int] = []
    for event, step in events:
        now += step
        before = breaker.state(now)
        apply(breaker, event, now)
        if event == "failure" and before is not BreakerState.OPEN:
            recorded.append(now)
            if before is BreakerState.CLOSED:
                recent = sum(1 for t in recorded if now - t < policy.window_ms)
                assert recent <= policy.failure_threshold
                reached = recent == policy.failure_threshold
                expected = BreakerState.OPEN if reached else BreakerState.CLOSED
                assert breaker.state(now) is expected
        if breaker.state(now) is BreakerState.CLOSED:
            in_window = sum(1 for t in recorded if now - t < policy.window_ms)
            assert breaker.failures_in_window(now) == in_window < policy.failure_threshold


@settings(max_examples=60, deadline=None)
@given(policy=breaker_policies, events=breaker_events)
def test_oc_pool_3014_each_half_open_period_admits_at_most_one_start(
    policy: BreakerPolicy, events: list[tuple[str, int]]
) -> None:
    breaker = CircuitBreaker(policy)
    now = 0
    admitted_this_period = 0
    for event, step in events:
        now += step
        was = breaker.state(now)
        if event == "allow":
            allowed = breaker.allow_start(now)
            if was is BreakerState.OPEN:
                assert not allowed
            if was is BreakerState.HALF_OPEN and allowed:
                admitted_this_period += 1
                assert admitted_this_period == 1
        else:
            apply(breaker, event, now)
        if breaker.state(now) is not BreakerState.HALF_OPEN:
            admitted_this_period = 0


@settings(max_examples=60, deadline=None)
@given(policy=breaker_policies, events=breaker_events)
def test_oc_pool_3014_each_open_sets_the_trial_after_the_cooldown_and_when_the_window_has_room(
    policy: BreakerPolicy, events: list[tuple[str, int]]
) -> None:
    """Cool-downs stay between base and cap, grow by the multiplier after a failed trial, and the
    trial time is the earliest one both past the cool-down and with fewer than N failures in the
    window."""
    breaker = CircuitBreaker(policy)
    now = 0
    recorded: list[int] = []
    for event, step in events:
        now += step
        was = breaker.state(now)
        opens_before, cooldown_before = breaker.open_count, breaker.current_cooldown_ms
        apply(breaker, event, now)
        if event == "failure" and was is not BreakerState.OPEN:
            recorded.append(now)
        cooldown = breaker.current_cooldown_ms
        if cooldown is not None:
            assert policy.cooldown_ms <= cooldown <= policy.max_cooldown_ms
        if breaker.open_count == opens_before:
            continue
        assert breaker.open_count == opens_before + 1
        assert cooldown is not None
        if was is BreakerState.HALF_OPEN:
            assert cooldown_before is not None
            assert cooldown == min(
                policy.max_cooldown_ms, round(cooldown_before * policy.cooldown_multiplier)
            )
        else:
            assert cooldown == policy.cooldown_ms
        assert breaker.next_trial_at_ms == earliest_trial_ms(policy, now, cooldown, recorded)


# The restart loop uses smaller thresholds and quick engine lives next to the window, so storms
# (and the breaker's window rule) come up in most examples.
loop_policies = st.builds(
    BreakerPolicy,
    failure_threshold=st.integers(1, 4),
    window_ms=st.integers(1_000, 5_000),
    cooldown_ms=st.integers(1, 3_000),
    cooldown_multiplier=st.floats(1.0, 4.0, allow_nan=False),
    max_cooldown_ms=st.integers(3_000, 20_000),
)


def often_zero(high: int) -> st.SearchStrategy[int]:
    return st.one_of(st.just(0), st.integers(0, high))


restart_steps = st.lists(
    st.tuples(
        often_zero(500),  # how long the engine runs before it fails or becomes ready
        st.booleans(),  # whether it became ready (and crashed later) or failed to start
        often_zero(500),  # how long a ready engine served before it crashed
        often_zero(1_500),  # delay from the failure to the first request to restart
        st.integers(0, 999),  # where, in thousandths of the wait, a too-early retry lands
        often_zero(500),  # delay from the trial time to the request that is finally admitted
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=100, deadline=None)
@given(policy=loop_policies, steps=restart_steps)
def test_oc_pool_3011_restart_loop_never_fits_more_than_n_restarts_in_one_window(
    policy: BreakerPolicy, steps: list[tuple[int, bool, int, int, int, int]]
) -> None:
    """A supervisor restarts the engine after every failure, as soon as the breaker allows it or
    at some later time. Whatever the outcomes and timings, no window of ``window_ms`` holds more
    than ``failure_threshold`` of those restarts, and every restart is eventually admitted."""
    breaker = CircuitBreaker(policy)
    now = 0
    assert breaker.allow_start(now)  # the first start follows no failure and is not counted
    restarts: list[int] = []
    for ready_after, became_ready, crashed_after, first_ask, early_per_mille, late in steps:
        now += ready_after
        if became_ready:
            breaker.record_success(now)
            now += crashed_after
        breaker.record_failure(now)
        now += first_ask
        if not breaker.allow_start(now):
            trial_at = breaker.next_trial_at_ms
            assert trial_at is not None and now < trial_at
            early = now + (trial_at - now) * early_per_mille // 1_000
            assert not breaker.allow_start(early)
            now = trial_at + late
            assert breaker.allow_start(now)
        restarts.append(now)
    # Any window holding k restarts also holds them in the window that ends at its last one.
    for last in restarts:
        in_window = [s for s in restarts if last - policy.window_ms < s <= last]
        assert len(in_window) <= policy.failure_threshold, (policy, restarts)
