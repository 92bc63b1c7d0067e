"""The supervisor: the loop that feeds the decision core what it observes and carries out its
actions on real engine processes.

Everything here is I/O; every decision stays in the pure core. The supervisor feeds the
:class:`~poolmgr.core.registry.Registry` (and through it each pool's
:class:`~poolmgr.core.lifecycle.PoolMachine`) with events, ticks it, and carries out the typed
actions (:mod:`poolmgr.core.decisions`) the machines answer with:

* ``Spawn``: a new engine incarnation (:mod:`poolmgr.runtime.incarnation`); the launch checks
  (:mod:`poolmgr.runtime.prepare`: placement, preflight, digest; OC-POOL-3002, OC-POOL-3050,
  OC-POOL-3051), then one engine process in its own process group with the plan's environment
  and flags, below its own reaper (:mod:`poolmgr.runtime.process`; OC-POOL-3020,
  OC-POOL-3015, OC-POOL-3064), then its probes (:mod:`poolmgr.runtime.probes`;
  OC-POOL-3001, OC-POOL-3004, OC-POOL-3016);
* ``StopEngine``: SIGTERM to the process group, the pool's ``stop_grace_ms``, then SIGKILL
  (OC-POOL-3031);
  ``KillEngine``: SIGKILL to the group now; ``WaitForLeases``: watch the pool's leases until
  they reach zero or the drain deadline passes on the registry's clock (OC-POOL-3031);
  ``VoidLeases`` and ``ResizeSlots`` are done by the registry itself. Facts (counted drains,
  restarts, preload outcomes) go from the registry to its listeners, not through here.

What it observes besides the probes: each engine's output lines and its exit
(:mod:`poolmgr.runtime.watch`), dispatched as ``EngineFault`` and ``EngineExited`` (OC-POOL-3003,
OC-POOL-3010, OC-POOL-3012, OC-POOL-3043). A test engine lives in the manager
(:mod:`poolmgr.runtime.inproc`, OC-PERF-9110). Incarnations: only the pool's current incarnation
may dispatch events; an engine the machine has already given up on is killed, waited for before the
next one starts, and then forgotten, so a late exit of an old engine can never fail its successor.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import logging
import os
import random
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from poolmgr.assemble import build_registry
from poolmgr.core.clock import MonotonicClock
from poolmgr.core.config import Config
from poolmgr.core.decisions import Action, KillEngine, PoolState, Spawn, StopEngine, WaitForLeases
from poolmgr.core.errors import InvalidTransition, UnknownPool
from poolmgr.core.events import (
    DrainRequested,
    EngineExited,
    EngineStarted,
    Event,
    PreloadFailed,
    ReloadRequested,
    StartRequested,
)
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Cause, DrainReason
from poolmgr.io.digest import DigestCache
from poolmgr.runtime import inproc
from poolmgr.runtime.drain import watch_leases
from poolmgr.runtime.engines import adapter_for, engine_launch
from poolmgr.runtime.gpu_view import GpuSource, gpu_source_for
from poolmgr.runtime.incarnation import Incarnation, PoolRuntime
from poolmgr.runtime.logscope import Causes
from poolmgr.runtime.output import TAIL_LINES, EngineOutput, OutputLog
from poolmgr.runtime.prepare import LaunchChecks
from poolmgr.runtime.probes import Prober
from poolmgr.runtime.process import (
    Stop,
    base_url,
    kill_after_grace,
    killpg,
    pick_free_port,
    reach_host,
    shown_command,
    spawn_engine,
)
from poolmgr.runtime.startup import Startup
from poolmgr.runtime.watch import ExitWatch

__all__ = ["TAIL_LINES", "ActionListener", "Supervisor", "build_live_registry", "pick_free_port"]

_LOG = logging.getLogger("poolmgr.runtime.supervisor")

_RETIRED_WAIT_S = 10.0
"""How long a new engine waits for its killed predecessor to be gone."""

ActionListener = Callable[[str, Action], None]
"""``on_action(pool_id, action)``: told about every action the supervisor carries out."""

_T = TypeVar("_T")


def build_live_registry(config: Config, rng: random.Random | None = None) -> Registry:
    """The registry a live supervisor needs: every pool, on the real monotonic clock."""
    return build_registry(config, MonotonicClock(), rng if rng is not None else random.Random())


class Supervisor:
    """Runs one engine per pool and keeps the registry told (asyncio; one event loop).

    Every method must be called on the event loop the supervisor was started on.
    """

    def __init__(
        self,
        config: Config,
        registry: Registry,
        *,
        log_dir: Path,
        host: str | None = None,
        advertise_host: str | None = None,
        gpus: GpuSource | None = None,
        on_action: ActionListener | None = None,
        tick_interval_s: float = 0.02,
        digests: DigestCache | None = None,
    ) -> None:
        if tick_interval_s <= 0:
            raise ValueError(f"tick_interval_s must be > 0, got {tick_interval_s}")
        missing = sorted({p.id for p in config.pools} - set(registry.ids()))
        if missing:
            raise ValueError(f"pools {missing} are configured but not in the registry")
        self.config = config
        self.registry = registry
        self.log_dir = Path(log_dir)
        # Where engines listen, where the manager reaches them, what leases name (OC-DEP-8018).
        self.host = host if host is not None else config.manager.engine_host
        self._probe_host = reach_host(self.host)
        self.advertise_host = (
            advertise_host or config.manager.engine_advertise_host or self._probe_host
        )
        self._on_action = on_action
        self._tick_s = tick_interval_s
        digests = digests if digests is not None else DigestCache()
        # The GPUs' truth: NVML, or the simulated GPUs the config asks for (OC-GPU-9502, 9508).
        self.gpus = gpus if gpus is not None else gpu_source_for(config, self.log_dir)
        self._checks = LaunchChecks(config, self.gpus, digests, on_ctx=registry.record_context)
        self._causes = Causes(registry)  # which request each line's work was caused by
        self._prober = Prober(registry, self._dispatch, self.gpus)
        self._exits = ExitWatch(self._dispatch, self._causes.scope)
        self._runtimes: dict[str, PoolRuntime] = {
            pool.id: PoolRuntime(
                pool=pool,
                adapter=adapter_for(pool.engine),
                log=OutputLog(pool.id, self.log_dir / f"{pool.id}.log"),
            )
            for pool in config.pools
        }
        self.startup = Startup(config, registry, lambda p: self._dispatch(p, StartRequested()))
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tick_task: asyncio.Task[None] | None = None
        self._started = False
        self._stopping = False
        self._stopped = False

    # --- public API -----------------------------------------------------------------

    async def start(self) -> None:
        """Open the logs, run the tick loop and begin the startup wave (``StartRequested``)."""
        if self._started:
            raise RuntimeError("the supervisor was already started")
        self._started = True
        self._prober.start(len(self.config.pools))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for runtime in self._runtimes.values():
            runtime.log.open()
        self._tick_task = asyncio.create_task(self._tick_loop(), name="poolmgr-tick")
        self.startup.begin()  # at most start_concurrency at once (OC-PERF-9108)

    async def stop(self, deadline_ms: int = 10_000) -> None:
        """Drain every pool (reason ``shutdown``), then make sure no engine is left.

        Pools get ``deadline_ms`` for their leases and the usual TERM-grace-KILL stop; whatever
        is still running after that (and the grace period) is killed with its process group.
        """
        if not self._started or self._stopped:
            return
        self._stopping = True
        clock = self.registry.clock
        deadline = clock.now_ms() + max(0, deadline_ms)
        for pool_id in self._runtimes:
            self._causes.begin_shutdown(pool_id)
            try:
                decision = self.registry.dispatch(
                    pool_id, DrainRequested(DrainReason.SHUTDOWN, deadline)
                )
            except InvalidTransition as exc:
                # Already draining or reloading: the force-kill below still ends it.
                _LOG.info("pool %s: shutdown drain refused (%s)", pool_id, exc.message)
                continue
            self._execute(pool_id, decision.actions)
        grace_s = max((p.stop_grace_ms for p in self.config.pools), default=0) / 1000
        bound_s = max(0, deadline_ms) / 1000 + grace_s + 1.0
        await self._await_engines(bound_s)
        for incarnation in self._live_incarnations():
            incarnation.stop = Stop.KILL
            self._signal_incarnation(incarnation, Stop.KILL)
        await self._await_engines(_RETIRED_WAIT_S)
        await self._shutdown_tasks()
        self._stopped = True

    async def drain(self, pool_id: str, deadline_ms: int) -> None:
        """Drain ``pool_id`` (reason ``api_request``) with ``deadline_ms`` from now for leases.

        Returns once the drain is accepted; an invalid one raises
        :class:`~poolmgr.core.errors.InvalidTransition` (an unknown pool ``UnknownPool``).
        """
        deadline = self.registry.clock.now_ms() + max(0, deadline_ms)
        with self._causes.request(pool_id):
            drain = DrainRequested(DrainReason.API_REQUEST, deadline)
            self._execute(pool_id, self.registry.dispatch(pool_id, drain).actions)

    async def reload(self, pool_id: str, new_model_ref: str, deadline_ms: int) -> None:
        """Reload ``pool_id`` onto ``new_model_ref``; leases get ``deadline_ms`` from now.

        Returns once accepted; the outcome (done or rolled back, with its cause) shows in the
        registry's snapshot (OC-POOL-3033). A conflicting reload raises ``InvalidTransition``.
        """
        deadline = self.registry.clock.now_ms() + max(0, deadline_ms)
        with self._causes.request(pool_id):
            reload = ReloadRequested(new_model_ref, deadline)
            self._execute(pool_id, self.registry.dispatch(pool_id, reload).actions)

    def _running(self, pool_id: str) -> Incarnation | None:
        incarnation = self._runtime(pool_id).current
        return incarnation if incarnation is not None and incarnation.running else None

    def engine_url(self, pool_id: str) -> str | None:
        """Where clients reach the pool's running engine; ``None`` when none is running."""
        return inc.advertised_url if (inc := self._running(pool_id)) else None

    def engine_pid(self, pool_id: str) -> int | None:
        """PID (and process group) of the pool's running engine; ``None`` when none runs."""
        return inc.pid if (inc := self._running(pool_id)) else None

    def output_tail(self, pool_id: str) -> list[str]:
        """The pool's last engine output lines, oldest first (across restarts, marked)."""
        return list(self._runtime(pool_id).log.tail)

    # --- events in, actions out -----------------------------------------------------

    def _runtime(self, pool_id: str) -> PoolRuntime:
        try:
            return self._runtimes[pool_id]
        except KeyError:
            raise UnknownPool(f"no pool named {pool_id!r}", pool_id=pool_id) from None

    def _dispatch(self, pool_id: str, event: Event) -> None:
        """Feed an observed event to the registry and carry out what the machine answers."""
        with self._causes.scope(pool_id):
            try:
                decision = self.registry.dispatch(pool_id, event)
            except InvalidTransition as exc:
                _LOG.warning("pool %s: %s refused: %s", pool_id, type(event).__name__, exc.message)
                return
            _LOG.debug("pool %s: %r -> %r", pool_id, event, decision)
            self._execute(pool_id, decision.actions)

    def _execute(self, pool_id: str, actions: tuple[Action, ...]) -> None:
        with self._causes.scope(pool_id):
            for action in actions:
                self._notify(pool_id, action)
                match action:
                    case Spawn(model_ref=model_ref):
                        self._spawn(self._runtimes[pool_id], model_ref)
                    case StopEngine():
                        self._stop_engine(self._runtimes[pool_id], Stop.TERM)
                    case KillEngine():
                        self._stop_engine(self._runtimes[pool_id], Stop.KILL)
                    case WaitForLeases(deadline_ms=deadline_ms):
                        self._wait_for_leases(self._runtimes[pool_id], deadline_ms)
                    case _:
                        pass  # VoidLeases, ResizeSlots: the registry has carried them out

    def _notify(self, pool_id: str, action: Action) -> None:
        if self._on_action is None:
            return
        try:
            self._on_action(pool_id, action)
        except Exception:
            _LOG.exception("pool %s: on_action callback failed for %r", pool_id, action)

    async def _tick_loop(self) -> None:
        while True:
            try:
                for pool_id, decision in self.registry.tick().items():
                    self._execute(pool_id, decision.actions)
            except Exception:
                _LOG.exception("registry tick failed")
            await asyncio.sleep(self._tick_s)

    def _task(
        self,
        coro: Coroutine[Any, Any, _T],
        name: str,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[_T]:
        task = asyncio.get_running_loop().create_task(coro, name=name, context=context)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOG.error("task %s failed", task.get_name(), exc_info=task.exception())

    # --- SPAWN ----------------------------------------------------------------------

    def _spawn(self, runtime: PoolRuntime, model_ref: str) -> None:
        if self._stopping:
            _LOG.info("pool %s: not starting an engine during shutdown", runtime.pool.id)
            return
        previous = runtime.current
        if previous is not None and not previous.ended:
            # The machine has given up on this engine; make sure it is gone before the next.
            previous.stop = Stop.KILL
            self._signal_incarnation(previous, Stop.KILL)
            runtime.retired.append(previous)
        runtime.generations += 1
        incarnation = Incarnation(runtime.pool.id, runtime.generations, model_ref)
        runtime.current = incarnation
        self._task(
            self._launch(runtime, incarnation),
            f"poolmgr-launch-{runtime.pool.id}-{incarnation.generation}",
        )

    async def _launch(self, runtime: PoolRuntime, inc: Incarnation) -> None:
        try:
            await self._wait_retired(runtime)
            failure = await self._checks.prepare(runtime.pool, inc)
            if failure is not None:
                self._end_unstarted(runtime, inc, *failure)
                return
            await self._exec(runtime, inc)
        except asyncio.CancelledError:
            if inc.transport is None:
                inc.end()
            raise
        except Exception as exc:
            _LOG.exception("pool %s: launch failed", runtime.pool.id)
            if inc.transport is None:
                self._end_unstarted(runtime, inc, Cause.PRELOAD_FAILED, f"launch failed: {exc!r}")

    async def _wait_retired(self, runtime: PoolRuntime) -> None:
        for old in list(runtime.retired):
            if not old.done.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(old.done.wait(), _RETIRED_WAIT_S)
            if old.done.is_set():
                runtime.retired.remove(old)

    async def _exec(self, runtime: PoolRuntime, inc: Incarnation) -> None:
        pool = dataclasses.replace(runtime.pool, model=inc.model_ref)
        plan = inc.plan
        assert plan is not None
        if inc.stop is not None or runtime.current is not inc:
            self._end_unstarted(runtime, inc, Cause.ENGINE_EXITED, "stopped before it started")
            return
        if pool.engine.is_test:  # in the manager, no process (OC-PERF-9110)
            life = self._causes.engine_life(pool.id)
            await inproc.start(runtime, inc, self._dispatch, self._prober.probe_loop, life)
            return
        port = pool.port or pick_free_port(self.host)
        try:
            launch = engine_launch(pool, plan, host=self.host, port=port)  # as plan shows it
            argv = list(launch.argv)
            env = {**os.environ, **self.gpus.engine_env, **launch.env}
        except (FileNotFoundError, ValueError) as exc:
            self._end_unstarted(runtime, inc, Cause.PRELOAD_FAILED, f"cannot build command: {exc}")
            return
        loop = asyncio.get_running_loop()
        # The engine's own life (output, exit, probes) carries no request's correlation id.
        on_line = functools.partial(self._exits.on_line, runtime, inc)
        output = EngineOutput(loop, self._causes.in_engine_life(pool.id, on_line))
        try:
            spawned = await spawn_engine(output, argv, env)
        except OSError as exc:
            self._end_unstarted(
                runtime, inc, Cause.PRELOAD_FAILED, f"cannot start {argv[0]}: {exc.strerror or exc}"
            )
            return
        inc.transport = spawned.transport
        inc.output = output
        inc.pid = spawned.pid  # the engine's own pid and process group, not its reaper's
        inc.base_url = base_url(self._probe_host, port)
        inc.advertised_url = base_url(self.advertise_host, port)
        marker = (
            f"--- poolmgr: engine #{inc.generation} pid {inc.pid} model {inc.model_ref} "
            f"on {inc.base_url}: {shown_command(argv)}"
        )
        runtime.log.record(marker)
        started = {"event": "engine_started", "pid": inc.pid, "url": inc.base_url}
        _LOG.info("pool %s: engine started: %s", pool.id, marker, extra=started)
        self._task(
            self._exits.watch(runtime, inc),
            f"poolmgr-watch-{pool.id}-{inc.generation}",
            self._causes.engine_life(pool.id),
        )
        if inc.stop is not None or runtime.current is not inc:
            self._signal_incarnation(inc, inc.stop or Stop.KILL)
            return
        self._dispatch(pool.id, EngineStarted(inc.pid))
        inc.probe_task = self._task(
            self._prober.probe_loop(runtime, inc),
            f"poolmgr-probe-{pool.id}-{inc.generation}",
            self._causes.engine_life(pool.id),
        )

    def _end_unstarted(
        self, runtime: PoolRuntime, inc: Incarnation, cause: Cause, msg: str
    ) -> None:
        """An incarnation that never got a process: tell the machine why (if it still cares)."""
        inc.end()
        if runtime.current is not inc:
            return
        pool_id = runtime.pool.id
        runtime.log.record(f"--- poolmgr: engine #{inc.generation} not started: {msg}")
        fields = {"event": "engine_not_started", "cause": cause.value}
        _LOG.warning("pool %s: engine not started: %s: %s", pool_id, cause, msg, extra=fields)
        state = self.registry.machine(pool_id).state
        if inc.stop is None and state in (PoolState.STARTING, PoolState.PRELOADING):
            self._dispatch(pool_id, PreloadFailed(cause, msg))
        if self.registry.machine(pool_id).state is PoolState.DRAINING:
            # A drain (or reload) is waiting for this engine to end: it has.
            self._dispatch(pool_id, EngineExited(cause, msg))

    # --- STOP_ENGINE / KILL_ENGINE ----------------------------------------------------

    def _stop_engine(self, runtime: PoolRuntime, how: Stop) -> None:
        inc = runtime.current
        if inc is None or inc.ended:
            # Nothing runs: tell the machine so, as an exit, so a waiting drain completes.
            pool_id = runtime.pool.id
            asyncio.get_running_loop().call_soon(
                self._dispatch,
                pool_id,
                EngineExited(Cause.ENGINE_EXITED, "no engine was running"),
            )
            return
        if inc.stop is not Stop.KILL:
            inc.stop = how
        if inc.transport is not None:
            self._signal_incarnation(inc, inc.stop)
        # else: the launch sees inc.stop and never starts the process.

    def _signal_incarnation(self, inc: Incarnation, how: Stop) -> None:
        if inproc.stop(inc, how):  # a test engine: ended like an exit
            return
        if how is Stop.KILL:
            killpg(inc.pid, signal.SIGKILL)
            return
        if killpg(inc.pid, signal.SIGTERM):
            grace_s = self._runtimes[inc.pool_id].pool.stop_grace_ms / 1000  # OC-POOL-3031
            self._task(
                kill_after_grace(inc.pid, inc.done, grace_s, inc.pool_id),
                f"poolmgr-stop-{inc.pool_id}-{inc.generation}",
            )

    # --- WAIT_FOR_LEASES ------------------------------------------------------------

    def _wait_for_leases(self, runtime: PoolRuntime, deadline_ms: int | None) -> None:
        if runtime.wait_task is not None:
            runtime.wait_task.cancel()
        runtime.wait_task = self._task(
            watch_leases(self.registry, self._dispatch, runtime.pool.id, deadline_ms, self._tick_s),
            f"poolmgr-drain-{runtime.pool.id}",
        )

    # --- shutdown -------------------------------------------------------------------

    def _live_incarnations(self) -> list[Incarnation]:
        out: list[Incarnation] = []
        for runtime in self._runtimes.values():
            for inc in [runtime.current, *runtime.retired]:
                if inc is not None and not inc.done.is_set():
                    out.append(inc)
        return out

    async def _await_engines(self, bound_s: float) -> None:
        pending = [inc.done.wait() for inc in self._live_incarnations()]
        if not pending:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*pending), bound_s)

    async def _shutdown_tasks(self) -> None:
        tasks = [t for t in self._tasks if not t.done()]
        if self._tick_task is not None:
            tasks.append(self._tick_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for runtime in self._runtimes.values():
            runtime.log.close()
        await self._prober.shutdown()
