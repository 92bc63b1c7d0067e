"""The control-plane app: its factory, and the OpenAPI document built from it.

Decides how the pieces of :mod:`poolmgr.http` are put together: the bearer token is read once
from where the config says (OC-CTL-4006) and registered with the redactor; every JSON body
passes through the redactor (OC-CTL-4007); the request context sets and echoes the correlation
id (OC-CTL-4005); errors answer the envelope, a 405 with ``Allow`` (OC-CTL-4004,
OC-CTL-4012); the routers serve pools, replica sets, drain and reload, leases, metrics and the
manager's health (OC-CTL-4001..4003, 4010..4014, OC-POOL-3040..3045); and the OpenAPI
document is generated in a stable form (OC-CTL-4008).
"""

import json
import random
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from starlette.routing import Route

from poolmgr import __version__
from poolmgr.assemble import build_registry
from poolmgr.config import default_config, read_auth_token
from poolmgr.core.clock import MonotonicClock
from poolmgr.core.config import Config
from poolmgr.core.registry import Registry
from poolmgr.http.auth import BearerAuth
from poolmgr.http.context import RequestContext
from poolmgr.http.errors import install_error_handlers
from poolmgr.http.openapi import install_openapi
from poolmgr.http.plane import Controller, Plane, redacted_json
from poolmgr.http.routers import routers
from poolmgr.http.walltime import WallClock, system_wall_clock
from poolmgr.telemetry.metrics import PoolMetrics
from poolmgr.telemetry.redact import Redactor, default_redactor

__all__ = ["Controller", "create_app", "openapi_document", "openapi_text"]


def create_app(
    registry: Registry,
    controller: Controller,
    config: Config,
    metrics: PoolMetrics,
    *,
    redactor: Redactor | None = None,
    environ: Mapping[str, str] | None = None,
    ready: Callable[[], bool] | None = None,
    wall_clock: WallClock = system_wall_clock,
) -> FastAPI:
    """The control-plane app over ``registry``, driving ``controller``.

    The expected bearer token is read once, here, from where ``config.manager.auth`` says
    (``read_auth_token``; raises :class:`~poolmgr.core.errors.ConfigError` when it is missing) and
    registered with the redactor. ``ready`` answers ``/readyz`` (default: always ready);
    ``wall_clock`` dates the bodies' wall-clock times (default: the host's clock): lease
    expiries (OC-CTL-4010) and errors (OC-CTL-4021).
    """
    red = redactor or default_redactor()
    token = read_auth_token(config, environ)
    if token is not None:
        red.add(token)
    auth = BearerAuth(token, reads_need_auth=config.manager.read_requires_auth)
    response_class = redacted_json(red)
    app = FastAPI(
        title="poolmgr control plane",
        version=__version__,
        description=(
            "Pools, health, drain, reload, leases and metrics of the poolmgr pool manager. "
            "Every error uses the ErrorEnvelope schema; every response carries "
            "X-Correlation-Id."
        ),
        default_response_class=response_class,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(RequestContext, redactor=red)
    plane = Plane(registry, controller, config, metrics, auth, ready, wall_clock=wall_clock)
    built = routers(plane)
    for router in built:
        app.include_router(router)
    own = [route for route in app.router.routes if isinstance(route, Route)]  # /openapi.json
    install_error_handlers(
        app, registry, response_class, routes=[*own, *(route for r in built for route in r.routes)]
    )
    install_openapi(app)
    return app


class _NoController:
    async def drain(self, pool_id: str, deadline_ms: int) -> None:
        return None

    async def reload(self, pool_id: str, new_model_ref: str, deadline_ms: int) -> None:
        return None

    def engine_url(self, pool_id: str) -> str | None:
        return None


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app (built over the embedded default config)."""
    config = default_config()
    registry = build_registry(config, MonotonicClock(), random.Random(0))
    app = create_app(registry, _NoController(), config, PoolMetrics(registry), environ={})
    return app.openapi()


def openapi_text() -> str:
    """:func:`openapi_document` in its committed form: sorted keys, two-space indent."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
