"""Leases: take a slot (201), renew it (200) and give it back (204) (OC-POOL-3040..3045).

Decides the HTTP side of leasing only: the registry decides grants, renewals and refusals, and
its typed refusals (``REPLICA_EXHAUSTED``, ``POOL_UNREADY``, ``POOL_UNAVAILABLE``,
``NOT_FOUND``, ``CONFLICT``) reach the client through :mod:`poolmgr.http.errors` with their
retry hints. A renewal of a lease that already ended (returned, expired or voided) answers 409
``CONFLICT`` naming how it ended; an unknown lease or pool answers 404 (OC-CTL-4011). Grants
and renewals tell the expiry twice: on the manager's monotonic clock (``expires_at_ms``) and as
an RFC 3339 UTC time (``expires_at``), converted here with the plane's wall clock
(OC-CTL-4010). Grants, renewals and returns are logged with the lease and job ids.
"""

import logging
from typing import Annotated

from fastapi import APIRouter, Body, Response

from poolmgr.core.errors import ErrorCode
from poolmgr.core.leases import Lease
from poolmgr.http.errors import ApiError, error_responses
from poolmgr.http.models import LeaseGranted, LeaseRenewal, LeaseRenewed, LeaseRequest
from poolmgr.http.plane import Plane
from poolmgr.http.walltime import WallTimes

__all__ = ["router"]

log = logging.getLogger(__name__)


def _log(event: str, text: str, lease: Lease) -> None:
    log.info(
        "%s on %s",
        text,
        lease.pool_id,
        extra={
            "event": event,
            "pool_id": lease.pool_id,
            "lease_id": lease.lease_id,
            "job_id": lease.job_id,
        },
    )


def _bad_ttl(pool_id: str, exc: ValueError) -> ApiError:
    return ApiError(ErrorCode.INVALID_PARAMS, f"body.ttl_ms: {exc}", pool_id=pool_id)


def router(plane: Plane) -> APIRouter:
    """``POST /v1/pools/{pool_id}/leases``, ``POST .../leases/{lease_id}/renew``, ``DELETE``."""
    api = APIRouter(dependencies=plane.auth.write)
    registry, controller = plane.registry, plane.controller

    def expires_at(lease: Lease, monotonic_now_ms: int) -> str:
        return WallTimes(monotonic_now_ms, plane.wall_clock()).at(lease.expires_at_ms)

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
            raise _bad_ttl(pool_id, exc) from None
        _log("lease_granted", "lease granted", lease)
        response.headers["Location"] = f"/v1/pools/{pool_id}/leases/{lease.lease_id}"
        return LeaseGranted(
            lease_id=lease.lease_id,
            pool_id=pool_id,
            engine_url=controller.engine_url(pool_id),
            expires_at_ms=lease.expires_at_ms,
            expires_at=expires_at(lease, registry.clock.now_ms()),
            ttl_ms=lease.expires_at_ms - lease.granted_at_ms,
            job_id=lease.job_id,
        )

    @api.post(
        "/v1/pools/{pool_id}/leases/{lease_id}/renew",
        response_model=LeaseRenewed,
        responses=error_responses(400, 401, 403, 404, 409),
        summary="Extend a lease from now; never shortens it (OC-POOL-3045, OC-CTL-4011)",
    )
    async def renew_lease(
        pool_id: str, lease_id: str, body: Annotated[LeaseRenewal | None, Body()] = None
    ) -> LeaseRenewed:
        req = body or LeaseRenewal()
        try:
            lease = registry.renew_lease(pool_id, lease_id, ttl_ms=req.ttl_ms)
        except ValueError as exc:
            raise _bad_ttl(pool_id, exc) from None
        now_ms = registry.clock.now_ms()
        _log("lease_renewed", "lease renewed", lease)
        return LeaseRenewed(
            lease_id=lease.lease_id,
            pool_id=pool_id,
            expires_at_ms=lease.expires_at_ms,
            expires_at=expires_at(lease, now_ms),
            ttl_ms=lease.expires_at_ms - now_ms,
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
        _log("lease_returned", "lease returned", lease)
        return Response(status_code=204)

    return api
