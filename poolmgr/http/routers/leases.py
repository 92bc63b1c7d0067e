"""Leases: take a slot of a Ready pool (201) and give it back (204) (OC-POOL-3040..3044).

Decides the HTTP side of leasing only: the registry decides grants and refusals, and its typed
refusals (``REPLICA_EXHAUSTED``, ``POOL_UNREADY``, ``POOL_UNAVAILABLE``, ``NOT_FOUND``,
``CONFLICT``) reach the client through :mod:`poolmgr.http.errors` with their retry hints. A
grant names the engine's URL and is logged with the lease and job ids.
"""

import logging
from typing import Annotated

from fastapi import APIRouter, Body, Response

from poolmgr.core.errors import ErrorCode
from poolmgr.http.errors import ApiError, error_responses
from poolmgr.http.models import LeaseGranted, LeaseRequest
from poolmgr.http.plane import Plane

__all__ = ["router"]

log = logging.getLogger(__name__)


def router(plane: Plane) -> APIRouter:
    """``POST /v1/pools/{pool_id}/leases`` and ``DELETE /v1/pools/{pool_id}/leases/{lease_id}``."""
    api = APIRouter(dependencies=plane.auth.write)
    registry, controller = plane.registry, plane.controller

    @api.post(
        "/v1/pools/{pool_id}/leases",
        status_code=201,
        response_model=LeaseGranted,
        responses=error_responses(400, 401, 403, 404, 429, 503),
        summary="Take one slot of a Ready pool (OC-POOL-3040, OC-POOL-3044)",
    )
    async def acquire_lease(
        pool_id: str, response: Response, body: Annotated[LeaseRequest | None, Body()] = None
    ) -> LeaseGranted:
        req = body or LeaseRequest()
        try:
            lease = registry.acquire_lease(pool_id, ttl_ms=req.ttl_ms, job_id=req.job_id)
        except ValueError as exc:
            raise ApiError(
                ErrorCode.INVALID_PARAMS, f"body.ttl_ms: {exc}", pool_id=pool_id
            ) from None
        log.info(
            "lease granted on %s",
            pool_id,
            extra={
                "event": "lease_granted",
                "pool_id": pool_id,
                "lease_id": lease.lease_id,
                "job_id": lease.job_id,
            },
        )
        response.headers["Location"] = f"/v1/pools/{pool_id}/leases/{lease.lease_id}"
        return LeaseGranted(
            lease_id=lease.lease_id,
            pool_id=pool_id,
            engine_url=controller.engine_url(pool_id),
            expires_at_ms=lease.expires_at_ms,
            ttl_ms=lease.expires_at_ms - lease.granted_at_ms,
            job_id=lease.job_id,
        )

    @api.delete(
        "/v1/pools/{pool_id}/leases/{lease_id}",
        status_code=204,
        response_class=Response,
        responses=error_responses(401, 403, 404, 409),
        summary="Give a slot back (OC-POOL-3041)",
    )
    async def release_lease(pool_id: str, lease_id: str) -> Response:
        lease = registry.release_lease(pool_id, lease_id)
        log.info(
            "lease returned on %s",
            pool_id,
            extra={
                "event": "lease_returned",
                "pool_id": pool_id,
                "lease_id": lease.lease_id,
                "job_id": lease.job_id,
            },
        )
        return Response(status_code=204)

    return api
