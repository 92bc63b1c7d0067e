"""Restart backoff (OC-POOL-3011, OC-POOL-3002): schedule, jitter, and the stable-reset rule."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poolmgr.core.backoff import Backoff, BackoffPolicy, Jitter

SECOND = 1_000
MINUTE = 60 * SECOND

NO_JITTER = BackoffPolicy(jitter=Jitter.NONE)


def make_backoff(policy: BackoffPolicy = NO_JITTER, seed: int = 7) -> Backoff:
    return Backoff(policy, random.Random(seed))


policies = st.builds(
    BackoffPolicy,
    initial_ms=st.integers(1, 10_000),
    max_ms=st.integers(10_000, 1_000_000),
    multiplier=st.floats(1.0, 10.0, allow_nan=False),
    stable_reset_ms=st.integers(0, 20 * MINUTE),
    jitter=st.sampled_from(Jitter),
)


# --- policy: values and validation ---------------------------------------------------------------


def test_default_policy_is_one_second_doubling_to_five_minutes_with_full_jitter() -> None:
    policy = BackoffPolicy()
    assert (policy.initial_ms, policy.max_ms, policy.multiplier) == (SECOND, 5 * MINUTE, 2.0)
    assert policy.jitter is Jitter.FULL


def test_default_policy_resets_the_counter_only_after_ten_minutes_ready() -> None:
    assert BackoffPolicy().stable_reset_ms == 10 * MINUTE


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("initial_ms", {"initial_ms": 0}),
        ("initial_ms", {"initial_ms": -5}),
        ("max_ms", {"initial_ms": 2_000, "max_ms": 1_999}),
        ("multiplier", {"multiplier": 0.5}),
        ("multiplier", {"multiplier": float("nan")}),
        ("multiplier", {"multiplier": float("inf")}),
        ("stable_reset_ms", {"stable_reset_ms": -1}),
        ("jitter", {"jitter": "sometimes"}),
    ],
)
def test_invalid_policy_is_rejected_naming_the_field(field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=field):
        BackoffPolicy(**kwargs)


def test_jitter_may_be_given_as_its_config_string() -> None:
    policy = BackoffPolicy(jitter="none")  # type: ignore[arg-type]
    assert policy.jitter is Jitter.NONE


def test_policy_is_an_immutable_value() -> None:
    policy = BackoffPolicy()
    with pytest.raises(AttributeError):
        policy.max_ms = 1  # type: ignore[misc]
    assert policy == BackoffPolicy()


# --- policy: the schedule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "expected_s"),
    [(0, 1), (1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 64), (7, 128), (8, 256), (9, 300)],
)
def test_oc_pool_3011_ceiling_doubles_from_one_second(attempt: int, expected_s: int) -> None:
    assert BackoffPolicy().ceiling_ms(attempt) == expected_s * SECOND


@pytest.mark.parametrize("attempt", [9, 10, 50, 1_100, 10**6, 10**100])
def test_oc_pool_3011_ceiling_stays_at_the_five_minute_cap_for_any_attempt(attempt: int) -> None:
    assert BackoffPolicy().ceiling_ms(attempt) == 5 * MINUTE


def test_ceiling_follows_a_non_doubling_multiplier() -> None:
    policy = BackoffPolicy(initial_ms=100, max_ms=10_000, multiplier=1.5)
    assert [policy.ceiling_ms(n) for n in range(4)] == [100, 150, 225, 338]


def test_multiplier_of_one_gives_a_constant_delay() -> None:
    policy = BackoffPolicy(initial_ms=500, max_ms=9_000, multiplier=1.0, jitter=Jitter.NONE)
    assert {policy.ceiling_ms(n) for n in (0, 1, 7, 10**200)} == {500}


def test_ceiling_reaches_a_cap_that_is_an_exact_power() -> None:
    policy = BackoffPolicy(initial_ms=1_000, max_ms=8_000)
    assert [policy.ceiling_ms(n) for n in range(5)] == [1_000, 2_000, 4_000, 8_000, 8_000]


def test_negative_attempt_is_rejected() -> None:
    with pytest.raises(ValueError, match="attempt"):
        BackoffPolicy().ceiling_ms(-1)


def test_without_jitter_the_delay_is_the_ceiling() -> None:
    rng = random.Random(1)
    assert [NO_JITTER.delay_ms(n, rng) for n in range(3)] == [1_000, 2_000, 4_000]


@settings(max_examples=200, deadline=None)
@given(policy=policies, attempts=st.lists(st.integers(0, 10_000), min_size=1, max_size=20))
def test_oc_pool_3011_ceiling_grows_monotonically_and_never_passes_the_cap(
    policy: BackoffPolicy, attempts: list[int]
) -> None:
    ordered = sorted(attempts)
    ceilings = [policy.ceiling_ms(n) for n in ordered]
    assert ceilings == sorted(ceilings)
    assert all(policy.initial_ms <= c <= policy.max_ms for c in ceilings)


@settings(max_examples=200, deadline=None)
@given(policy=policies, attempt=st.integers(0, 200), seed=st.integers(0, 2**32))
def test_oc_pool_3011_delay_is_always_between_zero_and_the_ceiling(
    policy: BackoffPolicy, attempt: int, seed: int
) -> None:
    delay = policy.delay_ms(attempt, random.Random(seed))
    assert 0 <= delay <= policy.ceiling_ms(attempt) <= policy.max_ms


# --- full jitter ---------------------------------------------------------------------------------


def test_full_jitter_covers_every_value_from_zero_to_the_ceiling() -> None:
    policy = BackoffPolicy(initial_ms=10, max_ms=10)
    rng = random.Random(3)
    seen = {policy.delay_ms(0, rng) for _ in range(2_000)}
    assert seen == set(range(11))


def test_full_jitter_is_reproducible_with_the_same_seed() -> None:
    first, second = make_backoff(BackoffPolicy(), seed=42), make_backoff(BackoffPolicy(), seed=42)
    assert [first.on_failure(0) for _ in range(15)] == [second.on_failure(0) for _ in range(15)]


def test_full_jitter_differs_between_seeds_so_pools_do_not_restart_in_lockstep() -> None:
    first, second = make_backoff(BackoffPolicy(), seed=1), make_backoff(BackoffPolicy(), seed=2)
    assert [first.on_failure(0) for _ in range(15)] != [second.on_failure(0) for _ in range(15)]


def test_full_jitter_spreads_delays_instead_of_always_using_the_ceiling() -> None:
    policy = BackoffPolicy()
    rng = random.Random(9)
    delays = [policy.delay_ms(20, rng) for _ in range(200)]
    assert min(delays) < policy.max_ms // 4
    assert max(delays) > 3 * policy.max_ms // 4


# --- tracker: scheduling -------------------------------------------------------------------------


def test_fresh_tracker_has_nothing_scheduled_and_is_due() -> None:
    backoff = make_backoff()
    assert backoff.attempt == 0
    assert backoff.next_restart_at_ms is None
    assert backoff.last_delay_ms is None
    assert backoff.ready_since_ms is None
    assert backoff.due(0)
    assert backoff.remaining_ms(0) == 0


def test_failure_schedules_the_restart_after_the_returned_delay() -> None:
    backoff = make_backoff(BackoffPolicy(), seed=5)
    delay = backoff.on_failure(10_000)
    assert 0 <= delay <= SECOND
    assert backoff.last_delay_ms == delay
    assert backoff.next_restart_at_ms == 10_000 + delay
    assert backoff.attempt == 1


def test_oc_pool_3011_consecutive_failures_double_the_delay_up_to_the_cap() -> None:
    backoff = make_backoff()
    delays = [backoff.on_failure(0) for _ in range(12)]
    assert [d // SECOND for d in delays] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]


def test_oc_pool_3002_repeated_preflight_failures_retry_later_each_time() -> None:
    """A pool whose preload keeps failing stays Unready and retries with growing waits."""
    backoff = make_backoff()
    now = 0
    waits = []
    for _ in range(4):
        backoff.on_failure(now)
        waits.append(backoff.remaining_ms(now))
        now = backoff.next_restart_at_ms or now
        assert backoff.due(now)
        backoff.clear_schedule()
    assert waits == [1_000, 2_000, 4_000, 8_000]


def test_restart_is_not_due_before_its_time_and_due_from_it() -> None:
    backoff = make_backoff()
    backoff.on_failure(5_000)
    assert not backoff.due(5_999)
    assert backoff.remaining_ms(5_999) == 1
    assert backoff.due(6_000)
    assert backoff.remaining_ms(6_000) == 0
    assert backoff.remaining_ms(60_000) == 0


def test_remaining_time_counts_down_with_the_clock() -> None:
    backoff = make_backoff()
    backoff.on_failure(0)
    backoff.on_failure(0)
    assert backoff.remaining_ms(500) == 1_500


def test_clearing_the_schedule_makes_the_tracker_due_but_keeps_the_count() -> None:
    backoff = make_backoff()
    backoff.on_failure(0)
    backoff.clear_schedule()
    assert backoff.next_restart_at_ms is None
    assert backoff.due(0)
    assert backoff.attempt == 1


# --- tracker: the stable-reset rule --------------------------------------------------------------


def test_oc_pool_3011_becoming_ready_does_not_reset_the_counter() -> None:
    """Reset-on-ready (the GPUStack flaw) would let crash-right-after-ready loops hammer the GPU."""
    backoff = make_backoff()
    for _ in range(3):
        backoff.on_failure(0)
    backoff.on_ready(1_000)
    assert backoff.attempt == 3
    assert backoff.on_failure(2_000) == 8 * SECOND


def test_oc_pool_3011_counter_survives_readiness_shorter_than_the_stable_period() -> None:
    backoff = make_backoff()
    backoff.on_failure(0)
    backoff.on_failure(0)
    backoff.on_ready(0)
    assert backoff.observe(10 * MINUTE - 1) is False
    assert backoff.attempt == 2


def test_oc_pool_3011_counter_resets_after_the_stable_period_of_readiness() -> None:
    backoff = make_backoff()
    backoff.on_failure(0)
    backoff.on_failure(0)
    backoff.on_ready(0)
    assert backoff.observe(10 * MINUTE) is True
    assert backoff.attempt == 0


def test_after_a_stable_reset_the_next_failure_waits_the_initial_delay_again() -> None:
    backoff = make_backoff()
    for _ in range(5):
        backoff.on_failure(0)
    backoff.on_ready(0)
    backoff.observe(10 * MINUTE)
    assert backoff.on_failure(10 * MINUTE + 1) == SECOND


def test_oc_pool_3011_failure_during_the_stable_period_restarts_the_stable_clock() -> None:
    backoff = make_backoff()
    backoff.on_failure(0)
    backoff.on_ready(0)
    backoff.on_failure(9 * MINUTE)
    assert backoff.ready_since_ms is None
    backoff.on_ready(9 * MINUTE + 30 * SECOND)
    assert backoff.observe(10 * MINUTE) is False
    assert backoff.observe(19 * MINUTE + 29 * SECOND) is False
    assert backoff.attempt == 2
    assert backoff.observe(19 * MINUTE + 30 * SECOND) is True
    assert backoff.attempt == 0


def test_repeated_ready_reports_keep_the_start_of_the_ready_period() -> None:
    backoff = make_backoff()
    backoff.on_ready(1_000)
    backoff.on_ready(5_000)
    assert backoff.ready_since_ms == 1_000


def test_going_not_ready_stops_the_stable_clock_without_counting_a_failure() -> None:
    backoff = make_backoff()
    backoff.on_failure(0)
    backoff.clear_schedule()
    backoff.on_ready(0)
    backoff.on_not_ready(5 * MINUTE)
    assert backoff.ready_since_ms is None
    assert backoff.attempt == 1
    assert backoff.next_restart_at_ms is None
    assert backoff.observe(20 * MINUTE) is False
    assert backoff.attempt == 1


def test_observe_without_readiness_changes_nothing() -> None:
    backoff = make_backoff()
    backoff.on_failure(0)
    assert backoff.observe(60 * MINUTE) is False
    assert backoff.attempt == 1


def test_zero_stable_period_resets_as_soon_as_readiness_is_observed() -> None:
    backoff = make_backoff(BackoffPolicy(stable_reset_ms=0, jitter=Jitter.NONE))
    backoff.on_failure(0)
    backoff.on_ready(100)
    assert backoff.observe(100) is True
    assert backoff.attempt == 0


# --- property: random event sequences ------------------------------------------------------------

EVENTS = ("failure", "ready", "not_ready", "observe")
event_sequences = st.lists(
    st.tuples(st.sampled_from(EVENTS), st.integers(0, 8 * MINUTE)), min_size=1, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(policy=policies, events=event_sequences, seed=st.integers(0, 2**32))
def test_oc_pool_3011_counter_resets_only_after_continuous_readiness(
    policy: BackoffPolicy, events: list[tuple[str, int]], seed: int
) -> None:
    """Over any event sequence: each failure counts one and waits within its ceiling, and the
    counter drops only when observed after ``stable_reset_ms`` of unbroken readiness."""
    backoff = Backoff(policy, random.Random(seed))
    now = 0
    ready_since: int | None = None  # the test's own view of the unbroken Ready period
    for event, step in events:
        now += step
        before = backoff.attempt
        if event == "failure":
            delay = backoff.on_failure(now)
            assert 0 <= delay <= policy.ceiling_ms(before)
            assert backoff.next_restart_at_ms == now + delay
            assert backoff.attempt == before + 1
            ready_since = None
        elif event == "ready":
            backoff.on_ready(now)
            ready_since = now if ready_since is None else ready_since
        elif event == "not_ready":
            backoff.on_not_ready(now)
            ready_since = None
        else:
            stable = ready_since is not None and now - ready_since >= policy.stable_reset_ms
            assert backoff.observe(now) is stable
            assert backoff.attempt == (0 if stable else before)
        if event != "observe" and event != "failure":
            assert backoff.attempt == before
        assert backoff.ready_since_ms == ready_since
