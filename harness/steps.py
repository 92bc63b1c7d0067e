"""The one step table: every Gherkin sentence of the decision-level suite, defined once.

Each entry pairs a ``parse``-style pattern with a function whose first parameter is the
:class:`~harness.world.PoolWorld` (named ``world``) and whose other parameters are the pattern's
fields. behave (``steps/``) and pytest-bdd (``tests/bdd/conftest.py``) both register this same
table, so the two runners never carry copied glue (OC-BDD-7006). Every Then-step asserts
(OC-BDD-7003). A step that needs a doc string takes a ``docstring`` parameter.

Requirement IDs are carried by the feature files' tags; this table serves all of them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from harness.assertions import (
    assert_config_problem,
    assert_equal,
    assert_no_refusal,
    assert_refused,
)
from harness.world import GIB, PoolSpec, PoolWorld
from poolmgr.core.backoff import Jitter
from poolmgr.core.decisions import DrainCounted, DriverResetCounted, KillEngine, Spawn, StopEngine
from poolmgr.core.errors import PlacementError, PoolError
from poolmgr.core.leases import LeaseEnd
from poolmgr.core.lifecycle import (
    DeadlinePassed,
    DrainRequested,
    EngineExited,
    EngineFault,
    LeasesDrained,
    PreloadFailed,
    PreloadSucceeded,
    ProbeFailed,
    ProbeOk,
    ReloadRequested,
    StartRequested,
)
from poolmgr.core.placement import MaskRequest, plan_launch, validate_masks
from poolmgr.core.preflight import preflight
from poolmgr.core.vocab import Cause, DrainReason

StepKind = Literal["given", "when", "then"]


@dataclass(frozen=True)
class StepDef:
    """One step: its keyword, its ``parse`` pattern and the function that carries it out."""

    kind: StepKind
    pattern: str
    func: Callable[..., None]


STEPS: list[StepDef] = []


def step(kind: StepKind, pattern: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Add a function to the step table under ``pattern``."""

    def register(func: Callable[..., None]) -> Callable[..., None]:
        STEPS.append(StepDef(kind, pattern, func))
        return func

    return register


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


# =========================================================================== pools: given


@step("given", 'a pool "{pool}" with {slots:d} slots')
def given_pool(world: PoolWorld, pool: str, slots: int) -> None:
    world.add_pool(PoolSpec(pool, slots=slots))


@step("given", 'a CPU pool "{pool}" with {slots:d} slots')
def given_cpu_pool(world: PoolWorld, pool: str, slots: int) -> None:
    world.add_pool(PoolSpec(pool, slots=slots, cpu=True))


@step(
    "given",
    'a pool "{pool}" whose breaker opens after {n:d} failures within {window:d} ms '
    "and first cools down for {cooldown:d} ms",
)
def given_pool_breaker(world: PoolWorld, pool: str, n: int, window: int, cooldown: int) -> None:
    world.add_pool(
        PoolSpec(pool, breaker_threshold=n, breaker_window_ms=window, breaker_cooldown_ms=cooldown)
    )


@step("given", 'a pool "{pool}" whose leases last {ttl:d} ms unless renewed')
def given_pool_lease_ttl(world: PoolWorld, pool: str, ttl: int) -> None:
    world.add_pool(PoolSpec(pool, slots=2, lease_ttl_ms=ttl))


@step("given", "the heartbeat staleness limit is {ms:d} ms")
def given_heartbeat_limit(world: PoolWorld, ms: int) -> None:
    world.heartbeat_stale_ms = ms


@step("given", 'the pool "{pool}" is ready')
def given_pool_ready(world: PoolWorld, pool: str) -> None:
    start_pool(world, pool)
    preload_done(world, pool)
    assert world.registry.snapshot(pool).ready, "setup: the pool did not become ready"


@step("given", 'the pool "{pool}" is ready with {n:d} slots leased')
def given_pool_ready_leased(world: PoolWorld, pool: str, n: int) -> None:
    given_pool_ready(world, pool)
    for _ in range(n):
        world.leases.append(world.registry.acquire_lease(pool))


