"""The startup wave: which pools start their first engine now, and when the wave is over.

Decides, from the facts the pools' machines tell, which configured pools may be started at
once when the manager starts (at most ``manager.start_concurrency`` starting together,
OC-PERF-9108) and when every pool has *finished its first start* (spec/performance.md,
"Words"), which is what ``/readyz`` waits for (OC-PERF-9107).

A pool in the wave is *waiting* (not started yet), *starting* (started by the wave, its first
start not finished) or *finished*:

- a starting pool finishes with its first preload's outcome (``PreloadFinished``, success or
  failure), or when it leaves the starting states otherwise (a drain during the start);
- a waiting pool that someone else acts on first (a drain or reload through the API, the
  shutdown drain) leaves the wave as finished: the wave never starts a pool an operator has
  already decided about.

Pure: no I/O, no clock, no locks; the runtime (:mod:`poolmgr.runtime.startup`) feeds it facts
and carries out its starts.
"""

from __future__ import annotations

from collections.abc import Iterable

from poolmgr.core.decisions import DrainCounted, Fact, PoolState, PreloadFinished, StateChanged

__all__ = ["STARTING_STATES", "StartupWave"]

STARTING_STATES = frozenset({PoolState.STARTING, PoolState.PRELOADING})
"""The states of a pool whose start has not finished."""


class StartupWave:
    """The first start of every configured pool, ``concurrency`` pools at a time."""

    def __init__(self, pool_ids: Iterable[str], concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError(f"start concurrency must be >= 1, got {concurrency}")
        self.concurrency = concurrency
        self._waiting: list[str] = list(dict.fromkeys(pool_ids))
        self._starting: set[str] = set()
        self._finished: set[str] = set()
        self.total = len(self._waiting)

    @property
    def starting(self) -> frozenset[str]:
        """The pools the wave started whose first start has not finished."""
        return frozenset(self._starting)

    @property
    def waiting(self) -> tuple[str, ...]:
        """The pools not started yet, in config order."""
        return tuple(self._waiting)

    @property
    def finished(self) -> int:
        """How many pools have finished their first start (or left the wave)."""
        return len(self._finished)

    @property
    def done(self) -> bool:
        """Every pool has finished its first start."""
        return len(self._finished) == self.total

    def take_starts(self) -> list[str]:
        """The pools to start now, in config order; they count as starting from here on."""
        free = self.concurrency - len(self._starting)
        taken, self._waiting = self._waiting[: max(0, free)], self._waiting[max(0, free) :]
        self._starting.update(taken)
        return taken

    def settle(self, pool_id: str, state: PoolState) -> bool:
        """A started pool is in ``state`` after its start was asked for; True if it finished.

        A start the machine refused (the pool was not stopped) leaves it outside the starting
        states: it counts as finished rather than holding a place forever.
        """
        if pool_id in self._starting and state not in STARTING_STATES:
            self._finish(pool_id)
            return True
        return False

    def told(self, pool_id: str, fact: Fact | object) -> bool:
        """Take in a fact of ``pool_id`` (others are ignored); True when a pool finished."""
        if pool_id in self._starting:
            match fact:
                case PreloadFinished():
                    self._finish(pool_id)
                    return True
                case StateChanged(to_state=to) if to not in STARTING_STATES:
                    self._finish(pool_id)
                    return True
            return False
        if pool_id in self._waiting and isinstance(fact, DrainCounted | StateChanged):
            self._waiting.remove(pool_id)
            self._finished.add(pool_id)
            return True
        return False

    def _finish(self, pool_id: str) -> None:
        self._starting.discard(pool_id)
        self._finished.add(pool_id)
