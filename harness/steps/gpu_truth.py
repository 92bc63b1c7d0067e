"""Steps of the GPU truth checks at decision level: a GPU pool's mask against the driver's view
at ``serve`` (OC-GPU-9502), and an engine's process tree against the view after its health
probe succeeded (OC-GPU-9504, OC-GPU-9507); the view as an inventory (OC-GPU-9501).

The view is what :mod:`poolmgr.io.nvml` would read, written in the feature: which GPUs the
driver shows and which processes hold how much memory on each. The decisions are
:mod:`poolmgr.core.gpu_truth`'s; the steps only build the view and the process tree and carry
them to it, as the runtime does.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import re

from harness.assertions import assert_equal
from harness.registry import step
from harness.world import PoolWorld
from poolmgr.core.gpu_truth import GpuReading, GpuView, judge_engine, serve_refusal

_UNITS = {"byte": 1, "bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
_HOLDER = re.compile(r"^(\d+): (?:(unknown amount)|(\d+) (bytes?|KiB|MiB|GiB))$")
_UNREADABLE = "a list NVML cannot read"
_NOBODY = "nobody"
_MAY_START = "may start"
_VOUCHED = "vouched for"
_TOTAL = 141 * 2**30
"""Every GPU of a described view is an H200 with 141 GiB, all of it free (the checks only
look at indices and holders)."""


def _indices(text: str) -> tuple[int, ...]:
    """``"0, 1"`` or ``"none"``."""
    if text.strip() == "none":
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError as exc:
        raise AssertionError(f"setup: GPU indices like '0, 1' or 'none', not {text!r}") from exc


def _holders(text: str) -> dict[int, int | None] | None:
    """``"100: 1 GiB, 900: unknown amount"``, ``"nobody"`` or ``"a list NVML cannot read"``."""
    if text == _UNREADABLE:
        return None
    if text == _NOBODY:
        return {}
    held: dict[int, int | None] = {}
    for part in text.split(","):
        found = _HOLDER.match(part.strip())
        assert found, f"setup: a holder reads like '100: 1 GiB' or '100: unknown amount': {part!r}"
        pid, unknown, amount, unit = found.groups()
        held[int(pid)] = None if unknown else int(amount) * _UNITS[unit]
    return held


def _view(gpus: dict[int, dict[int, int | None] | None], *, simulated: bool = False) -> GpuView:
    readings = tuple(
        GpuReading(i, "NVIDIA H200", f"GPU-{i:08d}", _TOTAL, _TOTAL, held)
        for i, held in gpus.items()
    )
    return GpuView(readings, "570.124.06", "12.8", simulated)


@step("given", "NVML gives no view of the host's GPUs")
def no_view(world: PoolWorld) -> None:
    world.gpu.view = None


@step("given", 'NVML shows the GPUs "{indices}"')
def view_of(world: PoolWorld, indices: str) -> None:
    world.gpu.view = _view({i: {} for i in _indices(indices)})


@step("given", 'NVML shows GPU 0 held by "{g0}", GPU 1 held by "{g1}" and GPU 2 held by "{g2}"')
def view_held(world: PoolWorld, g0: str, g1: str, g2: str) -> None:
    world.gpu.view = _view({0: _holders(g0), 1: _holders(g1), 2: _holders(g2)})


@step("given", "the engine's process tree is the processes {pids}")
def engine_tree(world: PoolWorld, pids: str) -> None:
    world.gpu.tree = frozenset(int(p) for p in pids.replace(" and ", ",").split(","))


@step("when", 'the GPU pool "{pool}" with the mask "{mask}" is checked at serve')
def check_at_serve(world: PoolWorld, pool: str, mask: str) -> None:
    world.gpu.verdict = serve_refusal(pool, _indices(mask), world.gpu.view)


@step("when", 'the engine of a GPU pool with the mask "{mask}" answers its health probe')
def check_after_health(world: PoolWorld, mask: str) -> None:
    world.gpu.verdict = judge_engine(_indices(mask), world.gpu.view, world.gpu.tree)


@step("then", 'the check at serve answers "{answer}"')
def then_serve_answer(world: PoolWorld, answer: str) -> None:
    verdict = world.gpu.verdict
    assert_equal(_MAY_START if verdict is None else verdict, answer, "the check at serve")


@step("then", 'the check after the health probe answers "{answer}"')
def then_engine_answer(world: PoolWorld, answer: str) -> None:
    verdict = world.gpu.verdict
    assert_equal(_VOUCHED if verdict is None else verdict, answer, "the post-launch check")


# --- the view as an inventory (placement and preflight read it, OC-GPU-9501/9502) ---------


@step("given", "NVML, {how}, shows these GPUs")
def view_table(world: PoolWorld, how: str, datatable: list[list[str]]) -> None:
    kinds = {"read from the driver": False, "simulated from the static inventory": True}
    assert how in kinds, f"setup: the view is {' or '.join(kinds)}, not {how!r}"
    head, *rows = datatable
    assert head == ["GPU", "name", "total GiB", "free GiB"], f"setup: columns {head}"
    readings = tuple(
        GpuReading(int(i), name, f"GPU-{i}", int(total) * 2**30, int(free) * 2**30, {})
        for i, name, total, free in rows
    )
    world.gpu.view = GpuView(readings, "570.124.06", "12.8", kinds[how])


@step("then", 'the inventory from that view reads "{source}" and lists')
def then_view_inventory(world: PoolWorld, source: str, datatable: list[list[str]]) -> None:
    view = world.gpu.view
    assert view is not None, "setup: no view was described"
    inventory = view.inventory()
    shown = [["GPU", "name", "total GiB", "free GiB"]] + [
        [str(d.index), d.name, str(d.total_bytes // 2**30), str(d.free_bytes // 2**30)]
        for d in inventory.devices
    ]
    assert_equal((str(inventory.source), shown), (source, datatable), "inventory from the view")


@step("then", 'looking up GPU {index:d} in that view finds "{found}"')
def then_view_lookup(world: PoolWorld, index: int, found: str) -> None:
    view = world.gpu.view
    assert view is not None, "setup: no view was described"
    reading = view.reading(index)
    assert_equal("nothing" if reading is None else reading.name, found, f"GPU {index}")


# --- a pool that failed for good (OC-GPU-9503) ----------------------------------------------


@step("when", "{hours:d} hours pass, a minute at a time")
def hours_pass(world: PoolWorld, hours: int) -> None:
    for _ in range(hours * 60):  # bounded: the pool reacts to every minute on the clock
        world.advance(60_000)


@step("then", 'the breaker of "{pool}" counts {n:d} failures within its window')
def then_breaker_failures(world: PoolWorld, pool: str, n: int) -> None:
    breaker = world.registry.machine(pool).breaker
    counted = breaker.failures_in_window(world.clock.now_ms())
    assert_equal(counted, n, f"failures the breaker of {pool} counts")