@step("given", 'the pool "{pool}" has been started')
def given_started(world: PoolWorld, pool: str) -> None:
    start_pool(world, pool)


# =========================================================================== pools: when


@step("when", 'the pool "{pool}" is started')
def start_pool(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, StartRequested())


@step("when", 'the engine of "{pool}" finishes preloading')
def preload_done(world: PoolWorld, pool: str) -> None:
    preload_done_version(world, pool, "b1000")


@step("when", 'the engine of "{pool}" finishes preloading as version "{version}"')
def preload_done_version(world: PoolWorld, pool: str, version: str) -> None:
    slots = world.specs[pool].slots
    world.dispatch(pool, PreloadSucceeded(version, f"sha256:{version}", slots))


@step("when", 'the preload of "{pool}" fails with cause "{cause}"')
def preload_fails(world: PoolWorld, pool: str, cause: str) -> None:
    world.dispatch(pool, PreloadFailed(Cause(cause), f"preload failed: {cause}"))


@step("when", 'the preload of "{pool}" fails {n:d} times in a row')
def preload_fails_repeatedly(world: PoolWorld, pool: str, n: int) -> None:
    world.fail_preload_repeatedly(pool, n, Cause.MODEL_LOAD_FAILED)


@step("when", 'the engine of "{pool}" keeps failing its preload for {ms:d} ms')
def preload_keeps_failing(world: PoolWorld, pool: str, ms: int) -> None:
    end = world.clock.now_ms() + ms
    while True:
        world.dispatch(pool, PreloadFailed(Cause.MODEL_LOAD_FAILED, "still broken"))
        at = world.registry.machine(pool).next_restart_at_ms
        if at is None or at > end:
            world.clock.set(end)
            world.tick()
            return
        world.wait_for_restart(pool)


@step("when", 'the engine of "{pool}" reports a CUDA error')
def engine_cuda_error(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, EngineFault(Cause.DRIVER_ERROR, "CUDA error: an illegal memory access"))


@step("when", 'the engine of "{pool}" reports that it fell back to the CPU')
def engine_cpu_fallback(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, EngineFault(Cause.CPU_SPILLOVER, "no usable GPU found, using CPU"))


@step("when", 'the engine of "{pool}" crashes')
def engine_crashes(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, EngineExited(139, Cause.KILLED_BY_SIGNAL, "segmentation fault"))


@step("when", 'the engine of "{pool}" exits')
def engine_exits(world: PoolWorld, pool: str) -> None:
    world.dispatch(pool, EngineExited(0, Cause.ENGINE_EXITED, "engine stopped"))


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


# =========================================================================== pools: then


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


@step("then", 'the registry entry of "{pool}" reads')
def then_registry_entry(world: PoolWorld, pool: str, docstring: str) -> None:
    """Each doc-string line ``field: value`` must match the pool's registry entry."""
    snap = world.registry.snapshot(pool)
    for field in REGISTRY_FIELDS:
        assert hasattr(snap, field), f"the registry entry has no field {field}"
    for line in docstring.strip().splitlines():
        field, _, expected = (part.strip() for part in line.partition(":"))
        assert field in REGISTRY_FIELDS, f"{field} is not a registry field"
        value = getattr(snap, field)
        shown = value.value if hasattr(value, "value") else value
        if field == "last_error":
            shown = None if value is None else value.cause.value
        assert_equal(str(shown).lower() if isinstance(shown, bool) else str(shown), expected, field)


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
    assert world.actions_of(pool, KillEngine), f"no kill ordered for {pool}"


@step("then", 'the engine of "{pool}" was told to stop gracefully')
def then_stopped_gracefully(world: PoolWorld, pool: str) -> None:
    assert world.actions_of(pool, StopEngine), f"no graceful stop for {pool}"


@step("then", 'the engine of "{pool}" was not told to stop')
def then_not_stopped(world: PoolWorld, pool: str) -> None:
    stops = [*world.actions_of(pool, StopEngine), *world.actions_of(pool, KillEngine)]
    assert not stops, f"unexpected stop of {pool}: {stops}"


