"""``poolmgr serve``: the pool manager as a running process.

Decides how the pieces are assembled and how the process starts and ends:

- the config (a file, or the embedded default of two stub-engine CPU pools so a fresh machine
  can run it), the bearer token (read once, from the variable or file the config names,
  OC-CTL-4006) and the redactor that keeps it and every other secret out of logs, bodies and
  metrics (OC-CTL-4007);
- JSON-line logs on stderr and in ``<log_dir>/manager.jsonl`` (OC-CTL-4009);
- the :class:`~poolmgr.core.registry.Registry`, the
  :class:`~poolmgr.telemetry.metrics.PoolMetrics` fed by the facts the registry tells, the
  :class:`~poolmgr.runtime.supervisor.Supervisor` and the control-plane app, served by uvicorn
  on one event loop; every action the supervisor carries out and every fact the core tells is
  logged as a structured ``pool_<name>`` event;
- the listening socket is bound before any engine starts, so a taken port fails fast with
  nothing launched; ``--port 0`` lets the kernel pick and the URL is printed
  (``poolmgr: listening on http://HOST:PORT``) once the control plane answers, before any
  engine starts (OC-PERF-9107); then the supervisor's startup wave starts the pools, at most
  ``manager.start_concurrency`` at once (OC-PERF-9108), and ``/readyz`` answers 503 until every
  pool has finished its first start;
- SIGTERM or SIGINT stops serving, drains every pool with reason ``shutdown`` and waits for
  the supervisor to leave no engine behind (OC-POOL-3015); the exit status is then 0;
- as process 1 of a container, SIGHUP and SIGQUIT stop it the same way and orphaned processes
  are reaped (:mod:`poolmgr.runtime.init`, OC-DEP-8005, OC-DEP-8006).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Final

import uvicorn
from fastapi import FastAPI

from poolmgr.assemble import build_registry
from poolmgr.config import default_config, load_config
from poolmgr.core.admissions import Admitted, Refused
from poolmgr.core.clock import MonotonicClock
from poolmgr.core.config import Config
from poolmgr.core.decisions import (
    Action,
    DrainCounted,
    DriverResetCounted,
    Fact,
    KillEngine,
    PreloadFinished,
    ReloadFinished,
    Restarted,
    Spawn,
    StateChanged,
    VoidLeases,
)
from poolmgr.core.errors import ConfigError, ConfigProblem, PoolError
from poolmgr.core.inventory import GpuInventory
from poolmgr.core.registry import Registry, Told
from poolmgr.http.app import create_app
from poolmgr.runtime.gpu_view import GpuSource, gpu_source_for
from poolmgr.runtime.init import install_init_duties, is_init, stop_signals
from poolmgr.runtime.limits import raise_open_file_limit
from poolmgr.runtime.supervisor import Supervisor
from poolmgr.telemetry.admission import log_admission
from poolmgr.telemetry.logs import configure_logging, pool_identity, stop_logging
from poolmgr.telemetry.metrics import PoolMetrics
from poolmgr.telemetry.redact import Redactor, default_redactor

__all__ = ["LISTENING_PREFIX", "ListenError", "Manager", "main", "shutdown_deadline_ms"]

LISTENING_PREFIX: Final = "poolmgr: listening on "
"""The line printed once the socket is bound, followed by the base URL."""
_INVENTORY_TTL_S: Final = 5.0
_LOG = logging.getLogger("poolmgr.serve")


def _details(told: Action | Fact) -> dict[str, str | None]:
    """The log fields an action or fact carries: its cause (or drain reason), a state change."""
    match told:
        case (
            Spawn(restart_cause=cause) | PreloadFinished(cause=cause) | ReloadFinished(cause=cause)
        ):
            return {"cause": None if cause is None else cause.value}
        case KillEngine(cause=c) | VoidLeases(cause=c) | Restarted(cause=c):
            return {"cause": c.value}
        case DriverResetCounted(cause=c):
            return {"cause": c.value}
        case DrainCounted(reason=reason):
            return {"cause": reason.value}
        case StateChanged(from_state=old, to_state=new):
            return {"cause": None, "from_state": old.value, "to_state": new.value}
    return {"cause": None}


def shutdown_deadline_ms(config: Config) -> int:
    """How long leases may run on at shutdown: the longest drain deadline of any pool."""
    return max((pool.drain_deadline_ms for pool in config.pools), default=10_000)


class _CachedInventory:
    """The GPU view as an inventory, read at most every few seconds (for metrics)."""

    def __init__(self, gpus: GpuSource) -> None:
        self._gpus = gpus
        self._lock = threading.Lock()
        self._value: GpuInventory | None = None
        self._read_at: float | None = None

    def __call__(self) -> GpuInventory | None:
        with self._lock:
            now = time.monotonic()
            if self._read_at is None or now - self._read_at >= _INVENTORY_TTL_S:
                view = self._gpus.read()
                self._value = view.inventory() if view is not None else None
                self._read_at = now
            return self._value


def _log_gpu_source(gpus: GpuSource) -> None:
    """Say at startup where the GPUs' truth comes from; simulated GPUs loudly (OC-GPU-9508)."""
    if gpus.simulated:
        _LOG.warning(
            "gpus: simulated (manager.simulate_gpus): the static inventory and engine claim "
            "files stand in for NVML; no pool runs on a real GPU",
            extra={"event": "gpu_source", "gpus": "simulated"},
        )
    else:
        _LOG.info("gpus: read from NVML", extra={"event": "gpu_source", "gpus": "nvml"})


