"""The supervisor's I/O state: each pool's runtime and each engine incarnation.

Also the one callback the supervisor's helpers get, :data:`Dispatch`, through which what they
observe reaches the core.

Every ``SPAWN`` the core decides on creates a new :class:`Incarnation`: one engine process of
one pool, from its launch to its end. Only the pool's current incarnation may dispatch events;
one the core has already given up on is retired (killed, waited for before its successor
starts, then forgotten), so a late exit of an old engine can never fail its successor
(OC-POOL-3003, OC-POOL-3043). Mutable records, touched only from the supervisor's event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from poolmgr.core.config import PoolConfig
from poolmgr.core.events import Event
from poolmgr.core.placement import LaunchPlan
from poolmgr.runtime.engines import EngineAdapter
from poolmgr.runtime.output import EngineOutput, OutputLog, new_tail
from poolmgr.runtime.process import Stop

__all__ = ["Dispatch", "Incarnation", "PoolRuntime"]

Dispatch = Callable[[str, Event], None]
"""``dispatch(pool_id, event)``: feed an observed event to the core and carry out its answer."""


@dataclass(eq=False)
class Incarnation:
    """One engine process of one pool, from SPAWN to its end (mutable, loop-thread only)."""

    pool_id: str
    generation: int
    model_ref: str
    done: asyncio.Event = field(default_factory=asyncio.Event)
    tail: deque[str] = field(default_factory=new_tail)
    stop: Stop | None = None
    transport: asyncio.SubprocessTransport | None = None
    output: EngineOutput | None = None
    pid: int | None = None
    base_url: str | None = None
    """Where the manager reaches the engine (probes, info)."""
    advertised_url: str | None = None
    """Where clients reach it: what lease answers put in ``engine_url`` (OC-DEP-8018)."""
    digest: str | None = None
    plan: LaunchPlan | None = None
    faulted: bool = False
    ended: bool = False
    probe_task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.transport is not None and not self.ended

    def end(self) -> None:
        """Mark the incarnation as over: nothing of it runs any more."""
        self.ended = True
        self.done.set()


@dataclass(eq=False)
class PoolRuntime:
    """The supervisor's per-pool I/O state."""

    pool: PoolConfig
    adapter: EngineAdapter
    log: OutputLog
    current: Incarnation | None = None
    retired: list[Incarnation] = field(default_factory=list)
    generations: int = 0
    wait_task: asyncio.Task[None] | None = None
