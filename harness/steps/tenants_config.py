"""Steps of the tenants and admission settings in the config (OC-ADM-9017).

What a config's ``tenants`` list and a pool's ``admission`` block mean once accepted: the
scenario writes the values it expects, and the steps compare them with the typed config.
Refusals use the config steps' own Then-steps (:mod:`harness.steps.config`).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from harness.assertions import assert_equal
from harness.registry import step
from harness.steps.fields import rows
from harness.world import PoolWorld
from poolmgr.core.config import Config


def _accepted(world: PoolWorld) -> Config:
    assert world.error is None, f"refused: {world.error}"
    parsed = world.config.parsed
    assert parsed is not None, "no config was checked"
    return parsed


def _shown(value: object) -> str:
    return "-" if value is None else str(value)


@step("given", 'a config file "{name}" with {count:d} tenants and one stub pool')
def given_many_tenants(world: PoolWorld, name: str, count: int) -> None:
    tenants = "".join(f"  - {{name: t{i}}}\n" for i in range(count))
    world.config.source = name
    world.config.text = (
        f"tenants:\n{tenants}pools:\n"
        "  - {id: dev, engine: stub, model: stub://tiny, devices: [], cpu: true}\n"
    )


@step("then", "the config's tenants are")
def then_tenants(world: PoolWorld, datatable: list[list[str]]) -> None:
    """Columns: name, weight, max concurrent, rps, burst (``-``: none)."""
    got = [
        {
            "name": t.name,
            "weight": str(t.weight),
            "max concurrent": _shown(t.max_concurrent),
            "rps": _shown(t.rps),
            "burst": _shown(t.burst),
        }
        for t in _accepted(world).tenants
    ]
    assert_equal(got, rows(datatable), "the config's tenants")


@step("then", 'pool "{pool_id}" queues at most {depth:d} requests for at most {wait:d} ms')
def then_pool_queue(world: PoolWorld, pool_id: str, depth: int, wait: int) -> None:
    admission = _accepted(world).pool(pool_id).admission
    assert_equal(
        (admission.queue_depth, admission.max_wait_ms), (depth, wait), f"{pool_id}'s admission"
    )
