"""The manager's engine client: one client, a connection per engine, closed at its end.

OC-PERF-9104 (one client, the connection reused between probes), OC-PERF-9105 (an engine's
connections are closed when its probe loop ends; a new engine on a reused port never gets the
old one's connections). The wire under it: a connection the engine closed while idle is
replaced, no answer in time is a probe timeout (OC-POOL-3016) and the connection is dropped,
refused and closed-without-answer connections are named, chunked answers and ``Connection:
close`` are honoured. Real HTTP/1.1 servers on loopback, in the test's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from poolmgr.core.vocab import Engine
from poolmgr.runtime.engine_client import EngineClient
from poolmgr.runtime.engines import ProbeResult, ProbeTimeout, adapter_for

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
                during = engines.open_engines
            await server.until(lambda: server.closed == 1)
            after = engines.open_engines
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
            return engines.open_engines, server.closed

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
                engines_open = engines.open_engines  # the newcomer's connection is still there
                await client.get(server.url + "/health")  # and reuses its connection
            await server.until(lambda: server.closed == 2)
            await engines.aclose()
            return engines_open, server.opened, server.closed, engines.open_engines

    assert run(main) == (1, 2, 2, 0)


# --------------------------------------------------------------------------- the wire


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def probe_once(url: str, engines: EngineClient, timeout_s: float = 2.0) -> ProbeResult:
    async with engines.engine(url) as client:
        return await adapter_for(Engine.STUB).probe_health(client, url, timeout_s)


OK_BODY = b'{"status": "ok"}'
OK = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(OK_BODY), OK_BODY)


def test_oc_perf_9105_a_connection_the_engine_closed_while_idle_is_replaced() -> None:
    async def main() -> tuple[bool, bool]:
        async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(OK)
            await writer.drain()
            writer.close()  # keep-alive announced, then closed: what an idle timeout does

        server, url = await serve(answer_once)
        engines = EngineClient()
        async with engines.engine(url) as client:
            first = await adapter_for(Engine.STUB).probe_health(client, url, 2.0)
            await asyncio.sleep(0.05)  # the close reaches this side
            second = await adapter_for(Engine.STUB).probe_health(client, url, 2.0)
        server.close()
        await engines.aclose()
        return first.ok, second.ok

    assert run(main) == (True, True)


def test_oc_pool_3016_an_engine_that_never_answers_times_out_and_is_hung_up_on() -> None:
    async def main() -> tuple[str, bool]:
        hung_up = asyncio.Event()

        async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            await reader.read()  # returns at EOF: the manager closed its end
            hung_up.set()

        server, url = await serve(never_answer)
        engines = EngineClient()
        message = ""
        try:
            await probe_once(url, engines, timeout_s=0.2)
        except ProbeTimeout as exc:
            message = str(exc)
        async with asyncio.timeout(WAIT_S):
            await hung_up.wait()
        server.close()
        await engines.aclose()
        return message, hung_up.is_set()

    assert run(main) == ("GET /health: no answer within 0.2 s", True)


def test_a_refused_connection_is_a_not_ok_result_naming_it() -> None:
    async def main() -> ProbeResult:
        server, url = await serve(lambda r, w: asyncio.sleep(0))
        server.close()
        await server.wait_closed()  # nothing listens on that port any more
        engines = EngineClient()
        result = await probe_once(url, engines)
        await engines.aclose()
        return result

    result = run(main)
    assert (result.ok, result.status) == (False, None)
    assert result.message == "GET /health: no answer: connection refused"


def test_an_engine_that_closes_without_answering_is_named_so() -> None:
    async def main() -> ProbeResult:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.close()

        server, url = await serve(hang_up)
        engines = EngineClient()
        result = await probe_once(url, engines)
        server.close()
        await engines.aclose()
        return result

    result = run(main)
    assert (result.ok, result.status) == (False, None)
    assert result.message == "GET /health: no answer: connection closed without an answer"


def test_a_chunked_answer_is_read_whole_and_connection_close_is_honoured() -> None:
    async def main() -> tuple[bool, bool, int]:
        async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            writer.write(head + b"8\r\n" + OK_BODY[:8] + b"\r\n")
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(OK_BODY) - 8, OK_BODY[8:]))
            await writer.drain()
            writer.close()

        server, url = await serve(chunked)
        engines = EngineClient()
        async with engines.engine(url) as client:
            first = await adapter_for(Engine.STUB).probe_health(client, url, 2.0)
            second = await adapter_for(Engine.STUB).probe_health(client, url, 2.0)
            conn = engines.connection(url)
            connects = conn.connects if conn is not None else -1
        server.close()
        await engines.aclose()
        return first.ok, second.ok, connects

    assert run(main) == (True, True, 2)  # the engine said close: a new connection each time
