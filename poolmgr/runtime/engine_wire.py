"""One kept-alive HTTP/1.1 connection to one engine: the transport under the engine client.

Decides how a request of :class:`~poolmgr.runtime.engine_client.EngineClient` reaches an
engine: over one asyncio stream per engine, kept alive between probes and closed with the
engine (OC-PERF-9105), framed by ``h11`` (the HTTP/1.1 state machine httpcore itself uses).

Why not httpx's own transport (httpcore over anyio): on this project's 2-core machines a
kept-alive ``GET /health`` through ``httpx.AsyncClient`` cost about 1,100 us of CPU over it and
about 650 us over this one (same process, same engine, back to back); at 50 pools probed every
second that is a third of an idle manager's CPU (``bench/bench_idle.py``, OC-PERF-9104).
Engines answer small bodies to one client, one request at a time, so this transport needs no
pool, no HTTP/2, no TLS and no proxies.

Failures are raised as httpx's own exceptions, so the readers in
:mod:`poolmgr.runtime.engine_http` classify them exactly as before: no answer in time is a
``TimeoutException`` (OC-POOL-3016), a refused or reset connection a ``ConnectError`` or
``ReadError``, an engine that closes without an answer a ``RemoteProtocolError``.
"""

from __future__ import annotations

import asyncio
import contextlib

import h11
import httpx

__all__ = ["EngineConnection"]

MAX_BODY = 4 * 1024 * 1024
"""Largest answer read from an engine (its health, props, slots or model list)."""

_READ = 64 * 1024


def _timeout(request: httpx.Request, key: str) -> float | None:
    value = request.extensions.get("timeout", {}).get(key)
    return None if value is None else float(value)


class EngineConnection(httpx.AsyncBaseTransport):
    """One engine's connection; requests take turns on it (event loop only)."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._h11: h11.Connection | None = None
        self._connecting = False
        self.connects = 0
        """How many connections were opened to this engine (for tests and diagnostics)."""

    @property
    def open(self) -> bool:
        return self._writer is not None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = _timeout(request, "read")
        try:
            async with self._lock, asyncio.timeout(timeout):
                reused = self._usable()
                try:
                    return await self._exchange(request)
                except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                    if not reused:
                        raise
                    # A kept-alive connection the engine closed meanwhile: once more, afresh.
                    return await self._exchange(request)
        except TimeoutError as exc:
            kind = httpx.ConnectTimeout if self._connecting else httpx.ReadTimeout
            self._close()
            raise kind(f"no answer within {timeout} s", request=request) from exc
        except BaseException:  # cancelled, or a failure: the connection's state is unknown
            self._close()
            raise

    def _usable(self) -> bool:
        """Whether a kept-alive connection is there and not closed by the engine meanwhile."""
        if self._reader is None or self._h11 is None:
            return False
        if self._reader.at_eof() or self._h11.our_state is not h11.IDLE:
            self._close()
            return False
        return True

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        if self._writer is None:
            await self._connect(request)
        assert self._reader is not None and self._writer is not None and self._h11 is not None
        conn, reader, writer = self._h11, self._reader, self._writer
        target = request.url.raw_path
        headers = [(k, v) for k, v in request.headers.raw]
        try:
            writer.write(
                conn.send(h11.Request(method=request.method, target=target, headers=headers))
            )
            body = await request.aread()
            if body:
                writer.write(conn.send(h11.Data(data=body)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            status, answer_headers, content = await self._receive(conn, reader, request)
        except h11.ProtocolError as exc:
            self._close()
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except ConnectionError as exc:
            self._close()
            raise httpx.ReadError(f"connection reset: {exc}", request=request) from exc
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:
            self._close()  # the engine asked to close, or HTTP/1.0
        return httpx.Response(status, headers=answer_headers, content=content, request=request)

    async def _receive(
        self, conn: h11.Connection, reader: asyncio.StreamReader, request: httpx.Request
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        status, headers, chunks, size = 0, [], [], 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(_READ)
                if not data and conn.their_state is h11.SEND_RESPONSE:
                    self._close()
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response.", request=request
                    )
                conn.receive_data(data)
            elif isinstance(event, h11.Response):
                status, headers = event.status_code, list(event.headers)
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_BODY:
                    self._close()
                    raise httpx.RemoteProtocolError(
                        f"answer larger than {MAX_BODY} bytes", request=request
                    )
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return status, headers, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed):
                self._close()
                raise httpx.RemoteProtocolError("connection closed mid-answer", request=request)
            # h11.InformationalResponse (1xx): keep reading

    async def _connect(self, request: httpx.Request) -> None:
        self._connecting = True
        try:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        except OSError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        finally:
            self._connecting = False
        self._h11 = h11.Connection(h11.CLIENT)
        self.connects += 1

    def _close(self) -> None:
        writer, self._reader, self._writer, self._h11 = self._writer, None, None, None
        if writer is not None:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                writer.close()

    async def aclose(self) -> None:
        self._close()
