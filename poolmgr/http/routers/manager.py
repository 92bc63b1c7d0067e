"""The manager itself: ``/healthz`` (the process is alive) and ``/readyz`` (started and serving).

Neither needs authentication: orchestrators probe them. ``/healthz`` answers 200 from the moment
the control plane listens, while the pools are still starting; ``/readyz`` answers 503
``NOT_READY`` with a retry hint until every configured pool has finished its first start (Ready
once, or its first start failed; OC-PERF-9107), and again while the manager shuts down. Both
answer ``HEAD`` with the status (and headers) their ``GET`` would answer and no body, for probes
that ask only for the status (OC-CTL-4013).
"""

import math
from typing import Any

from fastapi import APIRouter, Response

from poolmgr import __version__
from poolmgr.core.errors import ErrorCode
from poolmgr.http.errors import DEFAULT_RETRY_AFTER_MS, ApiError, ErrorEnvelope
from poolmgr.http.models import ManagerHealth, ManagerReady
from poolmgr.http.plane import Plane

__all__ = ["router"]

_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorEnvelope,
        "description": "NOT_READY: pools still starting, or shutting down",
    }
}


def router(plane: Plane) -> APIRouter:
    """``GET``/``HEAD`` ``/healthz`` and ``GET``/``HEAD`` ``/readyz``."""
    api = APIRouter()
    registry, ready = plane.registry, plane.ready

    def is_ready() -> bool:
        return ready is None or ready()

    @api.get("/healthz", response_model=ManagerHealth, summary="The manager process is alive")
    async def healthz() -> ManagerHealth:
        return ManagerHealth(status="ok", version=__version__)

    @api.head(
        "/healthz",
        status_code=200,
        response_class=Response,
        summary="The manager process is alive (status only, OC-CTL-4013)",
    )
    async def healthz_head() -> Response:
        return Response(status_code=200)

    @api.get(
        "/readyz",
        response_model=ManagerReady,
        responses=_NOT_READY,
        summary="The manager is started and serving",
    )
    async def readyz() -> ManagerReady:
        if not is_ready():
            raise ApiError(
                ErrorCode.NOT_READY,
                "the manager is starting its pools or shutting down",
                retry_after_ms=DEFAULT_RETRY_AFTER_MS,
            )
        snaps = registry.snapshots()
        return ManagerReady(
            ready=True, pools_total=len(snaps), pools_ready=sum(s.ready for s in snaps)
        )

    @api.head(
        "/readyz",
        status_code=200,
        response_class=Response,
        responses={503: {"description": "NOT_READY: pools still starting, or shutting down"}},
        summary="The manager is started and serving (status only, OC-CTL-4013)",
    )
    async def readyz_head() -> Response:
        if is_ready():
            return Response(status_code=200)
        retry_s = max(1, math.ceil(DEFAULT_RETRY_AFTER_MS / 1000))
        return Response(status_code=503, headers={"Retry-After": str(retry_s)})

    return api
