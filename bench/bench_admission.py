"""Benchmark of fair admission (#16): decisions per second, and how close shares stay to weights.

Three parts, each figure with a baseline measured in the same run (the machines are shared and
noisy, so the ratios are what compare across runs):

1. In-process, through :class:`~poolmgr.core.registry.Registry` on a
   :class:`~poolmgr.core.clock.ManualClock`: tenants of weights 1..8 keep requests waiting
   (``request_lease`` with ``wait_ms``) on one pool whose slots are all held; every decision
   returns the oldest lease (``release_lease``, which admits a waiter, OC-ADM-9004) and the
   admitted tenant asks again, so every tenant stays backlogged. Measured with a short queue
   (4 per tenant) and with 1,000 waiting requests. Baselines: the same number of
   immediate ``request_lease`` + ``release_lease`` pairs on an empty queue, and of plain
   :class:`~poolmgr.core.leases.LeaseTable` acquire/release pairs. Also the bare
   :class:`~poolmgr.core.admission.AdmissionQueue` (push + pick) against a FIFO ``deque``.
2. Share error (OC-ADM-9009, OC-ADM-9014): over every window of N = 100 and N = 1,000
   consecutive admissions of a backlogged run, the maximum and mean of |observed share -
   w/W| per tenant (also in admissions), the number of windows that break the SFQ bound the
   spec states, and the ``admission_share`` EWMA at the end against w/W. For weights 1..8 and
   1..4.
3. Over HTTP: a real server (the control-plane app over a Ready registry, uvicorn on a real
   socket, JSON logs to a file as ``poolmgr serve`` writes them) in a child process, and
   1,000 clients (one kept-alive connection each, h11 over asyncio) each looping "ask with
   wait_ms, get the lease, return it"; once ``--admissions`` grants were made, clients stop
   asking again and the rest of the queue is admitted and returned, so every request is
   answered. Figures: admissions/s, the wait p50/p99 (client side, per tenant too), status
   codes, the server's event-loop lag, the share error of the server's admission order, and
   the scraped ``admission_share`` gauge. Baseline: the same number of immediate (``wait_ms``
   0) grant + return round trips over the same server, with as many workers as the pool has
   slots. The server binds as ``poolmgr serve`` does (``serve._bind``, with ``TCP_NODELAY``
   since #12); ``keepalive_probe`` measures one kept-alive round trip on that socket, with
   the option also set by hand (``nodelay``) and as bound (``serve``).

Prints the figures and writes ``bench/results/admission.json``. Run:
``.venv/bin/python bench/bench_admission.py`` (``--quick`` for a smoke run, ``--clients``,
``--admissions``). Never used as a timed assertion in tests.
"""

# size: a benchmark script: three measured parts, a server mode and the report in one file

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h11
import report  # bench/report.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: import this checkout's poolmgr
    sys.path.insert(0, str(ROOT))

from harness.ready import NoEngines, ready_registry  # noqa: E402
from poolmgr.config import parse_config  # noqa: E402
from poolmgr.core.admission import AdmissionQueue, Priority, Ticket  # noqa: E402
from poolmgr.core.admissions import Admitted  # noqa: E402
from poolmgr.core.leases import Lease, LeaseTable  # noqa: E402

POOL = "bench"
MAX_WAIT_MS = 600_000
OUT = ROOT / "bench" / "results" / "admission.json"
SECONDS_AT_MOST = 600
"""Bound on the HTTP run (every loop in it ends; a hung request fails the run here)."""


# --- setup --------------------------------------------------------------------------------


def tenant_names(weights: Sequence[int]) -> list[str]:
    return [f"w{i + 1}" for i in range(len(weights))]


def config_yaml(weights: Sequence[int], slots: int, depth: int) -> str:
    named = zip(tenant_names(weights), weights, strict=True)
    tenants = ", ".join(f"{{name: {name}, weight: {w}}}" for name, w in named)
    return (
        f"tenants: [{tenants}]\n"
        "pools:\n"
        f"  - {{id: {POOL}, engine: stub, model: 'stub://bench', devices: [], cpu: true,"
        f" slots: {slots}, admission: {{queue_depth: {depth}, max_wait_ms: {MAX_WAIT_MS}}}}}\n"
    )


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


# --- 1. in-process ------------------------------------------------------------------------


