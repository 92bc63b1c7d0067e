"""Metrics: the Prometheus text exposition of spec/metrics-contract.yaml, behind read auth."""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from poolmgr.http.errors import error_responses
from poolmgr.http.plane import Plane

__all__ = ["router"]


def router(plane: Plane) -> APIRouter:
    """``GET /metrics``."""
    api = APIRouter(dependencies=plane.auth.read)
    metrics = plane.metrics

    @api.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text exposition",
                "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
            },
            **error_responses(401, 403),
        },
        summary="Prometheus metrics (spec/metrics-contract.yaml)",
    )
    async def prometheus_metrics() -> Response:
        # In steps, the loop served in between (OC-PERF-9103).
        return Response(await metrics.render_async(), media_type=CONTENT_TYPE_LATEST)

    return api