class ListenError(OSError):
    """The control-plane address cannot be bound (nothing has been started)."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the manager decides how to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    """The control plane's listening socket, bound before anything starts.

    Made with ``IPPROTO_TCP`` named (``socket.create_server`` leaves the protocol 0): asyncio
    sets ``TCP_NODELAY`` on each connection it accepts only when the listening socket says it
    is TCP, and without it a kept-alive client waits for its own delayed ACK (~40 ms) on every
    answer that uvicorn writes in two parts (OC-PERF-9101). The option is also set on the
    listening socket, which Linux copies to every accepted one.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if family == socket.AF_INET6:  # as socket.create_server: IPv6 only, no mapped IPv4
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(socket.SOMAXCONN)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in str(host) else str(host)
    return f"http://{shown}:{port}"


def _check_engine_address(config: Config, advertise_host: str | None) -> None:
    """Engines on a wildcard address need a host to advertise (OC-DEP-8018).

    ``0.0.0.0`` names no host a client could connect to, so lease answers would carry an
    ``engine_url`` nobody can use.
    """
    manager = config.manager
    if manager.engine_host in ("0.0.0.0", "::") and not (
        advertise_host or manager.engine_advertise_host
    ):
        raise ConfigError(
            [
                ConfigProblem(
                    config.source,
                    "manager.engine_advertise_host",
                    f"engine_host {manager.engine_host} is a wildcard address: set "
                    "engine_advertise_host or pass serve --advertise-host (the host clients "
                    "reach the engines at)",
                )
            ]
        )


