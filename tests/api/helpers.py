"""Servers on real sockets and fixtures' building blocks for the control-plane tests.

- :class:`LiveManager`: the whole manager (:class:`poolmgr.serve.Manager`: real supervisor,
  real stub-engine processes, uvicorn) serving on ``127.0.0.1:0`` in a thread.
- :class:`AppServer`: any ASGI app (e.g. the control plane over a registry driven by hand and
  a fake controller) under uvicorn on ``127.0.0.1:0`` in a thread.

Waiting for real processes is bounded polling (:func:`wait_until`); no test sleeps for a
fixed time to let something happen.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import IO, Any, TypeVar

import psutil
import requests
import uvicorn
import yaml
from fastapi import FastAPI

from harness.ready import ready_registry
from harness.waiting import wait_until
from poolmgr.config import parse_config
from poolmgr.core.config import Config
from poolmgr.core.registry import Registry
from poolmgr.http.app import create_app
from poolmgr.serve import Manager
from poolmgr.telemetry.metrics import PoolMetrics
from poolmgr.telemetry.redact import Redactor

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class AppServer:
    """An ASGI app under uvicorn on a free port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        )
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self._sock]))

    def __enter__(self) -> AppServer:
        self._thread.start()
        wait_until(lambda: self.server.started, 10, "uvicorn to start")
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self._sock.close()


class LiveManager:
    """The real manager (supervisor + stub engines + uvicorn) in a background thread."""

    def __init__(
        self, config_yaml: str, tmp: Path, environ: Mapping[str, str] | None = None
    ) -> None:
        env = dict(environ or {})
        self.config: Config = parse_config(config_yaml, "<test>")
        self.manager = Manager(
            self.config,
            host="127.0.0.1",
            port=0,
            environ=env,
            log_dir=tmp / "logs",
            redactor=Redactor(environ=env),
        )
        self.url = ""
        self._listening = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        def announce(url: str) -> None:
            self.url = url
            self._listening.set()

        try:
            asyncio.run(self.manager.run(on_listening=announce))
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._listening.set()

    def start(self) -> LiveManager:
        self._thread.start()
        assert self._listening.wait(20), "the manager did not start listening"
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout_s: float = 60.0) -> None:
        self.manager.request_stop()
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "the manager did not stop"

    def health(self, pool_id: str) -> dict[str, Any]:
        response = requests.get(f"{self.url}/v1/pools/{pool_id}/health", timeout=5)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_ready(self, *pool_ids: str, timeout_s: float = 20.0) -> None:
        for pool_id in pool_ids:
            self.wait_health(pool_id, lambda h: bool(h["ready"]), timeout_s, "ready")

    def wait_health(
        self,
        pool_id: str,
        check: Callable[[dict[str, Any]], bool],
        timeout_s: float = 20.0,
        what: str = "condition",
    ) -> dict[str, Any]:
        """Poll the pool's health until ``check`` accepts it; return that health."""

        def probe() -> dict[str, Any] | None:
            body = self.health(pool_id)
            return body if check(body) else None

        return wait_until(probe, timeout_s, f"pool {pool_id}: {what}")


def stub_pool(pool_id: str, model: str | None = None, **fields: Any) -> dict[str, Any]:
    """A CPU pool on the stub engine; ``fields`` override or add config fields."""
    pool: dict[str, Any] = {
        "id": pool_id,
        "engine": "stub",
        "model": model or f"stub://{pool_id}",
        "devices": [],
        "cpu": True,
        # Shutdown waits at most this long for leases a test left behind.
        "drain_deadline_ms": 1_000,
    }
    pool.update(fields)
    return pool


# A backoff and breaker that keep a failing stub pool cycling quickly in tests.
FAST_RESTARTS: dict[str, Any] = {
    "backoff": {"initial_ms": 50, "max_ms": 200, "stable_reset_ms": 600_000},
    "breaker": {"failure_threshold": 1000, "window_ms": 60_000, "cooldown_ms": 1_000},
}

