"""Process-level steps of the control plane's own costs: kept-alive connections and the log
writer (OC-PERF-9101, OC-PERF-9102).

A client sends several requests over one ``http.client`` connection (an ordinary kept-alive
client, as a Prometheus scraper or a ``requests.Session`` is), and the scenario then looks at
the manager's own end of that connection: the socket is found among the manager process's
connections (psutil) by its two ports and duplicated into this process with
``pidfd_getfd(2)`` (the harness started the manager, so it may), and its ``TCP_NODELAY``
option is read. Nothing is asked of the manager about itself.

The log writer: the manager is stopped with SIGTERM, as an orchestrator stops it, and what it
wrote (stderr and ``manager.jsonl``) is read once it has exited, before the scenario's
temporary folder goes: every line must be there, in both places.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import os
import socket
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import psutil

from harness.assertions import assert_equal
from harness.live import LiveManager, live_manager_of
from harness.registry import step
from harness.waiting import wait_until
from harness.world import PoolWorld

_SETTLE_S = 5.0
"""How long the engine connections may take to look as they should (one crash's cleanup)."""
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


@dataclass
class _Written:
    """What a stopped manager wrote: its exit status, stderr lines and JSON log lines."""

    exit_code: int | None
    stderr: list[str]
    log: list[dict[str, Any]]


_WRITTEN: dict[int, _Written] = {}


def _written(world: PoolWorld) -> _Written:
    written = _WRITTEN.get(id(world))
    assert written is not None, "the manager has not been stopped in this scenario"
    return written


@step("when", 'a client leases and returns a slot of the live pool "{pool}" {times:d} times')
def lease_and_return(world: PoolWorld, pool: str, times: int) -> None:
    live = live_manager_of(world)
    for _ in range(times):
        granted = live.request("POST", f"/v1/pools/{pool}/leases", json={}, keep=False)
        assert granted.status_code == 201, granted.text
        returned = live.request("DELETE", granted.headers["Location"], keep=False)
        assert returned.status_code == 204, returned.text


@step("when", "the running manager is stopped and what it wrote is kept")
def stop_and_keep(world: PoolWorld) -> None:
    live = live_manager_of(world)
    assert live.proc is not None
    live.terminate()
    code = live.proc.wait(60)
    stderr = [line for line in live.stderr().splitlines() if line.startswith("{")]
    log_text = (live.tmp / "logs" / "manager.jsonl").read_text(encoding="utf-8")
    log = [json.loads(line) for line in log_text.splitlines()]
    _WRITTEN[id(world)] = _Written(code, stderr, log)
    weakref.finalize(world, _WRITTEN.pop, id(world), None)
    live.stop()


@step(
    "then",
    'its JSON log holds {granted:d} "lease_granted" lines and {returned:d} "lease_returned" '
    'lines about "{pool}"',
)
def then_lease_lines(world: PoolWorld, granted: int, returned: int, pool: str) -> None:
    log = _written(world).log
    counts = [
        sum(1 for line in log if (line["event"], line["pool_id"]) == (event, pool))
        for event in ("lease_granted", "lease_returned")
    ]
    assert counts == [granted, returned], f"lease_granted, lease_returned lines: {counts}"


@step("then", 'the last line of its JSON log is the "{event}" line, after an exit status {code:d}')
def then_last_line(world: PoolWorld, event: str, code: int) -> None:
    written = _written(world)
    assert_equal(written.exit_code, code, "the manager's exit status")
    assert written.log, "the JSON log is empty"
    assert_equal(written.log[-1]["event"], event, "the event of the last line")


@step("then", "its stderr holds the same JSON lines as its JSON log")
def then_same_lines(world: PoolWorld) -> None:
    written = _written(world)
    logged = [json.dumps(line, sort_keys=True) for line in written.log]
    said = [json.dumps(json.loads(line), sort_keys=True) for line in written.stderr]
    assert said == logged, f"{len(said)} lines on stderr, {len(logged)} in the JSON log"


@step("when", 'the live pool "{pool}" has restarted its crashing engine {n:d} times and is ready')
def wait_restarts(world: PoolWorld, pool: str, n: int) -> None:
    live = live_manager_of(world)
    live.wait_health(
        pool,
        lambda h: int(h["restarts"]["count"]) >= n and bool(h["ready"]),
        f"{n} restarts and ready",
        60.0,
    )


@step("then", "the manager holds {n:d} connection to an engine and none in CLOSE_WAIT")
def then_engine_connections(world: PoolWorld, n: int) -> None:
    """Sampled until it holds (bounded): an engine that crashed a moment ago leaves its
    connection in CLOSE_WAIT until the manager hears the exit; a leak never clears."""
    live = live_manager_of(world)
    assert live.proc is not None
    manager = psutil.Process(live.proc.pid)
    own_port = urlsplit(live.url).port
    seen: list[list[str]] = []

    def engine_states() -> list[str]:
        conns = manager.net_connections(kind="tcp")
        return sorted(str(c.status) for c in conns if c.raddr and c.laddr.port != own_port)

    def settled() -> bool:
        seen.append(engine_states())
        return seen[-1] == ["ESTABLISHED"] * n

    with contextlib.suppress(AssertionError):  # the assert below names what was seen
        wait_until(settled, _SETTLE_S, "engine connections to settle")
    assert seen[-1] == ["ESTABLISHED"] * n, f"connections to engines, last samples: {seen[-5:]}"
