"""The control plane's socket: TCP_NODELAY on every accepted connection (OC-PERF-9101).

``poolmgr serve`` binds its socket itself (before any engine starts); these tests accept on
that socket as asyncio does for uvicorn and read the option on the server's end. The live
process is covered by features/process/keepalive.feature.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from poolmgr.serve import ListenError, _bind


def test_oc_perf_9101_the_listening_socket_is_tcp_with_nodelay() -> None:
    with _bind("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0


def test_oc_perf_9101_connections_accepted_by_the_event_loop_have_nodelay() -> None:
    async def accept_one() -> int:
        options: list[int] = []
        accepted = asyncio.Event()

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            ours = writer.get_extra_info("socket")
            options.append(ours.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            accepted.set()
            writer.close()

        server = await asyncio.start_server(on_client, sock=_bind("127.0.0.1", 0))
        async with server:
            port = server.sockets[0].getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.wait_for(accepted.wait(), 10)
            writer.close()
        return options[0]

    assert asyncio.run(accept_one()) != 0


def test_a_taken_port_is_a_listen_error_naming_the_address() -> None:
    with _bind("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match=f"cannot listen on 127.0.0.1:{port}"):
            _bind("127.0.0.1", port)
