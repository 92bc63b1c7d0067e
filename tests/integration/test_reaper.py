"""The per-engine reaper on its own: what the supervisor relies on (OC-POOL-3064, OC-POOL-3029).

Each test starts a real engine command below a real reaper with
:func:`poolmgr.runtime.process.spawn_engine` and checks what the supervisor reads: the engine's
own pid and process group, its exit status mirrored by the reaper (code or signal), a program
that cannot be started as an :class:`OSError`, and a stopped reaper taking the whole tree with
it. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sys
import time

import psutil
import pytest

from poolmgr.runtime.process import Spawned, spawn_engine

WAIT_S = 15.0


class _Exit(asyncio.SubprocessProtocol):
    def __init__(self) -> None:
        self.exited: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


async def _start(*argv: str) -> tuple[Spawned, _Exit]:
    protocol = _Exit()
    spawned = await spawn_engine(protocol, list(argv), dict(os.environ))
    return spawned, protocol


async def _returncode(spawned: Spawned, protocol: _Exit) -> int | None:
    await asyncio.wait_for(protocol.exited, WAIT_S)
    code = spawned.transport.get_returncode()
    spawned.transport.close()
    return code


@pytest.mark.parametrize(
    ("script", "expected"),
    [("exit 3", 3), ("exit 0", 0), ("kill -SEGV $$", -signal.SIGSEGV), ("kill -9 $$", -9)],
)
def test_oc_pool_3029_the_reaper_ends_with_the_engine_s_own_exit_status(
    script: str, expected: int
) -> None:
    async def scenario() -> int | None:
        spawned, protocol = await _start("/bin/sh", "-c", script)
        return await _returncode(spawned, protocol)

    assert asyncio.run(scenario()) == expected


def test_oc_pool_3064_the_pid_is_the_engine_s_own_leading_its_process_group() -> None:
    async def scenario() -> None:
        spawned, protocol = await _start("/bin/sh", "-c", "sleep 30")
        engine = psutil.Process(spawned.pid)
        reaper = engine.parent()
        assert reaper is not None and reaper.pid == spawned.transport.get_pid()
        assert "poolmgr.runtime.reaper" in reaper.cmdline()
        assert engine.cmdline()[:3] == ["/bin/sh", "-c", "sleep 30"]
        assert os.getpgid(spawned.pid) == spawned.pid != os.getpgid(reaper.pid)
        os.killpg(spawned.pid, signal.SIGTERM)
        assert await _returncode(spawned, protocol) == -signal.SIGTERM

    asyncio.run(scenario())


def test_oc_pool_3064_a_program_that_cannot_start_is_an_os_error() -> None:
    async def scenario() -> None:
        with pytest.raises(OSError) as caught:
            await _start("/nonexistent/engine-binary")
        assert caught.value.errno == errno.ENOENT

    asyncio.run(scenario())


_DAEMONISING = (
    "import os, subprocess, sys, time\n"
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', 'stub-child'],"
    " start_new_session=True)\n"
    "print(c.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def test_oc_pool_3064_a_stopped_reaper_takes_the_engine_and_its_own_session_child_along() -> None:
    """SIGTERM to the reaper is what the manager's death sends it (its parent-death signal)."""

    async def scenario() -> None:
        spawned, protocol = await _start(sys.executable, "-c", _DAEMONISING)
        engine = psutil.Process(spawned.pid)
        deadline = time.monotonic() + WAIT_S
        while not engine.children():
            assert time.monotonic() < deadline, "the engine started no child"
            await asyncio.sleep(0.01)
        tree = [engine, *engine.children()]
        assert os.getsid(tree[1].pid) != os.getsid(engine.pid)
        os.kill(spawned.transport.get_pid(), signal.SIGTERM)
        assert await _returncode(spawned, protocol) == -signal.SIGKILL  # the engine's end
        _, alive = psutil.wait_procs(tree, timeout=5)
        for proc in alive:  # do not leak them when this test fails
            proc.kill()
        assert not alive, f"outlived their reaper: {alive}"

    asyncio.run(scenario())
