"""Steps of the startup wave at decision level: which pools start their first engine, in which
order, and when every pool has finished its first start.

The scenario's pools live in the real registry on the scenario's manual clock; a
:class:`~poolmgr.core.startup.StartupWave` is built from their config as the manager builds it
(config order, ``manager.start_concurrency``) and obeyed as :mod:`poolmgr.runtime.startup`
obeys it: it listens to every fact the registry tells, and whenever the wave answers that a
pool finished, the starts it allows are dispatched (``StartRequested``), each followed by the
pool's state (a refused start frees its place). The runtime carries this out on its event loop;
here it runs at once, in the same order. The world keeps every pool the wave asked to start and
every pool it answered had finished, in order. Pools finish their first start through the ordinary
lifecycle steps (preloads, drains, reloads, restarts) or :func:`first_start_ends`.

Serves OC-PERF-9107 and OC-PERF-9108 (decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from harness.assertions import assert_equal
from harness.registry import step
from harness.steps.lifecycle import engine_crashes, preload_done, preload_fails
from harness.steps.lifecycle_drain import drain
from harness.world import PoolSpec, PoolWorld
from poolmgr.config import parse_config
from poolmgr.core.events import StartRequested
from poolmgr.core.registry import Told
from poolmgr.core.startup import StartupWave


def _names(text: str) -> list[str]:
    """``"a, b"`` as ``["a", "b"]``; ``"none"`` as no pool."""
    return [] if text == "none" else [name.strip() for name in text.split(",")]


def _wave(world: PoolWorld) -> StartupWave:
    wave = world.startup.wave
    assert wave is not None, "setup: the startup wave has not begun"
    return wave


def _pump(world: PoolWorld) -> None:
    """Start what the wave allows now, as the runtime's pump does."""
    wave, part = _wave(world), world.startup
    part.pumping = True
    try:
        for _ in range(wave.total + 1):  # every round takes a pool out of the waiting list
            starts = wave.take_starts()
            if not starts:
                return
            for pool_id in starts:
                part.asked.append(pool_id)
                world.dispatch(pool_id, StartRequested())
            for pool_id in starts:
                if wave.settle(pool_id, world.registry.machine(pool_id).state):
                    part.finished.append(pool_id)
        raise AssertionError(
            f"the startup wave still asks for starts after {wave.total + 1} rounds: {part.asked}"
        )
    finally:
        part.pumping = False


def _told(world: PoolWorld, pool_id: str, told: Told) -> None:
    """A registry listener: tell the wave; when a pool finished, start what it now allows.

    A pool that finishes while a pump carries out its starts is seen by that pump's next
    round, as the runtime's pump scheduled for later would see it.
    """
    if not _wave(world).told(pool_id, told):
        return
    world.startup.finished.append(pool_id)
    if not world.startup.pumping:
        _pump(world)


@step("given", 'the CPU pools "{pools}" in this order, with a start concurrency of {n:d}')
def given_pools(world: PoolWorld, pools: str, n: int) -> None:
    for pool_id in _names(pools):
        world.pools.add(PoolSpec(pool_id, slots=1, cpu=True))
    world.pools.start_concurrency = n


@step("when", "the startup wave begins")
def wave_begins(world: PoolWorld) -> None:
    if world.startup.wave is not None:
        raise AssertionError("setup: the startup wave already began")
    config = parse_config(world.pools.config_yaml(), "<scenario>")
    world.startup.wave = StartupWave((p.id for p in config.pools), config.manager.start_concurrency)
    world.registry.observe(lambda pool_id, told: _told(world, pool_id, told))
    _pump(world)


@step("when", 'the first start of "{pool}" ends because {ending}')
def first_start_ends(world: PoolWorld, pool: str, ending: str) -> None:
    """One way a started pool's first start ends, named in the scenario's words."""
    match ending:
        case "its engine became ready":
            preload_done(world, pool)
        case "its preload failed":
            preload_fails(world, pool, "model_load_failed")
        case "its engine crashed":
            engine_crashes(world, pool)
        case "its preload ran out of time":
            world.advance(world.pools.specs[pool].preload_timeout_ms)
        case "an operator drained it":
            drain(world, pool, 30_000)
        case _:
            raise AssertionError(f"unknown end of a first start: {ending!r}")


@step("then", 'the startup wave has asked to start "{pools}", in this order')
def then_asked(world: PoolWorld, pools: str) -> None:
    assert_equal(world.startup.asked, _names(pools), "pools the startup wave asked to start")


@step("then", 'the pools that finished their first start are "{pools}", in this order')
def then_finished_order(world: PoolWorld, pools: str) -> None:
    """The pools the wave answered had finished, each once, in the order of its answers."""
    assert_equal(world.startup.finished, _names(pools), "pools the wave saw finish")


@step("then", 'the pools still starting their first engine are "{pools}"')
def then_starting(world: PoolWorld, pools: str) -> None:
    assert_equal(sorted(_wave(world).starting), sorted(_names(pools)), "pools starting")


@step("then", 'the pools waiting their turn are "{pools}", in this order')
def then_waiting(world: PoolWorld, pools: str) -> None:
    assert_equal(list(_wave(world).waiting), _names(pools), "pools waiting their turn")


@step("then", "{n:d} of {total:d} pools have finished their first start")
def then_finished(world: PoolWorld, n: int, total: int) -> None:
    wave = _wave(world)
    assert_equal((wave.finished, wave.total), (n, total), "(finished, configured) pools")


@step("then", "the startup wave is done")
def then_done(world: PoolWorld) -> None:
    assert _wave(world).done is True, "the startup wave is not done"


@step("then", "the startup wave is not done")
def then_not_done(world: PoolWorld) -> None:
    assert _wave(world).done is False, "the startup wave is done"
