"""The HTTP control plane: listings, pool health, drain, reload, leases and metrics.

Decides what the pool manager answers over HTTP, and in which shape:

- listings of pools and replica sets, ordered by id, with slot counts (OC-CTL-4001);
- one pool's health: liveness, readiness, draining, state, last error, breaker, restarts,
  heartbeat age, leases and a metrics snapshot (OC-CTL-4002, OC-POOL-3003);
- drain and reload answer 202 once accepted; conflicts known at once answer 409, and the
  outcome shows on the health endpoint (OC-CTL-4003, OC-POOL-3034);
- leases: grant (201), return (204), typed refusals with retry hints (OC-POOL-3040..3044);
- one error envelope ``{code, message, pool_id, engine, retriable, retry_after_ms,
  policy_label}`` for every error, validation errors included (400 ``INVALID_PARAMS`` naming
  the field), never a traceback (OC-CTL-4004);
- ``X-Correlation-Id`` echoed or generated on every response (OC-CTL-4005);
- bearer-token authentication on mutating endpoints, and on reads when configured, compared
  in constant time (OC-CTL-4006);
- every JSON body passes through the redactor before it leaves (OC-CTL-4007);
- the OpenAPI document is generated from these routes in a stable form (OC-CTL-4008).

The app drives a *controller* (the supervisor, or any object with its ``drain``, ``reload``
and ``engine_url`` methods) and reads the registry directly.
"""

import hmac
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Annotated, Any, Final, Protocol

from fastapi import Body, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from poolmgr import __version__
from poolmgr.config import Config, read_auth_token
from poolmgr.core.errors import PoolError, PoolUnready
from poolmgr.core.lifecycle import PoolState, ReloadOutcome
from poolmgr.core.registry import PoolSnapshot, Registry
from poolmgr.telemetry.logs import Redactor, correlation_id, default_redactor
from poolmgr.telemetry.metrics import PoolMetrics

__all__ = [
    "CORRELATION_HEADER",
    "ApiError",
    "Controller",
    "ErrorCode",
    "ErrorEnvelope",
    "create_app",
    "openapi_document",
    "openapi_text",
]

CORRELATION_HEADER: Final = "X-Correlation-Id"
DEFAULT_RETRY_AFTER_MS: Final = 1_000
"""Retry hint when the core knows no better (a pool still preloading, all slots leased)."""
MAX_DEADLINE_MS: Final = 3_600_000
DEFAULT_DRAIN_DEADLINE_MS: Final = 30_000
_CORRELATION_OK = re.compile(r"^[\x21-\x7e]{1,128}$")

log = logging.getLogger("poolmgr.http.app")


class Controller(Protocol):
    """What the control plane needs from the supervisor."""

    async def drain(self, pool_id: str, deadline_ms: int) -> None: ...

    async def reload(self, pool_id: str, new_model_ref: str, deadline_ms: int) -> None: ...

    def engine_url(self, pool_id: str) -> str | None: ...


# --------------------------------------------------------------------------- errors


class ErrorCode(StrEnum):
    INVALID_PARAMS = "INVALID_PARAMS"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    REPLICA_EXHAUSTED = "REPLICA_EXHAUSTED"
    INTERNAL = "INTERNAL"
    POOL_UNREADY = "POOL_UNREADY"
    POOL_UNAVAILABLE = "POOL_UNAVAILABLE"
    NOT_READY = "NOT_READY"


STATUS_OF: Final[Mapping[ErrorCode, int]] = {
    ErrorCode.INVALID_PARAMS: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.REPLICA_EXHAUSTED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.POOL_UNREADY: 503,
    ErrorCode.POOL_UNAVAILABLE: 503,
    ErrorCode.NOT_READY: 503,
}
_RETRIABLE: Final = frozenset(
    {
        ErrorCode.REPLICA_EXHAUSTED,
        ErrorCode.POOL_UNREADY,
        ErrorCode.POOL_UNAVAILABLE,
        ErrorCode.NOT_READY,
    }
)


