"""Health probes: the preload confirmation, the heartbeat and the hung-engine check.

Owns the probe loop of each engine incarnation and turns what the engine answers into the
core's events; the core decides what they mean:

* the interval adapts to the pool's state: ``probe.starting_interval_ms`` while the engine
  starts, ``probe.ready_interval_ms`` once it is Ready;
* while the pool preloads, the first 200 leads to the engine's identity (version, slots) and
  ``PreloadSucceeded`` with the model digest, never Ready before that (OC-POOL-3001,
  OC-POOL-3050); output the engine wrote before it answered is read first, so a CPU fall-back
  line wins over a 200 (OC-POOL-3012); for a GPU pool the GPU view must then show the engine's
  process tree on its mask's GPUs only, else the engine is failed with ``cpu_spillover``
  (:func:`~poolmgr.runtime.gpu_view.engine_on_its_gpus`, OC-GPU-9504);
* afterwards each answer is ``ProbeOk``, the heartbeat (OC-POOL-3004), or ``ProbeFailed``; a
  timeout is flagged so that a hung engine is not Ready (OC-POOL-3016).

Probes run on the event loop through the manager's one HTTP client
(:class:`~poolmgr.runtime.engine_client.EngineClient`, OC-PERF-9104): a hung engine holds only
its own probe's coroutine, never a thread. Each incarnation's probe loop owns that engine's
kept-alive connection; when the loop ends (the engine exited and the watch cancelled it, or
the incarnation is no longer current) the connection is closed (OC-PERF-9105).
"""

from __future__ import annotations

import asyncio

import httpx

from poolmgr.core.decisions import PoolState
from poolmgr.core.events import EngineFault, PreloadFailed, PreloadSucceeded, ProbeFailed, ProbeOk
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Cause
from poolmgr.runtime.engine_client import EngineClient
from poolmgr.runtime.engines import (
    EngineInfo,
    EngineProtocolError,
    EngineUnreachable,
    ProbeResult,
    ProbeTimeout,
)
from poolmgr.runtime.gpu_view import GpuSource, engine_on_its_gpus
from poolmgr.runtime.incarnation import Dispatch, Incarnation, PoolRuntime
from poolmgr.runtime.output import with_tail

__all__ = ["Prober"]

_STARTING = (PoolState.STARTING, PoolState.PRELOADING)
_PROBED = (PoolState.READY, PoolState.UNREADY, PoolState.DRAINING)


class Prober:
    """Probes each pool's current engine and dispatches what it learns (event loop only)."""

    def __init__(self, registry: Registry, dispatch: Dispatch, gpus: GpuSource) -> None:
        self.registry = registry
        self._dispatch = dispatch
        self._gpus = gpus
        self.engines = EngineClient()

    def start(self, pools: int) -> None:
        """Nothing to open per pool: one client serves every engine (OC-PERF-9104)."""
        del pools

    async def shutdown(self) -> None:
        """Close every connection to every engine."""
        await self.engines.aclose()

    async def probe_loop(self, runtime: PoolRuntime, inc: Incarnation) -> None:
        """Probe fast while the engine starts, slowly once Ready; only this incarnation.

        The engine's connections are closed when the loop ends, however it ends."""
        assert inc.base_url is not None
        async with self.engines.engine(inc.base_url) as client:
            await self._probe(runtime, inc, client)

    async def _probe(
        self, runtime: PoolRuntime, inc: Incarnation, client: httpx.AsyncClient
    ) -> None:
        settings = runtime.pool.probe
        timeout_s = settings.timeout_ms / 1000
        machine = self.registry.machine(runtime.pool.id)
        assert inc.base_url is not None
        while not inc.ended and runtime.current is inc:
            result: ProbeResult | None = None
            problem = ""
            timed_out = False
            try:
                result = await runtime.adapter.probe_health(client, inc.base_url, timeout_s)
            except ProbeTimeout as exc:
                problem, timed_out = str(exc), True
            except EngineProtocolError as exc:
                problem = str(exc)
            except Exception as exc:  # the adapter must not take the probe loop down
                problem = f"probe error: {exc!r}"
            if inc.ended or inc.faulted or runtime.current is not inc:
                return
            state = machine.state
            if state in _STARTING:
                if result is not None and result.ok:
                    await self._confirm_preload(runtime, inc, client, timeout_s)
                # Not answering, or 503 "loading": still preloading; an exit or fault ends it.
            elif state in _PROBED:
                if result is not None and result.ok:
                    self._dispatch(runtime.pool.id, ProbeOk())
                else:
                    text = problem if result is None else result.message
                    self._dispatch(runtime.pool.id, ProbeFailed(text, timed_out=timed_out))
            starting = machine.state in _STARTING
            interval = settings.starting_interval_ms if starting else settings.ready_interval_ms
            await asyncio.sleep(interval / 1000)

    async def _confirm_preload(
        self, runtime: PoolRuntime, inc: Incarnation, client: httpx.AsyncClient, timeout_s: float
    ) -> None:
        """The engine answers 200: read who it is, then report the preload as done."""
        pool_id = runtime.pool.id
        assert inc.base_url is not None
        try:
            info: EngineInfo = await runtime.adapter.fetch_info(client, inc.base_url, timeout_s)
        except (ProbeTimeout, EngineUnreachable):
            return  # try again at the next probe; if the engine died, its exit says why
        except EngineProtocolError as exc:
            if inc.ended or runtime.current is not inc:
                return
            self._dispatch(
                pool_id, PreloadFailed(Cause.PRELOAD_FAILED, with_tail(str(exc), inc.tail))
            )
            return
        # Output written before the engine said "ready" is read before it counts as ready:
        # a CPU fall-back line must win over a 200 (OC-POOL-3012).
        await asyncio.sleep(0)
        if inc.ended or inc.faulted or runtime.current is not inc:
            return
        if self.registry.machine(pool_id).state not in _STARTING:
            return
        if not runtime.pool.cpu:  # health 200 is not enough: NVML must agree (OC-GPU-9504)
            spill = await engine_on_its_gpus(self._gpus, runtime.pool, inc.pid or 0)
            if inc.ended or inc.faulted or runtime.current is not inc:
                return
            if self.registry.machine(pool_id).state not in _STARTING:
                return
            if spill is not None:
                self._dispatch(pool_id, EngineFault(Cause.CPU_SPILLOVER, spill))
                return
        slots = info.slots if info.slots else runtime.pool.slots
        self._dispatch(pool_id, PreloadSucceeded(info.engine_version, inc.digest, slots))
