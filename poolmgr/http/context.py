"""The request context: correlation ids, request logging and the last-resort 500.

Decides that every response carries ``X-Correlation-Id``: the request's own when it is 1-128
visible ASCII characters and no secret, otherwise a fresh UUID (OC-CTL-4005); that the id is
set for every log line written while the request is served; that each request is logged once
with its status and duration (a read that succeeds at debug, every other at info); and that an
exception no handler knows is still answered with the envelope (code ``INTERNAL``, a generic
message naming the correlation id) while its traceback goes to the log only (OC-CTL-4004).

A pure ASGI middleware placed outside FastAPI's exception handling, so it sees every response.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from poolmgr.core.errors import ErrorCode
from poolmgr.http.errors import ErrorEnvelope, internal_message
from poolmgr.telemetry.logs import correlation_id
from poolmgr.telemetry.redact import Redactor

__all__ = ["CORRELATION_HEADER", "RequestContext"]

CORRELATION_HEADER: Final = "X-Correlation-Id"
_CORRELATION_OK = re.compile(r"^[\x21-\x7e]{1,128}$")

log = logging.getLogger(__name__)
_READS: Final = frozenset({"GET", "HEAD"})


class RequestContext:
    """Correlation id on every response, request logging, and the last-resort 500."""

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
            envelope = ErrorEnvelope(code=ErrorCode.INTERNAL, message=internal_message(cid))
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
            # Reads that succeed (probes, scrapes, listings) are logged at debug: at info they
            # would bury the lines that matter and cost every request a log line (OC-PERF-9102).
            quiet = scope.get("method") in _READS and status < 400
            log.log(
                logging.DEBUG if quiet else logging.INFO,
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
