"""Process-level GPU-truth steps: what a serving manager says about its GPUs, for real.

Against a real ``poolmgr serve`` (:class:`~harness.live.LiveManager`) and its real stub engines
on simulated GPUs (the static inventory plus the claim files the stub writes) or on no GPU at
all: the state and last error a GPU pool ends in (OC-GPU-9502, 9503, 9504), whether a restart
is scheduled, and how the listing, the health body, the metrics and the startup log label the
GPUs (OC-GPU-9508). Every wait is a bounded poll of the manager's API or its log.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from harness.assertions import assert_equal
from harness.live import live_manager_of
from harness.registry import step
from harness.waiting import wait_until
from harness.world import PoolWorld

SETTLE_TIMEOUT_S = 15.0
"""How long a pool may take to reach the state a scenario names (engine start included)."""


@step("then", 'the live pool "{pool}" settles in "{state}" with the last error cause "{cause}"')
def then_ends_in_state(world: PoolWorld, pool: str, state: str, cause: str) -> None:
    live = live_manager_of(world)

    def settled(body: dict[str, Any]) -> bool:
        return bool(body["state"] == state)

    body = live.wait_health(pool, settled, f"state {state}", SETTLE_TIMEOUT_S)
    error = body["last_error"] or {}
    assert_equal(error.get("cause"), cause, f"last error cause of {pool}")


@step("then", 'the last error of the live pool "{pool}" mentions "{text}"')
def then_error_mentions(world: PoolWorld, pool: str, text: str) -> None:
    error = live_manager_of(world).health(pool)["last_error"] or {}
    message = str(error.get("message", ""))
    assert text in message, f"last error of {pool} does not mention {text!r}: {message!r}"


@step("then", 'the live pool "{pool}" has no restart scheduled after {n:d} restarts')
def then_no_restart(world: PoolWorld, pool: str, n: int) -> None:
    restarts = live_manager_of(world).health(pool)["restarts"]
    assert_equal(
        (restarts["next_restart_at_ms"], restarts["count"]), (None, n), f"restarts of {pool}"
    )


@step("then", 'the live listing says the GPUs of "{pool}" are "{gpus}"')
def then_listing_gpus(world: PoolWorld, pool: str, gpus: str) -> None:
    listing = live_manager_of(world).get_json("/v1/pools")
    said = {entry["id"]: entry["gpus"] for entry in listing}
    assert_equal(said.get(pool), gpus, f"gpus of {pool} in the listing")


@step("then", 'the live health of "{pool}" says the GPUs are "{gpus}"')
def then_health_gpus(world: PoolWorld, pool: str, gpus: str) -> None:
    assert_equal(live_manager_of(world).health(pool)["gpus"], gpus, f"gpus of {pool}")


@step("then", 'the live manager metric "{name}" is {value:d}')
def then_manager_metric(world: PoolWorld, name: str, value: int) -> None:
    text = live_manager_of(world).metrics_text()
    got = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and not s.labels
    ]
    assert_equal(got, [float(value)], f"samples of {name}")


@step("then", 'the manager\'s startup log says the GPUs are "{gpus}"')
def then_startup_log(world: PoolWorld, gpus: str) -> None:
    live = live_manager_of(world)

    def said() -> dict[str, Any] | None:
        for line in live.stderr().splitlines():
            if line.startswith("{") and '"gpu_source"' in line:
                record: dict[str, Any] = json.loads(line)
                if record.get("event") == "gpu_source":
                    return record
        return None

    record = wait_until(said, 5, "the gpu_source log line")
    assert_equal(record.get("gpus"), gpus, "gpus of the gpu_source log line")
