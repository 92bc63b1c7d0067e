"""Steps that bring a pool into each lifecycle state and send it the events that can arrive
there: late preload outcomes, engine launches reported by the outside world, probe failures
that are not timeouts, out-of-memory exits, shutdown drains; and what the pool then reports
(state, readiness, last error, slots, restarts and preloads as the metrics count them).

Every setup reaches its state through outside-world events only and checks that it did.

Serves OC-POOL-3001, 3003, 3004, 3006..3009, 3016, 3035..3039 (decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from collections.abc import Callable

from harness.assertions import assert_equal
from harness.registry import step
from harness.steps.lifecycle import given_pool_ready, scraped_count, start_pool
from harness.world import PoolSpec, PoolWorld
from poolmgr.core.events import (
    DrainRequested,
    EngineExited,
    EngineFault,
    PreloadFailed,
    PreloadSucceeded,
    ProbeFailed,
    StartRequested,
)
from poolmgr.core.vocab import Cause, DrainReason

LATE_SLOTS = 8
"""The slot count a late preload success claims (never a pool's configured count)."""


# --- pools and their engines ------------------------------------------------------------


@step(
    "given",
    'a pool "{pool}" with {slots:d} slots whose engine is ended after {n:d} failed health '
    "probes in a row",
)
def given_pool_probe_threshold(world: PoolWorld, pool: str, slots: int, n: int) -> None:
    world.pools.add(PoolSpec(pool, slots=slots, probe_failure_threshold=n))


@step("given", 'the engine processes of "{pool}" start only when the scenario says so')
def given_manual_launch(world: PoolWorld, pool: str) -> None:
    world.pools.manual_launch.add(pool)


@step("when", 'the engine process of "{pool}" starts')
def engine_process_starts(world: PoolWorld, pool: str) -> None:
    world.launch_pending_engine(pool)


@step("when", 'the engine of "{pool}" cannot be launched')
def engine_cannot_launch(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, PreloadFailed(Cause.PRELOAD_FAILED, "cannot start engine: not found"))


def _to_preloading(world: PoolWorld, pool: str) -> None:
    start_pool(world, pool)


def _to_starting(world: PoolWorld, pool: str) -> None:
    world.pools.manual_launch.add(pool)
    start_pool(world, pool)


def _to_ready(world: PoolWorld, pool: str) -> None:
    given_pool_ready(world, pool)


def _to_unready(world: PoolWorld, pool: str) -> None:
    given_pool_ready(world, pool)
    world.dispatch(pool, ProbeFailed("no answer within the probe timeout", timed_out=True))


def _to_draining(world: PoolWorld, pool: str) -> None:
    given_pool_ready(world, pool)
    world.dispatch(pool, DrainRequested(DrainReason.API_REQUEST, world.clock.now_ms() + 30_000))


def _to_backing_off(world: PoolWorld, pool: str) -> None:
    start_pool(world, pool)
    world.dispatch(pool, EngineExited(Cause.MODEL_LOAD_FAILED, "failed to load model"))


def _to_failed(world: PoolWorld, pool: str) -> None:
    """The launch is refused: the host lacks a GPU of the mask (OC-GPU-9503)."""
    start_pool(world, pool)
    world.dispatch(pool, PreloadFailed(Cause.PLACEMENT_INVALID, "GPU 0 is missing"))
    world.dispatch(pool, EngineExited(Cause.KILLED_BY_SIGNAL, "killed"))  # the kill it ordered


def _to_circuit_open(world: PoolWorld, pool: str) -> None:
    """Every preload fails and the killed engine exits, until the breaker opens."""
    start_pool(world, pool)
    threshold = world.pools.specs[pool].breaker_threshold
    for n in range(1, threshold + 1):
        world.dispatch(pool, PreloadFailed(Cause.HOST_OOM, f"out of host memory ({n})"))
        world.dispatch(pool, EngineExited(Cause.KILLED_BY_SIGNAL, "killed"))
        if n < threshold:
            world.wait_for_restart(pool)


def _to_stopped(world: PoolWorld, pool: str) -> None:
    world.registry.snapshot(pool)  # described and registered, never started


_SETUPS: dict[str, Callable[[PoolWorld, str], None]] = {
    "stopped": _to_stopped,
    "starting": _to_starting,
    "preloading": _to_preloading,
    "ready": _to_ready,
    "unready": _to_unready,
    "draining": _to_draining,
    "backing_off": _to_backing_off,
    "circuit_open": _to_circuit_open,
    "failed": _to_failed,
}


@step("given", 'the pool "{pool}" has reached state "{state}"')
def given_state(world: PoolWorld, pool: str, state: str) -> None:
    assert state in _SETUPS, f"no way to reach state {state!r}; known: {sorted(_SETUPS)}"
    _SETUPS[state](world, pool)
    reached = world.registry.snapshot(pool).state.value
    assert reached == state, f"setup: pool {pool} reached {reached}, not {state}"
    world.error = None


# --- events that may arrive in any state -------------------------------------------------


@step("when", 'a start of "{pool}" is requested')
def start_requested(world: PoolWorld, pool: str) -> None:
    world.error = None
    world.dispatch(pool, StartRequested())


@step("when", 'a late preload success of "{pool}" arrives as version "{version}"')
def late_preload_success(world: PoolWorld, pool: str, version: str) -> None:
    world.dispatch(pool, PreloadSucceeded(version, f"sha256:{version}", LATE_SLOTS))


@step("when", 'a late preload failure of "{pool}" arrives with cause "{cause}"')
def late_preload_failure(world: PoolWorld, pool: str, cause: str) -> None:
    world.dispatch(pool, PreloadFailed(Cause(cause), f"late preload failure: {cause}"))


@step("when", 'a health probe of "{pool}" answers with an error')
def probe_errors(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, ProbeFailed("health endpoint answered 500", timed_out=False))


@step("when", 'the engine of "{pool}" exits with cause "{cause}"')
def engine_exits_with(world: PoolWorld, pool: str, cause: str) -> None:
    world.dispatch(pool, EngineExited(Cause(cause), f"engine ended: {cause}"))


@step("when", 'the engine of "{pool}" reports a fatal fault with cause "{cause}"')
def engine_fault_with(world: PoolWorld, pool: str, cause: str) -> None:
    world.dispatch(pool, EngineFault(Cause(cause), f"engine fault: {cause}"))


@step("when", "{ms:d} ms pass without any timer running")
def time_passes_quietly(world: PoolWorld, ms: int) -> None:
    world.clock.advance(ms)


@step("when", 'the manager drains "{pool}" for shutdown with a deadline in {ms:d} ms')
def shutdown_drain(world: PoolWorld, pool: str, ms: int) -> None:
    world.error = None
    world.dispatch(pool, DrainRequested(DrainReason.SHUTDOWN, world.clock.now_ms() + ms))


# --- what the pool then reports ------------------------------------------------------------


@step("then", 'the pool "{pool}" reports the engine version as "{version}"')
def then_version_or_none(world: PoolWorld, pool: str, version: str) -> None:
    snap = world.registry.snapshot(pool)
    if version == "not reported":
        assert_equal((snap.engine_version, snap.model_digest), (None, None), f"engine of {pool}")
    else:
        assert_equal(snap.engine_version, version, f"engine version of {pool}")
        assert_equal(snap.model_digest, f"sha256:{version}", f"model digest of {pool}")


@step("then", 'the pool "{pool}" reports as its last error "{cause}"')
def then_last_error_or_nothing(world: PoolWorld, pool: str, cause: str) -> None:
    error = world.registry.snapshot(pool).last_error
    shown = "nothing" if error is None else error.cause.value
    assert_equal(shown, cause, f"last error of {pool}")


@step("then", 'the last error of "{pool}" was recorded at {ms:d} ms and mentions "{text}"')
def then_last_error_at(world: PoolWorld, pool: str, ms: int, text: str) -> None:
    error = world.registry.snapshot(pool).last_error
    assert error is not None, f"pool {pool} reports no last error"
    assert_equal(error.at_ms, ms, f"time of the last error of {pool}")
    assert text in error.message, f"last error of {pool}: {error.message!r} lacks {text!r}"


@step("then", 'the last error of "{pool}" was recorded at {ms:d} ms and says "{text}"')
def then_last_error_says(world: PoolWorld, pool: str, ms: int, text: str) -> None:
    error = world.registry.snapshot(pool).last_error
    assert error is not None, f"pool {pool} reports no last error"
    assert_equal((error.at_ms, error.message), (ms, text), f"time and message of {pool}'s error")


@step("then", 'the pool "{pool}" has {n:d} slots')
def then_slots(world: PoolWorld, pool: str, n: int) -> None:
    assert_equal(world.registry.snapshot(pool).slots_total, n, f"slots of {pool}")


@step("then", 'the pool "{pool}" has no restart scheduled')
def then_no_restart(world: PoolWorld, pool: str) -> None:
    snap = world.registry.snapshot(pool)
    assert_equal(snap.next_restart_at_ms, None, f"next restart of {pool}")


@step("then", 'the pool "{pool}" reports its engine as "{running}"')
def then_engine_running(world: PoolWorld, pool: str, running: str) -> None:
    assert running in ("running", "not running"), f"say running or not running, not {running}"
    live = world.registry.snapshot(pool).live
    assert_equal("running" if live else "not running", running, f"engine of {pool}")


@step("then", '{n:d} engine starts of "{pool}" were ordered')
def then_engine_starts(world: PoolWorld, pool: str, n: int) -> None:
    assert_equal(len(world.orders(pool, "spawn")), n, f"engine starts ordered for {pool}")


@step("then", 'the scrape counts {n:d} restarts of "{pool}" after a failure "{cause}"')
def then_restarts_by_cause(world: PoolWorld, pool: str, n: int, cause: str) -> None:
    assert_equal(scraped_count(world, pool, "restarts_total", cause), n, f"restarts by {cause}")


@step("then", 'the scrape counts {n:d} preloads of "{pool}" that ended in "{result}"')
def then_preloads_by_result(world: PoolWorld, pool: str, n: int, result: str) -> None:
    counted = scraped_count(world, pool, "preload_outcomes_total", result)
    assert_equal(counted, n, f"preloads of {pool} with result {result}")


@step("then", 'the scrape counts no driver reset of "{pool}"')
def then_no_driver_reset(world: PoolWorld, pool: str) -> None:
    assert_equal(scraped_count(world, pool, "driver_resets_total"), 0, f"driver resets of {pool}")


@step("then", 'no stop or kill of the engine of "{pool}" was ordered')
def then_no_stop_ordered(world: PoolWorld, pool: str) -> None:
    stops = [a for _, a in world.orders(pool, "stop", "kill")]
    assert not stops, f"unexpected stop of {pool}: {stops}"


@step("when", 'a health probe of "{pool}" fails with "{failure}"')
def probe_fails_with(world: PoolWorld, pool: str, failure: str) -> None:
    kinds = {"timeout": True, "error": False}
    assert failure in kinds, f"a probe fails with a timeout or an error, not {failure!r}"
    timed_out = kinds[failure]
    message = "no answer within the probe timeout" if timed_out else "health answered 500"
    world.dispatch(pool, ProbeFailed(message, timed_out=timed_out))


@step("when", '{n:d} health probes of "{pool}" fail with "{failure}"')
def probes_fail_with(world: PoolWorld, n: int, pool: str, failure: str) -> None:
    for _ in range(n):
        probe_fails_with(world, pool, failure)


@step("then", 'engine start {n:d} of "{pool}" was ordered for model "{model}" as {kind}')
def then_engine_start(world: PoolWorld, n: int, pool: str, model: str, kind: str) -> None:
    """``kind`` is "a fresh start" or "a restart after <cause>"."""
    starts = world.engine_starts(pool)
    assert len(starts) >= n >= 1, f"{len(starts)} engine starts of {pool} ordered, not {n}"
    ordered_model, after = starts[n - 1]
    shown = "a fresh start" if after is None else f"a restart after {after}"
    assert_equal((ordered_model, shown), (model, kind), f"engine start {n} of {pool}")
