"""Process-level steps of the control plane's connections: kept-alive clients (OC-PERF-9101).

A client sends several requests over one ``http.client`` connection (an ordinary kept-alive
client, as a Prometheus scraper or a ``requests.Session`` is), and the scenario then looks at
the manager's own end of that connection: the socket is found among the manager process's
connections (psutil) by its two ports and duplicated into this process with
``pidfd_getfd(2)`` (the harness started the manager, so it may), and its ``TCP_NODELAY``
option is read. Nothing is asked of the manager about itself.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import ctypes
import http.client
import os
import socket
import weakref
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psutil

from harness.assertions import assert_equal
from harness.live import LiveManager, live_manager_of
from harness.registry import step
from harness.world import PoolWorld

_SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture (since 5.6)


@dataclass
class _KeptAlive:
    """One client connection and what came back over it."""

    conn: http.client.HTTPConnection
    statuses: list[int] = field(default_factory=list)
    local_ports: list[int] = field(default_factory=list)


_CLIENTS: dict[int, _KeptAlive] = {}
"""Each scenario's client, by ``id(world)``; dropped with the world (a world is not hashable)."""


def _kept_alive(world: PoolWorld) -> _KeptAlive:
    client = _CLIENTS.get(id(world))
    assert client is not None, "no client has kept a connection alive in this scenario"
    return client


def _manager_socket(live: LiveManager, client_port: int) -> socket.socket:
    """The manager's end of the connection from ``client_port``, duplicated into this process."""
    assert live.proc is not None
    server_port = urlsplit(live.url).port
    root = psutil.Process(live.proc.pid)
    for proc in [root, *root.children(recursive=True)]:
        for conn in proc.net_connections(kind="tcp"):
            ends = (conn.laddr.port, conn.raddr.port if conn.raddr else None)
            if ends == (server_port, client_port):
                return _steal(proc.pid, conn.fd)
    raise AssertionError(f"the manager holds no connection from client port {client_port}")


def _steal(pid: int, fd: int) -> socket.socket:
    """``fd`` of process ``pid``, duplicated here (pidfd_getfd; the stdlib has no wrapper)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        dup = libc.syscall(_SYS_PIDFD_GETFD, pidfd, fd, 0)
    finally:
        os.close(pidfd)
    if dup < 0:
        raise OSError(ctypes.get_errno(), "pidfd_getfd failed")
    return socket.socket(fileno=dup)


def _forget(key: int) -> None:
    client = _CLIENTS.pop(key, None)
    if client is not None:
        client.conn.close()


@step("when", 'a client sends {count:d} requests for "{path}" on one kept-alive connection')
def send_on_one_connection(world: PoolWorld, count: int, path: str) -> None:
    live = live_manager_of(world)
    parts = urlsplit(live.url)
    assert parts.hostname is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    client = _KeptAlive(conn)
    _CLIENTS[id(world)] = client
    weakref.finalize(world, _forget, id(world))
    for _ in range(count):
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        client.statuses.append(response.status)
        assert conn.sock is not None, "the manager closed the connection"
        client.local_ports.append(conn.sock.getsockname()[1])


@step("then", "the {count:d} answers have status {status:d} and came over one connection")
def then_answers_on_one_connection(world: PoolWorld, count: int, status: int) -> None:
    client = _kept_alive(world)
    assert_equal(client.statuses, [status] * count, "statuses of the kept-alive requests")
    assert len(set(client.local_ports)) == 1, f"connections used: {client.local_ports}"


@step("then", "the manager's end of that connection has TCP_NODELAY set")
def then_manager_end_nodelay(world: PoolWorld) -> None:
    client = _kept_alive(world)
    with _manager_socket(live_manager_of(world), client.local_ports[-1]) as theirs:
        nodelay = theirs.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert nodelay != 0, "TCP_NODELAY is off on the manager's end of the connection"
