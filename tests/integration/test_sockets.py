"""The manager's sockets do not grow with engine restarts (OC-PERF-9105).

A real supervisor in this process runs two stub-engine pools that crash 400 ms after they are
Ready, again and again (small backoff, a breaker that never opens). The manager's TCP sockets
to every engine port it ever used are counted with psutil while a pool is Ready after its 5th
and after its 25th restart: none is in CLOSE_WAIT, none leads to an engine that is gone, and
there are no more after 25 restarts than after 5. Before the fix each restart left the
connection to the dead engine in CLOSE_WAIT (one HTTP session kept across engines).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from poolmgr.config import parse_config
from poolmgr.core.registry import Registry
from poolmgr.runtime.supervisor import Supervisor, build_live_registry

pytestmark = pytest.mark.usefixtures("no_engine_left_behind")

POOLS = ("crash-a", "crash-b")
WAIT_S = 20.0
"""Bound on one wait for a restart count (generous: two busy cores must pass)."""
SCENARIO_S = 90.0

_ENGINE_LINE = re.compile(
    r"--- poolmgr: engine #\d+ pid \d+ model \S+ on http://127\.0\.0\.1:(\d+)"
)


def crash_loop_config() -> Any:
    pool: dict[str, Any] = {
        "engine": "stub",
        "devices": [],
        "cpu": True,
        "slots": 1,
        "stub": {"crash_after_ms": 400},
        "backoff": {"initial_ms": 10, "max_ms": 20},
        "breaker": {"failure_threshold": 1000, "window_ms": 1000, "cooldown_ms": 1000},
        "probe": {"starting_interval_ms": 20, "ready_interval_ms": 50, "timeout_ms": 500},
        "stop_grace_ms": 500,
    }
    doc = {"pools": [{"id": p, "model": f"stub://{p}", **pool} for p in POOLS]}
    return parse_config(yaml.safe_dump(doc, sort_keys=False), "<socket test>")


@dataclass(frozen=True)
class Sockets:
    """The manager's TCP sockets to engine ports, at one moment with every pool Ready."""

    to_engines: int
    close_wait: int
    to_gone_engines: int


def engine_ports(log_dir: Path) -> set[int]:
    """Every port an engine of this test has listened on (from the pools' output logs)."""
    ports: set[int] = set()
    for log in log_dir.glob("*.log"):
        ports.update(int(m.group(1)) for m in _ENGINE_LINE.finditer(log.read_text()))
    return ports


def live_ports(supervisor: Supervisor) -> set[int]:
    urls = [supervisor.engine_url(p) for p in POOLS]
    return {int(url.rsplit(":", 1)[1]) for url in urls if url is not None}


def ready_pids(registry: Registry) -> tuple[int | None, ...] | None:
    snaps = [registry.snapshot(p) for p in POOLS]
    return tuple(s.pid for s in snaps) if all(s.ready for s in snaps) else None


async def count_sockets(
    supervisor: Supervisor, registry: Registry, log_dir: Path, restarts: int
) -> Sockets:
    """Wait (bounded) until every pool restarted ``restarts`` times and is Ready, and count.

    A count is kept only if the same engines were Ready before and after it, so an engine that
    crashed while the sockets were read cannot show a connection not yet closed."""
    me = psutil.Process(os.getpid())
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        await asyncio.sleep(0.002)
        if min(registry.snapshot(p).restart_count for p in POOLS) < restarts:
            continue
        before = ready_pids(registry)
        if before is None:
            continue
        ports = engine_ports(log_dir)
        live = live_ports(supervisor)
        conns = [c for c in me.net_connections("tcp") if c.raddr and c.raddr.port in ports]
        if ready_pids(registry) != before:
            continue
        return Sockets(
            to_engines=len(conns),
            close_wait=sum(c.status == psutil.CONN_CLOSE_WAIT for c in conns),
            to_gone_engines=sum(c.raddr.port not in live for c in conns),
        )
    raise AssertionError(
        f"timed out waiting for {restarts} restarts of every pool with all Ready: "
        f"{[registry.snapshot(p) for p in POOLS]}"
    )


def test_oc_perf_9105_sockets_do_not_grow_with_engine_restarts(log_dir: Path, report: Any) -> None:
    async def scenario() -> tuple[Sockets, Sockets]:
        config = crash_loop_config()
        registry = build_live_registry(config)
        supervisor = Supervisor(config, registry, log_dir=log_dir, tick_interval_s=0.01)
        await supervisor.start()
        try:
            after_5 = await count_sockets(supervisor, registry, log_dir, 5)
            after_25 = await count_sockets(supervisor, registry, log_dir, 25)
        finally:
            await supervisor.stop(deadline_ms=200)
        return after_5, after_25

    after_5, after_25 = asyncio.run(asyncio.wait_for(scenario(), SCENARIO_S))
    report(f"sockets to engines after 5 restarts: {after_5}; after 25: {after_25}")
    assert after_5.close_wait == 0
    assert after_25.close_wait == 0
    assert after_5.to_gone_engines == 0
    assert after_25.to_gone_engines == 0
    assert after_25.to_engines <= after_5.to_engines
