"""Steps of the circuit breaker and restart storms: a pool whose breaker opens, its cool-down,
its single trial start, and the bound on engine starts within a window.

Serves OC-POOL-3011 and OC-POOL-3014 (decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from harness.assertions import assert_equal
from harness.registry import step
from harness.steps.retry_breaker import times_of
from harness.world import PoolSpec, PoolWorld
from poolmgr.core.decisions import PoolState, StateChanged
from poolmgr.core.vocab import Cause


@step(
    "given",
    'a pool "{pool}" whose breaker opens after {n:d} failures within {window:d} ms '
    "and first cools down for {cooldown:d} ms",
)
def given_pool_breaker(world: PoolWorld, pool: str, n: int, window: int, cooldown: int) -> None:
    world.pools.add(
        PoolSpec(pool, breaker_threshold=n, breaker_window_ms=window, breaker_cooldown_ms=cooldown)
    )


@step("then", 'the breaker of "{pool}" is "{state}"')
def then_breaker(world: PoolWorld, pool: str, state: str) -> None:
    assert_equal(world.registry.snapshot(pool).breaker_state.value, state, f"breaker of {pool}")


@step("then", 'the pool "{pool}" reports when its breaker allows the next trial')
def then_breaker_trial_visible(world: PoolWorld, pool: str) -> None:
    snap = world.registry.snapshot(pool)
    assert snap.breaker_next_trial_at_ms is not None, "no next trial time reported"
    assert snap.breaker_next_trial_at_ms > world.clock.now_ms(), "trial time is not ahead"


@step("then", 'the breaker of "{pool}" now cools down for {ms:d} ms')
def then_breaker_cooldown(world: PoolWorld, pool: str, ms: int) -> None:
    breaker = world.registry.machine(pool).breaker
    assert_equal(breaker.current_cooldown_ms, ms, f"breaker cool-down of {pool}")


@step("then", 'exactly {n:d} trial start of "{pool}" was ordered after the breaker opened')
def then_one_trial(world: PoolWorld, pool: str, n: int) -> None:
    # Starts and state changes in the order the pool decided them.
    told = [what for _, what in world.orders(pool, "spawn", "change_state")]
    opened = [
        i
        for i, what in enumerate(told)
        if isinstance(what, StateChanged) and what.to_state is PoolState.CIRCUIT_OPEN
    ]
    assert opened, f"the pool {pool} never reported its circuit open"
    starts = [what for what in told[opened[-1] :] if not isinstance(what, StateChanged)]
    assert_equal(len(starts), n, f"engine starts of {pool} since its breaker last opened")


@step("then", 'the pool "{pool}" reports its breaker\'s next trial at {t:d} ms')
def then_breaker_trial_at(world: PoolWorld, pool: str, t: int) -> None:
    snap = world.registry.snapshot(pool)
    assert_equal(snap.breaker_next_trial_at_ms, t, f"next trial of {pool}")


@step("then", 'the pool "{pool}" reports no breaker trial time')
def then_no_trial_time(world: PoolWorld, pool: str) -> None:
    trial = world.registry.snapshot(pool).breaker_next_trial_at_ms
    assert trial is None, f"{pool} reports a trial at {trial} ms"


@step("then", 'the engine of "{pool}" was started at {times} ms')
def then_started_at(world: PoolWorld, pool: str, times: str) -> None:
    expected = times_of(times)
    assert_equal([t for t, _ in world.orders(pool, "spawn")], expected, f"engine starts of {pool}")


@step("then", 'no more than {n:d} engine starts of "{pool}" fell within any {window:d} ms')
def then_starts_bounded(world: PoolWorld, pool: str, n: int, window: int) -> None:
    times = [t for t, _ in world.orders(pool, "spawn")]
    assert len(times) > n, f"the storm was too small to prove anything ({len(times)} starts)"
    worst = max(sum(1 for u in times if t - window < u <= t) for t in times)
    assert worst <= n, f"{worst} starts within {window} ms; the bound is {n}"


@step("when", 'the preload of "{pool}" fails {n:d} times in a row')
def preload_fails_repeatedly(world: PoolWorld, pool: str, n: int) -> None:
    world.fail_preload_repeatedly(pool, n, Cause.MODEL_LOAD_FAILED)


@step("when", 'the engine of "{pool}" keeps failing its preload for {ms:d} ms')
def preload_keeps_failing(world: PoolWorld, pool: str, ms: int) -> None:
    world.keep_failing_preload(pool, ms)
