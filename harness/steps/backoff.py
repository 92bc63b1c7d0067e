"""Steps of the restart backoff on its own: the delay schedule, full jitter, the cap and the
reset after a stable Ready period (:class:`~poolmgr.core.backoff.Backoff`).

Serves OC-POOL-3011 and OC-POOL-3013 (decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from dataclasses import replace

from harness.assertions import assert_equal
from harness.registry import step
from harness.world import PoolWorld
from poolmgr.core.backoff import Jitter


@step("given", "a restart backoff starting at {initial:d} ms, doubling, capped at {cap:d} ms")
def given_backoff(world: PoolWorld, initial: int, cap: int) -> None:
    world.new_backoff(initial, cap, Jitter.NONE)


@step(
    "given",
    "a restart backoff with full jitter starting at {initial:d} ms, doubling, capped at {cap:d} ms",
)
def given_backoff_jitter(world: PoolWorld, initial: int, cap: int) -> None:
    world.new_backoff(initial, cap, Jitter.FULL)


@step("given", "the failure count resets after {ms:d} ms of unbroken readiness")
def given_stable_period(world: PoolWorld, ms: int) -> None:
    world.set_backoff(replace(world.retry.current().policy, stable_reset_ms=ms))


@step("when", "the engine has failed {n:d} times in a row")
def backoff_failures(world: PoolWorld, n: int) -> None:
    backoff = world.retry.current()
    for _ in range(n):
        world.retry.delays.append(backoff.on_failure(world.clock.now_ms()))


@step("when", "the engine becomes ready")
def backoff_ready(world: PoolWorld) -> None:
    world.retry.current().on_ready(world.clock.now_ms())


@step("when", "the engine stops being ready")
def backoff_unready(world: PoolWorld) -> None:
    world.retry.current().on_not_ready(world.clock.now_ms())


@step("then", "the last restart waited {ms:d} ms")
def then_last_delay(world: PoolWorld, ms: int) -> None:
    assert world.retry.delays, "no restart delay was drawn"
    assert_equal(world.retry.delays[-1], ms, "last restart delay")


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
