"""poolmgr as PID 1 of a container: the duties the kernel gives an init process.

``poolmgr serve`` calls :func:`install_init_duties` when it runs as process 1 of its PID
namespace, which is how the container image starts it (``ENTRYPOINT ["poolmgr"]``, no init
wrapper; OC-DEP-8005, OC-DEP-8006). Process 1 differs from any other process in two ways, and
this module decides what poolmgr does about each:

* **Signals.** The kernel applies no default action to process 1: a signal it has no handler
  for is dropped (from outside the namespace, only SIGKILL and SIGSTOP get through). poolmgr
  already handles SIGTERM and SIGINT (drain, stop every engine, exit 0). SIGHUP and SIGQUIT
  would end an ordinary poolmgr process; as process 1 they would silently do nothing, and a
  stop request that does nothing is worse than one that drains. So, as process 1 only, they
  ask for the same graceful stop (:data:`INIT_STOP_SIGNALS`).
* **Orphans.** Every process whose parent dies is re-parented to process 1: an engine whose
  per-engine reaper (:mod:`poolmgr.runtime.reaper`) was SIGKILLed, a process left behind by
  ``kubectl exec``. When such an orphan exits it stays a zombie until process 1 waits for it.
  :class:`OrphanReaper` reaps them, on SIGCHLD and on a slow timer, and logs one JSON line per
  reaped orphan (event ``orphan_reaped``).

The orphan reaper must not steal the exit status of the children poolmgr waits for itself:
asyncio's child watcher waits for each reaper process by its pid, and the supervisor reads
the engine's end from that status (OC-POOL-3029). A ``waitpid(-1)`` loop, which is what a
classic init does, would race it and turn a ``killed_by_signal`` into an unknown exit. So
poolmgr registers every child it spawns (:data:`OWN_CHILDREN`, fed by
:func:`poolmgr.runtime.process.spawn_engine`, the only place the manager starts a process),
and the reaper waits only for zombie children that are *not* registered, each by its own
pid. A process is identified by its pid and its start time, so a reused pid is not mistaken
for a registered one. While a spawn is between its fork and its registration, a sweep is put
off (and tried again shortly), so a child that exits at once is never taken for an orphan.

Why not tini (or dumb-init) as the image's entrypoint: it would work (it forwards signals to
poolmgr and reaps with ``waitpid(-1)`` in its own process, where nobody else waits). poolmgr
does without it because it already has what the two duties need (an event loop, a process
table through psutil, structured logs): about a hundred lines, tested here with real PID
namespaces, instead of one more binary in the image to pin and patch, and every reaped orphan
shows in poolmgr's log instead of vanishing silently. The price is the registry of its own
children described above. Serves OC-DEP-8005, OC-DEP-8006 and OC-DEP-8007.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

import psutil

__all__ = [
    "INIT_STOP_SIGNALS",
    "OWN_CHILDREN",
    "OrphanReaper",
    "OwnChildren",
    "ReapedOrphan",
    "install_init_duties",
    "is_init",
    "stop_signals",
]

_LOG = logging.getLogger("poolmgr.runtime.init")

BASE_STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)
"""The signals that stop poolmgr gracefully wherever it runs (OC-POOL-3015)."""
INIT_STOP_SIGNALS: Final = (signal.SIGHUP, signal.SIGQUIT)
"""Also a graceful stop when poolmgr is process 1 (their default action does not apply there)."""
SWEEP_INTERVAL_S: Final = 5.0
"""The slow timer's period: a backstop for SIGCHLDs that arrived while a sweep was put off."""
_SAME_START_S: Final = 0.05
"""Start times closer than this are one process (psutil's start times are in clock ticks)."""
_RETRY_S: Final = 0.05
"""How soon a sweep put off by a spawn in progress is tried again."""


def is_init() -> bool:
    """True when this process is process 1 of its PID namespace (a container's main process)."""
    return os.getpid() == 1


def stop_signals(init: bool) -> tuple[signal.Signals, ...]:
    """The signals that ask poolmgr to drain and stop: SIGHUP and SIGQUIT too as process 1."""
    return BASE_STOP_SIGNALS + INIT_STOP_SIGNALS if init else BASE_STOP_SIGNALS


