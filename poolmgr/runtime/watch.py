"""Engine output and exit: each line scanned for a fatal sign, the exit awaited and classified.

An engine's output line that names a fatal failure (CUDA/driver error, VRAM OOM, and for GPU
pools a fall-back to the CPU) becomes an ``EngineFault`` (OC-POOL-3010, OC-POOL-3012); its exit,
noticed the moment its reaper reports it (or, failing that, the reaper's exit is heard from a
pidfd on the loop; OC-PERF-9106) and classified as soon as the rest of its output is read,
becomes an ``EngineExited`` with the cause read from the exit status and the tail of its output
(OC-POOL-3003, OC-POOL-3043). Only the pool's current incarnation may report: an engine the
machine has given up on is heard, logged and forgotten. Every line is redacted (by the pool's
output log) before it is kept or scanned (OC-CTL-4007).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from poolmgr.runtime.incarnation import Dispatch, Incarnation, PoolRuntime
from poolmgr.runtime.process import killpg
from poolmgr.runtime.verdicts import exit_event, fault_event

__all__ = ["ExitWatch"]

_LOG = logging.getLogger(__name__)

_EOF_WAIT_S = 0.5
"""After an engine exits, how long to wait for the rest of its output before classifying."""


class ExitWatch:
    """Hears one supervisor's engines: their output lines and their exits."""

    def __init__(
        self,
        dispatch: Dispatch,
        scope: Callable[[str], AbstractContextManager[None]] = lambda _: nullcontext(),
    ) -> None:
        """``scope(pool_id)`` is entered to report a fault or an exit: the pool's log context
        and the request whose operation it is part of (OC-POOL-3074)."""
        self._dispatch = dispatch
        self._scope = scope

    def on_line(self, runtime: PoolRuntime, inc: Incarnation, line: str) -> None:
        line = runtime.log.record(line)  # redacted once, there (OC-CTL-4007)
        inc.tail.append(line)
        if inc.faulted or inc.ended or runtime.current is not inc:
            return
        fault = fault_event(line, inc.tail, gpu_pool=not runtime.pool.cpu)
        if fault is None:
            return
        inc.faulted = True
        with self._scope(runtime.pool.id):
            fields = {"event": "engine_fault", "cause": fault.cause.value, "pid": inc.pid}
            _LOG.warning("pool %s: %s", runtime.pool.id, fault.message, extra=fields)
            self._dispatch(runtime.pool.id, fault)

    async def watch(self, runtime: PoolRuntime, inc: Incarnation) -> None:
        """Await the engine's exit, classify it and report it (only if still current)."""
        assert inc.output is not None and inc.transport is not None
        output = inc.output
        try:
            await output.exited
            # Whatever the engine left behind in its group goes with it.
            killpg(inc.pid, signal.SIGKILL)
            if inc.probe_task is not None:
                inc.probe_task.cancel()
            if not output.eof.done():  # the output before the exit is read first, bounded
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(output.eof), _EOF_WAIT_S)
            output.flush()
            returncode = output.returncode
            if returncode is None:  # no report from the reaper: its own exit mirrors the engine's
                returncode = inc.transport.get_returncode()
            self._report(runtime, inc, returncode)
        finally:
            # Closed once the reaper's exit is heard (right after its report): closing a
            # running child would SIGKILL the reaper before its sweep, and asyncio's poll()
            # there would take the reaper's exit status away from the child watcher.
            transport = inc.transport
            output.reaper_exited.add_done_callback(lambda _: transport.close())

    def _report(self, runtime: PoolRuntime, inc: Incarnation, returncode: int | None) -> None:
        exited = exit_event(returncode, inc.tail, gpu_pool=not runtime.pool.cpu)
        inc.end()
        message = exited.message
        runtime.log.record(f"--- poolmgr: engine #{inc.generation} pid {inc.pid}: {message}")
        with self._scope(runtime.pool.id):
            fields = {"event": "engine_exited", "cause": exited.cause.value, "pid": inc.pid}
            _LOG.info(
                "pool %s: engine pid %s ended: %s", runtime.pool.id, inc.pid, message, extra=fields
            )
            if runtime.current is inc:
                self._dispatch(runtime.pool.id, exited)