LIVE_POOLS = [
    stub_pool("zulu", slots=4),
    stub_pool("alpha", slots=4),
    stub_pool("beta", slots=3),
    stub_pool("leases", slots=2),
    stub_pool("single", slots=1),
    stub_pool("held", slots=2),
    stub_pool("conflict", slots=2),
    stub_pool("drainer"),
    stub_pool("metered"),
    stub_pool("reloader", "stub://old"),
    stub_pool("rollback", "stub://good"),
    stub_pool("busy", stub={"preload_delay_ms": 400}),
    stub_pool("slow", stub={"preload_delay_ms": 600_000}),
    stub_pool(
        "broken",
        stub={"fail_preload": "tensor data is not within the file bounds"},
        **FAST_RESTARTS,
    ),
    stub_pool("crashy", stub={"crash_after_ms": 100}, **FAST_RESTARTS),
]
LIVE_CONFIG = yaml.safe_dump({"pools": LIVE_POOLS}, sort_keys=False)

READY_POOLS = (
    "alpha",
    "beta",
    "zulu",
    "leases",
    "single",
    "held",
    "conflict",
    "drainer",
    "metered",
    "reloader",
)


# --- the control plane over a hand-driven registry ---------------------------------------


class FakeController:
    """Records drain and reload calls; raises what it is told to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.fail_with: BaseException | None = None

    async def drain(self, pool_id: str, deadline_ms: int) -> None:
        self.calls.append(("drain", pool_id, str(deadline_ms)))
        if self.fail_with is not None:
            raise self.fail_with

    async def reload(self, pool_id: str, new_model_ref: str, deadline_ms: int) -> None:
        self.calls.append(("reload", pool_id, new_model_ref, str(deadline_ms)))
        if self.fail_with is not None:
            raise self.fail_with

    def engine_url(self, pool_id: str) -> str | None:
        return f"http://127.0.0.1:9/{pool_id}"


TWO_POOLS = """
pools:
  - {id: alpha, engine: stub, model: "stub://alpha", devices: [], cpu: true, slots: 2}
  - {id: beta, engine: stub, model: "stub://beta", devices: [], cpu: true, slots: 2}
"""


def fake_app(
    config_yaml: str = TWO_POOLS,
    *,
    environ: Mapping[str, str] | None = None,
    controller: FakeController | None = None,
    redactor: Redactor | None = None,
) -> tuple[FastAPI, Registry, FakeController, PoolMetrics]:
    config = parse_config(config_yaml, "<test>")
    registry = ready_registry(config)
    red = redactor or Redactor(environ=environ or {})
    metrics = PoolMetrics(registry, redactor=red)
    ctl = controller or FakeController()
    app = create_app(registry, ctl, config, metrics, redactor=red, environ=environ or {})
    return app, registry, ctl, metrics


LISTENING = "poolmgr: listening on "


class Served:
    """A ``poolmgr serve`` subprocess; stderr goes to a file so its pipe never fills."""

    def __init__(self, cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> None:
        self.stderr_path = cwd / "serve.stderr"
        self._stderr: IO[str] = self.stderr_path.open("w")
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "poolmgr", "serve", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=full_env,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.stdout: list[str] = []

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)

    def url(self, timeout_s: float = 20.0) -> str:
        """The URL from the listening line (bounded wait)."""
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError("poolmgr serve printed no listening line") from None
        self.stdout.append(line)
        assert line.startswith(LISTENING), line
        return line[len(LISTENING) :].strip()

    def engines(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def terminate(self, timeout_s: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._stderr.close()

    def stderr(self) -> str:
        return self.stderr_path.read_text()


def run_script(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A ``ci/`` gate script as CI runs it: a separate process."""
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def load_script(script: Path) -> ModuleType:
    """A ``ci/`` gate script imported as a module, to call its ``main`` in-process."""
    spec = importlib.util.spec_from_file_location(script.stem, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