class ErrorEnvelope(BaseModel):
    """The one shape of every error response (OC-CTL-4004)."""

    code: ErrorCode
    message: str
    pool_id: str | None = None
    engine: str | None = None
    retriable: bool = False
    retry_after_ms: int | None = None
    policy_label: str | None = None


class ApiError(Exception):
    """An error the control plane answers with the envelope."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        pool_id: str | None = None,
        retry_after_ms: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.pool_id = pool_id
        self.retry_after_ms = retry_after_ms
        self.headers = dict(headers or {})


# --------------------------------------------------------------------------- bodies


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DrainRequest(_Strict):
    deadline_ms: int = Field(
        ge=0, le=MAX_DEADLINE_MS, description="How long active leases may run before the stop."
    )


class ReloadRequest(_Strict):
    new_model_ref: str = Field(min_length=1, max_length=4096)
    deadline_ms: int | None = Field(
        default=None,
        ge=0,
        le=MAX_DEADLINE_MS,
        description="Drain deadline for the old engine; the pool's configured one when absent.",
    )


class LeaseRequest(_Strict):
    ttl_ms: int | None = Field(default=None, ge=1, le=MAX_DEADLINE_MS)
    job_id: str | None = Field(default=None, min_length=1, max_length=256)


class PoolEntry(BaseModel):
    id: str
    engine: str
    cpu: bool
    engine_version: str | None
    model_digest: str | None
    slots_total: int
    slots_free: int
    load: float
    state: PoolState
    ready: bool


class ReplicaSetEntry(PoolEntry):
    slo: dict[str, float] | None = None


class LastErrorView(BaseModel):
    cause: str
    message: str
    at_ms: int


class BreakerView(BaseModel):
    state: str
    next_trial_at_ms: int | None


class ReloadView(BaseModel):
    outcome: ReloadOutcome
    from_: str = Field(serialization_alias="from")
    to: str
    cause: str | None
    message: str | None


class RestartsView(BaseModel):
    count: int
    next_restart_at_ms: int | None
    backoff_attempt: int
    backoff_delay_ms: int | None


class LeasesView(BaseModel):
    active: int
    slots_total: int
    slots_free: int
    returned: int
    expired: int
    voided: int


class PoolMetricsView(BaseModel):
    load: float
    active_leases: int
    slots_total: int
    slots_free: int
    drain_events: dict[str, int]
    restarts: dict[str, int]
    preload_outcomes: dict[str, int]
    driver_resets: int


class PoolHealth(BaseModel):
    id: str
    engine: str
    cpu: bool
    live: bool
    ready: bool
    draining: bool
    state: PoolState
    preload_ok: bool
    model_ref: str
    engine_version: str | None
    model_digest: str | None
    last_error: LastErrorView | None
    breaker: BreakerView
    restart_count: int
    next_restart_at_ms: int | None
    restarts: RestartsView
    heartbeat_age_ms: int | None
    active_leases: int
    leases: LeasesView
    reload: ReloadView | None
    drain_reason: str | None
    metrics: PoolMetricsView


class Accepted(BaseModel):
    pool_id: str
    action: str
    deadline_ms: int
    new_model_ref: str | None = None


class LeaseGranted(BaseModel):
    lease_id: str
    pool_id: str
    engine_url: str | None = Field(description="Base URL of the pool's engine; null if none runs")
    expires_at_ms: int = Field(
        description="Expiry on the manager's monotonic clock (the clock of every *_at_ms field)"
    )
    ttl_ms: int = Field(description="How long the lease lasts from its grant")
    job_id: str | None


class ManagerHealth(BaseModel):
    status: str
    version: str


class ManagerReady(BaseModel):
    ready: bool
    pools_total: int
    pools_ready: int


# --------------------------------------------------------------------------- views


def _entry(s: PoolSnapshot) -> dict[str, Any]:
    return {
        "id": s.pool_id,
        "engine": s.engine,
        "cpu": s.cpu,
        "engine_version": s.engine_version,
        "model_digest": s.model_digest,
        "slots_total": s.slots_total,
        "slots_free": s.slots_free,
        "load": s.load,
        "state": s.state,
        "ready": s.ready,
    }


def _health(s: PoolSnapshot, counters: Mapping[str, Mapping[str, int]]) -> PoolHealth:
    ended = {end.value: n for end, n in s.leases_ended.items()}
    err = s.last_error
    return PoolHealth(
        id=s.pool_id,
        engine=s.engine,
        cpu=s.cpu,
        live=s.live,
        ready=s.ready,
        draining=s.draining,
        state=s.state,
        preload_ok=s.preload_ok,
        model_ref=s.model_ref,
        engine_version=s.engine_version,
        model_digest=s.model_digest,
        last_error=None
        if err is None
        else LastErrorView(cause=err.cause.value, message=err.message, at_ms=err.at_ms),
        breaker=BreakerView(
            state=s.breaker_state.value, next_trial_at_ms=s.breaker_next_trial_at_ms
        ),
        restart_count=s.restart_count,
        next_restart_at_ms=s.next_restart_at_ms,
        restarts=RestartsView(
            count=s.restart_count,
            next_restart_at_ms=s.next_restart_at_ms,
            backoff_attempt=s.backoff_attempt,
            backoff_delay_ms=s.backoff_delay_ms,
        ),
        heartbeat_age_ms=s.heartbeat_age_ms,
        active_leases=s.active_leases,
        leases=LeasesView(
            active=s.active_leases,
            slots_total=s.slots_total,
            slots_free=s.slots_free,
            returned=ended.get("returned", 0),
            expired=ended.get("expired", 0),
            voided=ended.get("voided", 0),
        ),
        reload=None
        if s.reload is None
        else ReloadView(
            outcome=s.reload.outcome,
            from_=s.reload.from_model_ref,
            to=s.reload.to_model_ref,
            cause=None if s.reload.cause is None else s.reload.cause.value,
            message=s.reload.message,
        ),
        drain_reason=s.drain_reason,
        metrics=PoolMetricsView(
            load=s.load,
            active_leases=s.active_leases,
            slots_total=s.slots_total,
            slots_free=s.slots_free,
            drain_events=dict(counters.get("drain_events_total", {})),
            restarts=dict(counters.get("restarts_total", {})),
            preload_outcomes=dict(counters.get("preload_outcomes_total", {})),
            driver_resets=sum(counters.get("driver_resets_total", {}).values()),
        ),
    )


# --------------------------------------------------------------------------- OpenAPI helpers

_ERR: Final[dict[str, Any]] = {"model": ErrorEnvelope}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    texts = {
        400: "INVALID_PARAMS: a field is missing, unknown or out of range",
        401: "UNAUTHORIZED: bearer token missing",
        403: "FORBIDDEN: bearer token does not match",
        404: "NOT_FOUND: no such pool or lease",
        409: "CONFLICT: refused in the pool's current state",
        429: "REPLICA_EXHAUSTED: every slot is leased",
        503: "POOL_UNREADY or POOL_UNAVAILABLE: the pool takes no leases now",
    }
    return {code: {**_ERR, "description": texts[code]} for code in codes}


def _retry_after_header(ms: int) -> str:
    return str(max(1, math.ceil(ms / 1000)))


# --------------------------------------------------------------------------- middleware


class _RequestContext:
    """Correlation id on every response, request logging, and the last-resort 500.

    A pure ASGI middleware placed outside FastAPI's exception handling, so even an
    exception no handler knows is answered with the envelope (code ``INTERNAL``, generic
    message) and the correlation id, while the traceback goes to the log only.
    """

    def __init__(self, app: ASGIApp, redactor: Redactor) -> None:
        self.app = app
        self.redactor = redactor

    def _incoming(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", []):
            if name == b"x-correlation-id":
                text = bytes(value).decode("latin-1")
                if _CORRELATION_OK.match(text) and not self.redactor.contains_secret(text):
                    return text
                return None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = self._incoming(scope) or str(uuid.uuid4())
        token = correlation_id.set(cid)
        started = False
        status = 500
        t0 = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k != b"x-correlation-id"
                ]
                headers.append((b"x-correlation-id", cid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "unhandled error while serving %s %s",
                scope.get("method"),
                scope.get("path"),
                extra={"event": "http_internal_error"},
            )
            if started:
                raise
            envelope = ErrorEnvelope(
                code=ErrorCode.INTERNAL,
                message=f"internal error; see the manager log for correlation id {cid}",
            )
            body = json.dumps(envelope.model_dump(mode="json")).encode()
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})
        finally:
            log.info(
                "%s %s -> %d",
                scope.get("method"),
                scope.get("path"),
                status,
                extra={
                    "event": "http_request",
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - t0) * 1000, 3),
                },
            )
            correlation_id.reset(token)


# --------------------------------------------------------------------------- the app


def create_app(
    registry: Registry,
    controller: Controller,
    config: Config,
    metrics: PoolMetrics,
    *,
    redactor: Redactor | None = None,
    environ: Mapping[str, str] | None = None,
    ready: Callable[[], bool] | None = None,
) -> FastAPI:
    """The control-plane app over ``registry``, driving ``controller``.

    The expected bearer token is read once, here, from where ``config.manager.auth`` says
    (``read_auth_token``; raises :class:`~poolmgr.core.errors.ConfigError` when it is missing) and
    registered with the redactor. ``ready`` answers ``/readyz`` (default: always ready).
    """
    red = redactor or default_redactor()
    token = read_auth_token(config, environ)
    if token is not None:
        red.add(token)
    token_bytes = None if token is None else token.encode("utf-8")
    reads_need_auth = config.manager.read_requires_auth and token is not None

    class RedactedJSON(JSONResponse):
        """JSON with every string passed through the redactor (OC-CTL-4007)."""

        def render(self, content: Any) -> bytes:
            return super().render(red.redact_value(content))

    app = FastAPI(
        title="poolmgr control plane",
        version=__version__,
        description=(
            "Pools, health, drain, reload, leases and metrics of the poolmgr pool manager. "
            "Every error uses the ErrorEnvelope schema; every response carries "
            "X-Correlation-Id."
        ),
        default_response_class=RedactedJSON,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(_RequestContext, redactor=red)
    bearer = HTTPBearer(auto_error=False, description="The control-plane token")

    def _check(credentials: HTTPAuthorizationCredentials | None) -> None:
        assert token_bytes is not None
        if credentials is None or not credentials.credentials:
            raise ApiError(
                ErrorCode.UNAUTHORIZED,
                "a bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        given = credentials.credentials.encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, token_bytes):
            raise ApiError(ErrorCode.FORBIDDEN, "the bearer token does not match")

    def require_write(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if token_bytes is not None:
            _check(credentials)

    def require_read(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if reads_need_auth:
            _check(credentials)

    write_auth = [Depends(require_write)]
    read_auth = [Depends(require_read)]

    def engine_of(pool_id: str | None) -> str | None:
        if pool_id is None:
            return None
        try:
            return registry.snapshot(pool_id).engine
        except PoolError:
            return None

    def envelope(
        code: ErrorCode,
        message: str,
        *,
        pool_id: str | None = None,
        retry_after_ms: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONResponse:
        body = ErrorEnvelope(
            code=code,
            message=message,
            pool_id=pool_id,
            engine=engine_of(pool_id),
            retriable=code in _RETRIABLE,
            retry_after_ms=retry_after_ms,
        )
        out_headers = dict(headers or {})
        if retry_after_ms is not None:
            out_headers["Retry-After"] = _retry_after_header(retry_after_ms)
        return RedactedJSON(
            body.model_dump(mode="json"), status_code=STATUS_OF[code], headers=out_headers
        )

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return envelope(
            exc.code,
            exc.message,
            pool_id=exc.pool_id,
            retry_after_ms=exc.retry_after_ms,
            headers=exc.headers,
        )

    @app.exception_handler(PoolError)
    async def _pool_error(_: Request, exc: PoolError) -> Response:
        try:
            code = ErrorCode(exc.code)
        except ValueError:
            code = ErrorCode.INTERNAL
        retry: int | None = None
        if code in (ErrorCode.POOL_UNREADY, ErrorCode.POOL_UNAVAILABLE):
            hint = exc.retry_after_ms if isinstance(exc, PoolUnready) else None
            retry = DEFAULT_RETRY_AFTER_MS if hint is None else max(hint, 1)
        elif code is ErrorCode.REPLICA_EXHAUSTED:
            retry = DEFAULT_RETRY_AFTER_MS
        return envelope(code, exc.message, pool_id=exc.pool_id, retry_after_ms=retry)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(part) for part in err.get("loc", ()))
            kind = err.get("type", "")
            msg = "invalid JSON" if kind == "json_invalid" else str(err.get("msg", "invalid"))
            problems.append(f"{loc or 'request'}: {msg}")
        return envelope(ErrorCode.INVALID_PARAMS, "; ".join(problems) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        by_status = {
            404: (ErrorCode.NOT_FOUND, "no such route"),
            405: (ErrorCode.METHOD_NOT_ALLOWED, "method not allowed on this route"),
        }
        code, message = by_status.get(exc.status_code, (ErrorCode.INVALID_PARAMS, "bad request"))
        status = exc.status_code
        if status >= 500 or status < 400:
            code, message, status = ErrorCode.INTERNAL, "internal error", 500
        response = envelope(code, message)
        response.status_code = status
        return response

    # --- listings -----------------------------------------------------------------

    @app.get(
        "/v1/pools",
        response_model=list[PoolEntry],
        dependencies=read_auth,
        responses=_errors(401, 403),
        summary="Every pool, ordered by id (OC-CTL-4001)",
    )
    async def list_pools() -> list[dict[str, Any]]:
        return [_entry(s) for s in registry.snapshots()]

    @app.get(
        "/v1/replicasets",
        response_model=list[ReplicaSetEntry],
        dependencies=read_auth,
        responses=_errors(401, 403),
        summary="Every replica set (one per pool), ordered by id (OC-CTL-4001)",
    )
    async def list_replicasets() -> list[dict[str, Any]]:
        return [{**_entry(s), "slo": None} for s in registry.snapshots()]

    @app.get(
        "/v1/pools/{pool_id}/health",
        response_model=PoolHealth,
        dependencies=read_auth,
        responses=_errors(401, 403, 404),
        summary="One pool's health (OC-CTL-4002)",
    )
    async def pool_health(pool_id: str) -> PoolHealth:
        snap = registry.snapshot(pool_id)
        return _health(snap, metrics.pool_counters(pool_id))

    # --- drain and reload ---------------------------------------------------------

    async def _accept(
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

    @app.post(
        "/v1/pools/{pool_id}/drain",
        status_code=202,
        response_model=Accepted,
        dependencies=write_auth,
        responses=_errors(400, 401, 403, 404, 409),
        summary="Start a drain; the outcome shows on health (OC-CTL-4003)",
    )
    async def drain(pool_id: str, body: DrainRequest) -> Accepted:
        await _accept(
            pool_id,
            "drain",
            lambda: controller.drain(pool_id, body.deadline_ms),
            body.deadline_ms,
        )
        return Accepted(pool_id=pool_id, action="drain", deadline_ms=body.deadline_ms)

    @app.post(
        "/v1/pools/{pool_id}/reload",
        status_code=202,
        response_model=Accepted,
        dependencies=write_auth,
        responses=_errors(400, 401, 403, 404, 409),
        summary="Start a reload; success or rollback shows on health (OC-CTL-4003)",
    )
    async def reload(pool_id: str, body: ReloadRequest) -> Accepted:
        registry.snapshot(pool_id)
        deadline = body.deadline_ms
        if deadline is None:
            try:
                deadline = config.pool(pool_id).drain_deadline_ms
            except KeyError:  # a registry pool the config does not list
                deadline = DEFAULT_DRAIN_DEADLINE_MS
        await _accept(
            pool_id,
            "reload",
            lambda: controller.reload(pool_id, body.new_model_ref, deadline),
            deadline,
        )
        return Accepted(
            pool_id=pool_id,
            action="reload",
            deadline_ms=deadline,
            new_model_ref=body.new_model_ref,
        )

    # --- leases -------------------------------------------------------------------

    @app.post(
        "/v1/pools/{pool_id}/leases",
        status_code=201,
        response_model=LeaseGranted,
        dependencies=write_auth,
        responses=_errors(400, 401, 403, 404, 429, 503),
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

    @app.delete(
        "/v1/pools/{pool_id}/leases/{lease_id}",
        status_code=204,
        response_class=Response,
        dependencies=write_auth,
        responses=_errors(401, 403, 404, 409),
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

    # --- the manager itself -------------------------------------------------------

    @app.get(
        "/metrics",
        response_class=Response,
        dependencies=read_auth,
        responses={
            200: {
                "description": "Prometheus text exposition",
                "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
            },
            **_errors(401, 403),
        },
        summary="Prometheus metrics (spec/metrics-contract.yaml)",
    )
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", response_model=ManagerHealth, summary="The manager process is alive")
    async def healthz() -> ManagerHealth:
        return ManagerHealth(status="ok", version=__version__)

    @app.get(
        "/readyz",
        response_model=ManagerReady,
        responses={503: {**_ERR, "description": "NOT_READY: starting or shutting down"}},
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

    _install_openapi(app)
    return app


# --------------------------------------------------------------------------- OpenAPI


def _install_openapi(app: FastAPI) -> None:
    """Post-process FastAPI's document: 400 instead of 422, correlation and retry headers."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = original()
        corr = {
            "description": "Echo of the request's X-Correlation-Id, or a generated UUID",
            "required": True,
            "schema": {"type": "string"},
        }
        retry = {"description": "Seconds to wait before retrying", "schema": {"type": "string"}}
        corr_param = {
            "name": CORRELATION_HEADER,
            "in": "header",
            "required": False,
            "description": "Correlation id to echo (1-128 visible ASCII characters)",
            "schema": {"type": "string", "maxLength": 128},
        }
        for item in doc.get("paths", {}).values():
            for op in item.values():
                op.setdefault("parameters", []).append(corr_param)
                responses: dict[str, Any] = op.setdefault("responses", {})
                responses.pop("422", None)
                for status, resp in responses.items():
                    headers = resp.setdefault("headers", {})
                    headers[CORRELATION_HEADER] = corr
                    if status in ("429", "503"):
                        headers["Retry-After"] = retry
        schemas = doc.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


class _NoController:
    async def drain(self, pool_id: str, deadline_ms: int) -> None:
        return None

    async def reload(self, pool_id: str, new_model_ref: str, deadline_ms: int) -> None:
        return None

    def engine_url(self, pool_id: str) -> str | None:
        return None


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app (built over the embedded default config)."""
    import random

    from poolmgr.assemble import build_registry
    from poolmgr.config import default_config
    from poolmgr.core.clock import MonotonicClock

    config = default_config()
    registry = build_registry(config, MonotonicClock(), random.Random(0))
    app = create_app(registry, _NoController(), config, PoolMetrics(registry), environ={})
    return app.openapi()


def openapi_text() -> str:
    """:func:`openapi_document` in its committed form: sorted keys, two-space indent."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
