"""The manager itself: ``/healthz`` (the process is alive) and ``/readyz`` (started and serving).

Neither needs authentication: orchestrators probe them. ``/readyz`` answers 503 ``NOT_READY``
with a retry hint while the manager starts or shuts down.
"""

from fastapi import APIRouter

from poolmgr import __version__
from poolmgr.core.errors import ErrorCode
from poolmgr.http.errors import DEFAULT_RETRY_AFTER_MS, ApiError, ErrorEnvelope
from poolmgr.http.models import ManagerHealth, ManagerReady
from poolmgr.http.plane import Plane

__all__ = ["router"]


def router(plane: Plane) -> APIRouter:
    """``GET /healthz`` and ``GET /readyz``."""
    api = APIRouter()
    registry, ready = plane.registry, plane.ready

    @api.get("/healthz", response_model=ManagerHealth, summary="The manager process is alive")
    async def healthz() -> ManagerHealth:
        return ManagerHealth(status="ok", version=__version__)

    @api.get(
        "/readyz",
        response_model=ManagerReady,
        responses={
            503: {"model": ErrorEnvelope, "description": "NOT_READY: starting or shutting down"}
        },
        summary="The manager is started and serving",
    )
    async def readyz() -> ManagerReady:
        if ready is not None and not ready():
            raise ApiError(
                ErrorCode.NOT_READY,
                "the manager is starting or shutting down",
                retry_after_ms=DEFAULT_RETRY_AFTER_MS,
            )
        snaps = registry.snapshots()
        return ManagerReady(
            ready=True, pools_total=len(snaps), pools_ready=sum(s.ready for s in snaps)
        )

    return api
