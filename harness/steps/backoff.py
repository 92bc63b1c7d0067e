"""Steps of the restart backoff on its own: the delay schedule, full jitter, the cap and the
reset after a stable Ready period (:class:`~poolmgr.core.backoff.Backoff`).

Serves OC-POOL-3011 and OC-POOL-3013 (decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import random
from dataclasses import replace

from harness.assertions import assert_equal
from harness.registry import step
from harness.world import PoolWorld
from poolmgr.core.backoff import Backoff, BackoffPolicy, Jitter


@step("given", "a restart backoff starting at {initial:d} ms, doubling, capped at {cap:d} ms")
def given_backoff(world: PoolWorld, initial: int, cap: int) -> None:
    world.new_backoff(initial, cap, Jitter.NONE)


@step(
    "given",
    "a restart backoff with full jitter starting at {initial:d} ms, doubling, capped at {cap:d} ms",
)
def given_backoff_jitter(world: PoolWorld, initial: int, cap: int) -> None:
    world.new_backoff(initial, cap, Jitter.FULL)


@step(
    "given",
    "a restart backoff starting at {initial:d} ms, growing {factor:g} times per failure, "
    "capped at {cap:d} ms",
)
def given_backoff_factor(world: PoolWorld, initial: int, factor: float, cap: int) -> None:
    world.set_backoff(
        BackoffPolicy(initial_ms=initial, max_ms=cap, multiplier=factor, jitter=Jitter.NONE)
    )


@step("given", "a restart backoff with the default settings")
def given_backoff_defaults(world: PoolWorld) -> None:
    world.set_backoff(BackoffPolicy())


@step("given", "the backoff draws from a random source seeded with {seed:d}")
def given_backoff_seed(world: PoolWorld, seed: int) -> None:
    world.retry.backoff = Backoff(world.retry.current().policy, random.Random(seed))


@step(
    "given",
    "{n:d} pools whose restart backoffs have full jitter, starting at {initial:d} ms, doubling, "
    "capped at {cap:d} ms, each with its own random source",
)
def given_backoff_fleet(world: PoolWorld, n: int, initial: int, cap: int) -> None:
    assert n >= 2, "scenario error: a fleet needs at least two pools"
    policy = BackoffPolicy(initial_ms=initial, max_ms=cap, jitter=Jitter.FULL)
    world.retry.fleet = [Backoff(policy, random.Random(seed)) for seed in range(1, n + 1)]


@step("given", "the failure count resets after {ms:d} ms of unbroken readiness")
def given_stable_period(world: PoolWorld, ms: int) -> None:
    world.set_backoff(replace(world.retry.current().policy, stable_reset_ms=ms))


@step("when", "the engine has failed {n:d} times in a row")
def backoff_failures(world: PoolWorld, n: int) -> None:
    backoff = world.retry.current()
    for _ in range(n):
        world.retry.delays.append(backoff.on_failure(world.clock.now_ms()))


@step("when", "all of them fail {n:d} times in a row at the same moment")
def fleet_failures(world: PoolWorld, n: int) -> None:
    assert world.retry.fleet, "setup: describe the pools first"
    now = world.clock.now_ms()
    for _ in range(n):
        world.retry.fleet_delays.append([b.on_failure(now) for b in world.retry.fleet])


@step("when", "the engine becomes ready")
def backoff_ready(world: PoolWorld) -> None:
    world.retry.current().on_ready(world.clock.now_ms())


@step("when", "the engine is restarted")
def backoff_restarted(world: PoolWorld) -> None:
    world.retry.current().clear_schedule()


@step("when", "the engine stops being ready")
def backoff_unready(world: PoolWorld) -> None:
    world.retry.current().on_not_ready(world.clock.now_ms())


@step("then", "the last restart waited {ms:d} ms")
def then_last_delay(world: PoolWorld, ms: int) -> None:
    assert world.retry.delays, "no restart delay was drawn"
    assert_equal(world.retry.delays[-1], ms, "last restart delay")
    assert_equal(world.retry.current().last_delay_ms, ms, "delay the backoff reports")


@step("then", "the last restart waited {ms:d} ms, within its ceiling of {ceiling:d} ms")
def then_last_delay_within(world: PoolWorld, ms: int, ceiling: int) -> None:
    assert 0 <= ms <= ceiling, f"scenario error: {ms} ms is not within [0, {ceiling}]"
    then_last_delay(world, ms)


@step("then", "every pool's last restart delay lies between 0 and {ceiling:d} ms")
def then_fleet_within(world: PoolWorld, ceiling: int) -> None:
    assert world.retry.fleet_delays, "no pool has failed"
    last = world.retry.fleet_delays[-1]
    assert last, "no delays were drawn"
    outside = sorted(d for d in last if not 0 <= d <= ceiling)
    assert not outside, f"{len(outside)} delays outside [0, {ceiling}]: {outside[:10]}"


@step(
    "then",
    "the pools' last restart delays spread from the lowest to the highest quarter "
    "of {ceiling:d} ms",
)
def then_fleet_spread(world: PoolWorld, ceiling: int) -> None:
    assert world.retry.fleet_delays, "no pool has failed"
    last = world.retry.fleet_delays[-1]
    assert last, "no delays were drawn"
    low, high = ceiling / 4, 3 * ceiling / 4
    assert min(last) <= low, f"no delay in the lowest quarter (<= {low}); lowest {min(last)}"
    assert max(last) >= high, f"no delay in the highest quarter (>= {high}); highest {max(last)}"


@step("then", "the restart is due in {ms:d} ms")
def then_due_in(world: PoolWorld, ms: int) -> None:
    assert ms > 0, "scenario error: say 'the restart is due now'"
    backoff, now = world.retry.current(), world.clock.now_ms()
    assert not backoff.due(now), f"the restart is already due at {now} ms"
    assert_equal(backoff.remaining_ms(now), ms, "time to the restart")
    assert_equal(backoff.next_restart_at_ms, now + ms, "time of the restart")


@step("then", "the restart is due now")
def then_due_now(world: PoolWorld) -> None:
    backoff, now = world.retry.current(), world.clock.now_ms()
    assert backoff.due(now), f"the restart is not due at {now} ms ({backoff!r})"
    assert_equal(backoff.remaining_ms(now), 0, "time to the restart")


@step("then", "no restart is scheduled")
def then_nothing_scheduled(world: PoolWorld) -> None:
    backoff, now = world.retry.current(), world.clock.now_ms()
    assert backoff.next_restart_at_ms is None, f"a restart is due at {backoff.next_restart_at_ms}"
    assert backoff.last_delay_ms is None, f"a delay of {backoff.last_delay_ms} ms was drawn"
    assert backoff.due(now), "an engine that never failed may start at once"
    assert_equal(backoff.remaining_ms(now), 0, "time to the restart")


@step("then", "every restart delay lies between 0 and {cap:d} ms")
def then_delays_bounded(world: PoolWorld, cap: int) -> None:
    assert world.retry.delays, "no restart delay was drawn"
    outside = [d for d in world.retry.delays if not 0 <= d <= cap]
    assert not outside, f"delays outside [0, {cap}]: {outside}"


@step("then", "the restart delays are spread out rather than all equal")
def then_delays_spread(world: PoolWorld) -> None:
    assert len(set(world.retry.delays)) > 1, f"delays are all equal: {world.retry.delays}"


@step("then", "the failure count is {n:d}")
def then_failure_count(world: PoolWorld, n: int) -> None:
    backoff = world.retry.backoff
    assert backoff is not None, "no backoff described"
    assert_equal(backoff.attempt, n, "failure count")


@step("then", "the stable period is over")
def then_stable_over(world: PoolWorld) -> None:
    backoff = world.retry.current()
    assert backoff.observe(world.clock.now_ms()), f"the stable period is not over: {backoff!r}"
    assert_equal(backoff.attempt, 0, "failure count once the stable period is over")


@step("then", "the stable period is not over yet")
def then_stable_not_over(world: PoolWorld) -> None:
    backoff = world.retry.current()
    assert not backoff.observe(world.clock.now_ms()), f"the stable period is over: {backoff!r}"
