"""The supervisor: the imperative shell that runs real engine processes for the decision core.

Everything here is I/O; every decision stays in the pure core. The supervisor feeds the
:class:`~poolmgr.core.registry.Registry` (and through it each pool's
:class:`~poolmgr.core.lifecycle.PoolMachine`) with what it observes, and carries out the typed
actions (:mod:`poolmgr.core.decisions`) the machines answer with:

* ``Spawn``: plan the launch (:func:`poolmgr.assemble.plan_pool`), run preflight when the model's
  shape is known (a plan that does not fit fails the preload with ``vram_insufficient`` or
  ``host_ram_insufficient`` and no process is started, OC-POOL-3002), hash a local model file
  (:class:`~poolmgr.io.digest.DigestCache`, OC-POOL-3050) and check a pinned digest
  (``digest_mismatch``, OC-POOL-3051), then start one engine process per pool in its own
  process group with the plan's environment and flags (OC-POOL-3020) and a parent-death
  signal, so no engine outlives the manager (OC-POOL-3015);
* ``StopEngine``: SIGTERM to the process group, a grace period, then SIGKILL (OC-POOL-3031);
  ``KillEngine``: SIGKILL to the group now; ``WaitForLeases``: wait for the pool's leases
  to reach zero or for the drain deadline on the registry's clock (OC-POOL-3031);
  ``VoidLeases`` and ``ResizeSlots`` are done by the registry itself. Facts (counted drains,
  restarts, preload outcomes) go from the registry to its listeners, not through here.

What it observes, and the events it dispatches:

* the engine's exit, noticed the moment the child ends (the subprocess protocol's
  ``process_exited`` callback, never polling), classified from its exit status and the tail
  of its output: ``EngineExited`` (OC-POOL-3003, OC-POOL-3043 through the machine);
* each line of the engine's stdout and stderr, kept in a bounded tail and appended to
  ``log_dir/<pool_id>.log``; a fatal line (CUDA/driver error, VRAM OOM, and for GPU pools a
  fall-back to the CPU) is an ``EngineFault`` (OC-POOL-3010, OC-POOL-3012);
* health probes, fast while the engine starts (``probe.starting_interval_ms``) and slow once
  Ready (``probe.ready_interval_ms``): the first 200 while preloading leads to the engine's
  identity and ``PreloadSucceeded`` (never Ready before that, OC-POOL-3001); afterwards each
  answer is ``ProbeOk`` (the heartbeat, OC-POOL-3004) or ``ProbeFailed`` (a timeout makes a
  hung engine not Ready, OC-POOL-3016).

Incarnations: every ``SPAWN`` creates a new engine incarnation. Only the pool's current
incarnation may dispatch events; an engine the machine has already given up on (it moved on
and spawned again) is killed, waited for before the next one starts, and then forgotten, so a
late exit of an old engine can never fail its successor.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import dataclasses
import functools
import logging
import os
import random
import signal
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, TypeVar

import psutil
import requests

from poolmgr.assemble import build_registry, plan_pool
from poolmgr.config import Config, PoolConfig
from poolmgr.core.clock import MonotonicClock
from poolmgr.core.decisions import Action, KillEngine, Spawn, StopEngine, WaitForLeases
from poolmgr.core.errors import InvalidTransition, UnknownPool
from poolmgr.core.inventory import GpuInventory, InventorySource
from poolmgr.core.lifecycle import (
    DeadlinePassed,
    DrainRequested,
    EngineExited,
    EngineFault,
    EngineStarted,
    Event,
    LeasesDrained,
    PoolState,
    PreloadFailed,
    PreloadSucceeded,
    ProbeFailed,
    ProbeOk,
    ReloadRequested,
    StartRequested,
)
from poolmgr.core.placement import LaunchPlan
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Cause, DrainReason
from poolmgr.io.digest import DigestCache, verify
from poolmgr.io.nvml import inventory_from_nvml
from poolmgr.runtime.classify import classify_exit, scan_line
from poolmgr.runtime.engines import (
    EngineAdapter,
    EngineInfo,
    EngineProtocolError,
    EngineUnreachable,
    ProbeResult,
    ProbeTimeout,
    adapter_for,
)
from poolmgr.telemetry.logs import default_redactor

__all__ = [
    "DEFAULT_STOP_GRACE_S",
    "TAIL_LINES",
    "ActionListener",
    "Supervisor",
    "build_live_registry",
    "pick_free_port",
]

_LOG = logging.getLogger("poolmgr.runtime.supervisor")

TAIL_LINES = 200
"""Lines of engine output kept in memory per pool (and per engine incarnation)."""
DEFAULT_STOP_GRACE_S = 5.0
"""Time between SIGTERM and SIGKILL when an engine is stopped gracefully."""
_MAX_LINE_BYTES = 16 * 1024
"""A longer run of output without a newline is cut into lines of this size."""
_EOF_WAIT_S = 0.5
"""After an engine exits, how long to wait for the rest of its output before classifying."""
_RETIRED_WAIT_S = 10.0
"""How long a new engine waits for its killed predecessor to be gone."""
_TAIL_IN_MESSAGE = 5
"""Output lines appended to a fault's message (last_error, OC-POOL-3003)."""
_MESSAGE_LINE_CHARS = 240
_PREFLIGHT_CAUSES = frozenset({Cause.VRAM_INSUFFICIENT, Cause.HOST_RAM_INSUFFICIENT})

