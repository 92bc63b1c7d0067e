"""Steps of the circuit breaker on its own: failures counted in a sliding window, the open
period, the single half-open trial, the cool-down and its lengthening
(:class:`~poolmgr.core.breaker.CircuitBreaker`).

Serves OC-POOL-3011 and OC-POOL-3014 (decision level). Times in these steps are read on the
scenario's manual clock, in ms since the scenario began; a step that names a time moves the
clock there and refuses to move it backwards.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import re

from harness.assertions import assert_equal
from harness.registry import step
from harness.world import PoolWorld
from poolmgr.core.breaker import BreakerPolicy, CircuitBreaker

_ANSWERS = {"allowed": True, "refused": False}


def times_of(text: str) -> list[int]:
    """``"0, 30000 and 59999"`` as ``[0, 30000, 59999]`` (a feature's list of times or counts)."""
    parts = [p for p in re.split(r"\s*(?:,|\band\b)\s*", text.strip()) if p]
    assert parts, f"no values in {text!r}"
    return [int(p) for p in parts]


def at(world: PoolWorld, ms: int) -> None:
    """Move the scenario clock to ``ms``; time never runs backwards in a scenario."""
    now = world.clock.now_ms()
    assert ms >= now, f"scenario error: {ms} ms lies before the current time {now} ms"
    world.clock.set(ms)


def _new_breaker(world: PoolWorld, policy: BreakerPolicy) -> None:
    world.retry.breaker = CircuitBreaker(policy)
    world.retry.answers = []


@step(
    "given",
    "a circuit breaker that opens after {n:d} failures within {window:d} ms "
    "and first cools down for {cooldown:d} ms",
)
def given_breaker(world: PoolWorld, n: int, window: int, cooldown: int) -> None:
    given_breaker_lengthening(world, n, window, cooldown, 2.0, 900_000)


@step(
    "given",
    "a circuit breaker that opens after {n:d} failures within {window:d} ms, first cools down "
    "for {cooldown:d} ms, and cools down {factor:g} times longer after each failed trial, "
    "up to {cap:d} ms",
)
def given_breaker_lengthening(
    world: PoolWorld, n: int, window: int, cooldown: int, factor: float, cap: int
) -> None:
    _new_breaker(
        world,
        BreakerPolicy(
            failure_threshold=n,
            window_ms=window,
            cooldown_ms=cooldown,
            cooldown_multiplier=factor,
            max_cooldown_ms=cap,
        ),
    )


@step("given", "a circuit breaker with the default settings")
def given_default_breaker(world: PoolWorld) -> None:
    _new_breaker(world, BreakerPolicy())


@step("when", "the breaker records a failure at {t:d} ms")
def breaker_failure(world: PoolWorld, t: int) -> None:
    at(world, t)
    world.retry.current_breaker().record_failure(t)


@step("when", "the breaker records failures at {times} ms")
def breaker_failures(world: PoolWorld, times: str) -> None:
    for t in times_of(times):
        breaker_failure(world, t)


@step("when", "the breaker records {n:d} failures {gap:d} ms apart, the first at {t:d} ms")
def breaker_spaced_failures(world: PoolWorld, n: int, gap: int, t: int) -> None:
    assert n >= 1, "scenario error: at least one failure"
    for k in range(n):
        breaker_failure(world, t + k * gap)


@step("when", "the breaker records a successful start at {t:d} ms")
def breaker_success(world: PoolWorld, t: int) -> None:
    at(world, t)
    world.retry.current_breaker().record_success(t)


def _trial(world: PoolWorld, t: int) -> None:
    at(world, t)
    admitted = world.retry.current_breaker().allow_start(t)
    assert admitted, f"the breaker refused the trial start at {t} ms"


@step("when", "the trial at {t:d} ms fails at once")
def breaker_trial_fails(world: PoolWorld, t: int) -> None:
    _trial(world, t)
    breaker_failure(world, t)


@step("when", "the trial at {t:d} ms reaches Ready at {ready:d} ms")
def breaker_trial_ready(world: PoolWorld, t: int, ready: int) -> None:
    _trial(world, t)
    breaker_success(world, ready)


@step("when", "a start is asked for at {times} ms")
def breaker_ask(world: PoolWorld, times: str) -> None:
    breaker = world.retry.current_breaker()
    for t in times_of(times):
        at(world, t)
        world.retry.answers.append(breaker.allow_start(t))


@step("then", "the breaker answered {answers}")
def then_breaker_answered(world: PoolWorld, answers: str) -> None:
    words = [w for w in re.split(r"\s*(?:,|\band\b)\s*", answers.strip()) if w]
    assert words, "scenario error: no answers written"
    unknown = [w for w in words if w not in _ANSWERS]
    assert not unknown, f"scenario error: answers are 'allowed' or 'refused', not {unknown}"
    got = ["allowed" if a else "refused" for a in world.retry.answers]
    assert_equal(got, words, "the breaker's answers to the starts asked for")


@step("then", 'at {t:d} ms the breaker is "{state}"')
def then_breaker_state_at(world: PoolWorld, t: int, state: str) -> None:
    at(world, t)
    assert_equal(world.retry.current_breaker().state(t).value, state, f"breaker state at {t} ms")


@step("then", 'the breaker is "{state}"')
def then_breaker_state_now(world: PoolWorld, state: str) -> None:
    now = world.clock.now_ms()
    assert_equal(world.retry.current_breaker().state(now).value, state, f"breaker at {now} ms")


@step("then", "the breaker allows its next trial at {t:d} ms")
def then_breaker_trial_at(world: PoolWorld, t: int) -> None:
    assert_equal(world.retry.current_breaker().next_trial_at_ms, t, "time of the next trial")


@step("then", "the breaker names no trial time")
def then_breaker_no_trial(world: PoolWorld) -> None:
    trial = world.retry.current_breaker().next_trial_at_ms
    assert trial is None, f"the breaker names a trial at {trial} ms"


@step("then", "the breaker cools down for {ms:d} ms")
def then_breaker_cools_down(world: PoolWorld, ms: int) -> None:
    assert_equal(world.retry.current_breaker().current_cooldown_ms, ms, "cool-down")


@step("then", "the breaker cools down for {ms:d} ms and allows its next trial at {t:d} ms")
def then_breaker_cooldown_and_trial(world: PoolWorld, ms: int, t: int) -> None:
    breaker = world.retry.current_breaker()
    assert_equal(breaker.current_cooldown_ms, ms, "cool-down")
    assert_equal(breaker.next_trial_at_ms, t, "time of the next trial")


@step("then", "the breaker has opened {n:d} times")
def then_breaker_opened(world: PoolWorld, n: int) -> None:
    assert_equal(world.retry.current_breaker().open_count, n, "times the breaker opened")


@step("then", "the breaker has never opened")
def then_breaker_never_opened(world: PoolWorld) -> None:
    breaker = world.retry.current_breaker()
    assert_equal(breaker.open_count, 0, "times the breaker opened")
    assert breaker.current_cooldown_ms is None, f"cool-down {breaker.current_cooldown_ms} ms"
    assert breaker.next_trial_at_ms is None, f"trial time {breaker.next_trial_at_ms} ms"


@step("then", "at {t:d} ms {n:d} failures lie within the window")
def then_failures_in_window(world: PoolWorld, t: int, n: int) -> None:
    at(world, t)
    assert_equal(world.retry.current_breaker().failures_in_window(t), n, f"failures at {t} ms")
