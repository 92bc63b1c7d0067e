"""Steps of what an operator reads: the plan command and the manager's log lines.

The plan is the real ``poolmgr plan`` run as a subprocess on the running manager's config
file, compared with the engine process that manager really started (its command line and
environment, read with psutil). The log lines are the JSON lines the real ``poolmgr serve``
wrote on its stderr.

Serves OC-POOL-3072, OC-POOL-3073 and OC-POOL-3074 at process level.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

from harness.assertions import assert_equal
from harness.live import LiveManager, live_manager_of
from harness.registry import step
from harness.world import PoolWorld

ROOT = Path(__file__).resolve().parents[2]

PLAN_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 15.0
PORT_AT_LAUNCH = "<picked at launch>"

_PLANS: weakref.WeakKeyDictionary[LiveManager, tuple[dict[str, Any], str]] = (
    weakref.WeakKeyDictionary()
)
"""Each running manager's plan: the ``--json`` document and the text, as printed."""


def _plan_of(live: LiveManager, *args: str) -> subprocess.CompletedProcess[str]:
    config = live.tmp / "pools.yaml"
    assert config.is_file(), "setup: start the manager with a config first"
    return subprocess.run(
        [sys.executable, "-m", "poolmgr", "plan", "--config", str(config), *args],
        cwd=live.tmp,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=PLAN_TIMEOUT_S,
        check=False,
    )


@step("when", "the operator asks for the plan of the running manager's config")
def ask_plan(world: PoolWorld) -> None:
    live = live_manager_of(world)
    as_json, as_text = _plan_of(live, "--json"), _plan_of(live)
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    _PLANS[live] = (json.loads(as_json.stdout), as_text.stdout)


def _pool_plan(world: PoolWorld, pool: str) -> dict[str, Any]:
    live = live_manager_of(world)
    assert live in _PLANS, "setup: ask for the plan first"
    doc, _ = _PLANS[live]
    found = [p for p in doc["pools"] if p["pool_id"] == pool]
    assert found, f"no pool {pool!r} in the plan: {doc}"
    plan: dict[str, Any] = found[0]
    assert plan.get("launch") is not None, f"no command planned for {pool}: {plan}"
    return plan


@step("then", 'the plan of "{pool}" starts the engine with the arguments "{args}"')
def then_plan_args(world: PoolWorld, pool: str, args: str) -> None:
    argv = _pool_plan(world, pool)["launch"]["argv"]
    assert_equal(" ".join(argv[1:]), args, f"planned arguments of {pool}")


@step("then", 'the plan of "{pool}" says "{text}"')
def then_plan_says(world: PoolWorld, pool: str, text: str) -> None:
    _pool_plan(world, pool)
    _, printed = _PLANS[live_manager_of(world)]
    block = printed.split(f"pool {pool}:", 1)[-1].split("\npool ", 1)[0]
    assert text in block, f"the plan of {pool} does not say {text!r}:\n{printed}"


@step(
    "then",
    'the engine process of the live pool "{pool}" runs the command and environment the plan '
    "shows, with the port picked at launch",
)
def then_engine_runs_plan(world: PoolWorld, pool: str) -> None:
    launch = _pool_plan(world, pool)["launch"]
    live = live_manager_of(world)
    engine = live.engine_of(str(live.health(pool)["model_ref"]))
    argv = engine.cmdline()
    planned = list(launch["argv"])
    at = planned.index("--port") + 1
    assert_equal(planned[at], PORT_AT_LAUNCH, "the planned port")
    planned[at] = argv[at]  # the one value only the launch knows
    assert_equal(argv, planned, f"command line of the engine of {pool}")
    environ = engine.environ()
    got = {name: environ.get(name) for name in launch["env"]}
    assert_equal(got, launch["env"], f"environment of the engine of {pool}")


# --------------------------------------------------------------------------- log lines


def _log_lines(live: LiveManager) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for text in live.stderr().splitlines():
        if text.startswith("{"):
            out.append(json.loads(text))
    return out


def _ids(text: str) -> list[str | None]:
    return [None if item.strip() == "none" else item.strip() for item in text.split(",")]


@step(
    "when",
    'a client reloads the live pool "{pool}" onto "{model}" with the correlation id "{cid}"',
)
def reload_with_id(world: PoolWorld, pool: str, model: str, cid: str) -> None:
    live = live_manager_of(world)
    live.request(
        "POST",
        f"/v1/pools/{pool}/reload",
        json={"new_model_ref": model, "deadline_ms": 0},
        headers={"X-Correlation-Id": cid},
    )


@step("then", 'the live pool "{pool}" becomes ready on "{model}"')
def then_ready_on(world: PoolWorld, pool: str, model: str) -> None:
    live = live_manager_of(world)
    health = live.wait_health(
        pool, lambda h: bool(h["ready"]) and h["model_ref"] == model, f"ready on {model}", 15.0
    )
    assert_equal(health["model_ref"], model, f"model of {pool}")


@step("then", 'the manager\'s "{event}" lines about "{pool}" carry the correlation ids "{ids}"')
def then_lines_carry(world: PoolWorld, event: str, pool: str, ids: str) -> None:
    lines = [
        line
        for line in _log_lines(live_manager_of(world))
        if line["event"] == event and line["pool_id"] == pool
    ]
    assert_equal([line["correlation_id"] for line in lines], _ids(ids), f"{event} lines")


@step(
    "then",
    'every engine line the manager logged names the pool "{pool}", the engine "{engine}" and, '
    'once the engine has told it, the version "{version}"',
)
def then_engine_lines_named(world: PoolWorld, pool: str, engine: str, version: str) -> None:
    lines = [
        line
        for line in _log_lines(live_manager_of(world))
        if str(line["event"]).startswith(("engine_", "pool_"))
    ]
    assert lines, "no engine line was logged"
    started = told = False
    for line in lines:
        assert_equal((line["pool_id"], line["engine"]), (pool, engine), line["message"])
        if not started:  # the first engine has not answered yet: its version is not known
            assert_equal(line["engine_version"], None, line["message"])
        if told:
            assert_equal(line["engine_version"], version, line["message"])
        started = started or line["event"] == "engine_started"
        told = told or line["event"] == "pool_preload_finished"
    assert told, "the engine never told its version"


@step("then", 'no log line carrying "{first}" comes after a line carrying "{second}"')
def then_ids_do_not_interleave(world: PoolWorld, first: str, second: str) -> None:
    lines = _log_lines(live_manager_of(world))
    seconds = [i for i, line in enumerate(lines) if line["correlation_id"] == second]
    firsts = [i for i, line in enumerate(lines) if line["correlation_id"] == first]
    assert seconds and firsts, f"setup: both ids must be logged ({len(firsts)}, {len(seconds)})"
    assert max(firsts) < min(seconds), [lines[i]["message"] for i in firsts if i > min(seconds)]