@step("then", '{n:d} drain of "{pool}" was counted with reason "{reason}"')
def then_drain_counted(world: PoolWorld, pool: str, n: int, reason: str) -> None:
    drains = [a for _, a in world.actions_of(pool, DrainCounted) if a.reason == reason]
    assert_equal(len(drains), n, f"drains of {pool} with reason {reason}")


@step("then", 'a driver reset of "{pool}" was counted')
def then_driver_reset(world: PoolWorld, pool: str) -> None:
    resets = world.actions_of(pool, DriverResetCounted)
    assert_equal(len(resets), 1, f"driver resets of {pool}")


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
    machine = world.registry.machine(pool)
    opened = machine.breaker.open_count
    assert opened >= 1, "the breaker never opened"
    spawns = world.actions_of(pool, Spawn)
    threshold = world.specs[pool].breaker_threshold
    # One start at pool start plus one restart per failure below the threshold.
    assert_equal(len(spawns) - threshold, n, f"trial starts of {pool}")


@step("then", 'no more than {n:d} engine starts of "{pool}" fell within any {window:d} ms')
def then_starts_bounded(world: PoolWorld, pool: str, n: int, window: int) -> None:
    times = [t for t, _ in world.actions_of(pool, Spawn)]
    assert len(times) > n, f"the storm was too small to prove anything ({len(times)} starts)"
    worst = max(sum(1 for u in times if t - window < u <= t) for t in times)
    assert worst <= n, f"{worst} starts within {window} ms; the bound is {n}"


@step("then", 'the pool "{pool}" reports that it runs on the CPU')
def then_cpu(world: PoolWorld, pool: str) -> None:
    snap = world.registry.snapshot(pool)
    assert snap.cpu, f"pool {pool} is not reported as CPU"


@step("then", 'the pool "{pool}" reports that it runs on GPUs')
def then_gpu(world: PoolWorld, pool: str) -> None:
    snap = world.registry.snapshot(pool)
    assert not snap.cpu, f"pool {pool} is reported as CPU"


@step("then", 'every report lists the pool "{pool}" as a CPU pool')
def then_cpu_in_listing(world: PoolWorld, pool: str) -> None:
    listed = {s.pool_id: s.cpu for s in world.registry.snapshots()}
    assert listed.get(pool) is True, f"listing: {listed}"


# =========================================================================== leases


@step("when", 'a client leases a slot of "{pool}"')
def lease_slot(world: PoolWorld, pool: str) -> None:
    world.error = None
    try:
        world.leases.append(world.registry.acquire_lease(pool))
    except PoolError as exc:
        world.error = exc


@step("when", 'clients lease {n:d} slots of "{pool}"')
def lease_slots(world: PoolWorld, n: int, pool: str) -> None:
    for _ in range(n):
        lease_slot(world, pool)


@step("when", "the client returns its lease")
def return_lease(world: PoolWorld) -> None:
    world.error = None
    lease = world.leases[-1]
    try:
        world.returned.append(world.registry.release_lease(lease.pool_id, lease.lease_id))
        world.leases.remove(lease)
    except PoolError as exc:
        world.error = exc


@step("when", "the client returns the same lease again")
def return_lease_again(world: PoolWorld) -> None:
    world.error = None
    lease = world.returned[-1]
    try:
        world.registry.release_lease(lease.pool_id, lease.lease_id)
    except PoolError as exc:
        world.error = exc


@step("when", 'a client returns a lease of "{pool}" that was never granted')
def return_unknown(world: PoolWorld, pool: str) -> None:
    world.error = None
    try:
        world.registry.release_lease(pool, "never-granted")
    except PoolError as exc:
        world.error = exc


@step("when", 'every lease of "{pool}" is returned')
def return_all(world: PoolWorld, pool: str) -> None:
    for lease in [x for x in world.leases if x.pool_id == pool]:
        world.registry.release_lease(pool, lease.lease_id)
        world.leases.remove(lease)
    if world.registry.active_leases(pool) == 0:
        world.dispatch(pool, LeasesDrained())


@step("then", 'the request is refused with code "{code}"')
def then_refused(world: PoolWorld, code: str) -> None:
    assert_refused(world, code)


