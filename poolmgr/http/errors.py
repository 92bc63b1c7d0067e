"""The control plane's error envelope, and the one seam that maps error codes to statuses.

Decides how every error leaves the control plane (OC-CTL-4004): one envelope ``{code,
message, pool_id, engine, retriable, retry_after_ms, policy_label}``, never a traceback.

- A :class:`~poolmgr.core.errors.PoolError` of any kind (the core's refusals, and
  :class:`ApiError`, this layer's own) is answered with the status its code maps to in
  :data:`STATUS_OF`; the HTTP layer decides statuses and retry hints, never codes.
- A code without a status (a config, model-file or engine error reaching a request) and any
  exception nobody expected answer ``INTERNAL`` with a generic message naming the correlation
  id, while the traceback goes to the log only (see also :mod:`poolmgr.http.context`).
- Validation errors answer 400 ``INVALID_PARAMS`` naming the field; unknown routes and
  methods answer 404 ``NOT_FOUND`` and 405 ``METHOD_NOT_ALLOWED``, the latter with an
  ``Allow`` header naming every method of the path (OC-CTL-4012).
- Refusals that may pass (``POOL_UNREADY``, ``POOL_UNAVAILABLE``, ``REPLICA_EXHAUSTED``,
  ``NOT_READY``) are ``retriable`` and carry ``retry_after_ms`` and ``Retry-After``
  (OC-POOL-3044).

Foreign errors (FastAPI's and Starlette's) are translated here, at one seam, in the spirit of
httpx's ``map_httpcore_exceptions``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from poolmgr.core.errors import AdmissionRefused, ErrorCode, PoolError, PoolUnready, QuotaExceeded
from poolmgr.core.registry import Registry
from poolmgr.telemetry.logs import correlation_id

__all__ = [
    "DEFAULT_RETRY_AFTER_MS",
    "STATUS_OF",
    "ApiError",
    "ErrorEnvelope",
    "allowed_methods",
    "error_responses",
    "install_error_handlers",
    "internal_message",
]

DEFAULT_RETRY_AFTER_MS: Final = 1_000
"""Retry hint when the core knows no better (a pool still preloading, all slots leased)."""

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
    ErrorCode.QUEUE_FULL: 429,
    ErrorCode.DEADLINE_EXCEEDED: 429,
    ErrorCode.QUOTA_EXCEEDED: 429,
}
"""The codes a client can receive, and their statuses; every other code answers INTERNAL."""

_RETRIABLE: Final = frozenset(
    {
        ErrorCode.REPLICA_EXHAUSTED,
        ErrorCode.POOL_UNREADY,
        ErrorCode.POOL_UNAVAILABLE,
        ErrorCode.NOT_READY,
        ErrorCode.QUEUE_FULL,
        ErrorCode.DEADLINE_EXCEEDED,
        ErrorCode.QUOTA_EXCEEDED,
    }
)

log = logging.getLogger(__name__)


class ErrorEnvelope(BaseModel):
    """The one shape of every error response (OC-CTL-4004)."""

    code: ErrorCode
    message: str
    pool_id: str | None = None
    engine: str | None = None
    retriable: bool = False
    retry_after_ms: int | None = None
    policy_label: str | None = None


class ApiError(PoolError):
    """A refusal of the control plane itself (auth, readiness, a bad field), with its code."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        pool_id: str | None = None,
        retry_after_ms: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, pool_id=pool_id)
        self.code = code
        self.retry_after_ms = retry_after_ms
        self.headers = dict(headers or {})


def internal_message(cid: str | None) -> str:
    """The message of every ``INTERNAL`` answer that hides its cause."""
    return f"internal error; see the manager log for correlation id {cid}"


def _retry_after_ms(exc: PoolError) -> int | None:
    if isinstance(exc, ApiError):
        return exc.retry_after_ms
    if exc.code in (ErrorCode.POOL_UNREADY, ErrorCode.POOL_UNAVAILABLE):
        hint = exc.retry_after_ms if isinstance(exc, PoolUnready) else None
        return DEFAULT_RETRY_AFTER_MS if hint is None else max(hint, 1)
    if isinstance(exc, AdmissionRefused):
        return DEFAULT_RETRY_AFTER_MS if exc.retry_after_ms is None else max(exc.retry_after_ms, 1)
    if exc.code is ErrorCode.REPLICA_EXHAUSTED:
        return DEFAULT_RETRY_AFTER_MS
    return None


