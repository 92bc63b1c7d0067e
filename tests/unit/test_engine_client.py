"""The manager's engine client: one client, a connection pool per engine, closed at its end.

OC-PERF-9104 (one pooled client, connections reused between probes), OC-PERF-9105 (an engine's
connections are closed when its probe loop ends; a new engine on a reused port never gets the
old one's connections). A real HTTP/1.1 keep-alive server on loopback, in the test's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from poolmgr.runtime.engine_client import EngineClient

_T = TypeVar("_T")

WAIT_S = 5.0


class KeepAliveServer:
    """Answers every request ``200 ok`` on a kept-alive connection; records connections."""

    def __init__(self) -> None:
        self.opened = 0
        self.closed = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self.changed = asyncio.Event()

    async def __aenter__(self) -> KeepAliveServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection: what these tests wait for
        finally:
            self.closed += 1
            self.changed.set()
            writer.close()

    async def until(self, check: Callable[[], bool]) -> None:
        """Wait (bounded) until ``check()`` holds."""
        async with asyncio.timeout(WAIT_S):
            while not check():
                self.changed.clear()
                await self.changed.wait()


def run(main: Callable[[], Awaitable[_T]]) -> _T:
    async def wrapped() -> _T:
        return await main()

    return asyncio.run(wrapped())


def test_oc_perf_9104_probes_of_one_engine_reuse_one_connection() -> None:
    async def main() -> int:
        engines = EngineClient()
        async with KeepAliveServer() as server:
            async with engines.engine(server.url) as client:
                for _ in range(5):
                    assert (await client.get(server.url + "/health")).status_code == 200
            await engines.aclose()
            return server.opened

    assert run(main) == 1


def test_oc_perf_9105_an_engines_connections_are_closed_when_its_block_ends() -> None:
    async def main() -> tuple[int, int, int]:
        engines = EngineClient()
        async with KeepAliveServer() as server:
            async with engines.engine(server.url) as client:
                await client.get(server.url + "/health")
                during = engines.open_pools
            await server.until(lambda: server.closed == 1)
            after = engines.open_pools
            await engines.aclose()
            return during, after, server.closed

    assert run(main) == (1, 0, 1)


def test_oc_perf_9105_cancelling_the_probe_loop_closes_the_connection() -> None:
    async def main() -> tuple[int, int]:
        engines = EngineClient()
        async with KeepAliveServer() as server:
            probing = asyncio.Event()

            async def probe_loop() -> None:
                async with engines.engine(server.url) as client:
                    await client.get(server.url + "/health")
                    probing.set()
                    await asyncio.Event().wait()  # until cancelled, as at an engine's exit

            task = asyncio.create_task(probe_loop())
            async with asyncio.timeout(WAIT_S):
                await probing.wait()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await server.until(lambda: server.closed == 1)
            await engines.aclose()
            return engines.open_pools, server.closed

    assert run(main) == (0, 1)


def test_oc_perf_9105_a_new_engine_on_a_reused_port_gets_fresh_connections() -> None:
    async def main() -> tuple[int, int, int, int]:
        engines = EngineClient()
        async with KeepAliveServer() as server:
            old = engines.engine(server.url)
            old_client = await old.__aenter__()
            await old_client.get(server.url + "/health")
            async with engines.engine(server.url) as client:
                # the old engine's connection was closed when the new one took the port
                await server.until(lambda: server.closed == 1)
                await client.get(server.url + "/health")
                await old.__aexit__(None, None, None)  # the old engine's late end
                pools = engines.open_pools  # the newcomer's pool is still there
                await client.get(server.url + "/health")  # and reuses its connection
            await server.until(lambda: server.closed == 2)
            await engines.aclose()
            return pools, server.opened, server.closed, engines.open_pools

    assert run(main) == (1, 2, 2, 0)