@step("then", "the refusal tells the client to retry in {ms:d} ms")
def then_retry_hint(world: PoolWorld, ms: int) -> None:
    error = world.error
    assert error is not None and hasattr(error, "retry_after_ms"), f"no retry hint: {error!r}"
    assert_equal(error.retry_after_ms, ms, "retry hint")


@step("then", "the request is accepted")
def then_accepted(world: PoolWorld) -> None:
    assert_no_refusal(world)


@step("then", 'the pool "{pool}" has {n:d} active leases')
def then_active(world: PoolWorld, pool: str, n: int) -> None:
    snap = world.registry.snapshot(pool)
    assert_equal(snap.active_leases, n, f"active leases of {pool}")
    assert 0 <= snap.active_leases <= snap.slots_total, f"leases out of bounds: {snap}"


@step("then", 'the pool "{pool}" counts {n:d} leases that ended as "{how}"')
def then_leases_ended(world: PoolWorld, pool: str, n: int, how: str) -> None:
    ended = world.registry.snapshot(pool).leases_ended
    assert_equal(ended[LeaseEnd(how)], n, f"leases of {pool} that ended as {how}")


# =========================================================================== drain and reload


@step("when", 'a drain of "{pool}" is requested with a deadline in {ms:d} ms')
def drain(world: PoolWorld, pool: str, ms: int) -> None:
    world.error = None
    deadline = world.clock.now_ms() + ms
    world.dispatch(pool, DrainRequested(DrainReason.API_REQUEST, deadline))


@step("when", 'the drain deadline of "{pool}" passes')
def drain_deadline(world: PoolWorld, pool: str) -> None:
    deadline = world.registry.machine(pool).drain_deadline_ms
    assert deadline is not None, "setup: no drain in progress"
    world.clock.set(deadline)
    world.tick()
    world.dispatch(pool, DeadlinePassed())


@step("when", 'a reload of "{pool}" to model "{model}" is requested')
def reload(world: PoolWorld, pool: str, model: str) -> None:
    world.error = None
    world.dispatch(pool, ReloadRequested(model, world.clock.now_ms() + 30_000))


@step("then", 'the pool "{pool}" serves model "{model}"')
def then_model(world: PoolWorld, pool: str, model: str) -> None:
    assert_equal(world.registry.snapshot(pool).model_ref, model, f"model of {pool}")


@step("then", 'the pool "{pool}" reports engine version "{version}"')
def then_version(world: PoolWorld, pool: str, version: str) -> None:
    snap = world.registry.snapshot(pool)
    assert_equal(snap.engine_version, version, f"engine version of {pool}")
    assert_equal(snap.model_digest, f"sha256:{version}", f"model digest of {pool}")


@step("then", 'the reload of "{pool}" is reported as "{outcome}"')
def then_reload_outcome(world: PoolWorld, pool: str, outcome: str) -> None:
    status = world.registry.snapshot(pool).reload
    assert status is not None, f"no reload reported for {pool}"
    assert_equal(status.outcome.value, outcome, f"reload outcome of {pool}")


@step("then", 'the rollback of "{pool}" reports the cause "{cause}"')
def then_rollback_cause(world: PoolWorld, pool: str, cause: str) -> None:
    status = world.registry.snapshot(pool).reload
    assert status is not None and status.cause is not None, f"no rollback cause: {status}"
    assert_equal(status.cause.value, cause, f"rollback cause of {pool}")


# =========================================================================== backoff


@step("given", "a restart backoff starting at {initial:d} ms, doubling, capped at {cap:d} ms")
def given_backoff(world: PoolWorld, initial: int, cap: int) -> None:
    world.set_backoff(initial, cap, Jitter.NONE)


@step(
    "given",
    "a restart backoff with full jitter starting at {initial:d} ms, doubling, capped at {cap:d} ms",
)
def given_backoff_jitter(world: PoolWorld, initial: int, cap: int) -> None:
    world.set_backoff(initial, cap, Jitter.FULL)


@step("given", "the failure count resets after {ms:d} ms of unbroken readiness")
def given_stable_period(world: PoolWorld, ms: int) -> None:
    assert world.backoff is not None, "setup: describe the backoff first"
    from dataclasses import replace

    from poolmgr.core.backoff import Backoff

    policy = replace(world.backoff.policy, stable_reset_ms=ms)
    world.backoff = Backoff(policy, random.Random(world.seed))


