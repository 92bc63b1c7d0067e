"""``poolmgr serve`` as a real process: default config, port 0, clean SIGTERM (OC-POOL-3015).

Also OC-POOL-3017 (the default pools are CPU pools, marked so) and OC-CFG-5002 (a bad config
starts nothing and exits 2).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.api.helpers import LiveManager, Served, stub_pool, wait_until


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path, "--port", "0")
    try:
        yield server
    finally:
        server.close()


def two_ready_pools(url: str) -> list[dict[str, Any]] | None:
    try:
        pools: list[dict[str, Any]] = requests.get(f"{url}/v1/pools", timeout=2).json()
    except requests.RequestException:
        return None
    return pools if len(pools) == 2 and all(p["ready"] for p in pools) else None


def test_oc_pool_3015_serve_without_config_runs_two_ready_cpu_pools_and_stops_clean(
    served: Served,
) -> None:
    url = served.url()
    assert not url.endswith(":0")
    pools = wait_until(lambda: two_ready_pools(url), 20, "two Ready pools")
    assert [p["id"] for p in pools] == ["alpha", "beta"]
    assert all(p["cpu"] and p["engine"] == "stub" for p in pools)
    engines = served.engines()
    assert len(engines) >= 2
    assert served.terminate() == 0
    assert [e.pid for e in engines if e.is_running() and e.status() != "zombie"] == []


def test_oc_ctl_4009_serve_logs_json_lines_to_stderr_and_log_dir(
    served: Served, tmp_path: Path
) -> None:
    url = served.url()
    wait_until(lambda: two_ready_pools(url), 20, "two Ready pools")
    requests.get(f"{url}/v1/pools/alpha/health", headers={"X-Correlation-Id": "c-76"}, timeout=5)
    requests.get(f"{url}/v1/pools/nope/health", headers={"X-Correlation-Id": "c-77"}, timeout=5)
    assert served.terminate() == 0
    records = [json.loads(line) for line in served.stderr().splitlines() if line.strip()]
    # A read that fails is logged at info with its request's id; one that succeeds at debug.
    asked = [(r["event"], r["status"]) for r in records if r.get("correlation_id") == "c-77"]
    assert asked == [("http_request", 404)]
    assert [r for r in records if r.get("correlation_id") == "c-76"] == []
    spawns = [r for r in records if r["event"] == "pool_spawn" and r["pool_id"] == "alpha"]
    assert spawns and spawns[0]["engine"] == "stub"
    drains = [r for r in records if r["event"] == "pool_count_drain"]
    assert {r["cause"] for r in drains} == {"shutdown"}
    assert (tmp_path / "logs" / "manager.jsonl").read_text().strip()


def test_serve_on_a_taken_port_exits_1_and_starts_no_engine(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        server = Served(tmp_path, "--port", str(port))
        try:
            assert server.proc.wait(30) == 1
            assert "cannot listen" in server.stderr()
            assert not list((tmp_path / "logs").glob("*.log"))
        finally:
            server.close()


def test_oc_cfg_5002_serve_with_a_bad_config_exits_2_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("pools:\n  - {id: a, engine: nope, model: m, devices: []}\n")
    server = Served(tmp_path, "--config", str(bad), "--port", "0")
    try:
        assert server.proc.wait(30) == 2
        assert f"{bad}: pools[0].engine" in server.stderr()
    finally:
        server.close()


def test_oc_pool_3031_shutdown_drain_lets_clients_return_leases(tmp_path: Path) -> None:
    config = yaml.safe_dump({"pools": [stub_pool("solo", drain_deadline_ms=60_000)]})
    live = LiveManager(config, tmp_path).start()
    try:
        live.wait_ready("solo")
        lease = requests.post(f"{live.url}/v1/pools/solo/leases", timeout=5).json()
        live.manager.request_stop()
        # The control plane still answers while the pool drains for the shutdown...
        wait_until(
            lambda: requests.get(f"{live.url}/readyz", timeout=5).status_code == 503,
            10,
            "readyz to report the shutdown",
        )
        assert live.health("solo")["draining"] is True
        refused = requests.post(f"{live.url}/v1/pools/solo/leases", timeout=5)
        assert refused.json()["code"] == "POOL_UNAVAILABLE"
        # ...so the client can give its lease back, and the manager ends long before 60 s.
        path = f"/v1/pools/solo/leases/{lease['lease_id']}"
        assert requests.delete(f"{live.url}{path}", timeout=5).status_code == 204
    finally:
        live.stop(timeout_s=15)