ActionListener = Callable[[str, Action], None]
"""``on_action(pool_id, action)``: told about every action the supervisor carries out."""

_T = TypeVar("_T")

# --------------------------------------------------------------------------- process helpers

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _load_libc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


# Loaded once, before any fork: the child must not load libraries between fork and exec.
_LIBC = _load_libc()


def _child_setup(parent_pid: int) -> Callable[[], None]:
    """``preexec_fn`` for an engine: die with SIGKILL when the manager dies (OC-POOL-3015).

    Linux delivers the parent-death signal when the thread that forked the child ends, which
    for the supervisor is its event-loop thread. If the manager died between ``fork`` and
    ``prctl`` the child is already orphaned, so it checks its parent afterwards and ends
    itself. Elsewhere the process-group cleanup in :meth:`Supervisor.stop` is what remains.
    """

    def setup() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return setup


def pick_free_port(host: str = "127.0.0.1") -> int:
    """A port that is free on ``host`` right now (the kernel picks it by binding port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _killpg(pgid: int | None, sig: signal.Signals) -> bool:
    """Signal a whole process group; False when nothing was there to signal."""
    if pgid is None:
        return False
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


_SECRET_FLAG_WORDS = ("key", "token", "secret", "password")


def _redacted(argv: list[str]) -> list[str]:
    """``argv`` with the values of secret-looking flags (``--api-key X``) hidden (OC-CTL-4007)."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        name, eq, _value = arg.partition("=")
        secret = arg.startswith("-") and any(w in name.lower() for w in _SECRET_FLAG_WORDS)
        if secret and eq:
            out.append(f"{name}=***")
        else:
            out.append(arg)
            hide_next = secret
    return out


def _shorten(line: str) -> str:
    text = line.strip()
    if len(text) <= _MESSAGE_LINE_CHARS:
        return text
    return text[: _MESSAGE_LINE_CHARS - 3] + "..."


def _with_tail(message: str, tail: deque[str]) -> str:
    """``message`` followed by the engine's last few output lines (OC-POOL-3003)."""
    lines = [_shorten(line) for line in tail if line.strip()][-_TAIL_IN_MESSAGE:]
    if not lines:
        return message
    return message + " | last output: " + " | ".join(lines)


def build_live_registry(config: Config, rng: random.Random | None = None) -> Registry:
    """The registry a live supervisor needs: every pool, on the real monotonic clock."""
    return build_registry(config, MonotonicClock(), rng if rng is not None else random.Random())


# --------------------------------------------------------------------------- engine output


