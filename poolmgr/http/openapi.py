"""The control plane's OpenAPI document in its committed form (OC-CTL-4008).

Decides what FastAPI's generated document is corrected to say: invalid requests answer 400
with the envelope, not FastAPI's 422 (so its validation schemas go); every operation takes an
optional ``X-Correlation-Id`` and every response carries one; 429 and 503 responses carry
``Retry-After``; and the ``ErrorCode`` schema lists the codes a client can receive (those
with a status in :data:`~poolmgr.http.errors.STATUS_OF`), not the core's whole vocabulary.
"""

from typing import Any

from fastapi import FastAPI

from poolmgr.http.context import CORRELATION_HEADER
from poolmgr.http.errors import STATUS_OF

__all__ = ["install_openapi"]


def _correct(doc: dict[str, Any]) -> None:
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
    if "ErrorCode" in schemas:
        schemas["ErrorCode"]["enum"] = [code.value for code in STATUS_OF]


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` answer the corrected document (built once, then cached)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = original()
        _correct(doc)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