class Manager:
    """Everything ``poolmgr serve`` runs, assembled from one config."""

    def __init__(
        self,
        config: Config,
        *,
        host: str | None = None,
        port: int | None = None,
        advertise_host: str | None = None,
        environ: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        redactor: Redactor | None = None,
        tick_interval_s: float = 0.02,
    ) -> None:
        self.config = config
        _check_engine_address(config, advertise_host)
        self.host = host if host is not None else config.manager.host
        self.port = port if port is not None else config.manager.port
        if redactor is None:
            # The process-wide redactor when running on the real environment, so any module
            # (the supervisor's engine logs included) can mask the same secrets.
            redactor = default_redactor() if environ is None else Redactor(environ=environ)
        self.redactor = redactor
        self.log_dir = log_dir if log_dir is not None else Path(config.manager.log_dir)
        self.registry: Registry = build_registry(config, MonotonicClock(), random.Random())
        # NVML, or the simulated GPUs the config asks for (OC-GPU-9502, OC-GPU-9508).
        self.gpus = gpu_source_for(config, self.log_dir)
        self.metrics = PoolMetrics(
            self.registry,
            inventory=_CachedInventory(self.gpus),
            redactor=self.redactor,
            simulated_gpus=self.gpus.simulated,
        )
        self.supervisor = Supervisor(
            config,
            self.registry,
            log_dir=self.log_dir,
            advertise_host=advertise_host,
            gpus=self.gpus,
            on_action=self._log,
            tick_interval_s=tick_interval_s,
        )
        self._serving = False
        self.app: FastAPI = create_app(
            self.registry,
            self.supervisor,
            config,
            self.metrics,
            redactor=self.redactor,
            environ=environ,
            ready=self.ready,
        )
        self.registry.observe(self._told)
        self._server: _Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self.url: str | None = None

    def ready(self) -> bool:
        """What ``/readyz`` says: serving, not stopping, every pool's first start finished."""
        return self._serving and self.supervisor.startup.done

    def _told(self, pool_id: str, told: Told) -> None:
        """Log a fact the registry told: an admission decision, or a lifecycle fact."""
        if isinstance(told, Admitted | Refused):
            log_admission(pool_id, told)
        else:
            self._log(pool_id, told)

    def _log(self, pool_id: str, told: Action | Fact) -> None:
        """Log an action carried out or a fact the core told, as a structured event."""
        try:
            snap = self.registry.snapshot(pool_id)
        except PoolError:
            return
        details = _details(told)
        cause = details["cause"]
        _LOG.info(
            "pool %s: %s%s",
            pool_id,
            told.name,
            f" ({cause})" if cause else "",
            extra={
                "event": f"pool_{told.name}",
                "pool_id": pool_id,
                "engine": snap.engine,
                "engine_version": snap.engine_version,
                "state": snap.state.value,
                **details,
            },
        )

    def request_stop(self) -> None:
        """Ask the manager to stop; safe from any thread and from signal handlers.

        The first request drains the pools while the control plane keeps answering (clients
        can still return leases and watch health; ``/readyz`` says 503), then closes it. A
        second request closes the control plane at once; the drain still runs to its end.
        """
        loop, stop = self._loop, self._stop
        if loop is None or stop is None:
            return
        if self._stop_requested and self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        self._stop_requested = True
        loop.call_soon_threadsafe(stop.set)

    async def run(self, on_listening: Callable[[str], None] | None = None) -> None:
        """Bind, serve, start the engines, serve until :meth:`request_stop`, stop everything."""
        pool_identity.set(self.registry.identity)  # every line naming a pool names its engine
        sock = _bind(self.host, self.port)
        self.url = _url(sock)
        server = _Server(
            uvicorn.Config(
                self.app,
                log_config=None,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=5,
            )
        )
        self._server = server
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        deadline_ms = shutdown_deadline_ms(self.config)
        try:
            # The control plane answers before any engine starts (OC-PERF-9107).
            serving = asyncio.create_task(server.serve(sockets=[sock]), name="poolmgr-http")
            while not server.started and not serving.done():
                await asyncio.sleep(0.005)
            if server.started:
                if on_listening is not None:
                    on_listening(self.url)
                _log_gpu_source(self.gpus)
                await self.supervisor.start()  # the startup wave (OC-PERF-9108)
                self._serving = True
            stopping = asyncio.create_task(self._stop.wait(), name="poolmgr-stop")
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            self._serving = False
            _LOG.info(
                "stopping: draining every pool (deadline %d ms)",
                deadline_ms,
                extra={"event": "manager_stopping"},
            )
            await self.supervisor.stop(deadline_ms)
            server.should_exit = True
            await serving
        finally:
            self._serving = False
            self._loop = None
            sock.close()
            await self.supervisor.stop(deadline_ms)  # no-op when already stopped
            _LOG.info("stopped", extra={"event": "manager_stopped"})


def _print_problems(exc: ConfigError) -> None:
    for problem in exc.problems:
        print(problem, file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    """``poolmgr serve [--config FILE] [--host H] [--port P]``; 0 after a clean stop.

    2 for a config problem (a missing token included), 1 when the address cannot be bound.
    """
    config_path: str | None = getattr(args, "config", None)
    try:
        config = load_config(config_path) if config_path else default_config()
        manager = Manager(
            config,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            advertise_host=getattr(args, "advertise_host", None),
        )
    except ConfigError as exc:
        _print_problems(exc)
        return 2
    configure_logging(manager.redactor, log_file=manager.log_dir / "manager.jsonl")
    raise_open_file_limit()  # a log and a connection per pool: 1,000 pools (OC-PERF-9109)

    def announce(url: str) -> None:
        print(f"{LISTENING_PREFIX}{url}", flush=True)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        init = is_init()
        for sig in stop_signals(init):
            loop.add_signal_handler(sig, manager.request_stop)
        orphans = install_init_duties(loop) if init else None  # OC-DEP-8006
        try:
            await manager.run(on_listening=announce)
        finally:
            if orphans is not None:
                orphans.close()

    try:
        asyncio.run(run())
    except ListenError as exc:
        print(f"poolmgr serve: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_logging()  # every line handed to the writer is written before the exit
    return 0