class _EngineOutput(asyncio.SubprocessProtocol):
    """Receives one engine's merged stdout/stderr, line by line, and notices its exit.

    ``process_exited`` fires when the child itself ends, whoever still holds its pipe (on
    Python 3.11 ``Process.wait()`` would also wait for every pipe to close, so a grandchild
    keeping the pipe open would hide the exit).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, on_line: Callable[[str], None]) -> None:
        self._on_line = on_line
        self._partial = bytearray()
        self.exited: asyncio.Future[None] = loop.create_future()
        self.eof: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        self._partial += data.encode() if isinstance(data, str) else data
        while True:
            end = self._partial.find(b"\n")
            if end < 0:
                break
            raw = bytes(self._partial[:end])
            del self._partial[: end + 1]
            self._emit(raw)
        while len(self._partial) > _MAX_LINE_BYTES:
            raw = bytes(self._partial[:_MAX_LINE_BYTES])
            del self._partial[:_MAX_LINE_BYTES]
            self._emit(raw)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.flush()
        if not self.eof.done():
            self.eof.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def flush(self) -> None:
        if self._partial:
            raw = bytes(self._partial)
            self._partial.clear()
            self._emit(raw)

    def _emit(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        try:
            self._on_line(line)
        except Exception:  # a bug in line handling must not kill the output pipe
            _LOG.exception("engine output handler failed")


# --------------------------------------------------------------------------- runtime state


class _Stop(StrEnum):
    TERM = "term"  # graceful: SIGTERM, grace, SIGKILL
    KILL = "kill"  # SIGKILL now


@dataclass(eq=False)
class _Incarnation:
    """One engine process of one pool, from SPAWN to its end (mutable, loop-thread only)."""

    pool_id: str
    generation: int
    model_ref: str
    done: asyncio.Event = field(default_factory=asyncio.Event)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    stop: _Stop | None = None
    transport: asyncio.SubprocessTransport | None = None
    output: _EngineOutput | None = None
    pid: int | None = None
    base_url: str | None = None
    digest: str | None = None
    plan: LaunchPlan | None = None
    faulted: bool = False
    ended: bool = False
    probe_task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.transport is not None and not self.ended


@dataclass(eq=False)
class _PoolRuntime:
    """The supervisor's per-pool I/O state."""

    pool: PoolConfig
    adapter: EngineAdapter
    session: requests.Session
    log_path: Path
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    log: IO[str] | None = None
    current: _Incarnation | None = None
    retired: list[_Incarnation] = field(default_factory=list)
    generations: int = 0
    wait_task: asyncio.Task[None] | None = None


