"""Pools made Ready by hand: a registry for control-plane tests and benchmarks, no engines.

One place for the start-up a hand-driven registry needs (``StartRequested``, ``EngineStarted``,
``PreloadSucceeded``), so the API tests and ``bench/bench_admission.py`` build the same thing.
"""

from __future__ import annotations

import random

from poolmgr.assemble import build_registry
from poolmgr.core.clock import ManualClock
from poolmgr.core.config import Config
from poolmgr.core.events import EngineStarted, PreloadSucceeded, StartRequested
from poolmgr.core.registry import Registry

__all__ = ["NoEngines", "ready_registry"]


def ready_registry(config: Config, *, engine_version: str = "stub-test") -> Registry:
    """Every pool of ``config`` Ready on a manual clock at 1000 ms (no engines; time moves
    only when the caller moves the registry's clock)."""
    registry = build_registry(config, ManualClock(1_000), random.Random(7))
    for i, pool in enumerate(config.pools):
        registry.dispatch(pool.id, StartRequested())
        registry.dispatch(pool.id, EngineStarted(pid=10_000 + i))
        registry.dispatch(
            pool.id, PreloadSucceeded(engine_version, "sha256:" + "ab" * 32, pool.slots)
        )
    return registry


class NoEngines:
    """The controller of a control plane with no supervisor behind it (benchmarks): nothing
    drains or reloads, and every pool's engine URL names a port nothing listens on."""

    async def drain(self, pool_id: str, deadline_ms: int) -> None:
        raise NotImplementedError

    async def reload(self, pool_id: str, new_model_ref: str, deadline_ms: int) -> None:
        raise NotImplementedError

    def engine_url(self, pool_id: str) -> str | None:
        return f"http://127.0.0.1:9/{pool_id}"
