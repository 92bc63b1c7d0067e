"""Steps of GPU placement and KV-cache sizing: device masks, launch plans and context caps
(the preflight's steps are in :mod:`harness.steps.preflight`).

Serves OC-POOL-3020..3023, and the placement steps of OC-POOL-3002, 3003, 3012 and 3017
(decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from harness.assertions import assert_equal
from harness.registry import step
from harness.steps.fields import floats, ints
from harness.world import GIB, PoolWorld
from poolmgr.core.errors import PlacementError
from poolmgr.core.kvcap import ModelShape
from poolmgr.core.placement import LaunchPlan, MaskRequest, plan_launch, validate_masks
from poolmgr.core.vocab import CtxPolicy


@step("given", "the host has GPU {index:d} with {gib:d} GiB free")
def given_gpu(world: PoolWorld, index: int, gib: int) -> None:
    world.placement.gpus[index] = gib * GIB


@step("given", 'pool "{pool}" asks for GPUs "{devices}"')
def given_mask(world: PoolWorld, pool: str, devices: str) -> None:
    world.placement.masks[pool] = MaskRequest(pool, "llamacpp", ints(devices), False, None)


@step("given", 'pool "{pool}" shares GPUs "{devices}" with other pools')
def given_mask_shared(world: PoolWorld, pool: str, devices: str) -> None:
    world.placement.masks[pool] = MaskRequest(pool, "llamacpp", ints(devices), False, None, True)


@step("given", 'pool "{pool}" splits GPUs "{devices}" by the ratios "{ratios}"')
def given_mask_split(world: PoolWorld, pool: str, devices: str, ratios: str) -> None:
    world.placement.masks[pool] = MaskRequest(
        pool, "llamacpp", ints(devices), False, floats(ratios)
    )


@step("given", 'pool "{pool}" asks for no GPU but declares itself a CPU pool')
def given_mask_cpu(world: PoolWorld, pool: str) -> None:
    world.placement.masks[pool] = MaskRequest(pool, "llamacpp", (), True, None)


@step("given", 'pool "{pool}" asks for no GPU and does not declare itself a CPU pool')
def given_mask_empty(world: PoolWorld, pool: str) -> None:
    world.placement.masks[pool] = MaskRequest(pool, "llamacpp", (), False, None)


@step(
    "given",
    "a model with {layers:d} layers, {heads:d} KV heads of {dim:d} values, "
    "trained for {train:d} tokens, with {weights:d} GiB of weights",
)
def given_model(
    world: PoolWorld, layers: int, heads: int, dim: int, train: int, weights: int
) -> None:
    world.placement.shape = ModelShape(layers, heads, dim, 2.0, train, weights * GIB)


@step("when", "the placement is checked")
def check_placement(world: PoolWorld) -> None:
    world.placement.problems = validate_masks(
        list(world.placement.masks.values()), world.placement.inventory()
    )


@step("when", 'the launch of "{pool}" is planned for {ctx:d} tokens of context')
def plan(world: PoolWorld, pool: str, ctx: int) -> None:
    plan_with_policy(world, pool, ctx, "cap")


@step(
    "when",
    'the launch of "{pool}" is planned for {ctx:d} tokens of context, refusing rather than capping',
)
def plan_reject(world: PoolWorld, pool: str, ctx: int) -> None:
    plan_with_policy(world, pool, ctx, "reject")


@step(
    "when",
    'the launch of "{pool}" is planned for {ctx:d} tokens of context per slot with {slots:d} slots',
)
def plan_slots(world: PoolWorld, pool: str, ctx: int, slots: int) -> None:
    plan_with_policy(world, pool, ctx, "cap", slots)


@step(
    "when",
    'the launch of "{pool}" is planned for {ctx:d} tokens of context per slot with {slots:d} '
    "slots, refusing rather than capping",
)
def plan_slots_reject(world: PoolWorld, pool: str, ctx: int, slots: int) -> None:
    plan_with_policy(world, pool, ctx, "reject", slots)


def plan_with_policy(world: PoolWorld, pool: str, ctx: int, policy: str, slots: int = 1) -> None:
    place = world.placement
    world.error = None
    place.plan = None
    try:
        place.plan = plan_launch(
            place.masks[pool],
            ctx,
            place.inventory(),
            place.shape,
            slots=slots,
            ctx_policy=CtxPolicy(policy),
        )
    except PlacementError as exc:
        world.error = exc


def _plan(world: PoolWorld) -> LaunchPlan:
    """The plan made; fails with the refusal when there is none."""
    plan_ = world.placement.plan
    assert plan_ is not None, f"no plan: {world.error!r}"
    return plan_


@step("then", "the placement is accepted")
def then_placement_ok(world: PoolWorld) -> None:
    problems = world.placement.problems
    assert not problems, f"placement refused: {[str(p) for p in problems]}"


@step("then", 'the placement of "{pool}" is refused for the field "{field}"')
def then_placement_refused(world: PoolWorld, pool: str, field: str) -> None:
    hits = [p for p in world.placement.problems if p.pool_id == pool and p.field == field]
    assert hits, f"no problem for {pool}.{field}: {[str(p) for p in world.placement.problems]}"


@step("then", 'the engine can see only the GPUs "{devices}"')
def then_visible(world: PoolWorld, devices: str) -> None:
    plan_ = _plan(world)
    assert_equal(plan_.env["CUDA_VISIBLE_DEVICES"], devices, "CUDA_VISIBLE_DEVICES")


@step("then", "the engine can see no GPU")
def then_no_gpu(world: PoolWorld) -> None:
    plan_ = _plan(world)
    assert_equal(plan_.env["CUDA_VISIBLE_DEVICES"], "", "CUDA_VISIBLE_DEVICES")
    assert_equal(plan_.visible_devices, (), "visible GPUs")


@step("then", "the engine is told to keep every layer on the GPU")
def then_all_on_gpu(world: PoolWorld) -> None:
    plan_ = _plan(world)
    flags = " ".join(plan_.engine_flags)
    assert "-ngl all" in flags and "--fit off" in flags, f"flags: {flags}"


@step("then", 'the engine is told to use the devices "{names}"')
def then_device_flag(world: PoolWorld, names: str) -> None:
    plan_ = _plan(world)
    flags = list(plan_.engine_flags)
    assert "--device" in flags, f"no device flag: {flags}"
    assert_equal(flags[flags.index("--device") + 1], names, "device flag")


@step("then", "the planned context is {ctx:d} tokens")
def then_ctx(world: PoolWorld, ctx: int) -> None:
    plan_ = _plan(world)
    assert_equal(plan_.ctx, ctx, "planned context")


@step("then", "the planned context is {ctx:d} tokens per slot and {total:d} tokens in total")
def then_ctx_slots(world: PoolWorld, ctx: int, total: int) -> None:
    plan_ = _plan(world)
    assert_equal((plan_.ctx_per_slot, plan_.ctx_total), (ctx, total), "context per slot, total")


@step("then", 'the plan states its context as "{phrase}"')
def then_ctx_phrase(world: PoolWorld, phrase: str) -> None:
    plan_ = _plan(world)
    assert_equal(plan_.ctx_phrase(), phrase, "the plan's context in words")


@step("then", 'the plan reports that the context was capped by the "{limit}"')
def then_ctx_capped(world: PoolWorld, limit: str) -> None:
    plan_ = _plan(world)
    assert_equal(plan_.ctx_capped_reason, limit, "why the context was capped")


@step("then", "the plan reports no context cap")
def then_ctx_not_capped(world: PoolWorld) -> None:
    plan_ = _plan(world)
    assert plan_.ctx_capped_reason is None, plan_.ctx_capped_reason
