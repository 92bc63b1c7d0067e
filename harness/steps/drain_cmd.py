"""Steps of ``poolmgr drain``, the command the Kubernetes preStop hook runs.

The command runs as a real subprocess (:func:`harness.steps.status.run_poolmgr`) against the
scenario's live manager over real sockets; what it printed is compared line for line with the
lines the feature writes. Which deadline the manager applied is read from the manager's own
``drain_accepted`` log line (its JSON log on stderr), so a command that sends a deadline of its
own where the pool's configured one should apply fails the scenario. A reload is started with
the real reload endpoint and its outcome read from the pool's health.

Serves OC-CTL-4030..4035 at process level.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import json
from typing import Any

from harness.assertions import assert_equal
from harness.live import live_manager_of
from harness.registry import step
from harness.steps.status import expand, run_poolmgr
from harness.waiting import wait_until
from harness.world import PoolWorld


@step("when", "an operator runs poolmgr drain with {options}")
def when_drain(world: PoolWorld, options: str) -> None:
    run_poolmgr(world, ["drain", *expand(world, options).split()])


@step("when", 'an operator with "{var}" holding "{token}" runs poolmgr drain with {options}')
def when_drain_with_token(world: PoolWorld, var: str, token: str, options: str) -> None:
    run_poolmgr(world, ["drain", *expand(world, options).split()], {var: token})


@step("then", "the command prints")
def then_command_prints(world: PoolWorld, docstring: str) -> None:
    """Every line the command wrote (stdout, then stderr), exactly the feature's lines."""
    wanted = [line.strip() for line in expand(world, docstring).strip().splitlines()]
    assert_equal(world.gate.output.splitlines(), wanted, "the command's lines")


def _drains_logged(world: PoolWorld, pool: str) -> list[dict[str, Any]]:
    records = []
    for line in live_manager_of(world).stderr().splitlines():
        if line.startswith("{") and '"drain_accepted"' in line:
            record: dict[str, Any] = json.loads(line)
            if record.get("event") == "drain_accepted" and record.get("pool_id") == pool:
                records.append(record)
    return records


@step("then", 'the manager accepted {n:d} drain of "{pool}", with a deadline of {ms:d} ms')
def then_drain_logged(world: PoolWorld, n: int, pool: str, ms: int) -> None:
    records = wait_until(
        lambda: _drains_logged(world, pool) or None, 5, f"a drain_accepted line for {pool}"
    )
    assert_equal(len(records), n, f"drains of {pool} accepted")
    assert_equal(records[-1].get("deadline_ms"), ms, f"the deadline of the drain of {pool}")


@step("when", 'a client reloads the live pool "{pool}" with the model "{ref}"')
def when_reload(world: PoolWorld, pool: str, ref: str) -> None:
    response = live_manager_of(world).request(
        "POST", f"/v1/pools/{pool}/reload", json={"new_model_ref": ref}
    )
    assert_equal(response.status_code, 202, f"reload of {pool}: {response.text}")


@step("then", 'the live pool "{pool}" reports a reload to "{ref}" that is "{outcome}"')
def then_reload_outcome(world: PoolWorld, pool: str, ref: str, outcome: str) -> None:
    reload = live_manager_of(world).health(pool)["reload"]
    assert reload is not None, f"{pool} reports no reload"
    assert_equal((reload["to"], reload["outcome"]), (ref, outcome), f"the reload of {pool}")


@step("then", 'the live pool "{pool}" is stopped')
def then_live_stopped(world: PoolWorld, pool: str) -> None:
    health = live_manager_of(world).health(pool)
    assert_equal((health["state"], health["ready"]), ("stopped", False), f"{pool} stopped")


@step(
    "when", 'a client presenting the bearer token "{token}" leases a slot of the live pool "{pool}"'
)
def when_lease_with_token(world: PoolWorld, token: str, pool: str) -> None:
    live = live_manager_of(world)
    response = live.request(
        "POST", f"/v1/pools/{pool}/leases", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_equal(response.status_code, 201, f"lease of {pool}: {response.text}")
    live.lease_ids.append(f"/v1/pools/{pool}/leases/{response.json()['lease_id']}")
