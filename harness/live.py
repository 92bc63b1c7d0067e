"""A real ``poolmgr serve`` process for the process-level scenarios (``@process``).

Decides how a scenario runs the whole manager and how it always ends it:

- :class:`LiveManager` keeps a private temp dir (config file, logs, model files a scenario
  writes), starts ``python -m poolmgr serve [--config FILE] --host 127.0.0.1 --port 0`` in its
  own session, and reads the URL from the listening line (bounded wait);
- every wait for the real system is bounded polling of its HTTP API
  (:func:`harness.waiting.wait_until`); nothing sleeps a fixed time;
- :meth:`LiveManager.stop` sends SIGTERM (drain and exit 0, OC-POOL-3015), waits bounded,
  reports any engine that outlived the manager, then SIGKILLs the manager's process group and
  every engine it ever saw (engines run in their own sessions), so no scenario leaves an
  engine behind even when it fails halfway;
- at most one manager runs per test process: starting one stops the previous one, a weak
  finaliser stops it when its scenario's world goes away, and ``atexit`` stops the last one.

Serves the process-level scenarios of OC-CTL-4001..4006, 4010..4015, OC-POOL-3003, 3005, 3010, 3011,
3015, 3017, 3031, 3034, 3040, 3041, 3050, 3060 and OC-MET-6001.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import psutil
import requests
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from harness.waiting import wait_until
from poolmgr.serve import LISTENING_PREFIX

__all__ = ["LiveManager", "StopOutcome", "live_manager_of", "stop_current"]

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 20.0
HTTP_TIMEOUT_S = 5.0
TMP_MARK = "$TMP"
"""Written in a scenario's config text, replaced by the manager's temp dir."""


@dataclass(frozen=True)
class StopOutcome:
    """How a stop went: the exit status (``None`` if it had to be killed) and any survivors."""

    exit_code: int | None
    leftover_engines: tuple[int, ...]


class LiveManager:
    """One ``poolmgr serve`` subprocess and what a scenario observed of it."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="poolmgr-live-"))
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        self.last: requests.Response | None = None
        self.sent_correlation_id: str | None = None
        self.lease_ids: list[str] = []
        self.granted: list[dict[str, Any]] = []
        self.waiters: list[Any] = []
        """Clients whose lease requests wait in threads (:mod:`harness.steps.admission_live`)."""
        """The bodies of the leases granted to the scenario's clients, in order."""
        self.last_window_ms: tuple[int, int] = (0, 0)
        """The client's wall clock (epoch ms) just before and just after the last request."""
        self.killed_pids: list[int] = []
        self.engines_seen: dict[int, psutil.Process] = {}
        self.stopped: StopOutcome | None = None
        self._stderr: IO[str] | None = None
        self._lines: queue.Queue[str] = queue.Queue()
        self._session = requests.Session()

    # --- lifecycle ----------------------------------------------------------------------

    def start(
        self,
        config_text: str | None,
        env: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        adopt: bool = True,
    ) -> None:
        """Start serving ``config_text`` (``None``: the embedded default); wait for the URL.

        ``adopt=False`` starts a further manager of a fleet scenario beside the current one;
        its owner stops it (``harness.steps.drain_cmd``).
        """
        if self.proc is not None:
            raise AssertionError("this scenario already started a manager")
        if adopt:
            _adopt(self)
        args = [sys.executable, "-m", "poolmgr", "serve", "--host", host, "--port", str(port)]
        if config_text is not None:
            path = self.tmp / "pools.yaml"
            path.write_text(config_text.replace(TMP_MARK, str(self.tmp)))
            args += ["--config", str(path)]
        self._stderr = (self.tmp / "serve.stderr").open("w")
        self.proc = subprocess.Popen(
            self.wrap(args),
            cwd=self.tmp,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            start_new_session=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        try:
            line = self._lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            message = f"poolmgr serve printed no listening line: {self.stderr()}"
            raise AssertionError(message) from None
        assert line.startswith(LISTENING_PREFIX), f"unexpected first line {line!r}"
        self.url = line[len(LISTENING_PREFIX) :].strip()

    def wrap(self, args: list[str]) -> list[str]:
        """The command that runs ``poolmgr serve ARGS`` (a subclass may wrap it)."""
        return args

    def terminate(self) -> None:
        """Ask the manager to stop: SIGTERM to the process ``poolmgr serve`` runs in."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)

    def stderr(self) -> str:
        path = self.tmp / "serve.stderr"
        return path.read_text() if path.exists() else ""

    def engines(self) -> list[psutil.Process]:
        """The manager's live descendants (its engines); each is remembered for the cleanup."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for child in children:
            self.engines_seen.setdefault(child.pid, child)
        return children

    def engine_of(self, model_ref: str) -> psutil.Process:
        """The engine process started for ``model_ref`` (found by its command line)."""

        def probe() -> psutil.Process | None:
            for proc in self.engines():
                with contextlib.suppress(psutil.Error):
                    if model_ref in proc.cmdline():
                        return proc
            return None

        return wait_until(probe, 10, f"an engine process serving {model_ref}")

    def stop(self) -> StopOutcome:
        """SIGTERM, bounded wait, then SIGKILL whatever is left; idempotent."""
        if self.stopped is not None:
            return self.stopped
        proc = self.proc
        if proc is None:
            self.stopped = StopOutcome(0, ())
            shutil.rmtree(self.tmp, ignore_errors=True)
            return self.stopped
        self.engines()
        self._return_leases()
        code: int | None = None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, psutil.Error):
                self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = proc.wait(STOP_TIMEOUT_S)
        leftover = tuple(sorted(pid for pid, p in self.engines_seen.items() if _alive(p)))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        for engine in self.engines_seen.values():
            with contextlib.suppress(psutil.Error):
                engine.kill()
        if code is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
        if self._stderr is not None:
            self._stderr.close()
        self._session.close()
        self.stopped = StopOutcome(code, leftover)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return self.stopped

    def _return_leases(self) -> None:
        """Hand back the scenario's leases, so the shutdown drain need not wait for them."""
        for path in self.lease_ids:
            with contextlib.suppress(requests.RequestException):
                self._session.delete(f"{self.url}{path}", timeout=HTTP_TIMEOUT_S)

    # --- HTTP ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        keep: bool = True,
    ) -> requests.Response:
        """One call to the control plane; ``keep`` records it as the scenario's last answer."""
        assert self.url, "the manager is not running"
        before = time.time_ns() // 1_000_000
        response = self._session.request(
            method,
            f"{self.url}{path}",
            json=json,
            headers=dict(headers or {}),
            timeout=HTTP_TIMEOUT_S,
        )
        if keep:
            self.last = response
            self.last_window_ms = (before, -(-time.time_ns() // 1_000_000))
        return response

    def get_json(self, path: str) -> Any:
        response = self.request("GET", path, keep=False)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def health(self, pool_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.get_json(f"/v1/pools/{pool_id}/health")
        return body

    def wait_health(
        self, pool_id: str, check: Callable[[dict[str, Any]], bool], what: str, timeout_s: float
    ) -> dict[str, Any]:
        """Poll the pool's health until ``check`` accepts it (bounded); return that health."""

        def probe() -> dict[str, Any] | None:
            body = self.health(pool_id)
            return body if check(body) else None

        return wait_until(probe, timeout_s, f"pool {pool_id}: {what}")

    def metrics_text(self) -> str:
        response = self.request("GET", "/metrics", keep=False)
        assert response.status_code == 200, f"GET /metrics: {response.status_code}"
        return response.text

    def metric_families(self) -> dict[str, Metric]:
        """The ``/metrics`` families by their exposition name (counters with ``_total``)."""
        return {
            f.name + "_total" if f.type == "counter" else f.name: f
            for f in text_string_to_metric_families(self.metrics_text())
        }


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# --- one manager per test process ---------------------------------------------------------

_current: LiveManager | None = None
_lock = threading.Lock()


def _adopt(manager: LiveManager) -> None:
    """Make ``manager`` the current one, stopping a previous scenario's manager first."""
    global _current
    with _lock:
        previous, _current = _current, manager
    if previous is not None and previous is not manager:
        previous.stop()


def stop_current() -> None:
    """Stop the current manager, if any (the ``atexit`` hook, also usable from a teardown)."""
    global _current
    with _lock:
        manager, _current = _current, None
    if manager is not None:
        manager.stop()


atexit.register(stop_current)


class LiveOwner(Protocol):
    """A scenario world that holds its live manager (:attr:`harness.world.PoolWorld.live`)."""

    live: LiveManager | None


def live_manager_of(world: LiveOwner, kind: type[LiveManager] = LiveManager) -> LiveManager:
    """The scenario's manager, created on first use (of ``kind``) and stopped when the world
    goes away."""
    manager = world.live
    if manager is None:
        manager = world.live = kind()
        weakref.finalize(world, manager.stop)
    return manager
