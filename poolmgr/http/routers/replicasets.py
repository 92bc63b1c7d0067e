"""Replica sets: one per pool, listed with their SLOs (none configured yet) (OC-CTL-4001)."""

from typing import Any

from fastapi import APIRouter

from poolmgr.http.errors import error_responses
from poolmgr.http.models import ReplicaSetEntry, entry_view
from poolmgr.http.plane import Plane

__all__ = ["router"]


def router(plane: Plane) -> APIRouter:
    """``GET /v1/replicasets``."""
    api = APIRouter(dependencies=plane.auth.read)
    registry = plane.registry
    simulated = plane.config.manager.simulate_gpus

    @api.get(
        "/v1/replicasets",
        response_model=list[ReplicaSetEntry],
        responses=error_responses(401, 403),
        summary="Every replica set (one per pool), ordered by id (OC-CTL-4001)",
    )
    async def list_replicasets() -> list[dict[str, Any]]:
        snaps = registry.snapshots()
        return [{**entry_view(s, simulated_gpus=simulated), "slo": None} for s in snaps]

    return api
