"""Reading an engine's HTTP answers strictly: timeouts, no answer, and malformed bodies.

Owns the wire level of every engine adapter (:mod:`poolmgr.runtime.engines`): a GET that gets no
answer in time raises :class:`ProbeTimeout`, so a hung engine is told apart from a dead one
(OC-POOL-3016); one that gets no answer at all is :class:`EngineUnreachable` (or, for a health
probe, a not-ok :class:`ProbeResult`); an answer this module cannot read raises
:class:`EngineProtocolError` naming the endpoint and what is wrong, so a pool is never made
Ready on a guess (OC-POOL-3001, OC-POOL-3050).

Requests go through the manager's one pooled ``httpx.AsyncClient`` on the event loop
(OC-PERF-9104; :mod:`poolmgr.runtime.engine_client`); the readers below are pure functions of an
``httpx.Response``, so they are unit-tested without a server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from poolmgr.core.errors import EngineError

__all__ = [
    "EngineProtocolError",
    "EngineUnreachable",
    "ProbeResult",
    "ProbeTimeout",
    "http_get",
    "http_probe",
    "json_body",
    "json_object",
    "ok_json",
    "opt_int",
    "opt_str",
    "req_str",
    "snippet",
]

_BODY_IN_MESSAGE = 200
"""How much of an unexpected response body goes into a message."""


@dataclass(frozen=True)
class ProbeResult:
    """One health probe: ``ok`` = ready to serve; ``loading`` = up but still loading the model."""

    ok: bool
    loading: bool
    status: int | None
    """HTTP status, ``None`` when no answer came (connection refused or reset)."""
    message: str


class EngineProtocolError(EngineError):
    """The engine answered something malformed; the message names the endpoint and the fault."""


class EngineUnreachable(EngineProtocolError):
    """No answer at all from an endpoint that ``EngineAdapter.fetch_info`` needs.

    A subclass of :class:`EngineProtocolError`, so callers that treat every failure to read
    the engine's identity alike need only catch that and :class:`ProbeTimeout`.
    """


class ProbeTimeout(EngineError):
    """A request to the engine got no answer within its timeout: the engine may be hung."""


def _url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _BODY_IN_MESSAGE else flat[: _BODY_IN_MESSAGE - 3] + "..."


async def http_get(
    client: httpx.AsyncClient, base_url: str, path: str, timeout_s: float
) -> httpx.Response:
    """GET that turns a timeout into :class:`ProbeTimeout` and no answer into
    :class:`EngineUnreachable`."""
    try:
        return await client.get(_url(base_url, path), timeout=timeout_s)
    except httpx.TimeoutException as exc:
        raise ProbeTimeout(f"GET {path}: no answer within {timeout_s:g} s") from exc
    except httpx.TransportError as exc:
        raise EngineUnreachable(f"GET {path}: no answer: {_reason(exc)}") from exc


def _reason(exc: httpx.TransportError) -> str:
    text = str(exc)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if "reset" in text.lower():
        return "connection reset"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection closed without an answer"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    return type(exc).__name__


def json_body(response: httpx.Response, path: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:  # json's JSONDecodeError and a bad encoding's UnicodeDecodeError
        raise EngineProtocolError(
            f"GET {path}: answered {response.status_code} with a body that is not JSON: "
            f"{snippet(response.text)!r}"
        ) from exc


def ok_json(response: httpx.Response, path: str) -> Any:
    if response.status_code != 200:
        raise EngineProtocolError(
            f"GET {path}: expected 200, got {response.status_code}: {snippet(response.text)!r}"
        )
    return json_body(response, path)


def json_object(value: Any, path: str, what: str = "the body") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EngineProtocolError(
            f"GET {path}: {what} must be a JSON object, got {type(value).__name__}"
        )
    return value


def opt_int(obj: Mapping[str, Any], key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EngineProtocolError(
            f"GET {path}: {key!r} must be a non-negative integer, got {value!r}"
        )
    return value


def opt_str(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EngineProtocolError(f"GET {path}: {key!r} must be a string, got {value!r}")
    return value


def req_str(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = opt_str(obj, key, path)
    if not value:
        raise EngineProtocolError(f"GET {path}: {key!r} is missing or empty")
    return value


def _no_answer(path: str, exc: httpx.TransportError) -> ProbeResult:
    return ProbeResult(
        ok=False, loading=False, status=None, message=f"GET {path}: no answer: {_reason(exc)}"
    )


async def http_probe(
    client: httpx.AsyncClient, base_url: str, path: str, timeout_s: float
) -> httpx.Response | ProbeResult:
    """GET for a health probe: a timeout raises :class:`ProbeTimeout` (OC-POOL-3016); no answer
    at all is a not-ok :class:`ProbeResult` without a status."""
    try:
        return await client.get(_url(base_url, path), timeout=timeout_s)
    except httpx.TimeoutException as exc:
        raise ProbeTimeout(f"GET {path}: no answer within {timeout_s:g} s") from exc
    except httpx.TransportError as exc:
        return _no_answer(path, exc)
