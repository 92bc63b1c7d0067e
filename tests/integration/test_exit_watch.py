"""Exit detection without a thread per engine (OC-PERF-9106), its classifications kept.

Real processes: the child watcher of :mod:`poolmgr.runtime.pidfd` on its own (exit codes and
signals, a loop on another thread, the fall-back to a thread where ``pidfd_open`` fails, a
watcher chosen on purpose kept), the reaper's early report of the engine's end
(:func:`poolmgr.runtime.process.spawn_engine`), and a supervisor running twelve engines: no
thread per engine, and kill -9, an exit with code 1 after a last line, and CUDA error text
still classified as before (OC-POOL-3003, OC-POOL-3010, OC-POOL-3043). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import errno
import os
import random
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from poolmgr.config import parse_config
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Cause
from poolmgr.runtime import pidfd
from poolmgr.runtime.pidfd import pidfd_usable, use_pidfd_watcher, use_thread_watcher
from poolmgr.runtime.process import spawn_engine
from poolmgr.runtime.supervisor import Supervisor, build_live_registry

WAIT_S = 30.0
"""Bound on any one wait (twelve engines starting on two busy cores)."""

pytestmark = [
    pytest.mark.skipif(not pidfd_usable(), reason="this kernel has no pidfd_open"),
    pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ watch pidfds by default"),
]


def _default_watcher() -> None:
    """asyncio's default on Python 3.11, which :func:`use_pidfd_watcher` replaces."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.get_event_loop_policy().set_child_watcher(asyncio.ThreadedChildWatcher())


@pytest.fixture(autouse=True)
def default_watcher_first() -> Iterator[None]:
    """Each test starts from asyncio's default watcher (a thread per child) and leaves it so:
    what installs the pidfd watcher is the code under test."""
    _default_watcher()
    yield
    _default_watcher()


def waitpid_threads() -> list[str]:
    """Threads blocked in ``waitpid`` for a child (Python 3.11's ThreadedChildWatcher)."""
    return [t.name for t in threading.enumerate() if "waitpid" in t.name]


async def returncode_of(*argv: str) -> int:
    proc = await asyncio.create_subprocess_exec(*argv)
    return await asyncio.wait_for(proc.wait(), WAIT_S)


# --------------------------------------------------------------------------- the watcher


def test_oc_perf_9106_a_child_s_end_is_heard_from_a_pidfd_with_no_thread_per_child() -> None:
    assert use_pidfd_watcher() is True

    async def scenario() -> tuple[list[str], list[int]]:
        sleepers = [await asyncio.create_subprocess_exec("sleep", "60") for _ in range(5)]
        blocked = waitpid_threads()
        for proc in sleepers:
            proc.kill()
        codes = [await asyncio.wait_for(proc.wait(), WAIT_S) for proc in sleepers]
        assert set(codes) == {-signal.SIGKILL}
        scripts = ("exit 3", "kill -SEGV $$", "kill -TERM $$")
        return blocked, [await returncode_of("sh", "-c", script) for script in scripts]

    blocked, (three, segv, term) = asyncio.run(scenario())
    assert blocked == []
    assert isinstance(asyncio.get_event_loop_policy().get_child_watcher(), pidfd.LoopPidfdWatcher)
    assert (three, segv, term) == (3, -signal.SIGSEGV, -signal.SIGTERM)


def test_oc_perf_9106_a_loop_on_another_thread_hears_its_own_children() -> None:
    assert use_pidfd_watcher() is True
    seen: list[int] = []
    worker = threading.Thread(
        target=lambda: seen.append(asyncio.run(returncode_of("sh", "-c", "exit 7"))),
        name="other-loop",
    )
    worker.start()
    worker.join(WAIT_S)
    assert seen == [7]


def test_oc_perf_9106_a_child_whose_pidfd_cannot_be_opened_is_waited_for_by_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(pid: int, flags: int = 0) -> int:
        raise OSError(errno.ENOSYS, "pidfd_open refused")

    assert use_pidfd_watcher() is True
    monkeypatch.setattr(os, "pidfd_open", refused)

    async def scenario() -> tuple[int, set[str]]:
        # Threads of other tests' children may still be waiting: count only the new one
        # (asyncio numbers its waitpid threads, so a new thread has a new name).
        before = set(waitpid_threads())
        proc = await asyncio.create_subprocess_exec("sleep", "60")
        blocked = set(waitpid_threads()) - before
        proc.kill()
        return await asyncio.wait_for(proc.wait(), WAIT_S), blocked

    code, blocked = asyncio.run(scenario())
    assert code == -signal.SIGKILL
    assert len(blocked) == 1, blocked


def test_a_watcher_chosen_on_purpose_is_kept() -> None:
    use_thread_watcher()
    assert use_pidfd_watcher() is False
    watcher = asyncio.get_event_loop_policy().get_child_watcher()
    assert isinstance(watcher, asyncio.ThreadedChildWatcher)


