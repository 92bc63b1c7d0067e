"""The manager's one HTTP client for its engines, with a connection of its own per engine.

Decides how the manager talks to engines: every health probe and identity read runs on the
event loop through one ``httpx.AsyncClient`` (OC-PERF-9104: no thread per probe, so the
manager's thread count does not grow with the number of pools). Behind that client each
running engine has one kept-alive connection for as long as it runs
(:meth:`EngineClient.engine`); when the engine is gone that connection is closed, so none to a
dead engine is left in CLOSE_WAIT however often engines restart (OC-PERF-9105). Connections are
keyed by the engine's origin (scheme, host, port), and a new engine on a reused port gets a
fresh one: the old engine's connection is closed first, never handed to the newcomer.

The routing is an ``httpx.AsyncBaseTransport``, httpx's documented extension point; each
engine's connection is a :class:`~poolmgr.runtime.engine_wire.EngineConnection` (why not
httpx's own transport: see there).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from poolmgr.runtime.engine_wire import EngineConnection

__all__ = ["EngineClient"]

_Origin = tuple[str, str, int | None]


def _origin(url: httpx.URL) -> _Origin:
    return (url.scheme, url.host, url.port)


class _PerEngineTransport(httpx.AsyncBaseTransport):
    """Routes each request to the connection of its engine's origin."""

    def __init__(self) -> None:
        self._conns: dict[_Origin, EngineConnection] = {}

    @staticmethod
    def _new(origin: _Origin) -> EngineConnection:
        scheme, host, port = origin
        if scheme != "http":
            raise httpx.UnsupportedProtocol(f"engines are reached over http, not {scheme!r}")
        return EngineConnection(host, port or 80)

    def open(self, origin: _Origin) -> tuple[EngineConnection, EngineConnection | None]:
        """A fresh connection for ``origin``, and the one it replaces (the caller closes it)."""
        old = self._conns.pop(origin, None)
        conn = self._conns[origin] = self._new(origin)
        return conn, old

    def get(self, origin: _Origin) -> EngineConnection | None:
        return self._conns.get(origin)

    async def release(self, origin: _Origin, conn: EngineConnection) -> None:
        """Close ``conn`` and forget it, unless a newer engine on ``origin`` owns the slot."""
        if self._conns.get(origin) is conn:
            del self._conns[origin]
        await conn.aclose()

    def __len__(self) -> int:
        return len(self._conns)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = _origin(request.url)
        conn = self._conns.get(origin)
        if conn is None:  # a request outside any engine's block (a one-off read)
            conn = self._conns[origin] = self._new(origin)
        return await conn.handle_async_request(request)

    async def aclose(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            await conn.aclose()


class EngineClient:
    """One async HTTP client for every engine of a manager (event loop only)."""

    def __init__(self) -> None:
        self._routes = _PerEngineTransport()
        # trust_env=False: engines are reached directly, never through a proxy from the env.
        self.client = httpx.AsyncClient(transport=self._routes, trust_env=False)

    @contextlib.asynccontextmanager
    async def engine(self, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
        """The client, with a connection of its own to the engine at ``base_url`` for the
        duration of the block; the connection is closed when the block ends, however it ends
        (the engine exited, the probe loop was cancelled)."""
        origin = _origin(httpx.URL(base_url))
        conn, replaced = self._routes.open(origin)
        try:
            if replaced is not None:  # left by an engine that used this port before
                await replaced.aclose()
            yield self.client
        finally:
            await self._routes.release(origin, conn)

    def connection(self, base_url: str) -> EngineConnection | None:
        """The connection to the engine at ``base_url`` now, if any (for tests)."""
        return self._routes.get(_origin(httpx.URL(base_url)))

    @property
    def open_engines(self) -> int:
        """How many engines have a connection (or a slot for one) now (for tests)."""
        return len(self._routes)

    async def aclose(self) -> None:
        """Close every connection; the client cannot be used afterwards."""
        await self.client.aclose()
