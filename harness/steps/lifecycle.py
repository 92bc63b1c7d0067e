"""Steps of a pool's lifecycle at decision level: pools described, started, preloaded, failing,
probed, drained and reloaded, and what the registry then reports.

Each step feeds events to the registry through the scenario's
:class:`~harness.world.PoolWorld` (which answers ordered spawns as a supervisor would) and reads
its snapshots; time moves on a manual clock only.

Serves OC-POOL-3001..3005, 3010..3014, 3016, 3017, 3031..3034, 3040..3044, 3051, 3061,
3063 and OC-MET-6002 (decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import dataclasses

from harness.assertions import assert_equal
from harness.registry import step
from harness.world import PoolSpec, PoolWorld
from poolmgr.core.events import (
    EngineExited,
    EngineFault,
    PreloadFailed,
    PreloadSucceeded,
    ProbeFailed,
    ProbeOk,
    StartRequested,
)
from poolmgr.core.vocab import Cause


@step("given", 'a pool "{pool}" with {slots:d} slots')
def given_pool(world: PoolWorld, pool: str, slots: int) -> None:
    world.pools.add(PoolSpec(pool, slots=slots))


@step("given", 'a CPU pool "{pool}" with {slots:d} slots')
def given_cpu_pool(world: PoolWorld, pool: str, slots: int) -> None:
    world.pools.add(PoolSpec(pool, slots=slots, cpu=True))


@step("given", "the heartbeat staleness limit is {ms:d} ms")
def given_heartbeat_limit(world: PoolWorld, ms: int) -> None:
    world.pools.heartbeat_stale_ms = ms


@step("given", 'the pool "{pool}" is ready')
def given_pool_ready(world: PoolWorld, pool: str) -> None:
    start_pool(world, pool)
    preload_done(world, pool)
    assert world.registry.snapshot(pool).ready, "setup: the pool did not become ready"


@step("given", 'the pool "{pool}" has been started')
def given_started(world: PoolWorld, pool: str) -> None:
    start_pool(world, pool)


@step("when", 'the pool "{pool}" is started')
def start_pool(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, StartRequested())


@step("when", 'the engine of "{pool}" finishes preloading')
def preload_done(world: PoolWorld, pool: str) -> None:
    preload_done_version(world, pool, "b1000")


@step("when", 'the engine of "{pool}" finishes preloading as version "{version}"')
def preload_done_version(world: PoolWorld, pool: str, version: str) -> None:
    slots = world.pools.specs[pool].slots
    world.dispatch(pool, PreloadSucceeded(version, f"sha256:{version}", slots))


@step("when", 'the preload of "{pool}" fails with cause "{cause}"')
def preload_fails(world: PoolWorld, pool: str, cause: str) -> None:
    world.dispatch(pool, PreloadFailed(Cause(cause), f"preload failed: {cause}"))


@step("when", 'the engine of "{pool}" reports that it fell back to the CPU')
def engine_cpu_fallback(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, EngineFault(Cause.CPU_SPILLOVER, "no usable GPU found, using CPU"))


@step("when", 'the engine of "{pool}" crashes')
def engine_crashes(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, EngineExited(Cause.KILLED_BY_SIGNAL, "segmentation fault"))


@step("when", 'the engine of "{pool}" exits')
def engine_exits(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, EngineExited(Cause.ENGINE_EXITED, "engine stopped"))


@step("when", "{ms:d} ms pass")
def time_passes(world: PoolWorld, ms: int) -> None:
    world.advance(ms)


@step("when", 'the next restart of "{pool}" comes due')
def restart_due(world: PoolWorld, pool: str) -> None:
    world.wait_for_restart(pool)


@step("when", 'a health probe of "{pool}" times out')
def probe_times_out(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, ProbeFailed("no answer within the probe timeout", timed_out=True))


@step("when", 'a health probe of "{pool}" answers again')
def probe_answers(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, ProbeOk())


@step("when", 'a heartbeat arrives from "{pool}"')
def heartbeat(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, ProbeOk())


@step("then", 'the pool "{pool}" is ready')
def then_ready(world: PoolWorld, pool: str) -> None:
    snap = world.registry.snapshot(pool)
    assert snap.ready, f"pool {pool} is {snap.state}, not ready"


@step("then", 'the pool "{pool}" is not ready')
def then_not_ready(world: PoolWorld, pool: str) -> None:
    snap = world.registry.snapshot(pool)
    assert not snap.ready, f"pool {pool} is ready"


@step("then", 'the pool "{pool}" reports state "{state}"')
def then_state(world: PoolWorld, pool: str, state: str) -> None:
    assert_equal(world.registry.snapshot(pool).state.value, state, f"state of {pool}")


@step("then", 'the pool "{pool}" reports its preload as "{status}"')
def then_preload_status(world: PoolWorld, pool: str, status: str) -> None:
    done = world.registry.snapshot(pool).preload_ok
    assert isinstance(done, bool), f"the preload state of {pool} is not a yes/no: {done!r}"
    assert_equal("done" if done else "not done", status, f"preload of {pool}")


@step("then", 'the pool "{pool}" reports the last error cause "{cause}"')
def then_last_error(world: PoolWorld, pool: str, cause: str) -> None:
    error = world.registry.snapshot(pool).last_error
    assert error is not None, f"pool {pool} reports no last error"
    assert_equal(error.cause.value, cause, f"last error cause of {pool}")
    assert error.message, "the last error carries no message"


REGISTRY_FIELDS = (
    "live",
    "ready",
    "draining",
    "state",
    "last_heartbeat_ms",
    "model_ref",
    "engine",
    "engine_version",
    "model_digest",
    "last_error",
    "slots_total",
    "slots_free",
    "active_leases",
    "restart_count",
    "next_restart_at_ms",
)


@step("then", 'the pool "{pool}" reports no last error')
def then_no_last_error(world: PoolWorld, pool: str) -> None:
    error = world.registry.snapshot(pool).last_error
    assert error is None, f"pool {pool} reports {error}"


@step("then", 'the next restart of "{pool}" is due in {ms:d} ms')
def then_restart_due_in(world: PoolWorld, pool: str, ms: int) -> None:
    at = world.registry.snapshot(pool).next_restart_at_ms
    assert at is not None, f"pool {pool} has no restart scheduled"
    assert_equal(at - world.clock.now_ms(), ms, f"time to the next restart of {pool}")


@step("then", 'the pool "{pool}" has been restarted {n:d} times')
def then_restart_count(world: PoolWorld, pool: str, n: int) -> None:
    assert_equal(world.registry.snapshot(pool).restart_count, n, f"restarts of {pool}")


@step("then", 'the engine of "{pool}" was killed')
def then_killed(world: PoolWorld, pool: str) -> None:
    assert not world.registry.snapshot(pool).ready, f"pool {pool} still reports ready"
    assert world.orders(pool, "kill"), f"no kill ordered for {pool}"


@step("then", 'the engine of "{pool}" was killed because of "{cause}"')
def then_killed_because(world: PoolWorld, pool: str, cause: str) -> None:
    assert not world.registry.snapshot(pool).ready, f"pool {pool} still reports ready"
    assert_equal(world.kill_causes(pool), [cause], f"causes of the kills ordered for {pool}")


@step("then", 'the engine of "{pool}" was told to stop gracefully')
def then_stopped_gracefully(world: PoolWorld, pool: str) -> None:
    snap = world.registry.snapshot(pool)
    assert not snap.ready, f"pool {pool} still reports ready"
    assert world.orders(pool, "stop"), f"no graceful stop for {pool}"
    assert not world.orders(pool, "kill"), f"{pool} was killed, not stopped gracefully"


@step("then", 'the engine of "{pool}" was not told to stop')
def then_not_stopped(world: PoolWorld, pool: str) -> None:
    snap = world.registry.snapshot(pool)
    assert snap.live, f"pool {pool} no longer reports its engine as running ({snap.state})"
    stops = [a for _, a in world.orders(pool, "stop", "kill")]
    assert not stops, f"unexpected stop of {pool}: {stops}"


def scraped_count(world: PoolWorld, pool: str, counter: str, label: str = "") -> int:
    """What the manager's metrics count for ``pool`` (by the raw second label ``label``)."""
    metrics = world.pools.metrics
    assert metrics is not None, "setup: the pools have no metrics (no event was fed yet)"
    return metrics.pool_counters(pool).get(counter, {}).get(label, 0)


