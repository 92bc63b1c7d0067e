"""The manager's one HTTP client for its engines, with a connection pool per running engine.

Decides how the manager talks to engines: every health probe and identity read runs on the
event loop through one ``httpx.AsyncClient`` (OC-PERF-9104: no thread per probe, so the
manager's thread count does not grow with the number of pools). Behind that client each engine
gets a connection pool of its own for as long as it runs (:meth:`EngineClient.engine`); when
the engine is gone that pool is closed, so no connection to a dead engine is left in
CLOSE_WAIT however often engines restart (OC-PERF-9105). A pool is keyed by the engine's
origin (scheme, host, port), and a new engine on a reused port gets a fresh pool: the old
one's connections are closed first, never handed to the newcomer.

The routing is an ``httpx.AsyncBaseTransport``, httpx's documented extension point; each
per-engine pool is httpx's own ``AsyncHTTPTransport``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

__all__ = ["EngineClient"]

_Origin = tuple[str, str, int | None]

_PER_ENGINE = httpx.Limits(max_connections=4, max_keepalive_connections=2, keepalive_expiry=5.0)
"""One engine's probes are sequential; the identity read may overlap one probe at most."""


def _origin(url: httpx.URL) -> _Origin:
    return (url.scheme, url.host, url.port)


class _PerEngineTransport(httpx.AsyncBaseTransport):
    """Routes each request to the connection pool of its engine's origin."""

    def __init__(self) -> None:
        # Engines speak plain HTTP; one context for every pool, built once (httpx would load
        # the CA bundle again for each pool otherwise).
        self._ssl = httpx.create_ssl_context()
        self._pools: dict[_Origin, httpx.AsyncHTTPTransport] = {}

    def _new_pool(self) -> httpx.AsyncHTTPTransport:
        return httpx.AsyncHTTPTransport(verify=self._ssl, limits=_PER_ENGINE, trust_env=False)

    def open(
        self, origin: _Origin
    ) -> tuple[httpx.AsyncHTTPTransport, httpx.AsyncHTTPTransport | None]:
        """A fresh pool for ``origin``, and the one it replaces (to be closed by the caller)."""
        old = self._pools.pop(origin, None)
        pool = self._pools[origin] = self._new_pool()
        return pool, old

    async def release(self, origin: _Origin, pool: httpx.AsyncHTTPTransport) -> None:
        """Close ``pool`` and forget it, unless a newer engine on ``origin`` owns the slot."""
        if self._pools.get(origin) is pool:
            del self._pools[origin]
        await pool.aclose()

    @property
    def pools(self) -> int:
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = _origin(request.url)
        pool = self._pools.get(origin)
        if pool is None:  # a request outside any engine's life (a one-off read)
            pool = self._pools[origin] = self._new_pool()
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


class EngineClient:
    """One pooled async HTTP client for every engine of a manager (event loop only)."""

    def __init__(self) -> None:
        self._routes = _PerEngineTransport()
        # trust_env=False: engines are reached directly, never through a proxy from the env.
        self.client = httpx.AsyncClient(transport=self._routes, trust_env=False)

    @contextlib.asynccontextmanager
    async def engine(self, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
        """The client, with a connection pool of its own for the engine at ``base_url`` for
        the duration of the block; its connections are closed when the block ends, however
        it ends (the engine exited, the probe loop was cancelled)."""
        origin = _origin(httpx.URL(base_url))
        pool, replaced = self._routes.open(origin)
        try:
            if replaced is not None:  # left by an engine that used this port before
                await replaced.aclose()
            yield self.client
        finally:
            await self._routes.release(origin, pool)

    @property
    def open_pools(self) -> int:
        """How many engines have a connection pool now (for tests and diagnostics)."""
        return self._routes.pools

    async def aclose(self) -> None:
        """Close every connection; the client cannot be used afterwards."""
        await self.client.aclose()