@step("when", "the engine has failed {n:d} times in a row")
def backoff_failures(world: PoolWorld, n: int) -> None:
    assert world.backoff is not None, "setup: describe the backoff first"
    for _ in range(n):
        world.delays.append(world.backoff.on_failure(world.clock.now_ms()))


@step("when", "the engine becomes ready")
def backoff_ready(world: PoolWorld) -> None:
    assert world.backoff is not None, "setup: describe the backoff first"
    world.backoff.on_ready(world.clock.now_ms())


@step("when", "the engine stops being ready")
def backoff_unready(world: PoolWorld) -> None:
    assert world.backoff is not None, "setup: describe the backoff first"
    world.backoff.on_not_ready(world.clock.now_ms())


@step("then", "the last restart waited {ms:d} ms")
def then_last_delay(world: PoolWorld, ms: int) -> None:
    assert world.delays, "no restart delay was drawn"
    assert_equal(world.delays[-1], ms, "last restart delay")


@step("then", "every restart delay lies between 0 and {cap:d} ms")
def then_delays_bounded(world: PoolWorld, cap: int) -> None:
    assert world.delays, "no restart delay was drawn"
    outside = [d for d in world.delays if not 0 <= d <= cap]
    assert not outside, f"delays outside [0, {cap}]: {outside}"


@step("then", "the restart delays are spread out rather than all equal")
def then_delays_spread(world: PoolWorld) -> None:
    assert len(set(world.delays)) > 1, f"delays are all equal: {world.delays}"


@step("then", "the failure count is {n:d}")
def then_failure_count(world: PoolWorld, n: int) -> None:
    assert world.backoff is not None, "no backoff described"
    assert_equal(world.backoff.attempt, n, "failure count")


# =========================================================================== placement and KV


@step("given", "the host has GPU {index:d} with {gib:d} GiB free")
def given_gpu(world: PoolWorld, index: int, gib: int) -> None:
    world.gpus[index] = gib * GIB


@step("given", 'pool "{pool}" asks for GPUs "{devices}"')
def given_mask(world: PoolWorld, pool: str, devices: str) -> None:
    world.mask_requests[pool] = MaskRequest(pool, "llamacpp", _ints(devices), False, None)


@step("given", 'pool "{pool}" shares GPUs "{devices}" with other pools')
def given_mask_shared(world: PoolWorld, pool: str, devices: str) -> None:
    world.mask_requests[pool] = MaskRequest(pool, "llamacpp", _ints(devices), False, None, True)


@step("given", 'pool "{pool}" splits GPUs "{devices}" by the ratios "{ratios}"')
def given_mask_split(world: PoolWorld, pool: str, devices: str, ratios: str) -> None:
    world.mask_requests[pool] = MaskRequest(
        pool, "llamacpp", _ints(devices), False, _floats(ratios)
    )


@step("given", 'pool "{pool}" asks for no GPU but declares itself a CPU pool')
def given_mask_cpu(world: PoolWorld, pool: str) -> None:
    world.mask_requests[pool] = MaskRequest(pool, "llamacpp", (), True, None)


@step("given", 'pool "{pool}" asks for no GPU and does not declare itself a CPU pool')
def given_mask_empty(world: PoolWorld, pool: str) -> None:
    world.mask_requests[pool] = MaskRequest(pool, "llamacpp", (), False, None)


@step(
    "given",
    "a model with {layers:d} layers, {heads:d} KV heads of {dim:d} values, "
    "trained for {train:d} tokens, with {weights:d} GiB of weights",
)
def given_model(
    world: PoolWorld, layers: int, heads: int, dim: int, train: int, weights: int
) -> None:
    from poolmgr.core.kvcap import ModelShape

    world.shape = ModelShape(layers, heads, dim, 2.0, train, weights * GIB)


@step("when", "the placement is checked")
def check_placement(world: PoolWorld) -> None:
    world.problems = validate_masks(list(world.mask_requests.values()), world.inventory())