@step("then", '{n:d} drain of "{pool}" was counted with reason "{reason}"')
def then_drain_counted(world: PoolWorld, pool: str, n: int, reason: str) -> None:
    counted = scraped_count(world, pool, "drain_events_total", reason)
    assert_equal(counted, n, f"drain_events_total of {pool} with reason {reason}")
    drains = [r for r in world.drain_reasons(pool) if r == reason]
    assert_equal(len(drains), n, f"drains of {pool} with reason {reason} the core told")


@step("then", 'a driver reset of "{pool}" was counted')
def then_driver_reset(world: PoolWorld, pool: str) -> None:
    assert_equal(scraped_count(world, pool, "driver_resets_total"), 1, f"driver resets of {pool}")
    resets = world.orders(pool, "count_driver_reset")
    assert_equal(len(resets), 1, f"driver resets of {pool} the core told")


@step("then", 'the pool "{pool}" reports that it runs on the CPU')
def then_cpu(world: PoolWorld, pool: str) -> None:
    snap = world.registry.snapshot(pool)
    assert snap.cpu, f"pool {pool} is not reported as CPU"


@step("then", 'the pool "{pool}" reports that it runs on GPUs')
def then_gpu(world: PoolWorld, pool: str) -> None:
    snap = world.registry.snapshot(pool)
    assert not snap.cpu, f"pool {pool} is reported as CPU"


@step("then", 'the registry lists the pool "{pool}" as a CPU pool')
def then_cpu_in_listing(world: PoolWorld, pool: str) -> None:
    listed = {s.pool_id: s.cpu for s in world.registry.snapshots()}
    assert listed.get(pool) is True, f"listing: {listed}"


@step("when", 'the engine of "{pool}" finishes preloading with {slots:d} slots')
def preload_done_slots(world: PoolWorld, pool: str, slots: int) -> None:
    world.dispatch(pool, PreloadSucceeded("b1000", "sha256:b1000", slots))


@step("given", 'a pool "{pool}" with {slots:d} slots that must finish preloading within {ms:d} ms')
def given_pool_preload_timeout(world: PoolWorld, pool: str, slots: int, ms: int) -> None:
    world.pools.add(PoolSpec(pool, slots=slots, preload_timeout_ms=ms))


@step("when", 'the engine of "{pool}" never finishes preloading, {n:d} starts in a row')
def preload_never_finishes(world: PoolWorld, pool: str, n: int) -> None:
    """Each start's engine hangs in its preload past the deadline; the next start comes due."""
    timeout_ms = world.pools.specs[pool].preload_timeout_ms
    for attempt in range(n):
        world.advance(timeout_ms)
        if attempt + 1 < n:
            world.wait_for_restart(pool)


@step("given", 'the pool "{pool}" must finish preloading within {ms:d} ms')
def given_preload_timeout(world: PoolWorld, pool: str, ms: int) -> None:
    spec = world.pools.specs[pool]
    world.pools.specs[pool] = dataclasses.replace(spec, preload_timeout_ms=ms)