def queued_run(
    weights: Sequence[int], per_tenant: int, decisions: int, slots: int = 4
) -> tuple[float, list[str], dict[str, float]]:
    """Seconds for ``decisions`` release+admit+ask-again steps; the admission order; shares."""
    names = tenant_names(weights)
    depth = per_tenant * len(names) + slots
    registry = ready_registry(parse_config(config_yaml(weights, slots, depth), "<bench>"))
    admitted: list[Admitted] = []
    registry.observe(
        lambda _pool, fact: admitted.append(fact) if isinstance(fact, Admitted) else None
    )
    for _ in range(per_tenant):
        for name in names:
            registry.request_lease(POOL, wait_ms=MAX_WAIT_MS, tenant=name)
    held: deque[Lease] = deque(fact.lease for fact in admitted)
    order = [fact.ticket.tenant for fact in admitted]
    for name in order:  # the ones granted at once leave their lane short: ask again
        registry.request_lease(POOL, wait_ms=MAX_WAIT_MS, tenant=name)
    admitted.clear()
    release, request = registry.release_lease, registry.request_lease
    started = time.perf_counter()
    for _ in range(decisions):
        release(POOL, held.popleft().lease_id)
        fact = admitted.pop()
        held.append(fact.lease)
        tenant = fact.ticket.tenant
        order.append(tenant)
        request(POOL, wait_ms=MAX_WAIT_MS, tenant=tenant)
    seconds = time.perf_counter() - started
    shares = dict(registry.admission_view().shares[Priority.INTERACTIVE])
    return seconds, order, shares


def immediate_run(weights: Sequence[int], decisions: int, slots: int = 4) -> float:
    """Seconds for ``decisions`` immediate (wait 0) request + release_lease pairs, queue empty."""
    names = tenant_names(weights)
    registry = ready_registry(parse_config(config_yaml(weights, slots, 16), "<bench>"))
    request, release = registry.request_lease, registry.release_lease
    started = time.perf_counter()
    for i in range(decisions):
        lease = request(POOL, tenant=names[i % len(names)]).future.result(timeout=0)
        release(POOL, lease.lease_id)
    return time.perf_counter() - started


def lease_table_run(decisions: int) -> float:
    """Seconds for ``decisions`` plain LeaseTable acquire/release pairs."""
    table = LeaseTable(POOL, 4, random.Random(7))
    started = time.perf_counter()
    for i in range(decisions):
        lease = table.acquire(i)
        table.release(lease.lease_id, i)
    return time.perf_counter() - started


def queue_run(weights: Sequence[int], per_tenant: int, ops: int) -> tuple[float, float]:
    """Seconds for ``ops`` AdmissionQueue pick+push steps, and for deque popleft+append."""
    names = tenant_names(weights)
    by_name = dict(zip(names, weights, strict=True))
    ids = iter(range(1, 10**9))

    def ticket(tenant: str) -> Ticket:
        return Ticket(next(ids), POOL, tenant, Priority.INTERACTIVE, 0, MAX_WAIT_MS)

    queue = AdmissionQueue(POOL, per_tenant * len(names) + 1, by_name.__getitem__)
    fifo: deque[Ticket] = deque()
    for _ in range(per_tenant):
        for name in names:
            queue.push(ticket(name))
            fifo.append(ticket(name))

    def anyone(_tenant: str) -> bool:
        return True

    started = time.perf_counter()
    for _ in range(ops):
        picked = queue.pick(0, anyone)
        assert picked is not None
        queue.push(ticket(picked.tenant))
    sfq = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(ops):
        fifo.append(ticket(fifo.popleft().tenant))
    return sfq, time.perf_counter() - started


