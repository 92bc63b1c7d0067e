"""Pools: the listing and one pool's health (OC-CTL-4001, OC-CTL-4002, OC-POOL-3003).

Reads only: what the registry's snapshots and the pool's metric counters say, behind the read
authentication (OC-CTL-4006); monotonic instants also go out as wall-clock times, read from the
plane's injected wall clock (OC-CTL-4021). The listing is made a few pools at a time, so its
pauses of the event loop do not grow with the number of pools (OC-PERF-9103).
"""

import asyncio
from typing import Final

from fastapi import APIRouter, Response
from pydantic import TypeAdapter

from poolmgr.http.errors import error_responses
from poolmgr.http.models import PoolEntry, PoolHealth, entry_view, health_view
from poolmgr.http.plane import Plane
from poolmgr.http.walltime import WallTimes

__all__ = ["LIST_STEP", "router"]

LIST_STEP: Final = 64
"""Pools the listing handles between two yields to the event loop (OC-PERF-9103)."""
_ENTRIES: Final = TypeAdapter(list[PoolEntry])


def router(plane: Plane) -> APIRouter:
    """``GET /v1/pools`` and ``GET``/``HEAD`` ``/v1/pools/{pool_id}/health``."""
    api = APIRouter(dependencies=plane.auth.read)
    registry, metrics = plane.registry, plane.metrics
    simulated = plane.config.manager.simulate_gpus

    @api.get(
        "/v1/pools",
        response_model=list[PoolEntry],
        responses=error_responses(401, 403),
        summary="Every pool, ordered by id (OC-CTL-4001)",
    )
    async def list_pools() -> Response:
        # A few pools at a time, the loop served in between (OC-PERF-9103); the body is the
        # response model's own JSON, as FastAPI would write it.
        ids = registry.ids()
        parts: list[bytes] = []
        for start in range(0, len(ids), LIST_STEP):
            views = [
                entry_view(s, simulated_gpus=simulated)
                for s in registry.snapshots(ids[start : start + LIST_STEP])
            ]
            parts.append(_ENTRIES.dump_json(_ENTRIES.validate_python(views))[1:-1])
            await asyncio.sleep(0)
        return Response(b"[" + b",".join(parts) + b"]", media_type="application/json")

    @api.get(
        "/v1/pools/{pool_id}/health",
        response_model=PoolHealth,
        responses=error_responses(401, 403, 404),
        summary="One pool's health (OC-CTL-4002)",
    )
    async def pool_health(pool_id: str) -> PoolHealth:
        snap = registry.snapshot(pool_id)
        wall = WallTimes(registry.clock.now_ms(), plane.wall_clock())
        return health_view(snap, metrics.pool_counters(pool_id), wall, simulated_gpus=simulated)

    @api.head(
        "/v1/pools/{pool_id}/health",
        response_class=Response,
        responses=error_responses(401, 403, 404),
        summary="Whether the pool exists, without the body (OC-CTL-4013)",
    )
    async def pool_health_head(pool_id: str) -> Response:
        registry.snapshot(pool_id)  # an unknown pool answers 404, as GET does
        return Response(status_code=200)

    return api
