"""Bearer-token authentication of the control plane (OC-CTL-4006).

Decides who may call what: mutating endpoints need the configured token whenever one is
configured, reads need it only when ``manager.read_requires_auth`` says so, and the manager's
own ``/healthz`` and ``/readyz`` never do. A missing token answers ``UNAUTHORIZED`` (401, with
``WWW-Authenticate: Bearer``), a wrong one ``FORBIDDEN`` (403); the comparison runs in
constant time (:func:`hmac.compare_digest`), so response timing does not leak the token.
"""

import hmac
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from poolmgr.core.errors import ErrorCode
from poolmgr.http.errors import ApiError

__all__ = ["BearerAuth"]

_SCHEME = HTTPBearer(auto_error=False, description="The control-plane token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_SCHEME)]


class BearerAuth:
    """The two dependencies routes declare: :attr:`write` and :attr:`read`."""

    def __init__(self, token: str | None, *, reads_need_auth: bool) -> None:
        self._token = None if token is None else token.encode("utf-8")
        self._reads_need_auth = reads_need_auth and token is not None
        self.write: list[Any] = [Depends(self._require_write)]
        """Route dependencies of the mutating endpoints."""
        self.read: list[Any] = [Depends(self._require_read)]
        """Route dependencies of the read endpoints."""

    def _check(self, credentials: HTTPAuthorizationCredentials | None) -> None:
        assert self._token is not None
        if credentials is None or not credentials.credentials:
            raise ApiError(
                ErrorCode.UNAUTHORIZED,
                "a bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        given = credentials.credentials.encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._token):
            raise ApiError(ErrorCode.FORBIDDEN, "the bearer token does not match")

    # async: a plain ``def`` dependency is run in a worker thread on every request, a thread
    # hop that cost more than the whole lease decision (bench/bench_http.py, OC-PERF-9102).
    async def _require_write(self, credentials: Credentials) -> None:
        if self._token is not None:
            self._check(credentials)

    async def _require_read(self, credentials: Credentials) -> None:
        if self._reads_need_auth:
            self._check(credentials)
