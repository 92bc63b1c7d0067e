"""Steps of the preflight: a launch plan checked against the GPUs' free VRAM and the host's
free RAM, the verdict, its cause, the shortfalls it names and the message an operator reads.

Serves OC-POOL-3002 and the preflight side of OC-POOL-3012 (decision level). The launch checks
a supervisor runs at each spawn are played by :meth:`harness.world.PoolWorld.launch_refusal`
(given a plan and a host RAM figure); these steps never report a verdict to a pool themselves.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from harness.assertions import assert_equal
from harness.registry import step
from harness.world import GIB, PoolWorld
from poolmgr.core.errors import PlacementError
from poolmgr.core.preflight import PreflightVerdict, preflight

MIB = 2**20


@step("given", "the host has {gib:d} GiB of memory free")
def given_host_free(world: PoolWorld, gib: int) -> None:
    world.placement.host_free = gib * GIB


@step("when", "GPU {index:d} leaves the inventory")
def gpu_leaves(world: PoolWorld, index: int) -> None:
    assert index in world.placement.gpus, f"setup: GPU {index} was never described"
    del world.placement.gpus[index]


def _check(world: PoolWorld, host_free_bytes: int) -> None:
    place = world.placement
    assert place.plan is not None and place.shape is not None, "setup: plan a launch first"
    place.verdict = None
    world.error = None
    try:
        place.verdict = preflight(place.plan, place.shape, place.inventory(), host_free_bytes)
    except PlacementError as exc:
        world.error = exc


@step("when", "the preflight checks the plan with {gib:d} GiB of host memory free")
def check_preflight(world: PoolWorld, gib: int) -> None:
    _check(world, gib * GIB)


@step("when", "the preflight checks the plan with {n:d} bytes of host memory free")
def check_preflight_bytes(world: PoolWorld, n: int) -> None:
    _check(world, n)


def _verdict(world: PoolWorld) -> PreflightVerdict:
    verdict = world.placement.verdict
    assert verdict is not None, f"no preflight verdict: {world.error!r}"
    return verdict


@step("then", 'the preflight fails with cause "{cause}"')
def then_preflight_cause(world: PoolWorld, cause: str) -> None:
    verdict = _verdict(world)
    assert not verdict.fits, f"the plan fits: {verdict.message}"
    assert verdict.cause is not None, f"a failing verdict without a cause: {verdict.message}"
    assert_equal(verdict.cause.value, cause, "preflight cause")


@step("then", "the preflight names GPU {index:d} as short of memory")
def then_preflight_names_gpu(world: PoolWorld, index: int) -> None:
    verdict = _verdict(world)
    short = [d.index for d in verdict.devices if d.shortfall_bytes > 0]
    assert index in short, f"short GPUs: {short}"
    assert f"GPU {index} " in verdict.message, verdict.message


@step("then", "the preflight passes")
def then_preflight_passes(world: PoolWorld) -> None:
    verdict = _verdict(world)
    assert verdict.fits, verdict.message
    assert verdict.cause is None, f"a fitting verdict with cause {verdict.cause}"


@step("then", 'the preflight verdict is "{outcome}"')
def then_preflight_outcome(world: PoolWorld, outcome: str) -> None:
    """``fits``, or the cause of a verdict that does not fit."""
    verdict = _verdict(world)
    got = "fits" if verdict.fits else str(verdict.cause)
    assert_equal(got, outcome, f"preflight verdict ({verdict.message})")


@step("then", "the preflight finds GPU {index:d} short by {n:d} bytes")
def then_gpu_short(world: PoolWorld, index: int, n: int) -> None:
    verdict = _verdict(world)
    devices = {d.index: d for d in verdict.devices}
    assert index in devices, f"GPU {index} not checked; checked: {sorted(devices)}"
    assert_equal(devices[index].shortfall_bytes, n, f"shortfall of GPU {index}")


@step("then", "the preflight finds the host RAM short by {n:d} bytes")
def then_host_short(world: PoolWorld, n: int) -> None:
    verdict = _verdict(world)
    assert_equal(verdict.host_shortfall_bytes, n, "shortfall of host RAM")


@step("then", "the preflight checks no GPU")
def then_no_gpu_checked(world: PoolWorld) -> None:
    verdict = _verdict(world)
    assert_equal(verdict.devices, (), "GPUs checked")


@step("then", "the preflight explains")
def then_preflight_message(world: PoolWorld, docstring: str) -> None:
    verdict = _verdict(world)
    assert_equal(verdict.message, " ".join(docstring.split()), "preflight message")


@step("then", 'the preflight refuses the plan of "{pool}", saying')
def then_preflight_refuses(world: PoolWorld, pool: str, docstring: str) -> None:
    assert world.placement.verdict is None, f"a verdict was made: {world.placement.verdict}"
    error = world.error
    assert isinstance(error, PlacementError), f"expected a placement refusal, got {error!r}"
    assert_equal(error.pool_id, pool, "pool named by the refusal")
    assert_equal(error.message, " ".join(docstring.split()), "refusal message")


@step("then", 'no engine of "{pool}" was started')
def then_no_engine(world: PoolWorld, pool: str) -> None:
    assert world.pools.actions.get(pool), f"setup: pool {pool} was never asked to do anything"
    assert_equal(world.pools.started.get(pool, []), [], f"engines started for {pool}")


@step("then", 'exactly {n:d} engine of "{pool}" was started')
def then_engines_started(world: PoolWorld, pool: str, n: int) -> None:
    assert_equal(len(world.pools.started.get(pool, [])), n, f"engines started for {pool}")


@step("when", "another process leaves GPU {index:d} with {n:d} bytes free")
def gpu_taken(world: PoolWorld, index: int, n: int) -> None:
    assert index in world.placement.gpus, f"setup: GPU {index} was never described"
    world.placement.gpus[index] = n