@step("when", 'the launch of "{pool}" is planned for {ctx:d} tokens of context')
def plan(world: PoolWorld, pool: str, ctx: int) -> None:
    plan_with_policy(world, pool, ctx, "cap")


@step(
    "when",
    'the launch of "{pool}" is planned for {ctx:d} tokens of context, refusing rather than capping',
)
def plan_reject(world: PoolWorld, pool: str, ctx: int) -> None:
    plan_with_policy(world, pool, ctx, "reject")


def plan_with_policy(world: PoolWorld, pool: str, ctx: int, policy: str) -> None:
    world.error = None
    world.plan = None
    try:
        world.plan = plan_launch(
            world.mask_requests[pool], ctx, world.inventory(), world.shape, ctx_policy=policy
        )
    except PlacementError as exc:
        world.error = exc


@step("when", "the preflight checks the plan with {gib:d} GiB of host memory free")
def check_preflight(world: PoolWorld, gib: int) -> None:
    assert world.plan is not None and world.shape is not None, "setup: plan a launch first"
    world.verdict = preflight(world.plan, world.shape, world.inventory(), gib * GIB)


@step("when", 'the preflight verdict is reported to the pool "{pool}"')
def report_verdict(world: PoolWorld, pool: str) -> None:
    verdict = world.verdict
    assert verdict is not None and verdict.cause is not None, "setup: no failing verdict"
    world.dispatch(pool, PreloadFailed(verdict.cause, verdict.message))


@step("then", "the placement is accepted")
def then_placement_ok(world: PoolWorld) -> None:
    assert not world.problems, f"placement refused: {[str(p) for p in world.problems]}"


@step("then", 'the placement of "{pool}" is refused for the field "{field}"')
def then_placement_refused(world: PoolWorld, pool: str, field: str) -> None:
    hits = [p for p in world.problems if p.pool_id == pool and p.field == field]
    assert hits, f"no problem for {pool}.{field}: {[str(p) for p in world.problems]}"


@step("then", 'the engine can see only the GPUs "{devices}"')
def then_visible(world: PoolWorld, devices: str) -> None:
    assert world.plan is not None, f"no plan: {world.error!r}"
    assert_equal(world.plan.env["CUDA_VISIBLE_DEVICES"], devices, "CUDA_VISIBLE_DEVICES")


@step("then", "the engine can see no GPU")
def then_no_gpu(world: PoolWorld) -> None:
    assert world.plan is not None, f"no plan: {world.error!r}"
    assert_equal(world.plan.env["CUDA_VISIBLE_DEVICES"], "", "CUDA_VISIBLE_DEVICES")
    assert_equal(world.plan.visible_devices, (), "visible GPUs")


@step("then", "the engine is told to keep every layer on the GPU")
def then_all_on_gpu(world: PoolWorld) -> None:
    assert world.plan is not None, f"no plan: {world.error!r}"
    flags = " ".join(world.plan.engine_flags)
    assert "-ngl all" in flags and "--fit off" in flags, f"flags: {flags}"


@step("then", 'the engine is told to use the devices "{names}"')
def then_device_flag(world: PoolWorld, names: str) -> None:
    assert world.plan is not None, f"no plan: {world.error!r}"
    flags = list(world.plan.engine_flags)
    assert "--device" in flags, f"no device flag: {flags}"
    assert_equal(flags[flags.index("--device") + 1], names, "device flag")


@step("then", 'the engine is told to split the model by "{ratios}"')
def then_split_flag(world: PoolWorld, ratios: str) -> None:
    assert world.plan is not None, f"no plan: {world.error!r}"
    flags = list(world.plan.engine_flags)
    assert "--tensor-split" in flags, f"no split flag: {flags}"
    got = _floats(flags[flags.index("--tensor-split") + 1])
    want = _floats(ratios)
    assert len(got) == len(want) and all(
        abs(a - b) < 1e-6 for a, b in zip(got, want, strict=True)
    ), f"split {got} != {want}"


@step("then", "the planned context is {ctx:d} tokens")
def then_ctx(world: PoolWorld, ctx: int) -> None:
    assert world.plan is not None, f"no plan: {world.error!r}"
    assert_equal(world.plan.ctx, ctx, "planned context")


