"""Drain and reload: accepted with 202, their outcome shown on health (OC-CTL-4003, OC-POOL-3034).

Decides that an unknown pool answers 404 before the controller is asked, that a conflict the
controller knows at once answers 409 (its :class:`~poolmgr.core.errors.InvalidTransition`),
and that a drain or reload without a deadline (no body, ``{}`` or ``null``) uses the pool's
configured ``drain_deadline_ms``; the 202 answer names the deadline that applies and where it
comes from (OC-CTL-4014).
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Final

from fastapi import APIRouter, Body

from poolmgr.http.errors import error_responses
from poolmgr.http.models import Accepted, DeadlineSource, DrainRequest, ReloadRequest
from poolmgr.http.plane import Plane

__all__ = ["DEFAULT_DRAIN_DEADLINE_MS", "router"]

DEFAULT_DRAIN_DEADLINE_MS: Final = 30_000
DEFAULT_STOP_GRACE_MS: Final = 10_000
"""The schema's default stop_grace_ms, for a registry pool the config does not list."""
"""Drain deadline of a drain or reload on a pool the config does not list."""

log = logging.getLogger(__name__)


def router(plane: Plane) -> APIRouter:
    """``POST /v1/pools/{pool_id}/drain`` and ``POST /v1/pools/{pool_id}/reload``."""
    api = APIRouter(dependencies=plane.auth.write)
    registry, controller, config = plane.registry, plane.controller, plane.config

    async def accept(
        pool_id: str, action: str, run: Callable[[], Awaitable[None]], deadline: int
    ) -> None:
        registry.snapshot(pool_id)  # unknown pool: 404 before the controller is asked
        await run()
        log.info(
            "%s accepted for pool %s",
            action,
            pool_id,
            extra={"event": f"{action}_accepted", "pool_id": pool_id, "deadline_ms": deadline},
        )

    def deadline_of(pool_id: str, asked: int | None) -> tuple[int, DeadlineSource]:
        """The deadline a drain or reload uses, and where it comes from (OC-CTL-4014)."""
        if asked is not None:
            return asked, "request"
        try:
            return config.pool(pool_id).drain_deadline_ms, "pool_config"
        except KeyError:  # a registry pool the config does not list
            return DEFAULT_DRAIN_DEADLINE_MS, "manager_default"

    def grace_of(pool_id: str) -> int:
        try:
            return config.pool(pool_id).stop_grace_ms
        except KeyError:
            return DEFAULT_STOP_GRACE_MS

    @api.post(
        "/v1/pools/{pool_id}/drain",
        status_code=202,
        response_model=Accepted,
        responses=error_responses(400, 401, 403, 404, 409),
        summary="Start a drain; the outcome shows on health (OC-CTL-4003, OC-CTL-4014)",
    )
    async def drain(pool_id: str, body: Annotated[DrainRequest | None, Body()] = None) -> Accepted:
        deadline, source = deadline_of(pool_id, (body or DrainRequest()).deadline_ms)
        await accept(pool_id, "drain", lambda: controller.drain(pool_id, deadline), deadline)
        return Accepted(
            pool_id=pool_id,
            action="drain",
            deadline_ms=deadline,
            deadline_source=source,
            stop_grace_ms=grace_of(pool_id),
        )

    @api.post(
        "/v1/pools/{pool_id}/reload",
        status_code=202,
        response_model=Accepted,
        responses=error_responses(400, 401, 403, 404, 409),
        summary="Start a reload; success or rollback shows on health (OC-CTL-4003)",
    )
    async def reload(pool_id: str, body: ReloadRequest) -> Accepted:
        registry.snapshot(pool_id)
        deadline, source = deadline_of(pool_id, body.deadline_ms)
        await accept(
            pool_id,
            "reload",
            lambda: controller.reload(pool_id, body.new_model_ref, deadline),
            deadline,
        )
        return Accepted(
            pool_id=pool_id,
            action="reload",
            deadline_ms=deadline,
            deadline_source=source,
            stop_grace_ms=grace_of(pool_id),
            new_model_ref=body.new_model_ref,
        )

    return api