def in_process(weights: Sequence[int], decisions: int, deep: int) -> dict[str, Any]:
    out: dict[str, Any] = {"weights": list(weights), "slots": 4, "decisions": decisions}
    base_s = immediate_run(weights, decisions)
    table_s = lease_table_run(decisions)
    out["baseline_immediate_per_s"] = round(rate(decisions, base_s))
    out["baseline_lease_table_per_s"] = round(rate(decisions, table_s))
    for label, waiting in (("short_queue", 4 * len(weights)), ("deep_queue", deep)):
        per_tenant = max(1, waiting // len(weights))
        seconds, _, _ = queued_run(weights, per_tenant, decisions)
        out[label] = {
            "waiting": per_tenant * len(weights),
            "decisions_per_s": round(rate(decisions, seconds)),
            "ratio_to_immediate": round(base_s / seconds, 3),
            "ratio_to_lease_table": round(table_s / seconds, 4),
        }
    for label, waiting in (("queue_short", 4 * len(weights)), ("queue_deep", deep)):
        per_tenant = max(1, waiting // len(weights))
        sfq_s, fifo_s = queue_run(weights, per_tenant, decisions)
        out[label] = {
            "waiting": per_tenant * len(weights),
            "push_pick_per_s": round(rate(decisions, sfq_s)),
            "baseline_deque_per_s": round(rate(decisions, fifo_s)),
            "ratio_to_deque": round(fifo_s / sfq_s, 3),
        }
    return out


# --- 2. share error -----------------------------------------------------------------------


def share_error(order: Sequence[str], weights: dict[str, int], window: int) -> dict[str, Any]:
    """Over every window of ``window`` consecutive admissions: |share - w/W| per tenant, and
    the windows that break OC-ADM-9009's bound |A_i/w_i - A_j/w_j| <= 1/w_i + 1/w_j."""
    names = sorted(weights)
    total_w = sum(weights.values())
    prefix = {name: [0] for name in names}
    for tenant in order:
        for name in names:
            prefix[name].append(prefix[name][-1] + (tenant == name))
    worst, errors, worst_count, broken, windows = 0.0, 0.0, 0.0, 0, 0
    for start in range(0, len(order) - window + 1):
        counts = {n: prefix[n][start + window] - prefix[n][start] for n in names}
        windows += 1
        for name in names:
            want = window * weights[name] / total_w
            worst_count = max(worst_count, abs(counts[name] - want))
            err = abs(counts[name] / window - weights[name] / total_w)
            worst, errors = max(worst, err), errors + err
        if any(
            abs(counts[i] / weights[i] - counts[j] / weights[j])
            > 1 / weights[i] + 1 / weights[j] + 1e-9
            for i in names
            for j in names
            if i < j
        ):
            broken += 1
    return {
        "window": window,
        "windows": windows,
        "max_abs_share_error": round(worst, 5),
        "mean_abs_share_error": round(errors / max(1, windows * len(names)), 6),
        "max_abs_error_admissions": round(worst_count, 3),
        "windows_breaking_sfq_bound": broken,
    }


def gauge_error(shares: dict[str, float], weights: dict[str, int]) -> dict[str, Any]:
    total_w = sum(weights.values())
    errs = [abs(shares.get(n, 0.0) - w / total_w) for n, w in weights.items()]
    return {
        "max_abs_error": round(max(errs), 5),
        "mean_abs_error": round(statistics.fmean(errs), 6),
        "shares": {n: round(shares.get(n, 0.0), 5) for n in sorted(weights)},
    }


def shares_part(weight_sets: Sequence[Sequence[int]], admissions: int) -> list[dict[str, Any]]:
    out = []
    for weights in weight_sets:
        _, order, shares = queued_run(weights, 4, admissions)
        named = dict(zip(tenant_names(weights), weights, strict=True))
        out.append(
            {
                "weights": list(weights),
                "admissions": len(order),
                "windows": [share_error(order, named, n) for n in (100, 1000) if n <= len(order)],
                "ewma_gauge_at_end": gauge_error(shares, named),
            }
        )
    return out


# --- 3. over HTTP -------------------------------------------------------------------------


def serve(config_path: str, log_dir: str, bind: str) -> int:
    """Child process: the control plane over a Ready registry on 127.0.0.1, until stdin closes.

    ``bind``: ``serve`` binds as ``poolmgr serve`` does (``TCP_NODELAY`` included since #12,
    OC-PERF-9101); ``nodelay`` also sets the option by hand, as this benchmark did before.
    Prints its URL, then, once stdin closes, one JSON line: the tenants in the order the server
    admitted them and the event loop's worst lag (a 10 ms ticker's lateness).
    """
    import uvicorn

    from poolmgr.http.app import create_app
    from poolmgr.serve import _bind
    from poolmgr.telemetry.logs import configure_logging
    from poolmgr.telemetry.metrics import PoolMetrics
    from poolmgr.telemetry.redact import Redactor

    config = parse_config(Path(config_path).read_text(encoding="utf-8"), config_path)
    redactor = Redactor(environ={})
    devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (lives as long as the process)
    configure_logging(redactor, stream=devnull, log_file=Path(log_dir) / "manager.jsonl")
    registry = ready_registry(config)
    order: list[str] = []
    registry.observe(
        lambda _pool, fact: order.append(fact.ticket.tenant) if isinstance(fact, Admitted) else None
    )
    metrics = PoolMetrics(registry, redactor=redactor)
    app = create_app(registry, NoEngines(), config, metrics, redactor=redactor, environ={})
    sock = _bind("127.0.0.1", 0)
    if bind == "nodelay":
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    lags: list[float] = []
    worst_at = [0.0]

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        while True:
            due = loop.time() + 0.01
            await asyncio.sleep(0.01)
            lags.append(loop.time() - due)
            if lags[-1] >= max(lags):
                worst_at[0] = due - began

    async def main() -> None:
        tick = asyncio.create_task(ticker())
        await server.serve(sockets=[sock])
        tick.cancel()

    def stop_on_eof() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_on_eof, daemon=True).start()
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    asyncio.run(main())
    lag = {
        "p99": round(percentile(lags, 0.99), 4),
        "max": round(max(lags, default=0.0), 4),
        "max_at_s": round(worst_at[0], 2),  # after the server started
    }
    print(json.dumps({"order": order, "loop_lag_s": lag}), flush=True)
    return 0


class Server:
    """The bench server as a child process (its own interpreter: client and server do not
    share a GIL)."""

    def __init__(
        self, weights: Sequence[int], slots: int, depth: int, tmp: Path, bind: str = "nodelay"
    ) -> None:
        cfg = tmp / "admission.yaml"
        cfg.write_text(config_yaml(weights, slots, depth), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", str(cfg), str(tmp), bind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.proc.kill()
            raise SystemExit(f"the bench server did not start: {self.url!r}")

    def stop(self) -> dict[str, Any]:
        """Stop it; what it reports (admission order, event-loop lag)."""
        out, _ = self.proc.communicate(timeout=60)
        report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return report


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def scrape_shares(text: str) -> dict[str, float]:
    """``admission_share{tenant=...,priority="interactive"}`` from a /metrics page."""
    shares: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or "admission_share{" not in line:
            continue
        labels, value = line.rsplit(" ", 1)
        if 'priority="interactive"' in labels and 'tenant="' in labels:
            shares[labels.split('tenant="', 1)[1].split('"', 1)[0]] = float(value)
    return shares


class Client:
    """One HTTP/1.1 connection, kept alive, requests one at a time (h11 over asyncio streams).

    Why not httpx: its connection pool scans every pooled connection per request, so with
    1,000 concurrent long polls the client, not the server, set the pace (measured: the
    client spent 112 s of CPU where the server spent 31 s). One connection per client and h11
    (the parser uvicorn serves with) keep the client's cost per request flat.
    """

    def __init__(self, url: str) -> None:
        self.host, port = url.removeprefix("http://").rsplit(":", 1)
        self.port = int(port)
        self._conn = h11.Connection(h11.CLIENT)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> Client:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        sock = self._writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """Send one request; its status and body."""
        assert self._reader is not None and self._writer is not None
        data = b"" if body is None else json.dumps(body).encode()
        headers = [("host", self.host), ("content-length", str(len(data)))]
        if body is not None:
            headers.append(("content-type", "application/json"))
        out = self._conn.send(h11.Request(method=method, target=path, headers=headers)) or b""
        if data:
            out += self._conn.send(h11.Data(data=data)) or b""
        self._writer.write(out + (self._conn.send(h11.EndOfMessage()) or b""))
        status, chunks = 0, []
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA:
                self._conn.receive_data(await self._reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                self._conn.start_next_cycle()
                return status, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError(f"{method} {path}: the server closed the connection")

    async def lease(self, body: dict[str, Any]) -> tuple[int, bytes]:
        return await self.request("POST", f"/v1/pools/{POOL}/leases", body)

    async def give_back(self, granted: bytes) -> int:
        lease_id = json.loads(granted)["lease_id"]
        status, _ = await self.request("DELETE", f"/v1/pools/{POOL}/leases/{lease_id}")
        return status


async def immediate_http(url: str, names: Sequence[str], count: int, workers: int) -> float:
    """Seconds for ``count`` grant (wait_ms 0) + return round trips by ``workers`` clients."""
    left = [count]
    clients = [await Client(url).connect() for _ in range(workers)]

    async def worker(client: Client, k: int) -> None:
        while left[0] > 0:
            left[0] -= 1
            status, body = await client.lease({"tenant": names[(left[0] + k) % len(names)]})
            if status != 201:
                raise SystemExit(f"an immediate lease was refused: {status} {body[:300]!r}")
            await client.give_back(body)

    started = time.perf_counter()
    await asyncio.gather(*(worker(c, k) for k, c in enumerate(clients)))
    seconds = time.perf_counter() - started
    for client in clients:
        await client.close()
    return seconds


async def keepalive_ms(url: str, count: int) -> float:
    """Mean milliseconds of a grant (wait_ms 0) + return over one kept-alive connection."""
    client = await Client(url).connect()
    await client.request("GET", "/healthz")
    started = time.perf_counter()
    for _ in range(count):
        _, body = await client.lease({})
        await client.give_back(body)
    seconds = time.perf_counter() - started
    await client.close()
    return seconds * 1000 / count


def keepalive_probe(count: int) -> dict[str, Any]:
    """One client's round trip on a kept-alive connection: bound as ``poolmgr serve`` binds,
    and with ``TCP_NODELAY`` (see :func:`serve`)."""
    out: dict[str, Any] = {"round_trips": count}
    for bind in ("serve", "nodelay"):
        with tempfile.TemporaryDirectory() as tmp:
            server = Server([1], 1, 1, Path(tmp), bind)
            try:
                out[f"{bind}_bind_ms"] = round(asyncio.run(keepalive_ms(server.url, count)), 2)
            finally:
                server.stop()
    out["ratio_serve_to_nodelay"] = round(out["serve_bind_ms"] / out["nodelay_bind_ms"], 1)
    return out


async def waiting_http(url: str, names: Sequence[str], clients: int, target: int) -> dict[str, Any]:
    """``clients`` long-poll clients loop ask/return until ``target`` grants, then finish."""
    statuses: Counter[int] = Counter()
    waits: dict[str, list[float]] = {name: [] for name in names}
    granted = [0]
    gauge: dict[str, float] = {}
    errors: list[str] = []
    connected = await asyncio.gather(*(Client(url).connect() for _ in range(clients)))
    scraper = await Client(url).connect()

    async def one(client: Client, tenant: str) -> None:
        body = {"tenant": tenant, "wait_ms": MAX_WAIT_MS}
        while True:
            asked = time.perf_counter()
            try:
                status, answer = await client.lease(body)
            except (ConnectionError, h11.ProtocolError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            statuses[status] += 1
            if status != 201:
                errors.append(f"{status} {answer[:200]!r}")
                return
            waits[tenant].append(time.perf_counter() - asked)
            granted[0] += 1
            if granted[0] == target:  # the gauge while every tenant is still backlogged
                gauge.update(scrape_shares((await scraper.request("GET", "/metrics"))[1].decode()))
            statuses[await client.give_back(answer)] += 1
            if granted[0] >= target:
                return

    started = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(one(c, names[k % len(names)]) for k, c in enumerate(connected))),
        timeout=SECONDS_AT_MOST,
    )
    seconds = time.perf_counter() - started
    for client in [*connected, scraper]:
        await client.close()
    every = [w for ws in waits.values() for w in ws]
    return {
        "seconds": seconds,
        "granted": granted[0],
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors[:10],
        "error_count": len(errors),
        "wait_p50_s": round(percentile(every, 0.5), 4),
        "wait_p99_s": round(percentile(every, 0.99), 4),
        "wait_max_s": round(max(every, default=float("nan")), 4),
        "wait_p50_s_by_tenant": {n: round(percentile(ws, 0.5), 4) for n, ws in waits.items()},
        "gauge": gauge,
    }


def over_http(weights: Sequence[int], clients: int, target: int, slots: int) -> dict[str, Any]:
    names = tenant_names(weights)
    named = dict(zip(names, weights, strict=True))
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(weights, slots, clients + 16, Path(tmp))
        try:
            queued = asyncio.run(waiting_http(server.url, names, clients, target))
            base_s = asyncio.run(immediate_http(server.url, names, queued["granted"], slots))
        finally:
            report = server.stop()
    order: list[str] = report["order"]
    queued_order = order[: -queued["granted"]] if len(order) > queued["granted"] else order
    # The backlogged stretch: after every client asked once, before they stopped asking again.
    steady = queued_order[clients:target]
    per_s = rate(queued["granted"], queued["seconds"])
    base_per_s = rate(queued["granted"], base_s)
    return {
        "weights": list(weights),
        "slots": slots,
        "clients": clients,
        "admissions": queued["granted"],
        "admissions_per_s": round(per_s, 1),
        "baseline_immediate_round_trips_per_s": round(base_per_s, 1),
        "ratio_to_immediate": round(per_s / base_per_s, 3),
        "wait_p50_s": queued["wait_p50_s"],
        "wait_p99_s": queued["wait_p99_s"],
        "wait_max_s": queued["wait_max_s"],
        "wait_p50_s_by_tenant": queued["wait_p50_s_by_tenant"],
        "statuses": queued["statuses"],
        "error_count": queued["error_count"],
        "errors": queued["errors"],
        "server_loop_lag_s": report["loop_lag_s"],
        "share_error": [share_error(steady, named, n) for n in (100, 1000) if n <= len(steady)],
        "steady_admissions": len(steady),
        "admission_share_gauge_at_target": gauge_error(queued["gauge"], named),
    }


# --- report -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    parser.add_argument("--clients", type=int, default=1000, help="waiting HTTP clients")
    parser.add_argument("--admissions", type=int, default=3000, help="HTTP grants to measure")
    parser.add_argument("--decisions", type=int, default=10000, help="in-process decisions")
    parser.add_argument("--slots", type=int, default=4, help="slots of the HTTP pool")
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON goes")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)  # CONFIG LOGDIR BIND
    args = parser.parse_args(argv)
    if args.serve:
        return serve(*args.serve)
    if args.quick:
        args.clients, args.admissions, args.decisions = 40, 120, 1200
    weights = list(range(1, 9))
    deep = 200 if args.quick else 1000
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "fair admission: decisions per second and share error",
        "command": "python bench/bench_admission.py" + (" --quick" if args.quick else ""),
        "machine": report.machine(),
        "in_process": in_process(weights, args.decisions, deep),
        "share_error": shares_part([weights, [1, 2, 3, 4]], args.decisions),
        "http": over_http(weights, args.clients, args.admissions, args.slots),
        "keepalive_probe": keepalive_probe(5 if args.quick else 20),
    }
    return report.finish(result, args.out, render, started)


def render(result: dict[str, Any]) -> str:
    """The figures as the README's Markdown table."""
    ip, http = result["in_process"], result["http"]
    rows = [
        (
            "In-process admission decisions/s, 32 waiting",
            f"{ip['short_queue']['decisions_per_s']:,}",
            f"immediate grant+return {ip['baseline_immediate_per_s']:,}/s",
            f"{ip['short_queue']['ratio_to_immediate']:.2f}x",
        ),
        (
            f"In-process admission decisions/s, {ip['deep_queue']['waiting']:,} waiting",
            f"{ip['deep_queue']['decisions_per_s']:,}",
            f"immediate grant+return {ip['baseline_immediate_per_s']:,}/s",
            f"{ip['deep_queue']['ratio_to_immediate']:.2f}x",
        ),
        (
            f"AdmissionQueue push+pick/s, {ip['queue_deep']['waiting']:,} waiting",
            f"{ip['queue_deep']['push_pick_per_s']:,}",
            f"deque append+popleft {ip['queue_deep']['baseline_deque_per_s']:,}/s",
            f"{ip['queue_deep']['ratio_to_deque']:.2f}x",
        ),
        (
            f"HTTP admissions/s, {http['clients']:,} waiting clients, {http['slots']} slots",
            f"{http['admissions_per_s']:,.0f}",
            f"immediate grant+return {http['baseline_immediate_round_trips_per_s']:,.0f}/s",
            f"{http['ratio_to_immediate']:.2f}x",
        ),
        ("HTTP wait p50 / p99", f"{http['wait_p50_s']:.2f} s / {http['wait_p99_s']:.2f} s", "", ""),
    ]
    for part in result["share_error"]:
        for win in part["windows"]:
            rows.append(
                (
                    f"Share error, weights {part['weights'][0]}..{part['weights'][-1]}, "
                    f"window {win['window']:,} (max / mean)",
                    f"{win['max_abs_share_error']:.4f} / {win['mean_abs_share_error']:.4f}",
                    f"max {win['max_abs_error_admissions']:.2f} admissions",
                    f"{win['windows_breaking_sfq_bound']} windows over the SFQ bound",
                )
            )
        gauge = part["ewma_gauge_at_end"]
        rows.append(
            (
                f"admission_share EWMA vs w/W, weights {part['weights'][0]}.."
                f"{part['weights'][-1]} (max)",
                f"{gauge['max_abs_error']:.4f}",
                "",
                "",
            )
        )
    for win in http["share_error"]:
        rows.append(
            (
                f"HTTP share error, window {win['window']:,} (max / mean)",
                f"{win['max_abs_share_error']:.4f} / {win['mean_abs_share_error']:.4f}",
                f"max {win['max_abs_error_admissions']:.2f} admissions",
                f"{win['windows_breaking_sfq_bound']} windows over the SFQ bound",
            )
        )
    lines = ["| Figure | Value | Baseline (same run) | Ratio / check |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