class _Envelopes:
    """Builds envelope responses: the engine named from the registry, every string redacted."""

    def __init__(
        self,
        registry: Registry,
        response_class: type[JSONResponse],
        routes: Sequence[BaseRoute],
    ) -> None:
        self.registry = registry
        self.response_class = response_class
        self.routes = routes

    def _engine_of(self, pool_id: str | None) -> str | None:
        if pool_id is None:
            return None
        try:
            return self.registry.snapshot(pool_id).engine
        except PoolError:
            return None

    def respond(
        self,
        code: ErrorCode,
        message: str,
        *,
        pool_id: str | None = None,
        retry_after_ms: int | None = None,
        headers: Mapping[str, str] | None = None,
        policy_label: str | None = None,
    ) -> JSONResponse:
        body = ErrorEnvelope(
            code=code,
            message=message,
            pool_id=pool_id,
            engine=self._engine_of(pool_id),
            retriable=code in _RETRIABLE,
            retry_after_ms=retry_after_ms,
            policy_label=policy_label,
        )
        out_headers = dict(headers or {})
        if retry_after_ms is not None:
            out_headers["Retry-After"] = str(max(1, math.ceil(retry_after_ms / 1000)))
        return self.response_class(
            body.model_dump(mode="json"), status_code=STATUS_OF[code], headers=out_headers
        )

    async def typed(self, _: Request, exc: Exception) -> Response:
        assert isinstance(exc, PoolError)
        if exc.code not in STATUS_OF:
            log.error(
                "%s reached the control plane",
                type(exc).__name__,
                exc_info=exc,
                extra={"event": "http_internal_error"},
            )
            return self.respond(ErrorCode.INTERNAL, internal_message(correlation_id.get()))
        headers = exc.headers if isinstance(exc, ApiError) else None
        return self.respond(
            exc.code,
            exc.message,
            pool_id=exc.pool_id,
            retry_after_ms=_retry_after_ms(exc),
            headers=headers,
            policy_label=exc.reason if isinstance(exc, QuotaExceeded) else None,
        )

    async def invalid(self, _: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(part) for part in err.get("loc", ()))
            kind = err.get("type", "")
            msg = "invalid JSON" if kind == "json_invalid" else str(err.get("msg", "invalid"))
            problems.append(f"{loc or 'request'}: {msg}")
        return self.respond(ErrorCode.INVALID_PARAMS, "; ".join(problems) or "invalid request")

    async def starlette(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        by_status = {
            404: (ErrorCode.NOT_FOUND, "no such route"),
            405: (ErrorCode.METHOD_NOT_ALLOWED, "method not allowed on this route"),
        }
        code, message = by_status.get(exc.status_code, (ErrorCode.INVALID_PARAMS, "bad request"))
        status = exc.status_code
        if status >= 500 or status < 400:
            code, message, status = ErrorCode.INTERNAL, "internal error", 500
        headers = {"Allow": allowed_methods(self.routes, request.scope)} if status == 405 else None
        response = self.respond(code, message, headers=headers)
        response.status_code = status
        return response


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The ``Allow`` value of a 405: every method of every route whose path matches (OC-CTL-4012).

    Starlette names only the methods of the first route that matched the path; a path served
    by several routes (one per method) needs them all, so the app's routes are asked here.
    """
    methods: set[str] = set()
    for route in routes:
        matched, _ = route.matches(scope)
        if matched is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def install_error_handlers(
    app: FastAPI,
    registry: Registry,
    response_class: type[JSONResponse],
    routes: Sequence[BaseRoute] = (),
) -> None:
    """Answer typed, validation and routing errors of ``app`` with the envelope.

    ``routes`` are the app's routes, asked for the ``Allow`` header of a 405.
    """
    envelopes = _Envelopes(registry, response_class, routes)
    app.add_exception_handler(PoolError, envelopes.typed)
    app.add_exception_handler(RequestValidationError, envelopes.invalid)
    app.add_exception_handler(StarletteHTTPException, envelopes.starlette)


_TEXTS: Final[Mapping[int, str]] = {
    400: "INVALID_PARAMS: a field is missing, unknown or out of range",
    401: "UNAUTHORIZED: bearer token missing",
    403: "FORBIDDEN: bearer token does not match",
    404: "NOT_FOUND: no such pool or lease",
    409: "CONFLICT: refused in the pool's current state",
    429: (
        "REPLICA_EXHAUSTED: every slot is leased; QUEUE_FULL: the admission queue is full; "
        "DEADLINE_EXCEEDED: no slot within wait_ms; QUOTA_EXCEEDED: the tenant's quota "
        "(policy_label max_concurrent or rps)"
    ),
    503: "POOL_UNREADY or POOL_UNAVAILABLE: the pool takes no leases now",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of a route's error statuses, all with the envelope."""
    return {status: {"model": ErrorEnvelope, "description": _TEXTS[status]} for status in statuses}
