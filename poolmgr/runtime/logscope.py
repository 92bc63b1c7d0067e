"""Which request caused what: the correlation id and pool that the supervisor's log lines carry.

Decides, for every piece of supervisor work, the pool it is about and the request (if any) it
was caused by (OC-POOL-3073, OC-POOL-3074):

* a drain or reload request opens an *operation* on its pool that carries the request's
  correlation id; every event the pool's machine hears and every action it orders while the
  operation runs (the drain's wait, the stop, the spawn of the new engine, the preload that
  ends a reload) is carried out under that id, whichever task observed it;
* the operation ends when the pool leaves the states of a drain or a launch (Draining,
  Starting, Preloading): once Ready, Stopped, Unready or backing off, what follows (a crash,
  a restart, a shutdown) is the pool's own business and carries no request's id;
* an engine's own life (its output, probes and exit watch) runs in a context of its own with
  no correlation id, so a request's id is never inherited by tasks that outlive it; the
  shutdown opens an operation without one on every pool.

asyncio copies the context into every task and callback, which is how a request's id used to
leak into an engine's watch task and reappear on its shutdown lines; here the contexts are
made on purpose instead (:func:`poolmgr.telemetry.logs.fresh_context`).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

from poolmgr.core.decisions import PoolState
from poolmgr.core.errors import UnknownPool
from poolmgr.core.registry import Registry
from poolmgr.telemetry.logs import correlation_id, fresh_context, log_scope

__all__ = ["Causes"]

_IN_OPERATION = frozenset({PoolState.DRAINING, PoolState.STARTING, PoolState.PRELOADING})
"""The states a drain or reload passes through; leaving them ends the operation."""


class Causes:
    """Each pool's open operation and the correlation id it carries (event loop only)."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._open: dict[str, str | None] = {}

    @contextlib.contextmanager
    def request(self, pool_id: str) -> Iterator[None]:
        """Open an operation on ``pool_id`` for the current request (its correlation id).

        An exception inside (the request was refused) leaves what was open before.
        """
        was_open, before = pool_id in self._open, self._open.get(pool_id)
        self._open[pool_id] = correlation_id.get()
        try:
            yield
        except BaseException:
            if was_open:
                self._open[pool_id] = before
            else:
                self._open.pop(pool_id, None)
            raise

    def begin_shutdown(self, pool_id: str) -> None:
        """The shutdown's drain: an operation no request caused."""
        self._open[pool_id] = None

    def correlation(self, pool_id: str) -> str | None:
        """The id the pool's work carries now: its open operation's, else none."""
        return self._open.get(pool_id)

    @contextlib.contextmanager
    def scope(self, pool_id: str) -> Iterator[None]:
        """Work on ``pool_id``: its lines name the pool and the open operation's request."""
        with log_scope(pool_id, self.correlation(pool_id)):
            try:
                yield
            finally:
                self._settle(pool_id)

    def engine_life(self, pool_id: str) -> contextvars.Context:
        """A context for an engine's own life: the pool, and no request's correlation id."""
        return fresh_context(pool_id, None)

    def in_engine_life(self, pool_id: str, fn: Callable[[str], None]) -> Callable[[str], None]:
        """``fn`` made to run in the engine's own context (for its output callbacks)."""
        life = self.engine_life(pool_id)

        def call(line: str) -> None:
            life.run(fn, line)

        return call

    def _settle(self, pool_id: str) -> None:
        if pool_id not in self._open:
            return
        try:
            state = self._registry.machine(pool_id).state
        except UnknownPool:
            self._open.pop(pool_id, None)
            return
        if state not in _IN_OPERATION:
            del self._open[pool_id]
