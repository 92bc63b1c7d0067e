"""Carries out the startup wave on the supervisor's event loop (OC-PERF-9107, OC-PERF-9108).

Decides how the pure :class:`~poolmgr.core.startup.StartupWave` is fed and obeyed: it listens
to the registry's facts (which may be told on any thread: a snapshot read in a request thread
can tell one), and whenever a pool may have finished it schedules, on the event loop, the
starts the wave allows (the supervisor's ``StartRequested`` dispatch). So at most
``manager.start_concurrency`` pools are starting at once during start-up, and
:attr:`Startup.done` says when every configured pool has finished its first start, which is
what the manager's ``/readyz`` waits for. Logs ``startup_begun`` and ``startup_finished``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from poolmgr.core.config import Config
from poolmgr.core.registry import Registry, Told
from poolmgr.core.startup import StartupWave

__all__ = ["Startup"]

_LOG = logging.getLogger("poolmgr.runtime.startup")

StartPool = Callable[[str], None]
"""``start(pool_id)``: dispatch ``StartRequested`` to the pool (on the event loop)."""


class Startup:
    """The manager's startup wave: bounded concurrent first starts, and when they are over."""

    def __init__(self, config: Config, registry: Registry, start: StartPool) -> None:
        self._registry = registry
        self._start = start
        self._wave = StartupWave((p.id for p in config.pools), config.manager.start_concurrency)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._began_at: float | None = None
        self._done = self._wave.done

    @property
    def done(self) -> bool:
        """Every configured pool has finished its first start (thread-safe)."""
        return self._done

    def progress(self) -> tuple[int, int]:
        """(pools that finished their first start, pools configured)."""
        with self._lock:
            return self._wave.finished, self._wave.total

    def begin(self) -> None:
        """Start the first pools; call once, on the event loop, after the tick loop runs."""
        if self._loop is not None:
            raise RuntimeError("the startup wave was already begun")
        self._loop = asyncio.get_running_loop()
        self._began_at = time.monotonic()
        self._registry.observe(self._told)
        _LOG.info(
            "startup: starting %d pools, at most %d at once",
            self._wave.total,
            self._wave.concurrency,
            extra={"event": "startup_begun"},
        )
        self._pump()

    def _told(self, pool_id: str, told: Told) -> None:
        """A registry listener: any thread, outside the registry's lock."""
        with self._lock:
            if self._done or not self._wave.told(pool_id, told):
                return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._pump)

    def _pump(self) -> None:
        """Start what the wave allows now; runs on the event loop only."""
        while True:
            with self._lock:
                starts = self._wave.take_starts()
            if not starts:
                break
            for pool_id in starts:
                self._start(pool_id)
            with self._lock:
                # A start the machine refused (or that ended at once) frees its place.
                for pool_id in starts:
                    self._wave.settle(pool_id, self._registry.machine(pool_id).state)
        self._check_done()

    def _check_done(self) -> None:
        with self._lock:
            if self._done or not self._wave.done:
                return
            self._done = True
            total = self._wave.total
        took_ms = round((time.monotonic() - (self._began_at or time.monotonic())) * 1000)
        _LOG.info(
            "startup: every pool has finished its first start (%d pools, %d ms)",
            total,
            took_ms,
            extra={"event": "startup_finished"},
        )
