"""Leases: take a slot (201), renew it (200) and give it back (204) (OC-POOL-3040..3045).

A lease request may wait for a slot (``wait_ms``, OC-ADM-9001): a long poll, since the answer
is the same resource either way and ordinary HTTP clients need nothing new (a ``202`` with a
poll URL would make every client loop, and turn a disconnect into an abandoned ticket). While
it waits, the handler watches the connection: a client that disconnects leaves the queue, and
a lease granted in the same instant is returned at once (OC-ADM-9006).

Decides the HTTP side of leasing only: the registry decides grants, renewals and refusals, and
its typed refusals (``REPLICA_EXHAUSTED``, ``POOL_UNREADY``, ``POOL_UNAVAILABLE``,
``NOT_FOUND``, ``CONFLICT``) reach the client through :mod:`poolmgr.http.errors` with their
retry hints. A renewal of a lease that already ended (returned, expired or voided) answers 409
``CONFLICT`` naming how it ended; an unknown lease or pool answers 404 (OC-CTL-4011). Grants
and renewals tell the expiry twice: on the manager's monotonic clock (``expires_at_ms``) and as
an RFC 3339 UTC time (``expires_at``), converted here with the plane's wall clock
(OC-CTL-4010). Grants, renewals and returns are logged with the lease and job ids.
"""

import asyncio
import logging
from concurrent.futures import Future
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from poolmgr.core.errors import ErrorCode, PoolError
from poolmgr.core.leases import Lease
from poolmgr.core.registry import Pending, Registry
from poolmgr.http.errors import ApiError, error_responses
from poolmgr.http.models import LeaseGranted, LeaseRenewal, LeaseRenewed, LeaseRequest
from poolmgr.http.plane import Plane
from poolmgr.http.walltime import WallTimes

__all__ = ["router"]

log = logging.getLogger(__name__)

_CLIENT_CLOSED = 499
"""The status logged for a request whose client left (nginx's "client closed request")."""


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
        summary=(
            "Take one slot of a Ready pool, waiting up to wait_ms for one "
            "(OC-POOL-3040, OC-POOL-3044, OC-ADM-9001)"
        ),
    )
    async def acquire_lease(
        pool_id: str,
        request: Request,
        response: Response,
        body: Annotated[LeaseRequest | None, Body()] = None,
    ) -> LeaseGranted | Response:
        lease = await _answer(registry, _ask(registry, pool_id, body or LeaseRequest()), request)
        if lease is None:
            return Response(status_code=_CLIENT_CLOSED)
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


def _ask(registry: Registry, pool_id: str, req: LeaseRequest) -> Pending:
    try:
        return registry.request_lease(
            pool_id,
            wait_ms=req.wait_ms,
            ttl_ms=req.ttl_ms,
            job_id=req.job_id,
            tenant=req.tenant,
            priority=req.priority,
        )
    except ValueError as exc:
        raise _bad_ttl(pool_id, exc) from None


async def _answer(registry: Registry, pending: Pending, request: Request) -> Lease | None:
    """The lease of a request, once decided; ``None``: the client left and gave up its place.

    Refusals raise their typed error (the envelope answers them).
    """
    future = pending.future
    if future.done():
        return future.result()
    answer: asyncio.Future[Lease] = asyncio.wrap_future(future)
    # The outcome is read from ``future``; mark the wrapper's refusal as seen, or asyncio logs
    # "Future exception was never retrieved" at ERROR for every waiter refused at its deadline.
    answer.add_done_callback(_seen)
    gone: asyncio.Future[None] = asyncio.ensure_future(_disconnected(request))
    left = True  # also when this handler is cancelled (the server shuts down)
    try:
        waits: set[asyncio.Future[Lease] | asyncio.Future[None]] = {answer, gone}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        left = gone.done()
    finally:
        gone.cancel()
        if left:
            _leave(registry, pending)
    return None if left else future.result()


def _seen(answer: asyncio.Future[Lease]) -> None:
    if not answer.cancelled():
        answer.exception()


def _leave(registry: Registry, pending: Pending) -> None:
    """The client left: take its ticket out, or give back the lease granted meanwhile."""
    ticket = pending.ticket
    if not registry.cancel_request(ticket.pool_id, ticket.ticket_id):
        _return_if_granted(registry, pending.future)
    log.info(
        "lease request left the queue of %s (its client disconnected)",
        ticket.pool_id,
        extra={
            "event": "admission_cancelled",
            "pool_id": ticket.pool_id,
            "tenant": ticket.tenant,
            "priority": ticket.priority.value,
        },
    )


async def _disconnected(request: Request) -> None:
    """Return when the client has closed its connection."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def _return_if_granted(registry: Registry, future: Future[Lease]) -> None:
    """The client left as its request was decided: give a granted slot back (OC-ADM-9006).

    The decision may still be on its way from another thread (the registry settles futures
    after releasing its lock), so the slot is given back when the future is settled.
    """

    def give_back(settled: Future[Lease]) -> None:
        if settled.cancelled() or settled.exception() is not None:
            return
        lease = settled.result()
        try:
            registry.release_lease(lease.pool_id, lease.lease_id)
        except PoolError:
            return  # the lease already ended
        _log("lease_returned", "lease returned (its client left)", lease)

    future.add_done_callback(give_back)
