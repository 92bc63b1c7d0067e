"""poolmgr as process 1 of its own PID namespace, with real stub engines (OC-DEP-8005..8007).

Each test runs ``poolmgr serve`` under ``unshare --pid --fork --mount-proc`` (as a container
runtime runs the image's entry point; :mod:`harness.pid1`) and drives it from outside the
namespace with real signals: stop signals drain it and end it with status 0, an engine
orphaned by a SIGKILLed per-engine reaper is reaped while the pool restarts, and the
manager's own exit classification of a killed engine is unchanged. Every wait is bounded.
The tests of a live manager are skipped, with the reason, where no PID namespace can be made;
the sweep's own tests (registered children left to their owner) run anywhere on Linux.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator

import psutil
import pytest

from harness.pid1 import Pid1Manager, pid_namespace_problem
from harness.waiting import wait_until
from poolmgr.runtime.init import OrphanReaper, OwnChildren

CONFIG = """\
pools:
  - id: solo
    engine: stub
    model: "stub://solo"
    devices: []
    cpu: true
    slots: 2
    drain_deadline_ms: 1000
    backoff: {initial_ms: 1000, max_ms: 2000, jitter: none}
"""
READY_S = 20.0
REAPED_S = 5.0
"""OC-DEP-8006: an orphan is reaped within 5 s of its exit."""
EXIT_S = 20.0


@pytest.fixture
def manager() -> Iterator[Pid1Manager]:
    problem = pid_namespace_problem()
    if problem is not None:
        pytest.skip(f"no PID namespace: {problem}")
    live = Pid1Manager()
    live.start(CONFIG)
    live.wait_health("solo", lambda h: bool(h["ready"]), "ready", READY_S)
    yield live
    live.stop()


def _log_events(live: Pid1Manager, event: str) -> list[dict[str, object]]:
    out = []
    for line in live.stderr().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == event:
                out.append(record)
    return out


def test_the_manager_is_process_1_of_its_namespace(manager: Pid1Manager) -> None:
    assert manager.init().cmdline()[1:4] == ["-m", "poolmgr", "serve"]
    assert len(_log_events(manager, "init_duties")) == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT])
def test_oc_dep_8005_a_stop_signal_drains_and_ends_process_1_with_status_0(
    manager: Pid1Manager, sig: signal.Signals
) -> None:
    inside = manager.namespace()
    assert len(inside) >= 3, f"manager, reaper and engine expected: {inside}"
    manager.signal(sig)
    assert manager.wait_exit(EXIT_S) == 0
    assert [p.pid for p in inside if p.is_running()] == []
    assert len(_log_events(manager, "manager_stopped")) == 1


def test_oc_dep_8006_an_orphaned_engine_is_reaped_while_the_pool_restarts(
    manager: Pid1Manager,
) -> None:
    engine = manager.engine_of("stub://solo")
    reaper = engine.parent()
    assert reaper is not None and "poolmgr.runtime.reaper" in reaper.cmdline()
    reaper.kill()  # the engine dies of its parent-death signal, re-parented to process 1

    def engine_gone() -> bool:
        try:
            return engine.status() != psutil.STATUS_ZOMBIE and not engine.is_running()
        except psutil.NoSuchProcess:
            return True

    wait_until(engine_gone, REAPED_S, "the orphaned engine reaped by process 1")
    health = manager.wait_health(
        "solo", lambda h: bool(h["ready"]) and h["restarts"]["count"] == 1, "restarted", READY_S
    )
    assert health["last_error"]["cause"] == "killed_by_signal"
    assert manager.engine_of("stub://solo").pid != engine.pid
    reaped = _log_events(manager, "orphan_reaped")
    assert [(r["process_name"], r["signal"]) for r in reaped] == [("python", signal.SIGKILL)]
    assert manager.zombies() == []


def test_oc_dep_8007_a_killed_engine_is_still_classified_killed_by_signal(
    manager: Pid1Manager,
) -> None:
    engine = manager.engine_of("stub://solo")
    engine.kill()
    health = manager.wait_health(
        "solo", lambda h: h["last_error"] is not None, "the engine's end seen", READY_S
    )
    assert health["last_error"]["cause"] == "killed_by_signal"
    assert _log_events(manager, "orphan_reaped") == []


# --- the sweep on its own, over real child processes of this test (no namespace needed) ---


def _zombie(code: int) -> subprocess.Popen[bytes]:
    """A child of this process that has exited with ``code`` and was not waited for."""
    child = subprocess.Popen(["/bin/sh", "-c", f"exit {code}"])
    proc = psutil.Process(child.pid)
    wait_until(lambda: proc.status() == psutil.STATUS_ZOMBIE, 10, "the child exited")
    return child


def test_oc_dep_8007_the_sweep_leaves_a_registered_child_s_status_to_its_owner() -> None:
    own = OwnChildren()
    ours, orphan = _zombie(3), _zombie(5)
    own.add(ours.pid)
    reaped = OrphanReaper(own, on_reaped=lambda _: None).sweep()
    ended = {r.pid: (r.exit_code, r.signal) for r in reaped}  # any other test's zombie too
    assert ended.get(orphan.pid) == (5, None)
    assert ours.pid not in ended
    assert ours.wait(10) == 3  # the owner still reads the true exit status


def test_oc_dep_8007_no_sweep_while_a_spawn_is_not_yet_registered() -> None:
    own = OwnChildren()
    child = _zombie(4)
    with own.spawning():
        assert OrphanReaper(own, on_reaped=lambda _: None).sweep() == []
        own.add(child.pid)
    reaped = OrphanReaper(own, on_reaped=lambda _: None).sweep()
    assert child.pid not in [r.pid for r in reaped]
    assert child.wait(10) == 4


def test_oc_dep_8006_a_reused_pid_is_not_taken_for_the_registered_child() -> None:
    own = OwnChildren()
    child = _zombie(6)
    own.add(child.pid)
    started = psutil.Process(child.pid).create_time()
    assert own.owns(child.pid, started)
    assert not own.owns(child.pid, started + 1.0)  # same pid, another process
    assert child.wait(10) == 6