@step("then", 'the plan reports that the context was capped by the "{limit}"')
def then_ctx_capped(world: PoolWorld, limit: str) -> None:
    assert world.plan is not None, f"no plan: {world.error!r}"
    reason = world.plan.ctx_capped_reason
    assert reason is not None and limit in reason, f"cap reason: {reason!r}"


@step("then", "the plan reports no context cap")
def then_ctx_not_capped(world: PoolWorld) -> None:
    assert world.plan is not None, f"no plan: {world.error!r}"
    assert world.plan.ctx_capped_reason is None, world.plan.ctx_capped_reason


@step("then", "the per-GPU KV cache at the planned context fits on every GPU")
def then_kv_fits(world: PoolWorld) -> None:
    from poolmgr.core.kvcap import kv_bytes_per_gpu, weights_bytes_per_gpu

    plan_, shape = world.plan, world.shape
    assert plan_ is not None and shape is not None, f"no plan: {world.error!r}"
    ratios = plan_.tensor_split or (1.0,)
    margin = 512 * 2**20
    kv = kv_bytes_per_gpu(shape, plan_.ctx, ratios)
    weights = weights_bytes_per_gpu(shape, ratios)
    for index, k, w in zip(plan_.visible_devices, kv, weights, strict=True):
        assert k + w + margin <= world.gpus[index], f"GPU {index} overflows"


@step("then", "the launch is refused as invalid")
def then_launch_refused(world: PoolWorld) -> None:
    assert world.plan is None, "a plan was made"
    assert_refused(world, "INVALID_PARAMS")


@step("then", 'the preflight fails with cause "{cause}"')
def then_preflight_cause(world: PoolWorld, cause: str) -> None:
    verdict = world.verdict
    assert verdict is not None, "no preflight verdict"
    assert not verdict.fits, f"the plan fits: {verdict.message}"
    assert verdict.cause is not None
    assert_equal(verdict.cause.value, cause, "preflight cause")


@step("then", "the preflight names GPU {index:d} as short of memory")
def then_preflight_names_gpu(world: PoolWorld, index: int) -> None:
    verdict = world.verdict
    assert verdict is not None, "no preflight verdict"
    short = [d.index for d in verdict.devices if d.shortfall_bytes > 0]
    assert index in short, f"short GPUs: {short}"
    assert f"GPU {index}" in verdict.message, verdict.message


@step("then", "the preflight passes")
def then_preflight_passes(world: PoolWorld) -> None:
    verdict = world.verdict
    assert verdict is not None, "no preflight verdict"
    assert verdict.fits, verdict.message


# =========================================================================== config


@step("given", 'a config file "{name}" containing')
def given_config(world: PoolWorld, name: str, docstring: str) -> None:
    world.config_source = name
    world.config_text = docstring


@step("when", "the config is checked")
def when_config_checked(world: PoolWorld) -> None:
    world.check_config()


@step("then", 'the config is refused naming the field "{path}"')
def then_config_refused(world: PoolWorld, path: str) -> None:
    assert_config_problem(world, path)


@step("then", 'the config is refused with a reason mentioning "{text}"')
def then_config_reason(world: PoolWorld, text: str) -> None:
    error = world.error
    assert error is not None, "the config was accepted"
    assert text in str(error), f"{text!r} not in {error}"


@step("then", 'no refusal repeats the text "{text}"')
def then_config_not_echoed(world: PoolWorld, text: str) -> None:
    error = world.error
    assert error is not None, "the config was accepted"
    assert text not in str(error), f"the refusal repeats {text!r}: {error}"


@step("then", "the config is accepted")
def then_config_accepted(world: PoolWorld) -> None:
    assert world.error is None, f"refused: {world.error}"
    assert world.config is not None


def all_steps() -> list[StepDef]:
    """The table, for runners to register."""
    return list(STEPS)


__all__ = ["STEPS", "StepDef", "all_steps", "step"]
import harness.gate_steps  # noqa: E402  (gate, contract, budget and secret steps)
import harness.gpu_steps  # noqa: E402  (@gpu steps)
import harness.live_steps  # noqa: E402,F401  (process-level steps)