def _start_time(pid: int) -> float | None:
    """The process's start time (psutil reads it for zombies too); ``None`` when it is gone."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


class OwnChildren:
    """The children poolmgr waits for itself (by pid and start time); one per process.

    Used from the event loop's thread only (spawns and sweeps both run there).
    """

    def __init__(self) -> None:
        self._children: dict[int, float] = {}
        self._spawning = 0

    @contextlib.contextmanager
    def spawning(self) -> Iterator[None]:
        """Around a spawn, until its pid is registered: sweeps are put off meanwhile."""
        self._spawning += 1
        try:
            yield
        finally:
            self._spawning -= 1

    @property
    def spawn_in_progress(self) -> bool:
        return self._spawning > 0

    def add(self, pid: int) -> None:
        """Register a child just spawned (its exit status belongs to whoever spawned it).

        A child already waited for (its start time cannot be read) is not registered.
        """
        started = _start_time(pid)
        if started is not None:
            self._children[pid] = started

    def owns(self, pid: int, start_time: float) -> bool:
        """True when ``pid`` (started at ``start_time``) is a registered child."""
        known = self._children.get(pid)
        return known is not None and abs(known - start_time) < _SAME_START_S

    def forget_except(self, alive: set[int]) -> None:
        """Drop registered pids that are no longer children (their owner has waited for them)."""
        for pid in [pid for pid in self._children if pid not in alive]:
            del self._children[pid]

    def __len__(self) -> int:
        return len(self._children)


OWN_CHILDREN: Final = OwnChildren()
"""The process-wide registry that :func:`poolmgr.runtime.process.spawn_engine` feeds."""


@dataclass(frozen=True)
class ReapedOrphan:
    """One orphan reaped: its pid, its name and how it ended (code, or signal number)."""

    pid: int
    name: str
    exit_code: int | None
    signal: int | None


def _ended(status: int) -> tuple[int | None, int | None]:
    if os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status), None


class OrphanReaper:
    """Waits for zombie children that poolmgr did not spawn, each by its own pid."""

    def __init__(
        self,
        own: OwnChildren = OWN_CHILDREN,
        *,
        interval_s: float = SWEEP_INTERVAL_S,
        on_reaped: Callable[[ReapedOrphan], None] | None = None,
    ) -> None:
        self.own = own
        self.interval_s = interval_s
        self.on_reaped = on_reaped or _log_reaped
        self.reaped_total = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._retry: asyncio.TimerHandle | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Sweep on every SIGCHLD and every ``interval_s`` (call from the loop's thread)."""
        self._loop = loop
        loop.add_signal_handler(signal.SIGCHLD, self.sweep)
        self._schedule()
        self.sweep()  # zombies that were there before the handler

    def close(self) -> None:
        loop, self._loop = self._loop, None
        for handle in (self._timer, self._retry):
            if handle is not None:
                handle.cancel()
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(signal.SIGCHLD)

    def _schedule(self) -> None:
        if self._loop is not None:
            self._timer = self._loop.call_later(self.interval_s, self._tick)

    def _tick(self) -> None:
        self.sweep()
        self._schedule()

    def sweep(self) -> list[ReapedOrphan]:
        """Reap every zombie child not registered in :attr:`own`; what was reaped."""
        if self.own.spawn_in_progress:
            # A child forked but not yet registered could be taken for an orphan: later.
            if self._loop is not None and (self._retry is None or self._retry.cancelled()):
                self._retry = self._loop.call_later(_RETRY_S, self._retry_sweep)
            return []
        try:
            children = psutil.Process().children()
        except psutil.Error:
            return []
        self.own.forget_except({child.pid for child in children})
        reaped: list[ReapedOrphan] = []
        for child in children:
            orphan = self._reap_if_orphan(child)
            if orphan is not None:
                reaped.append(orphan)
                self.reaped_total += 1
                self.on_reaped(orphan)
        return reaped

    def _retry_sweep(self) -> None:
        self._retry = None
        self.sweep()

    def _reap_if_orphan(self, child: psutil.Process) -> ReapedOrphan | None:
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                return None
            name = child.name()
            started = child.create_time()
        except psutil.Error:
            return None
        if self.own.owns(child.pid, started):
            return None  # its owner (asyncio's child watcher) waits for it
        try:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if pid == 0:
            return None
        code, sig = _ended(status)
        return ReapedOrphan(pid=child.pid, name=name, exit_code=code, signal=sig)


def _log_reaped(orphan: ReapedOrphan) -> None:
    how = f"exit code {orphan.exit_code}" if orphan.signal is None else f"signal {orphan.signal}"
    _LOG.info(
        "reaped orphan %d (%s): %s",
        orphan.pid,
        orphan.name,
        how,
        extra={
            "event": "orphan_reaped",
            "pid": orphan.pid,
            "process_name": orphan.name,
            "exit_code": orphan.exit_code,
            "signal": orphan.signal,
        },
    )


def install_init_duties(loop: asyncio.AbstractEventLoop) -> OrphanReaper:
    """As process 1: reap orphans on ``loop``; the caller also handles :func:`stop_signals`."""
    reaper = OrphanReaper()
    reaper.install(loop)
    _LOG.info(
        "running as process 1: reaping orphans; SIGHUP and SIGQUIT stop like SIGTERM",
        extra={"event": "init_duties"},
    )
    return reaper
