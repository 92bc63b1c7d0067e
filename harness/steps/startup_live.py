"""Process-level steps of the manager's start-up (``@process``): probes and the startup wave.

A real ``poolmgr serve`` (:class:`~harness.live.LiveManager`) is asked, over real HTTP, for its
liveness and readiness while a slow pool is still starting (the pool's state is read before and
after, so the answer is known to come from that time, without any timed assertion), and its
JSON log (``<log_dir>/manager.jsonl``) is replayed to count how many pools were starting at once.

Serves OC-PERF-9107 and OC-PERF-9108 at process level. Every Then-step asserts (OC-BDD-7003).
"""

from __future__ import annotations

import json
from typing import Any

import requests

from harness.assertions import assert_equal
from harness.live import LiveManager, live_manager_of
from harness.registry import step
from harness.steps.fields import names
from harness.waiting import wait_until
from harness.world import PoolWorld

READY_TIMEOUT_S = 20.0
STARTING = ("starting", "preloading")
"""The states of a pool whose start has not finished (the API's words)."""


def _while_starting(live: LiveManager, pool: str, path: str) -> requests.Response:
    """``GET path`` while ``pool`` is starting: its state is read before and after the call."""
    before = live.health(pool)["state"]
    response = live.request("GET", path)
    after = live.health(pool)["state"]
    assert before in STARTING and after in STARTING, (
        f"setup: pool {pool} was {before} before and {after} after GET {path}; the check "
        "needs it still starting (give it a longer stub preload_delay_ms)"
    )
    return response


def _manager_log(live: LiveManager) -> list[dict[str, Any]]:
    path = live.tmp / "logs" / "manager.jsonl"
    assert path.exists(), f"the manager wrote no log at {path}"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _starts(live: LiveManager) -> tuple[list[str], int]:
    """The pools in the order they started, and the most that were starting at once."""
    starting: set[str] = set()
    order: list[str] = []
    most = 0
    for record in _manager_log(live):
        if record.get("event") != "pool_state_changed":
            continue
        pool = str(record["pool_id"])
        if record["to_state"] in STARTING:
            if record["from_state"] not in STARTING:
                order.append(pool)
            starting.add(pool)
        else:
            starting.discard(pool)
        most = max(most, len(starting))
    return order, most


@step(
    "then", 'while the live pool "{pool}" is still starting, the manager answers that it is alive'
)
def then_alive_while_starting(world: PoolWorld, pool: str) -> None:
    response = _while_starting(live_manager_of(world), pool, "/healthz")
    assert_equal(response.status_code, 200, "status of GET /healthz")
    assert_equal(response.json().get("status"), "ok", "/healthz status field")


@step(
    "then",
    'while the live pool "{pool}" is still starting, the manager answers that it is not ready '
    'with code "{code}"',
)
def then_not_ready_while_starting(world: PoolWorld, pool: str, code: str) -> None:
    response = _while_starting(live_manager_of(world), pool, "/readyz")
    assert_equal(response.status_code, 503, "status of GET /readyz")
    assert_equal(response.json().get("code"), code, "/readyz error code")


@step("when", 'the live pools "{pools}" have become ready')
def when_live_pools_ready(world: PoolWorld, pools: str) -> None:
    live = live_manager_of(world)
    for pool in names(pools):
        live.wait_health(pool, lambda h: bool(h["ready"]), "ready", READY_TIMEOUT_S)


@step("when", "the manager reports that it is ready")
def when_manager_ready(world: PoolWorld) -> None:
    live = live_manager_of(world)

    def ready() -> requests.Response | None:
        response = live.request("GET", "/readyz")
        return response if response.status_code == 200 else None

    wait_until(ready, READY_TIMEOUT_S, "GET /readyz to answer 200")


@step("then", "the manager answers that it is ready, with {ready:d} of {total:d} pools ready")
def then_manager_ready(world: PoolWorld, ready: int, total: int) -> None:
    response = live_manager_of(world).request("GET", "/readyz")
    assert_equal(response.status_code, 200, "status of GET /readyz")
    body = response.json()
    assert_equal((body["pools_ready"], body["pools_total"]), (ready, total), "pools ready, total")


@step("then", 'the live pool "{pool}" is not ready')
def then_live_pool_not_ready(world: PoolWorld, pool: str) -> None:
    health = live_manager_of(world).health(pool)
    assert_equal(health["ready"], False, f"pool {pool} ready")


@step(
    "then",
    "the manager's log shows {count:d} pools started, at most {most:d} of them starting "
    "at any time",
)
def then_log_starts_bounded(world: PoolWorld, count: int, most: int) -> None:
    order, seen = _starts(live_manager_of(world))
    assert_equal(len(order), count, f"pools started (in order: {order})")
    assert seen <= most, f"{seen} pools were starting at once, more than {most}"


@step("then", 'the manager\'s log shows the pools started in the order "{pools}"')
def then_log_start_order(world: PoolWorld, pools: str) -> None:
    order, _ = _starts(live_manager_of(world))
    assert_equal(order, names(pools), "the order the pools started in")
