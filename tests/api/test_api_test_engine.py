"""The in-process test engine through ``poolmgr serve`` as a real process (OC-PERF-9110).

Refused unless ``manager.allow_test_engines`` is true; with it, its pools become Ready through
the real probe path (no engine process is started) and every report names the engine
``test-inproc``: the listing, the pool's health, the ``engine_info`` metric, the log lines and
``poolmgr plan``. A drain ends such an engine like an exit, and SIGTERM stops the manager
cleanly. Also the open-file limit ``serve`` raises for 1,000 pools (OC-PERF-9109).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.api.helpers import ROOT, Served, wait_until

TEST_POOLS = [
    {"id": f"t{i}", "engine": "test-inproc", "model": "test://m", "devices": [], "cpu": True}
    for i in range(3)
]


def write_config(tmp_path: Path, *, allow: bool | None) -> Path:
    manager: dict[str, Any] = {"log_dir": str(tmp_path / "logs")}
    if allow is not None:
        manager["allow_test_engines"] = allow
    path = tmp_path / "pools.yaml"
    path.write_text(yaml.safe_dump({"manager": manager, "pools": TEST_POOLS}))
    return path


def test_oc_perf_9110_serve_refuses_a_test_engine_without_the_flag(tmp_path: Path) -> None:
    config = write_config(tmp_path, allow=None)
    server = Served(tmp_path, "--config", str(config), "--port", "0")
    try:
        assert server.proc.wait(30) == 2
        problem = f"{config}: pools[0].engine: engine test-inproc is a test engine"
        assert problem in server.stderr()
        assert "manager.allow_test_engines" in server.stderr()
    finally:
        server.close()


def test_oc_perf_9110_every_report_names_the_test_engine(tmp_path: Path) -> None:
    config = write_config(tmp_path, allow=True)
    server = Served(tmp_path, "--config", str(config), "--port", "0")
    try:
        url = server.url()

        def all_ready() -> list[dict[str, Any]] | None:
            listed: list[dict[str, Any]] = requests.get(f"{url}/v1/pools", timeout=5).json()
            return listed if all(p["ready"] for p in listed) else None

        listed = wait_until(all_ready, 20, "three Ready test-engine pools")
        assert server.engines() == []  # no engine process at all
        assert [(p["id"], p["engine"]) for p in listed] == [
            ("t0", "test-inproc"),
            ("t1", "test-inproc"),
            ("t2", "test-inproc"),
        ]
        health = requests.get(f"{url}/v1/pools/t1/health", timeout=5).json()
        assert (health["engine"], health["engine_version"]) == ("test-inproc", "test-inproc-0.1.0")
        metrics = requests.get(f"{url}/metrics", timeout=5).text
        info = (
            'engine_info{engine="test-inproc",engine_version="test-inproc-0.1.0",'
            'model_digest="",pool_id="t2"} 1.0'
        )
        assert info in metrics
        drained = requests.post(f"{url}/v1/pools/t0/drain", json={"deadline_ms": 0}, timeout=5)
        assert drained.status_code == 202
        stopped = wait_until(
            lambda: (
                requests.get(f"{url}/v1/pools/t0/health", timeout=5).json()["state"] == "stopped"
            ),
            10,
            "the drained test engine to end",
        )
        assert stopped
        assert server.terminate() == 0
    finally:
        server.close()
    records = [json.loads(line) for line in (tmp_path / "logs" / "manager.jsonl").open()]
    started = [r for r in records if r.get("event") == "engine_started"]
    assert sorted(r["pool_id"] for r in started) == ["t0", "t1", "t2"]
    assert {r["engine"] for r in started} == {"test-inproc"}
    assert all("test engine" in r["message"] for r in started)
    ended = [r for r in records if r.get("event") == "engine_exited" and r["pool_id"] == "t0"]
    assert ended[0]["engine"] == "test-inproc"
    log = (tmp_path / "logs" / "t0.log").read_text()
    assert "test engine #1 (test-inproc, in the manager, no process)" in log


def test_oc_perf_9110_plan_names_the_test_engine(tmp_path: Path) -> None:
    config = write_config(tmp_path, allow=True)
    command = [sys.executable, "-m", "poolmgr", "plan", "--config", str(config)]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    text = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert text.returncode == 0, text.stderr
    assert "  test-inproc on CPU pool;" in text.stdout
    assert "test engine: served inside the manager, no process" in text.stdout
    assert "argv:" not in text.stdout
    as_json = subprocess.run([*command, "--json"], capture_output=True, text=True, env=env)
    pools = json.loads(as_json.stdout)["pools"]
    assert [(p["plan"]["engine"], p["plan"]["test_engine"]) for p in pools] == [
        ("test-inproc", True)
    ] * 3


def test_oc_perf_9109_serve_raises_the_open_file_limit_to_the_hard_limit() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    script = (
        "import resource\n"
        "from poolmgr.runtime.limits import raise_open_file_limit\n"
        "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "print(*raise_open_file_limit(), *resource.getrlimit(resource.RLIMIT_NOFILE))\n"
    )
    env = {"PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    if hard == resource.RLIM_INFINITY:
        assert out.stdout.split() == ["256", "256", "256", str(hard)]
    else:
        assert out.stdout.split() == ["256", str(hard), str(hard), str(hard)]
