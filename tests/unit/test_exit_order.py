"""ExitWatch classifies an engine's end only after the output written before it (OC-PERF-9106).

The reaper reports the engine's end on its socket, which may be read before the last output
still in the pipe. :class:`poolmgr.runtime.watch.ExitWatch` must read up to the pipe's end
first (bounded), so the last line still reaches the pool's ``last_error`` (OC-POOL-3003). It
closes the reaper's transport only once the reaper's own exit is heard (closing a running
reaper would kill it before its sweep of the engine's tree).
Driven on a real event loop with the real output protocol; the engine's transport is a stand-in
(no process), and the order of arrival is set by the test, turn by turn.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest
import yaml

from poolmgr.config import parse_config
from poolmgr.core.events import EngineExited, Event
from poolmgr.core.vocab import Cause
from poolmgr.runtime.engines import adapter_for
from poolmgr.runtime.incarnation import Incarnation, PoolRuntime
from poolmgr.runtime.output import EngineOutput, OutputLog
from poolmgr.runtime.watch import ExitWatch


class _Transport:
    """Stands in for the reaper's transport: its return code, and whether it was closed."""

    def __init__(self, returncode: int | None) -> None:
        self.returncode = returncode
        self.closed = False

    def get_returncode(self) -> int | None:
        return self.returncode

    def close(self) -> None:
        self.closed = True


def _runtime(tmp_path: Path) -> PoolRuntime:
    pool = {"id": "p", "engine": "stub", "model": "stub://p", "devices": [], "cpu": True}
    doc = {"pools": [pool]}
    config = parse_config(yaml.safe_dump(doc), "<test>").pools[0]
    log = OutputLog("p", tmp_path / "p.log")
    return PoolRuntime(pool=config, adapter=adapter_for(config.engine), log=log)


@pytest.mark.parametrize("reported", [1, None], ids=["reported-by-the-reaper", "reaper-exit-only"])
def test_oc_perf_9106_the_last_line_before_the_exit_is_read_before_it_is_classified(
    tmp_path: Path, reported: int | None
) -> None:
    told: list[tuple[str, Event]] = []
    watch = ExitWatch(lambda pool_id, event: told.append((pool_id, event)))
    runtime = _runtime(tmp_path)
    transport = _Transport(returncode=1)

    async def scenario() -> None:
        inc = Incarnation(pool_id="p", generation=1, model_ref="stub://p")
        output = EngineOutput(
            asyncio.get_running_loop(), functools.partial(watch.on_line, runtime, inc)
        )
        inc.output, inc.transport, runtime.current = output, transport, inc  # type: ignore[assignment]
        task = asyncio.create_task(watch.watch(runtime, inc))
        output.pipe_data_received(1, b"loading\n")
        if reported is None:
            output.process_exited()
        else:
            output.engine_ended(reported)
        for _ in range(5):  # the watch has every chance to classify too early
            await asyncio.sleep(0)
        assert told == [], "classified before the output's end"
        output.pipe_data_received(1, b"fatal: last words")  # no newline: flushed at the end
        output.pipe_connection_lost(1, None)
        await asyncio.wait_for(task, 5.0)
        assert inc.ended
        # The reaper's transport is closed only once the reaper's own exit is heard.
        await asyncio.sleep(0)
        assert transport.closed is (reported is None)
        output.process_exited()
        await asyncio.sleep(0)
        assert transport.closed

    asyncio.run(scenario())
    assert len(told) == 1
    pool_id, event = told[0]
    assert pool_id == "p" and isinstance(event, EngineExited)
    assert event.cause is Cause.ENGINE_EXITED
    assert "exited with code 1" in event.message
    assert "fatal: last words" in event.message
