"""The lease watch of a drain: until the pool's leases reach zero, or its deadline passes.

Owns the waiting half of ``WAIT_FOR_LEASES`` (OC-POOL-3031): while the pool drains, it looks at
the registry's active lease count and clock at the supervisor's tick and tells the core either
``LeasesDrained`` or ``DeadlinePassed``; the core then stops the engine. A drain that ends some
other way (the engine died, a reload rolled back) ends the watch with it.
"""

from __future__ import annotations

import asyncio

from poolmgr.core.decisions import PoolState
from poolmgr.core.events import DeadlinePassed, LeasesDrained
from poolmgr.core.registry import Registry
from poolmgr.runtime.incarnation import Dispatch

__all__ = ["watch_leases"]


async def watch_leases(
    registry: Registry,
    dispatch: Dispatch,
    pool_id: str,
    deadline_ms: int | None,
    tick_s: float,
) -> None:
    """Dispatch ``LeasesDrained`` or ``DeadlinePassed`` for ``pool_id``, whichever comes first.

    Polls every ``tick_s`` seconds, sooner when the deadline (on the registry's clock) is nearer.
    """
    clock = registry.clock
    while registry.machine(pool_id).state is PoolState.DRAINING:
        if registry.active_leases(pool_id) == 0:
            dispatch(pool_id, LeasesDrained())
            return
        now = clock.now_ms()
        if deadline_ms is not None and now >= deadline_ms:
            dispatch(pool_id, DeadlinePassed())
            return
        pause = tick_s
        if deadline_ms is not None:
            pause = min(pause, max(0.001, (deadline_ms - now) / 1000))
        await asyncio.sleep(pause)
