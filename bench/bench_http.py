"""Benchmark of the control plane's per-request cost (#12, goals 1 and 2).

A client in this process talks to a server in a child process (its own interpreter, so client
and server do not share a GIL), one request at a time over one kept-alive ``http.client``
connection, as a scraper or a ``requests.Session`` would. Every figure comes with a baseline
measured in the same run (the machines are shared and noisy; the ratios compare across runs);
the servers run side by side and are measured in turns, the best of ``--rounds`` kept:

1. **Kept-alive vs fresh connections** (OC-PERF-9101): the median latency of ``GET /healthz``
   on one kept-alive connection against a new connection per request, on the socket
   ``poolmgr serve`` binds (``serve._bind``) and on the socket it bound before #12
   (``socket.create_server``: protocol 0, so no ``TCP_NODELAY`` on accepted connections).
   Goal: kept-alive within 2x of fresh.
2. **Handlers against a bare ASGI app on the same server** (goal 2): requests/s of
   ``GET /healthz``, ``GET /v1/pools/{id}/health`` and a lease cycle (``POST`` a lease, then
   ``DELETE`` it: two requests) served by the real control-plane app (over a Ready registry,
   :func:`harness.ready.ready_registry`; JSON logs to a file and to stderr as ``poolmgr serve``
   writes them), against a bare ASGI app that answers a fixed JSON body, on the same uvicorn
   settings and socket. Goal: within 1.5x. Also a one-route FastAPI app (the framework's own
   floor), and the same control-plane app with logging at WARNING, which shows what logging
   still costs per request.

Prints a Markdown table and writes ``bench/results/http.json``. Run:
``.venv/bin/python bench/bench_http.py`` (``--quick`` for a smoke run, ``--requests N``).
Never used as a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POOL = "alpha"
CONFIG = (
    "pools:\n"
    f"  - {{id: {POOL}, engine: stub, model: 'stub://bench', devices: [], cpu: true, slots: 4}}\n"
)
SERVERS = ("app", "app-quiet", "bare", "fastapi-hello", "app-old-bind")


# --- the server (child process) ---------------------------------------------------------------


async def _bare_app(scope: dict[str, Any], receive: Callable[..., Any], send: Any) -> None:
    """The baseline: an ASGI app that reads the request and answers a fixed JSON body."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body"))
    body = b'{"status":"ok"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"15")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _old_bind() -> socket.socket:
    """The socket ``poolmgr serve`` bound before #12 (protocol 0: asyncio sets no TCP_NODELAY)."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def serve(kind: str, log_dir: str) -> int:
    """Child process: one server of ``kind`` on 127.0.0.1 until stdin closes; prints its URL."""
    import uvicorn

    from harness.ready import NoEngines, ready_registry
    from poolmgr.config import parse_config
    from poolmgr.http.app import create_app
    from poolmgr.serve import _bind
    from poolmgr.telemetry.logs import configure_logging
    from poolmgr.telemetry.metrics import PoolMetrics
    from poolmgr.telemetry.redact import Redactor

    app: Any
    if kind == "bare":
        app = _bare_app
    elif kind == "fastapi-hello":
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/healthz")
        async def hello() -> dict[str, str]:
            return {"status": "ok"}

    else:
        redactor = Redactor(environ={})
        devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (the process's life)
        level = logging.WARNING if kind == "app-quiet" else logging.INFO
        log_file = Path(log_dir) / f"{kind}.jsonl"
        configure_logging(redactor, level=level, stream=devnull, log_file=log_file)
        config = parse_config(CONFIG, "<bench>")
        registry = ready_registry(config)
        metrics = PoolMetrics(registry, redactor=redactor)
        app = create_app(registry, NoEngines(), config, metrics, redactor=redactor, environ={})
    sock = _old_bind() if kind == "app-old-bind" else _bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))

    def stop_on_eof() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_on_eof, daemon=True).start()
    print(f"127.0.0.1:{sock.getsockname()[1]}", flush=True)
    asyncio.run(server.serve(sockets=[sock]))
    return 0


class Server:
    """A bench server of one kind in a child process."""

    def __init__(self, kind: str, tmp: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", kind, str(tmp)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        address = self.proc.stdout.readline().strip()
        if ":" not in address:
            self.proc.kill()
            raise SystemExit(f"the {kind} bench server did not start: {address!r}")
        host, port = address.rsplit(":", 1)
        self.host, self.port = host, int(port)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.communicate(timeout=30)


# --- the client -------------------------------------------------------------------------------


def _ask(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None) -> bytes:
    headers = {"content-type": "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path} answered {response.status}: {data[:200]!r}")
    return data


def _lease_cycle(conn: http.client.HTTPConnection) -> None:
    granted = json.loads(_ask(conn, "POST", f"/v1/pools/{POOL}/leases", b"{}"))
    _ask(conn, "DELETE", f"/v1/pools/{POOL}/leases/{granted['lease_id']}", None)


def _get(path: str) -> Callable[[http.client.HTTPConnection], None]:
    def run(conn: http.client.HTTPConnection) -> None:
        _ask(conn, "GET", path, None)

    return run


WORKLOADS: dict[str, Callable[[http.client.HTTPConnection], None]] = {
    "healthz": _get("/healthz"),
    "pool_health": _get(f"/v1/pools/{POOL}/health"),
    "lease_cycle": _lease_cycle,
}


def per_second(server: Server, work: Callable[[http.client.HTTPConnection], None], n: int) -> float:
    """Operations per second, one at a time over one kept-alive connection (after a warm-up)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        for _ in range(max(10, n // 10)):
            work(conn)
        began = time.perf_counter()
        for _ in range(n):
            work(conn)
        return n / (time.perf_counter() - began)
    finally:
        conn.close()


def latencies_ms(server: Server, n: int, *, keep_alive: bool) -> list[float]:
    """``GET /healthz`` latencies: on one kept-alive connection, or a new connection each."""
    out: list[float] = []
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        _ask(conn, "GET", "/healthz", None)  # warm-up (and the first connect)
        for _ in range(n):
            if not keep_alive:
                conn.close()
                conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
            began = time.perf_counter()
            _ask(conn, "GET", "/healthz", None)
            out.append((time.perf_counter() - began) * 1000)
    finally:
        conn.close()
    return out


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(value: float, base: float) -> float:
    return round(value / base, 3) if base else float("nan")


def measure(n: int, tmp: Path, rounds: int) -> dict[str, Any]:
    """Every figure of the report: all servers run at once and are measured in turns,
    ``rounds`` times, the best round kept (the machine is shared: a round that another
    process slowed down says nothing about the server)."""
    servers = {kind: Server(kind, tmp) for kind in SERVERS}
    best: dict[tuple[str, str], float] = {}
    kept: dict[str, list[float]] = {}
    fresh: dict[str, list[float]] = {}
    per_round = max(10, n // rounds)
    try:
        for _ in range(rounds):
            for kind, server in servers.items():
                for name, work in WORKLOADS.items():
                    if kind == "app-old-bind" or not (kind.startswith("app") or name == "healthz"):
                        continue
                    rate = per_second(server, work, per_round)
                    best[kind, name] = max(best.get((kind, name), 0.0), rate)
                if kind in ("app", "app-old-bind"):
                    lat = max(5, per_round // 20)
                    kept.setdefault(kind, []).extend(latencies_ms(server, lat, keep_alive=True))
                    fresh.setdefault(kind, []).extend(latencies_ms(server, lat, keep_alive=False))
    finally:
        for server in servers.values():
            server.__exit__()
    connections = {
        kind: {
            "kept_alive_p50_ms": round(median(kept[kind]), 3),
            "fresh_connection_p50_ms": round(median(fresh[kind]), 3),
            "ratio_kept_to_fresh": ratio(median(kept[kind]), median(fresh[kind])),
        }
        for kind in kept
    }
    bare, hello = best["bare", "healthz"], best["fastapi-hello", "healthz"]
    handlers = {
        name: {
            "app_per_s": round(best["app", name], 1),
            "app_quiet_per_s": round(best["app-quiet", name], 1),
            "bare_asgi_per_s": round(bare, 1),
            "fastapi_hello_per_s": round(hello, 1),
            "ratio_bare_to_app": ratio(bare, best["app", name]),
            "ratio_hello_to_app": ratio(hello, best["app", name]),
            "ratio_quiet_to_app": ratio(best["app-quiet", name], best["app", name]),
        }
        for name in WORKLOADS
    }
    return {"keepalive": connections, "handlers": handlers, "rounds": rounds}


def table(report: dict[str, Any]) -> str:
    rows = ["| Figure | Value | Baseline (same run) |", "|---|---|---|"]
    for kind, label in (("app", "serve._bind"), ("app-old-bind", "the bind before #12")):
        c = report["keepalive"][kind]
        rows.append(
            f"| `GET /healthz` kept-alive p50, {label} | {c['kept_alive_p50_ms']:.2f} ms "
            f"({c['ratio_kept_to_fresh']:.2f}x fresh) | fresh connection "
            f"{c['fresh_connection_p50_ms']:.2f} ms |"
        )
    for name, h in report["handlers"].items():
        rows.append(
            f"| {name} per s (one kept-alive client) | {h['app_per_s']:,.0f} "
            f"(bare/app {h['ratio_bare_to_app']:.2f}x; logging at WARNING "
            f"{h['ratio_quiet_to_app']:.2f}x) | bare ASGI app {h['bare_asgi_per_s']:,.0f}; "
            f"FastAPI hello world {h['fastapi_hello_per_s']:,.0f} "
            f"({h['ratio_hello_to_app']:.2f}x) |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run at a tiny size")
    parser.add_argument("--requests", type=int, default=3000, help="requests per figure")
    parser.add_argument("--rounds", type=int, default=5, help="turns per server (best kept)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "http.json"))
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "LOG_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(*args.serve)
    import tempfile

    n = 60 if args.quick else args.requests
    rounds = 2 if args.quick else args.rounds
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        figures = measure(n, Path(tmp), rounds)
    command = "python bench/bench_http.py" + (" --quick" if args.quick else "")
    report = {
        "command": command,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
        },
        "requests_per_figure": n,
        **figures,
        "seconds": round(time.perf_counter() - began, 1),
    }
    print(table(report))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
