"""Steps of draining and reloading a pool at decision level: drains with their deadline and
reason, reloads with their outcome and rollback, and the conflicts between them.

Serves OC-POOL-3031..3039 (decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from harness.assertions import assert_equal
from harness.registry import step
from harness.world import PoolWorld
from poolmgr.core.errors import PoolError
from poolmgr.core.events import DeadlinePassed, DrainRequested, ReloadRequested
from poolmgr.core.vocab import DrainReason


@step("when", 'a drain of "{pool}" is requested with a deadline in {ms:d} ms')
def drain(world: PoolWorld, pool: str, ms: int) -> None:
    world.error = None
    deadline = world.clock.now_ms() + ms
    world.dispatch(pool, DrainRequested(DrainReason.API_REQUEST, deadline))


@step("when", 'the drain deadline of "{pool}" passes')
def drain_deadline(world: PoolWorld, pool: str) -> None:
    deadline = world.lease_wait_deadline(pool)
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


@step("then", 'the reload of "{pool}" is reported from model "{old}" to model "{new}"')
def then_reload_refs(world: PoolWorld, pool: str, old: str, new: str) -> None:
    status = world.registry.snapshot(pool).reload
    assert status is not None, f"no reload reported for {pool}"
    assert_equal((status.from_model_ref, status.to_model_ref), (old, new), f"reload of {pool}")


@step("then", 'the rollback of "{pool}" reports a message that mentions "{text}"')
def then_rollback_message(world: PoolWorld, pool: str, text: str) -> None:
    status = world.registry.snapshot(pool).reload
    assert status is not None and status.message is not None, f"no rollback message: {status}"
    assert text in status.message, f"rollback message {status.message!r} lacks {text!r}"


@step("then", 'the reload of "{pool}" reports no rollback cause')
def then_no_rollback_cause(world: PoolWorld, pool: str) -> None:
    status = world.registry.snapshot(pool).reload
    assert status is not None, f"no reload reported for {pool}"
    assert_equal(status.cause, None, f"rollback cause of {pool}")


@step("when", 'the reload of "{pool}" reaches the phase "{phase}"')
def reload_phase(world: PoolWorld, pool: str, phase: str) -> None:
    """Outside-world events only: leases returned, the old engine exits, the new one fails."""
    from harness.steps.leases import return_all
    from harness.steps.lifecycle import engine_exits, preload_fails

    phases = ("waiting for leases", "loading the new model", "rolling back the failed model")
    assert phase in phases, f"unknown reload phase {phase!r}; known: {phases}"
    if phase != phases[0]:
        return_all(world, pool)
        engine_exits(world, pool)
    if phase == phases[2]:
        preload_fails(world, pool, "model_load_failed")
    expected = {phases[0]: "draining", phases[1]: "preloading", phases[2]: "starting"}[phase]
    reached = world.registry.snapshot(pool).state.value
    assert reached == expected, f"setup: the reload of {pool} is {reached}, not {expected}"


@step("when", 'the drain of "{pool}" completes')
def drain_completes(world: PoolWorld, pool: str) -> None:
    """Outside-world events only: every lease comes back, and a stopped engine exits."""
    from harness.steps.leases import return_all
    from harness.steps.lifecycle import engine_exits

    if world.registry.snapshot(pool).state.value == "draining":
        return_all(world, pool)
        engine_exits(world, pool)


@step("then", 'the refusal names the pool "{pool}" and says "{text}"')
def then_refusal_text(world: PoolWorld, pool: str, text: str) -> None:
    error = world.error
    assert isinstance(error, PoolError), f"expected a refusal, got {error!r}"
    assert_equal(error.pool_id, pool, "pool named by the refusal")
    assert_equal(error.message, text, "message of the refusal")


@step("then", 'the pool "{pool}" reports no reload')
def then_no_reload(world: PoolWorld, pool: str) -> None:
    assert_equal(world.registry.snapshot(pool).reload, None, f"reload of {pool}")


@step("then", 'the pool "{pool}" reports the drain reason "{reason}"')
def then_drain_reason(world: PoolWorld, pool: str, reason: str) -> None:
    assert_equal(world.registry.snapshot(pool).drain_reason, reason, f"drain reason of {pool}")