# --------------------------------------------------------------------------- the reaper's report


class _Ends(asyncio.SubprocessProtocol):
    """Records the reaper's report of the engine's end and the reaper's own exit."""

    def __init__(self) -> None:
        self.reported: list[int] = []
        self.exited = asyncio.get_running_loop().create_future()

    def engine_ended(self, returncode: int) -> None:
        self.reported.append(returncode)

    def process_exited(self) -> None:
        self.exited.set_result(None)


@pytest.mark.parametrize(
    ("script", "expected"), [("exit 1", 1), ("exit 0", 0), ("kill -9 $$", -signal.SIGKILL)]
)
def test_oc_perf_9106_the_reaper_reports_the_engine_s_return_code_before_it_exits(
    script: str, expected: int
) -> None:
    async def scenario() -> tuple[list[int], int | None]:
        ends = _Ends()
        spawned = await spawn_engine(ends, ["/bin/sh", "-c", script], dict(os.environ))
        await asyncio.wait_for(ends.exited, WAIT_S)
        await asyncio.sleep(0)  # a report read in the same turn as the exit is handled
        code = spawned.transport.get_returncode()
        spawned.transport.close()
        return ends.reported, code

    reported, mirrored = asyncio.run(scenario())
    assert reported == [expected]
    assert mirrored == expected


# --------------------------------------------------------------------------- a supervisor

_QUITS = """#!/bin/sh
echo "engine: cannot go on, giving up"
exit 1
"""


def _config(tmp_path: Path, plain: int) -> Any:
    script = tmp_path / "quits.sh"
    script.write_text(_QUITS)
    script.chmod(0o755)
    base = {
        "engine": "stub",
        "devices": [],
        "cpu": True,
        "slots": 2,
        "backoff": {"initial_ms": 60_000, "max_ms": 60_000},  # no restart during the test
        "probe": {"starting_interval_ms": 20, "ready_interval_ms": 500, "timeout_ms": 1000},
    }
    pools: list[dict[str, Any]] = [
        {**base, "id": f"plain{n}", "model": f"stub://plain{n}"} for n in range(plain)
    ]
    pools.append({**base, "id": "cuda", "model": "stub://cuda", "stub": {"cuda_error_after_ms": 0}})
    quits = {"engine": "llamacpp", "engine_bin": str(script), "model": "stub://quits"}
    pools.append({**base, "id": "quits", **quits})
    return parse_config(yaml.safe_dump({"pools": pools}, sort_keys=False), "<test_exit_watch>")


def _other_threads() -> int:
    """Threads that are neither probes nor the loop's executor (goal 3 removes those)."""
    return sum(
        1 for t in threading.enumerate() if not t.name.startswith(("poolmgr-probe", "asyncio_"))
    )


async def _until(what: str, registry: Registry, pool_id: str, test: Any) -> Any:
    deadline = time.monotonic() + WAIT_S
    while not test(snap := registry.snapshot(pool_id)):
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {snap}"
        await asyncio.sleep(0.01)
    return snap


@pytest.mark.usefixtures("no_engine_left_behind")
def test_oc_perf_9106_ten_engines_add_no_thread_and_every_end_is_still_classified(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, plain=10)
    registry = build_live_registry(config, random.Random(7))
    supervisor = Supervisor(config, registry, log_dir=tmp_path / "logs", tick_interval_s=0.01)
    plain = [f"plain{n}" for n in range(10)]

    async def scenario() -> tuple[int, int, list[str], list[Any]]:
        before = _other_threads()
        await supervisor.start()
        try:
            for pool_id in plain:
                await _until(f"{pool_id} Ready", registry, pool_id, lambda s: s.ready)
            running = [supervisor.engine_pid(p) for p in plain]
            assert None not in running and len(set(running)) == 10
            during, blocked = _other_threads(), waitpid_threads()
            pid = supervisor.engine_pid("plain0")
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            ends = [
                await _until(
                    f"{pool_id} ended", registry, pool_id, lambda s: s.last_error is not None
                )
                for pool_id in ("plain0", "quits", "cuda")
            ]
        finally:
            await supervisor.stop(deadline_ms=500)
        return before, during, blocked, ends

    before, during, blocked, (killed, quits, cuda) = asyncio.run(
        asyncio.wait_for(scenario(), 4 * WAIT_S)
    )
    assert blocked == []
    assert during <= before, (before, during)
    assert not killed.ready
    assert killed.last_error.cause is Cause.KILLED_BY_SIGNAL
    assert "killed by SIGKILL" in killed.last_error.message
    assert quits.last_error.cause is Cause.ENGINE_EXITED
    assert "exited with code 1" in quits.last_error.message
    # The line written just before the exit was read before the exit was classified.
    assert "cannot go on, giving up" in quits.last_error.message
    assert cuda.last_error.cause is Cause.DRIVER_ERROR
    assert "illegal memory access" in cuda.last_error.message
