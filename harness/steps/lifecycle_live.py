"""Process-level lifecycle steps: engine process trees and preload deadlines, for real.

Against a real ``poolmgr serve`` (:class:`~harness.live.LiveManager`) and its real stub
engines: an engine that starts a child of its own in a session of its own (the stub's
``fork_child`` knob), the manager killed with SIGKILL, and whether anything of the engines'
process trees is left (OC-POOL-3015, OC-POOL-3064); the metrics of a preload that ran out of
its deadline (OC-POOL-3063). Like :mod:`harness.steps.live`, this module loads the HTTP server
(through :mod:`harness.live`); the processes are seen with psutil. Every wait is bounded.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import contextlib
import os

import psutil
from prometheus_client.parser import text_string_to_metric_families

from harness.assertions import assert_equal
from harness.live import LiveManager, live_manager_of
from harness.registry import step
from harness.waiting import wait_until
from harness.world import PoolWorld

CHILD_MARK = "stub-child"
"""The command-line word of the child a stub engine starts with ``fork_child``."""

CHILD_TIMEOUT_S = 15.0


def _engine_child(live: LiveManager) -> psutil.Process | None:
    for proc in live.engines():
        with contextlib.suppress(psutil.Error):
            if CHILD_MARK in proc.cmdline():
                return proc
    return None


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@step(
    "then",
    'the engine of the live pool "{pool}" has a child process in a session of its own',
)
def then_engine_child(world: PoolWorld, pool: str) -> None:
    live = live_manager_of(world)
    engine = live.engine_of(str(live.health(pool)["model_ref"]))
    child = wait_until(lambda: _engine_child(live), CHILD_TIMEOUT_S, "the engine's child")
    assert engine.pid in {p.pid for p in child.parents()}, "the child is not the engine's"
    assert os.getsid(child.pid) != os.getsid(engine.pid), "the child shares the engine's session"
    world.engine_children.append((child.pid, child.create_time()))


@step("when", "the running manager is killed with SIGKILL")
def kill_manager(world: PoolWorld) -> None:
    live = live_manager_of(world)
    assert live.proc is not None, "the manager is not running"
    live.engines()  # remember every process below the manager, for the Then-step
    live.proc.kill()
    live.proc.wait(10)


@step("then", "no process of the engines' trees is left after at most {s:d} s")
def then_tree_gone(world: PoolWorld, s: int) -> None:
    live = live_manager_of(world)
    seen = list(live.engines_seen.values())
    assert seen, "no process below the manager was seen"

    def all_gone() -> bool:
        return not any(_alive(p) for p in seen)

    with contextlib.suppress(AssertionError):
        wait_until(all_gone, float(s), "the engines' trees to end")
    left = sorted(p.pid for p in seen if _alive(p))
    assert_equal(left, [], "processes of the engines' trees alive after the manager's SIGKILL")


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


@step("then", 'the live metrics count {n:d} failed preload of "{pool}"')
def then_failed_preloads(world: PoolWorld, n: int, pool: str) -> None:
    text = live_manager_of(world).metrics_text()
    want = {"pool_id": pool, "result": "failure"}
    got = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "preload_outcomes_total" and s.labels == want
    ]
    assert_equal(got, [float(n)], f"failed preloads of {pool}")


@step("then", 'no engine process of the live pool "{pool}" is left running')
def then_no_engine(world: PoolWorld, pool: str) -> None:
    live = live_manager_of(world)
    model_ref = str(live.health(pool)["model_ref"])

    def none_left() -> bool:
        return not any(model_ref in _cmdline(p) for p in live.engines() if _alive(p))

    with contextlib.suppress(AssertionError):
        wait_until(none_left, CHILD_TIMEOUT_S, f"no engine of {pool}")
    running = [p.pid for p in live.engines() if _alive(p) and model_ref in _cmdline(p)]
    assert_equal(running, [], f"engine processes of {pool}")


def _still_runs(pid: int, started: float) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.create_time() == started and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@step("then", "the child process the killed engine had started is gone")
def then_old_child_gone(world: PoolWorld) -> None:
    assert world.engine_children, "no engine child was seen before the kill"
    pid, started = world.engine_children[0]
    with contextlib.suppress(AssertionError):
        wait_until(lambda: not _still_runs(pid, started), CHILD_TIMEOUT_S, "the child to end")
    if _still_runs(pid, started):
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()  # do not leak it
        raise AssertionError(f"the killed engine's child {pid} still runs")