# --------------------------------------------------------------------------- the supervisor


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
        host: str = "127.0.0.1",
        inventory: GpuInventory | None = None,
        on_action: ActionListener | None = None,
        tick_interval_s: float = 0.02,
        stop_grace_s: float = DEFAULT_STOP_GRACE_S,
        digests: DigestCache | None = None,
    ) -> None:
        if tick_interval_s <= 0:
            raise ValueError(f"tick_interval_s must be > 0, got {tick_interval_s}")
        if stop_grace_s < 0:
            raise ValueError(f"stop_grace_s must be >= 0, got {stop_grace_s}")
        missing = sorted({p.id for p in config.pools} - set(registry.ids()))
        if missing:
            raise ValueError(f"pools {missing} are configured but not in the registry")
        self.config = config
        self.registry = registry
        self.log_dir = Path(log_dir)
        self.host = host
        self._inventory = inventory
        self._on_action = on_action
        self._tick_s = tick_interval_s
        self._grace_s = stop_grace_s
        self._digests = digests if digests is not None else DigestCache()
        self._runtimes: dict[str, _PoolRuntime] = {
            pool.id: _PoolRuntime(
                pool=pool,
                adapter=adapter_for(pool.engine),
                session=requests.Session(),
                log_path=self.log_dir / f"{pool.id}.log",
            )
            for pool in config.pools
        }
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._started = False
        self._stopping = False
        self._stopped = False

    # --- public API -----------------------------------------------------------------

    async def start(self) -> None:
        """Open the logs, start every pool (``StartRequested``) and run the tick loop."""
        if self._started:
            raise RuntimeError("the supervisor was already started")
        self._started = True
        self._loop = asyncio.get_running_loop()
        # Probes block a thread for up to their timeout; a hung engine must not starve others.
        workers = min(64, max(4, 2 * len(self.config.pools)))
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="poolmgr-probe"
        )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for runtime in self._runtimes.values():
            runtime.log = runtime.log_path.open("a", encoding="utf-8", buffering=1)
        self._tick_task = asyncio.create_task(self._tick_loop(), name="poolmgr-tick")
        for pool in self.config.pools:
            self._dispatch(pool.id, StartRequested())

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
            try:
                decision = self.registry.dispatch(
                    pool_id, DrainRequested(DrainReason.SHUTDOWN, deadline)
                )
            except InvalidTransition as exc:
                # Already draining or reloading: the force-kill below still ends it.
                _LOG.info("pool %s: shutdown drain refused (%s)", pool_id, exc.message)
                continue
            self._execute(pool_id, decision.actions)
        bound_s = max(0, deadline_ms) / 1000 + self._grace_s + 1.0
        await self._await_engines(bound_s)
        for incarnation in self._live_incarnations():
            incarnation.stop = _Stop.KILL
            _killpg(incarnation.pid, signal.SIGKILL)
        await self._await_engines(_RETIRED_WAIT_S)
        await self._shutdown_tasks()
        self._stopped = True

    async def drain(self, pool_id: str, deadline_ms: int) -> None:
        """Drain ``pool_id`` (reason ``api_request``) with ``deadline_ms`` from now for leases.

        Returns once the drain is accepted; an invalid one raises
        :class:`~poolmgr.core.errors.InvalidTransition` (an unknown pool ``UnknownPool``).
        """
        deadline = self.registry.clock.now_ms() + max(0, deadline_ms)
        decision = self.registry.dispatch(
            pool_id, DrainRequested(DrainReason.API_REQUEST, deadline)
        )
        self._execute(pool_id, decision.actions)

    async def reload(self, pool_id: str, new_model_ref: str, deadline_ms: int) -> None:
        """Reload ``pool_id`` onto ``new_model_ref``; leases get ``deadline_ms`` from now.

        Returns once accepted; the outcome (done or rolled back, with its cause) shows in the
        registry's snapshot (OC-POOL-3033). A conflicting reload raises ``InvalidTransition``.
        """
        deadline = self.registry.clock.now_ms() + max(0, deadline_ms)
        decision = self.registry.dispatch(pool_id, ReloadRequested(new_model_ref, deadline))
        self._execute(pool_id, decision.actions)

    def engine_url(self, pool_id: str) -> str | None:
        """Base URL of the pool's running engine; ``None`` when none is running."""
        incarnation = self._runtime(pool_id).current
        if incarnation is None or not incarnation.running:
            return None
        return incarnation.base_url

    def engine_pid(self, pool_id: str) -> int | None:
        """PID (and process group) of the pool's running engine; ``None`` when none runs."""
        incarnation = self._runtime(pool_id).current
        if incarnation is None or not incarnation.running:
            return None
        return incarnation.pid

    def output_tail(self, pool_id: str) -> list[str]:
        """The pool's last engine output lines, oldest first (across restarts, marked)."""
        return list(self._runtime(pool_id).tail)

    # --- events in, actions out -----------------------------------------------------

    def _runtime(self, pool_id: str) -> _PoolRuntime:
        try:
            return self._runtimes[pool_id]
        except KeyError:
            raise UnknownPool(f"no pool named {pool_id!r}", pool_id=pool_id) from None

    def _dispatch(self, pool_id: str, event: Event) -> None:
        """Feed an observed event to the registry and carry out what the machine answers."""
        try:
            decision = self.registry.dispatch(pool_id, event)
        except InvalidTransition as exc:
            _LOG.warning("pool %s: %s refused: %s", pool_id, type(event).__name__, exc.message)
            return
        _LOG.debug("pool %s: %r -> %r", pool_id, event, decision)
        self._execute(pool_id, decision.actions)

    def _execute(self, pool_id: str, actions: tuple[Action, ...]) -> None:
        for action in actions:
            self._notify(pool_id, action)
            match action:
                case Spawn(model_ref=model_ref):
                    self._spawn(self._runtimes[pool_id], model_ref)
                case StopEngine():
                    self._stop_engine(self._runtimes[pool_id], _Stop.TERM)
                case KillEngine():
                    self._stop_engine(self._runtimes[pool_id], _Stop.KILL)
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

    def _task(self, coro: Coroutine[Any, Any, _T], name: str) -> asyncio.Task[_T]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOG.error("task %s failed", task.get_name(), exc_info=task.exception())

    async def _in_thread(self, fn: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    # --- SPAWN ----------------------------------------------------------------------

    def _spawn(self, runtime: _PoolRuntime, model_ref: str) -> None:
        if self._stopping:
            _LOG.info("pool %s: not starting an engine during shutdown", runtime.pool.id)
            return
        previous = runtime.current
        if previous is not None and not previous.ended:
            # The machine has given up on this engine; make sure it is gone before the next.
            previous.stop = _Stop.KILL
            _killpg(previous.pid, signal.SIGKILL)
            runtime.retired.append(previous)
        runtime.generations += 1
        incarnation = _Incarnation(runtime.pool.id, runtime.generations, model_ref)
        runtime.current = incarnation
        self._task(
            self._launch(runtime, incarnation),
            f"poolmgr-launch-{runtime.pool.id}-{incarnation.generation}",
        )

    async def _launch(self, runtime: _PoolRuntime, inc: _Incarnation) -> None:
        try:
            await self._wait_retired(runtime)
            failure = await self._prepare(runtime, inc)
            if failure is not None:
                self._end_unstarted(runtime, inc, *failure)
                return
            await self._exec(runtime, inc)
        except asyncio.CancelledError:
            if inc.transport is None:
                inc.ended = True
                inc.done.set()
            raise
        except Exception as exc:
            _LOG.exception("pool %s: launch failed", runtime.pool.id)
            if inc.transport is None:
                self._end_unstarted(runtime, inc, Cause.PRELOAD_FAILED, f"launch failed: {exc!r}")

    async def _wait_retired(self, runtime: _PoolRuntime) -> None:
        for old in list(runtime.retired):
            if not old.done.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(old.done.wait(), _RETIRED_WAIT_S)
            if old.done.is_set():
                runtime.retired.remove(old)

    async def _prepare(self, runtime: _PoolRuntime, inc: _Incarnation) -> tuple[Cause, str] | None:
        """Placement, preflight and digest; the reason not to start, or ``None``."""
        pool = dataclasses.replace(runtime.pool, model=inc.model_ref)
        inventory = await self._current_inventory(pool)
        host_free = int(psutil.virtual_memory().available)
        planned = await asyncio.to_thread(plan_pool, pool, inventory, host_free)
        refused = planned.problem_cause
        if refused is Cause.MODEL_LOAD_FAILED:
            return refused, f"model load refused before launch: {planned.problem}"
        if refused is not None and planned.plan is None:
            return refused, f"cannot plan the launch of pool {pool.id}: {planned.problem}"
        verdict = planned.verdict
        if verdict is not None and not verdict.fits:
            short = verdict.cause
            return (short if short in _PREFLIGHT_CAUSES else Cause.PRELOAD_FAILED), verdict.message
        if refused is not None:
            # The model's shape is known but preflight refused the plan (no usable GPU path).
            return refused, planned.problem or "preflight refused the plan"
        if not pool.cpu and inventory is None:
            return (
                Cause.PLACEMENT_INVALID,
                f"GPU pool {pool.id} needs GPUs {list(pool.devices)} but this host has no GPU "
                "inventory (no NVML and none in the config); refusing to run it on the CPU",
            )
        problem = await self._check_digest(pool, inc)
        if problem is not None:
            return problem
        inc.plan = planned.plan
        return None

    async def _current_inventory(self, pool: PoolConfig) -> GpuInventory | None:
        """The GPUs to place ``pool`` on: static as given, NVML read afresh at each launch."""
        given = self._inventory if self._inventory is not None else self.config.gpu_inventory()
        if pool.cpu or (given is not None and given.source is InventorySource.STATIC):
            return given
        fresh = await asyncio.to_thread(inventory_from_nvml)
        return fresh if fresh is not None else given

    async def _check_digest(self, pool: PoolConfig, inc: _Incarnation) -> tuple[Cause, str] | None:
        pinned = pool.model_digest if inc.model_ref == self._runtimes[pool.id].pool.model else None
        if os.path.isfile(inc.model_ref):
            try:
                inc.digest = await asyncio.to_thread(self._digests.digest, inc.model_ref)
            except OSError as exc:
                return Cause.MODEL_LOAD_FAILED, f"cannot read model {inc.model_ref}: {exc}"
        if pinned is None:
            return None
        if inc.digest is None:
            return (
                Cause.DIGEST_MISMATCH,
                f"model {inc.model_ref} is pinned to {pinned} but is not a local file whose "
                "digest can be checked",
            )
        if not verify(pinned, inc.digest):
            return (
                Cause.DIGEST_MISMATCH,
                f"model {inc.model_ref} has digest {inc.digest}, the config pins {pinned}",
            )
        return None

    async def _exec(self, runtime: _PoolRuntime, inc: _Incarnation) -> None:
        pool = dataclasses.replace(runtime.pool, model=inc.model_ref)
        plan = inc.plan
        assert plan is not None
        if inc.stop is not None or runtime.current is not inc:
            self._end_unstarted(runtime, inc, Cause.ENGINE_EXITED, "stopped before it started")
            return
        port = pool.port or pick_free_port(self.host)
        try:
            argv = runtime.adapter.command(
                pool, plan, host=self.host, port=port, model_path=inc.model_ref
            )
            env = {**os.environ, **runtime.adapter.env(plan, pool=pool)}
        except (FileNotFoundError, ValueError) as exc:
            self._end_unstarted(runtime, inc, Cause.PRELOAD_FAILED, f"cannot build command: {exc}")
            return
        loop = asyncio.get_running_loop()
        output = _EngineOutput(loop, functools.partial(self._on_line, runtime, inc))
        try:
            transport, _ = await loop.subprocess_exec(
                lambda: output,
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: stop and kill reach it all
                preexec_fn=_child_setup(os.getpid()),
            )
        except OSError as exc:
            self._end_unstarted(
                runtime, inc, Cause.PRELOAD_FAILED, f"cannot start {argv[0]}: {exc.strerror or exc}"
            )
            return
        inc.transport = transport
        inc.output = output
        inc.pid = transport.get_pid()
        inc.base_url = _base_url(self.host, port)
        marker = (
            f"--- poolmgr: engine #{inc.generation} pid {inc.pid} model {inc.model_ref} "
            f"on {inc.base_url}: {' '.join(_redacted(argv))}"
        )
        self._record(runtime, marker)
        _LOG.info("pool %s: engine started, pid %s, %s", pool.id, inc.pid, inc.base_url)
        self._task(self._watch(runtime, inc), f"poolmgr-watch-{pool.id}-{inc.generation}")
        if inc.stop is not None or runtime.current is not inc:
            self._signal_incarnation(inc, inc.stop or _Stop.KILL)
            return
        self._dispatch(pool.id, EngineStarted(inc.pid))
        inc.probe_task = self._task(
            self._probe_loop(runtime, inc), f"poolmgr-probe-{pool.id}-{inc.generation}"
        )

    def _end_unstarted(
        self, runtime: _PoolRuntime, inc: _Incarnation, cause: Cause, msg: str
    ) -> None:
        """An incarnation that never got a process: tell the machine why (if it still cares)."""
        inc.ended = True
        inc.done.set()
        if runtime.current is not inc:
            return
        pool_id = runtime.pool.id
        self._record(runtime, f"--- poolmgr: engine #{inc.generation} not started: {msg}")
        _LOG.warning("pool %s: engine not started: %s: %s", pool_id, cause, msg)
        state = self.registry.machine(pool_id).state
        if inc.stop is None and state in (PoolState.STARTING, PoolState.PRELOADING):
            self._dispatch(pool_id, PreloadFailed(cause, msg))
        if self.registry.machine(pool_id).state is PoolState.DRAINING:
            # A drain (or reload) is waiting for this engine to end: it has.
            self._dispatch(pool_id, EngineExited(None, cause, msg))

    # --- output and exit ------------------------------------------------------------

    def _record(self, runtime: _PoolRuntime, line: str) -> None:
        line = default_redactor().redact(line)  # engine output may echo secrets (OC-CTL-4007)
        runtime.tail.append(line)
        if runtime.log is not None:
            try:
                runtime.log.write(line + "\n")
            except (OSError, ValueError):
                _LOG.warning("pool %s: cannot write %s", runtime.pool.id, runtime.log_path)
                runtime.log = None

    def _on_line(self, runtime: _PoolRuntime, inc: _Incarnation, line: str) -> None:
        line = default_redactor().redact(line)
        inc.tail.append(line)
        self._record(runtime, line)
        if inc.faulted or inc.ended or runtime.current is not inc:
            return
        cause = scan_line(line, gpu_pool=not runtime.pool.cpu)
        if cause is None:
            return
        inc.faulted = True
        message = _with_tail(f"engine reported {cause}: {_shorten(line)}", inc.tail)
        _LOG.warning("pool %s: %s", runtime.pool.id, message)
        self._dispatch(runtime.pool.id, EngineFault(cause, message))

    async def _watch(self, runtime: _PoolRuntime, inc: _Incarnation) -> None:
        """Await the engine's exit, classify it and report it (only if still current)."""
        assert inc.output is not None and inc.transport is not None
        await inc.output.exited
        returncode = inc.transport.get_returncode()
        # Whatever the engine left behind in its group goes with it.
        _killpg(inc.pid, signal.SIGKILL)
        if inc.probe_task is not None:
            inc.probe_task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(inc.output.eof), _EOF_WAIT_S)
        inc.output.flush()
        inc.transport.close()
        exit_code = returncode if returncode is None or returncode >= 0 else None
        signal_number = -returncode if returncode is not None and returncode < 0 else None
        cause, message = classify_exit(
            returncode, signal_number, list(inc.tail), gpu_pool=not runtime.pool.cpu
        )
        inc.ended = True
        inc.done.set()
        self._record(runtime, f"--- poolmgr: engine #{inc.generation} pid {inc.pid}: {message}")
        _LOG.info("pool %s: engine pid %s ended: %s", runtime.pool.id, inc.pid, message)
        if runtime.current is inc:
            self._dispatch(runtime.pool.id, EngineExited(exit_code, cause, message))

    # --- STOP_ENGINE / KILL_ENGINE ----------------------------------------------------

    def _stop_engine(self, runtime: _PoolRuntime, how: _Stop) -> None:
        inc = runtime.current
        if inc is None or inc.ended:
            # Nothing runs: tell the machine so, as an exit, so a waiting drain completes.
            pool_id = runtime.pool.id
            asyncio.get_running_loop().call_soon(
                self._dispatch,
                pool_id,
                EngineExited(None, Cause.ENGINE_EXITED, "no engine was running"),
            )
            return
        if inc.stop is not _Stop.KILL:
            inc.stop = how
        if inc.transport is not None:
            self._signal_incarnation(inc, inc.stop)
        # else: the launch sees inc.stop and never starts the process.

    def _signal_incarnation(self, inc: _Incarnation, how: _Stop) -> None:
        if how is _Stop.KILL:
            _killpg(inc.pid, signal.SIGKILL)
            return
        if _killpg(inc.pid, signal.SIGTERM):
            self._task(self._escalate(inc), f"poolmgr-stop-{inc.pool_id}-{inc.generation}")

    async def _escalate(self, inc: _Incarnation) -> None:
        """SIGKILL the group when the grace period passes before the engine is gone."""
        try:
            await asyncio.wait_for(inc.done.wait(), self._grace_s)
        except TimeoutError:
            _LOG.warning(
                "pool %s: engine ignored SIGTERM for %.1f s: SIGKILL", inc.pool_id, self._grace_s
            )
            _killpg(inc.pid, signal.SIGKILL)

    # --- WAIT_FOR_LEASES ------------------------------------------------------------

    def _wait_for_leases(self, runtime: _PoolRuntime, deadline_ms: int | None) -> None:
        if runtime.wait_task is not None:
            runtime.wait_task.cancel()
        runtime.wait_task = self._task(
            self._watch_leases(runtime.pool.id, deadline_ms), f"poolmgr-drain-{runtime.pool.id}"
        )

    async def _watch_leases(self, pool_id: str, deadline_ms: int | None) -> None:
        clock = self.registry.clock
        while self.registry.machine(pool_id).state is PoolState.DRAINING:
            if self.registry.active_leases(pool_id) == 0:
                self._dispatch(pool_id, LeasesDrained())
                return
            now = clock.now_ms()
            if deadline_ms is not None and now >= deadline_ms:
                self._dispatch(pool_id, DeadlinePassed())
                return
            pause = self._tick_s
            if deadline_ms is not None:
                pause = min(pause, max(0.001, (deadline_ms - now) / 1000))
            await asyncio.sleep(pause)

    # --- probing --------------------------------------------------------------------

    async def _probe_loop(self, runtime: _PoolRuntime, inc: _Incarnation) -> None:
        """Probe fast while the engine starts, slowly once Ready; only this incarnation."""
        settings = runtime.pool.probe
        timeout_s = settings.timeout_ms / 1000
        machine = self.registry.machine(runtime.pool.id)
        assert inc.base_url is not None
        while not inc.ended and runtime.current is inc:
            result: ProbeResult | None = None
            problem = ""
            timed_out = False
            try:
                result = await self._in_thread(
                    runtime.adapter.probe_health, runtime.session, inc.base_url, timeout_s
                )
            except ProbeTimeout as exc:
                problem, timed_out = str(exc), True
            except EngineProtocolError as exc:
                problem = str(exc)
            except Exception as exc:  # the adapter must not take the probe loop down
                problem = f"probe error: {exc!r}"
            if inc.ended or inc.faulted or runtime.current is not inc:
                return
            state = machine.state
            if state in (PoolState.STARTING, PoolState.PRELOADING):
                if result is not None and result.ok:
                    await self._confirm_preload(runtime, inc, timeout_s)
                # Not answering, or 503 "loading": still preloading; an exit or fault ends it.
            elif state in (PoolState.READY, PoolState.UNREADY, PoolState.DRAINING):
                if result is not None and result.ok:
                    self._dispatch(runtime.pool.id, ProbeOk())
                else:
                    text = problem if result is None else result.message
                    self._dispatch(runtime.pool.id, ProbeFailed(text, timed_out=timed_out))
            starting = machine.state in (PoolState.STARTING, PoolState.PRELOADING)
            interval = settings.starting_interval_ms if starting else settings.ready_interval_ms
            await asyncio.sleep(interval / 1000)

    async def _confirm_preload(
        self, runtime: _PoolRuntime, inc: _Incarnation, timeout_s: float
    ) -> None:
        """The engine answers 200: read who it is, then report the preload as done."""
        pool_id = runtime.pool.id
        assert inc.base_url is not None
        try:
            info: EngineInfo = await self._in_thread(
                runtime.adapter.fetch_info, runtime.session, inc.base_url, timeout_s
            )
        except (ProbeTimeout, EngineUnreachable):
            return  # try again at the next probe; if the engine died, its exit says why
        except EngineProtocolError as exc:
            if inc.ended or runtime.current is not inc:
                return
            self._dispatch(
                pool_id, PreloadFailed(Cause.PRELOAD_FAILED, _with_tail(str(exc), inc.tail))
            )
            return
        # Output written before the engine said "ready" is read before it counts as ready:
        # a CPU fall-back line must win over a 200 (OC-POOL-3012).
        await asyncio.sleep(0)
        if inc.ended or inc.faulted or runtime.current is not inc:
            return
        if self.registry.machine(pool_id).state not in (PoolState.STARTING, PoolState.PRELOADING):
            return
        slots = info.slots if info.slots else runtime.pool.slots
        self._dispatch(pool_id, PreloadSucceeded(info.engine_version, inc.digest, slots))

    # --- shutdown -------------------------------------------------------------------

    def _live_incarnations(self) -> list[_Incarnation]:
        out: list[_Incarnation] = []
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
            runtime.session.close()
            if runtime.log is not None:
                with contextlib.suppress(OSError):
                    runtime.log.close()
                runtime.log = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
