"""Chaos soak (#12 goal 8): a real ``poolmgr serve`` under random faults, leases and a prober.

What it runs: ``python -m poolmgr serve`` in a child process (its own temp folder, a token
file for the control plane's auth) with ``--pools`` stub-engine pools. Every ``--fault-every``
seconds a fault, chosen by a seeded RNG, hits a random pool:

* ``kill9``: SIGKILL to the pool's engine;
* ``sigstop``: SIGSTOP, then SIGCONT after 0.5-4 s (a hung engine);
* ``cuda_error``: SIGUSR1, on which the stub engine prints llama.cpp's CUDA error lines and
  exits 1;
* ``reload_corrupt``: ``POST /reload`` onto a file that is not GGUF (the pools run the stub with
  ``--check-gguf``, so its preload fails as llama.cpp's does and the reload rolls back);
* ``drain``: ``POST /drain`` with a short deadline. A drained pool stays stopped; the soak puts
  it back in service 0.5-3 s later with ``POST /reload`` onto its own model (the public way to
  start a stopped pool), so it counts as out of service in between.

Meanwhile ``--clients`` lease clients (asyncio tasks, one kept-alive httpx connection pool
each) take leases on random pools, renew some, and give them back; they keep their own books.
An independent prober checks, continuously and at the end, and records each violation:

* leases: no lease the manager forgot while a client held it (404 on renew or return), no
  lease ended other than voided after a fault on its pool (or expired before its TTL), no pool
  with more active leases than the clients can hold or fewer than zero, counters that never go
  down, and at the end (clients paused, every lease given back) per pool: active 0, returned =
  the clients' 204s, granted = returned + voided + expired (OC-POOL-3040..3045; a lease the
  manager voided because its engine ended, OC-POOL-3043, answers 409 and is fine);
* no pool Ready while it has no live engine (every engine process of the pool, found below the
  manager with psutil by its ``--model``, is gone, a zombie or stopped ``T``) for longer than
  the detection window: the probe interval + the probe timeout + 1 s for a loaded machine;
* restarts within the breaker's bound: between two samples of a pool's ``restarts.count`` less
  than ``breaker.window_ms`` apart, at most ``failure_threshold`` restarts (the guarantee
  :mod:`poolmgr.core.breaker` states); and every pool back in service after the faults stop;
* no unhandled exception in the manager's log (``manager.jsonl`` lines with an ``exception``,
  a ``Traceback`` on its stderr), and the manager alive throughout;
* the manager's RSS grows < 10 % and its open file descriptors by at most ``FD_TOLERANCE``,
  from the first sample after a warm-up (the first quarter of the faults, at most 30 s, so
  one-time allocations such as the first restart's are in) to the last; both samples are taken
  with the faults stopped, every pool back in service and the clients paused, connected, with
  no lease held. The same figures before any fault are the baseline.

Figures: faults by kind, leases granted/returned/voided, restarts, kill -9 → not ready latency
p50/p99 (a poll of the pool's health every 10 ms after the kill), RSS and fds. Prints a Markdown
table and writes ``--out`` (default ``bench/results/soak.json``); exits 1 on any violation.
Run: ``python bench/soak.py --seconds 600`` (the benchmark), ``--seconds 60`` (the test
command), ``--seconds 8 --pools 4 --clients 5`` (the smoke test). Relies only on the public
HTTP API and the operating system, never on the manager's internals.
"""

# size: a benchmark script: the manager, the faults, the clients, the prober and the report

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "soak.json"
TOKEN = "soak-token-not-a-secret"
FAULTS = ("kill9", "sigstop", "cuda_error", "reload_corrupt", "drain")
PROBE_INTERVAL_MS = 500
PROBE_TIMEOUT_MS = 500
WINDOW_SLACK_MS = 1000
"""Slack of the detection window for a loaded machine (2 cores shared with other work)."""
DETECTION_WINDOW_MS = PROBE_INTERVAL_MS + PROBE_TIMEOUT_MS + WINDOW_SLACK_MS
BREAKER = {"failure_threshold": 3, "window_ms": 60_000, "cooldown_ms": 3000}
DRAIN_DEADLINE_MS = 500
LEASE_TTL_MS = 30_000
FD_TOLERANCE = 4
"""Open fds may differ by this much between two quiescent samples: a probe connection to an
engine opened or closed in between (the probe client keeps up to one per pool and may drop
idle ones), and a log file rotated or reopened. A leak of one fd per restart exceeds it after
a few restarts; the soak makes dozens."""
RSS_GROWTH_LIMIT = 0.10
SETTLE_BOUND_S = 90.0
"""Bound on every pool being back in service after the faults stop: the breaker's cooldown
(3 s, doubled per failed trial) and a restart's backoff fit many times over."""
START_BOUND_S = 120.0
VOID_LAG_S = 15.0
"""A void is explained by a fault on its pool injected at most this long before its lease was
asked for: a SIGSTOP lasts up to 4 s, detection takes the window, the drain deadline 0.5 s."""
KEEPALIVE_PING_S = 2.0
"""A paused client's request interval: well inside the server's 5 s keep-alive timeout."""
OK_STATUSES = {psutil.STATUS_RUNNING, psutil.STATUS_SLEEPING, psutil.STATUS_DISK_SLEEP}


def config_yaml(pools: int) -> str:
    entries = []
    for i in range(pools):
        entries.append(
            f"  - {{id: {pool_name(i)}, engine: stub, model: 'stub://{pool_name(i)}',"
            " devices: [], cpu: true, slots: 2, engine_args: [--check-gguf],"
            " backoff: {initial_ms: 200, max_ms: 2000},"
            f" breaker: {json.dumps(BREAKER)},"
            f" probe: {{ready_interval_ms: {PROBE_INTERVAL_MS}, timeout_ms: {PROBE_TIMEOUT_MS},"
            " failure_threshold: 3},"
            f" drain_deadline_ms: {DRAIN_DEADLINE_MS}, lease_ttl_ms: {LEASE_TTL_MS},"
            " stop_grace_ms: 500, admission: {queue_depth: 16, max_wait_ms: 2000}}"
        )
    return (
        "manager: {host: 127.0.0.1, port: 0, heartbeat_stale_ms: 3000,"
        " auth: {token_file: token.txt}, log_dir: logs}\n"
        "pools:\n" + "\n".join(entries) + "\n"
    )


def pool_name(i: int) -> str:
    return f"soak-{i:02d}"


def corrupt_model(tmp: Path, pool: str) -> Path:
    return tmp / f"corrupt-{pool}.gguf"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- the books -------------------------------------------------------------------------------


@dataclass
class PoolBook:
    granted: int = 0
    returned: int = 0  # 204 on our DELETE
    ended: Counter[str] = field(default_factory=Counter)  # 409 on renew/return, by how it ended
    held: int = 0  # granted, not yet resolved
    asking: int = 0  # lease requests in flight
    asks_started: int = 0
    unsure: int = 0  # requests that failed without an answer (the manager may have acted)


@dataclass
class Soak:
    args: argparse.Namespace
    tmp: Path
    rng: random.Random
    url: str = ""
    proc: subprocess.Popen[bytes] | None = None
    ps: psutil.Process | None = None
    t0: float = 0.0
    violations: list[dict[str, Any]] = field(default_factory=list)
    books: dict[str, PoolBook] = field(default_factory=dict)
    faults: Counter[str] = field(default_factory=Counter)
    fault_log: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    refused: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    out_of_service: set[str] = field(default_factory=set)
    stopped_pids: dict[int, float] = field(default_factory=dict)
    killed_pids: dict[int, float] = field(default_factory=dict)
    pid_pool: dict[tuple[int, float], str] = field(default_factory=dict)
    bad_since: dict[str, float] = field(default_factory=dict)
    healthy_at: dict[str, float] = field(default_factory=dict)
    ended_at: dict[str, float] = field(default_factory=dict)
    kill_latency_ms: list[float] = field(default_factory=list)
    health_rtt_ms: list[float] = field(default_factory=list)
    restarts: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))
    last_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    faulting: bool = False
    clients_run: asyncio.Event = field(default_factory=asyncio.Event)
    clients_idle: int = 0
    probes: int = 0

    def now(self) -> float:
        return time.monotonic() - self.t0

    def violate(self, kind: str, **detail: Any) -> None:
        entry = {"kind": kind, "at_s": round(self.now(), 3), **detail}
        self.violations.append(entry)
        print(f"VIOLATION {json.dumps(entry)}", file=sys.stderr, flush=True)

    @property
    def pools(self) -> list[str]:
        return [pool_name(i) for i in range(self.args.pools)]

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.violate("manager_unreachable", error=repr(exc))


HEADERS = {"Authorization": f"Bearer {TOKEN}"}


# --- the manager and its engines -------------------------------------------------------------


def start_manager(soak: Soak) -> None:
    tmp = soak.tmp
    (tmp / "token.txt").write_text(TOKEN + "\n")
    (tmp / "config.yaml").write_text(config_yaml(soak.args.pools))
    for pool in soak.pools:
        corrupt_model(tmp, pool).write_bytes(b"not a gguf file, just bytes\n" * 64)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with (tmp / "stdout.txt").open("wb") as out, (tmp / "stderr.txt").open("wb") as err:
        soak.proc = subprocess.Popen(
            [sys.executable, "-m", "poolmgr", "serve", "--config", str(tmp / "config.yaml")],
            cwd=tmp,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    soak.ps = psutil.Process(soak.proc.pid)
    deadline = time.monotonic() + START_BOUND_S
    while time.monotonic() < deadline:
        match = re.search(r"poolmgr: listening on (\S+)", (tmp / "stdout.txt").read_text())
        if match:
            soak.url = match.group(1)
            return
        if soak.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit(f"soak: the manager did not start: {(tmp / 'stderr.txt').read_text()[-2000:]}")


def engines(soak: Soak) -> dict[str, list[tuple[int, str]]]:
    """Each pool's engine processes below the manager, with their status."""
    assert soak.ps is not None
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    try:
        children = soak.ps.children(recursive=True)
    except psutil.Error:
        return found
    for child in children:
        try:
            key = (child.pid, child.create_time())
            pool = soak.pid_pool.get(key)
            if pool is None:
                argv = child.cmdline()
                if "poolmgr.runtime.stub_engine" not in argv or "--model" not in argv:
                    continue
                model = argv[argv.index("--model") + 1]
                pool = model.removeprefix("stub://")
                if pool.startswith(str(soak.tmp)):
                    pool = Path(model).stem.removeprefix("corrupt-")
                soak.pid_pool[key] = pool
            status = child.status()
        except psutil.Error:
            continue
        found[pool].append((child.pid, status))
    return found


def live_engine(soak: Soak, pool: str) -> int | None:
    alive = [pid for pid, status in engines(soak).get(pool, []) if status in OK_STATUSES]
    return alive[-1] if alive else None


def manager_sample(soak: Soak) -> dict[str, Any]:
    assert soak.ps is not None
    with soak.ps.oneshot():
        sockets = Counter(c.status for c in soak.ps.net_connections(kind="inet"))
        return {
            "rss_bytes": soak.ps.memory_info().rss,
            "fds": soak.ps.num_fds(),
            "threads": soak.ps.num_threads(),
            "tcp_by_state": dict(sorted(sockets.items())),
            "at_s": round(soak.now(), 1),
        }


# --- faults ----------------------------------------------------------------------------------


async def inject(soak: Soak, http: httpx.AsyncClient) -> None:
    next_at = soak.now()
    while soak.faulting:
        next_at += soak.args.fault_every
        kind = soak.rng.choice(FAULTS)
        candidates = [p for p in soak.pools if p not in soak.out_of_service]
        if not candidates:
            soak.skipped += 1
            await asyncio.sleep(soak.args.fault_every)
            continue
        pool = soak.rng.choice(candidates)
        try:
            await fault(soak, http, kind, pool)
        except httpx.HTTPError as exc:
            soak.violate("manager_unreachable", error=repr(exc))
        while soak.faulting and soak.now() < next_at:  # on a fixed schedule, stoppable
            await asyncio.sleep(min(0.1, next_at - soak.now()))


async def fault(soak: Soak, http: httpx.AsyncClient, kind: str, pool: str) -> None:
    at = soak.now()
    if kind in ("kill9", "sigstop", "cuda_error"):
        pid = live_engine(soak, pool)
        if pid is None:
            soak.skipped += 1
            return
        signum = {"kill9": signal.SIGKILL, "sigstop": signal.SIGSTOP, "cuda_error": signal.SIGUSR1}
        soak.fault_log[pool].append(at)
        if kind == "sigstop":
            soak.stopped_pids[pid] = at
        else:  # the engine is gone (or going): reaped, it is no longer below the manager
            soak.killed_pids[pid] = at
            soak.ended_at[pool] = at
        try:
            os.kill(pid, signum[kind])
        except ProcessLookupError:
            soak.skipped += 1
            return
        soak.faults[kind] += 1
        if kind == "kill9":
            soak.spawn(detect(soak, http, pool, at))
        elif kind == "sigstop":
            soak.spawn(resume(soak, pid, soak.rng.uniform(0.5, 4.0)))
        return
    soak.fault_log[pool].append(at)
    if kind == "reload_corrupt":
        body: dict[str, Any] = {"new_model_ref": str(corrupt_model(soak.tmp, pool))}
        body["deadline_ms"] = DRAIN_DEADLINE_MS
        answer = await http.post(f"/v1/pools/{pool}/reload", json=body)
    else:
        answer = await http.post(f"/v1/pools/{pool}/drain", json={"deadline_ms": DRAIN_DEADLINE_MS})
    if answer.status_code == 409:  # a drain or reload already under way: a conflict, not a bug
        soak.refused[kind] += 1
        return
    if answer.status_code != 202:
        soak.violate("fault_refused", fault=kind, pool=pool, status=answer.status_code)
        return
    soak.faults[kind] += 1
    if kind == "drain":
        soak.out_of_service.add(pool)
        soak.spawn(restore(soak, http, pool, soak.rng.uniform(0.5, 3.0)))


async def resume(soak: Soak, pid: int, after_s: float) -> None:
    await asyncio.sleep(after_s)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)
    soak.stopped_pids.pop(pid, None)


async def detect(soak: Soak, http: httpx.AsyncClient, pool: str, at: float) -> None:
    """kill -9 → the pool's health says not ready: poll every 10 ms (bounded)."""
    while soak.now() - at < 10.0:
        sent = soak.now()
        answer = await http.get(f"/v1/pools/{pool}/health")
        soak.health_rtt_ms.append((soak.now() - sent) * 1000)
        if answer.status_code == 200 and not answer.json()["ready"]:
            soak.kill_latency_ms.append((soak.now() - at) * 1000)
            return
        await asyncio.sleep(0.01)
    soak.violate("kill_not_detected", pool=pool, within_s=10.0)


async def restore(soak: Soak, http: httpx.AsyncClient, pool: str, after_s: float) -> None:
    """A drained pool stays stopped: start it again with a reload onto its own model."""
    deadline = soak.now() + 30.0
    while soak.now() < deadline:
        state = (await http.get(f"/v1/pools/{pool}/health")).json()["state"]
        if state == "stopped":
            break
        await asyncio.sleep(0.1)
    else:
        soak.violate("drain_never_stopped", pool=pool, within_s=30.0)
    await asyncio.sleep(after_s)
    while soak.now() < deadline + 30.0:
        body = {"new_model_ref": f"stub://{pool}"}
        answer = await http.post(f"/v1/pools/{pool}/reload", json=body)
        if answer.status_code == 202:
            soak.out_of_service.discard(pool)
            return
        await asyncio.sleep(0.2)  # 409: the drain has not finished stopping the engine yet
    soak.violate("pool_not_restarted_after_drain", pool=pool)
    soak.out_of_service.discard(pool)


# --- clients ---------------------------------------------------------------------------------


async def client(soak: Soak, index: int) -> None:
    rng = random.Random(soak.args.seed * 1000 + index)
    async with httpx.AsyncClient(base_url=soak.url, headers=HEADERS, timeout=30.0) as http:
        while True:
            if not soak.clients_run.is_set():
                soak.clients_idle += 1
                await idle(soak, http)
                soak.clients_idle -= 1
            pool = rng.choice(soak.pools)
            book = soak.books[pool]
            book.asking += 1
            book.asks_started += 1
            asked_at = soak.now()
            body = {"ttl_ms": LEASE_TTL_MS, "wait_ms": rng.choice((0, 0, 500))}
            try:
                answer = await http.post(f"/v1/pools/{pool}/leases", json=body)
            except httpx.HTTPError as exc:
                book.unsure += 1
                soak.violate("client_error", pool=pool, error=repr(exc))
                continue
            finally:
                book.asking -= 1
            if answer.status_code != 201:
                if answer.status_code not in (429, 503):
                    soak.violate("lease_refused_oddly", pool=pool, status=answer.status_code)
                await asyncio.sleep(rng.uniform(0.05, 0.3))
                continue
            book.granted += 1
            book.held += 1
            lease_id = answer.json()["lease_id"]
            try:
                await hold(soak, http, rng, pool, lease_id, asked_at)
            except httpx.HTTPError as exc:
                book.unsure += 1
                soak.violate("client_error", pool=pool, error=repr(exc))
            book.held -= 1


async def idle(soak: Soak, http: httpx.AsyncClient) -> None:
    """Paused: keep the connection in use, as a busy client's is.

    The server closes a connection idle for its keep-alive timeout (uvicorn's 5 s); a request
    sent in the instant it does fails with no answer (a race of HTTP/1.1 itself, not of the
    manager), and the sockets counted at a sample would depend on the pause's length.
    """
    while not soak.clients_run.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(soak.clients_run.wait(), KEEPALIVE_PING_S)
        if not soak.clients_run.is_set():
            try:
                await http.get("/healthz")
            except httpx.HTTPError as exc:
                soak.violate("client_error", error=repr(exc))


async def hold(
    soak: Soak, http: httpx.AsyncClient, rng: random.Random, pool: str, lease: str, asked: float
) -> None:
    """Hold, maybe renew, then return a lease; check how the manager answers."""
    await asyncio.sleep(rng.uniform(0.05, 1.5))
    path = f"/v1/pools/{pool}/leases/{lease}"
    if rng.random() < 0.3:
        answer = await http.post(f"{path}/renew", json={"ttl_ms": LEASE_TTL_MS})
        if answer.status_code != 200:
            ended(soak, pool, lease, asked, answer)
            return
        await asyncio.sleep(rng.uniform(0.05, 0.5))
    answer = await http.delete(path)
    if answer.status_code == 204:
        soak.books[pool].returned += 1
    else:
        ended(soak, pool, lease, asked, answer)


def ended(soak: Soak, pool: str, lease: str, asked: float, answer: httpx.Response) -> None:
    """A lease the manager ended before we gave it back: only voided after a fault is fine."""
    text = answer.text
    how = re.search(r"already (\w+)", text)
    if answer.status_code != 409 or how is None:
        soak.violate("lease_lost", pool=pool, lease=lease, status=answer.status_code, body=text)
        return
    end = how.group(1)
    soak.books[pool].ended[end] += 1
    held_s = soak.now() - asked
    if end == "expired" and held_s < LEASE_TTL_MS / 1000:
        soak.violate("lease_expired_early", pool=pool, lease=lease, held_s=round(held_s, 3))
    elif end == "voided" and not any(at >= asked - VOID_LAG_S for at in soak.fault_log[pool]):
        soak.violate("lease_voided_without_fault", pool=pool, lease=lease)
    elif end not in ("voided", "expired"):
        soak.violate("lease_ended_oddly", pool=pool, lease=lease, end=end)


# --- the prober ------------------------------------------------------------------------------


async def prober(soak: Soak, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
    turn = 0
    while not stop.is_set():
        sent = soak.now()
        if soak.proc is not None and soak.proc.poll() is not None:
            soak.violate("manager_exited", status=soak.proc.returncode)
            return
        pool = soak.pools[turn % len(soak.pools)]
        turn += 1
        try:
            listing = (await http.get("/v1/pools")).json()
            check_ready(soak, listing, sent)
            bound = soak.books[pool].held + soak.books[pool].asking
            asks = soak.books[pool].asks_started
            health = (await http.get(f"/v1/pools/{pool}/health")).json()
        except httpx.HTTPError as exc:
            soak.violate("manager_unreachable", error=repr(exc))
            await asyncio.sleep(0.5)
            continue
        bound += soak.books[pool].asks_started - asks
        check_health(soak, pool, health, bound)
        soak.probes += 1
        await asyncio.sleep(0.2)


def check_ready(soak: Soak, listing: list[dict[str, Any]], sent: float) -> None:
    """No pool Ready while none of its engines lives, beyond the detection window."""
    found = engines(soak)  # after the listing: an engine that made a pool Ready exists now
    for entry in listing:
        pool = entry["id"]
        if not 0 <= entry["slots_free"] <= entry["slots_total"]:
            soak.violate("slots_out_of_range", pool=pool, entry=entry)
        procs = found.get(pool, [])
        scanned = soak.now()
        if any(status in OK_STATUSES for _, status in procs):
            soak.bad_since.pop(pool, None)
            soak.healthy_at[pool] = scanned
            continue
        known = [soak.killed_pids.get(pid, soak.stopped_pids.get(pid)) for pid, _ in procs]
        ended_at = soak.ended_at.get(pool)  # a kill or CUDA error since it was last seen healthy
        if ended_at is not None and ended_at > soak.healthy_at.get(pool, -1.0):
            known.append(ended_at)
        since = soak.bad_since.setdefault(pool, max([t for t in known if t] or [sent]))
        late_ms = (sent - since) * 1000
        if entry["ready"] and late_ms > DETECTION_WINDOW_MS:
            states = [status for _, status in procs] or ["gone"]
            soak.violate(
                "ready_without_live_engine", pool=pool, for_ms=round(late_ms), engines=states
            )


def check_health(soak: Soak, pool: str, health: dict[str, Any], bound: int) -> None:
    leases = health["leases"]
    active = leases["active"]
    if active < 0 or active > health["slots_total"] or active > bound:
        soak.violate("lease_count_impossible", pool=pool, active=active, clients_hold_at_most=bound)
    counts = {k: leases[k] for k in ("returned", "expired", "voided")}
    counts["restarts"] = health["restarts"]["count"]
    before = soak.last_counts.get(pool, {})
    for key, value in counts.items():
        if value < before.get(key, 0):
            soak.violate("counter_went_down", pool=pool, counter=key, was=before[key], now=value)
    soak.last_counts[pool] = counts
    soak.restarts[pool].append((soak.now(), counts["restarts"]))


def check_breaker(soak: Soak) -> int:
    """At most failure_threshold restarts between two samples less than window_ms apart."""
    window_s = BREAKER["window_ms"] / 1000 - 0.5  # the soak's clock is not the manager's
    worst = 0
    for pool, series in soak.restarts.items():
        for i, (t_i, n_i) in enumerate(series):
            for t_j, n_j in series[i + 1 :]:
                if t_j - t_i >= window_s:
                    break
                worst = max(worst, n_j - n_i)
                if n_j - n_i > BREAKER["failure_threshold"]:
                    soak.violate("breaker_bound", pool=pool, restarts=n_j - n_i, within_s=t_j - t_i)
                    return worst
    return worst


# --- phases ----------------------------------------------------------------------------------


async def all_ready(soak: Soak, http: httpx.AsyncClient, bound_s: float) -> list[str]:
    """Wait until every pool is Ready; the ones that are not at the bound."""
    deadline = soak.now() + bound_s
    waiting = soak.pools
    while soak.now() < deadline:
        waiting = [e["id"] for e in (await http.get("/v1/pools")).json() if not e["ready"]]
        if not waiting and not soak.out_of_service:
            return []
        await asyncio.sleep(0.2)
    return waiting


async def quiesce(soak: Soak, http: httpx.AsyncClient, label: str) -> dict[str, Any]:
    """Faults stopped: every pool back, clients paused with no lease held; sample the manager."""
    for pid in list(soak.stopped_pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    while soak.tasks:  # SIGCONTs, drained pools put back, detection polls (each bounded)
        await asyncio.wait(set(soak.tasks))
    missing = await all_ready(soak, http, SETTLE_BOUND_S)
    if missing:
        soak.violate("pools_not_back", phase=label, pools=missing, within_s=SETTLE_BOUND_S)
    soak.clients_run.clear()
    deadline = soak.now() + 60.0
    while soak.clients_idle < soak.args.clients and soak.now() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(PROBE_INTERVAL_MS / 1000 * 2)  # a probe in flight ends
    return manager_sample(soak)


async def reconcile(soak: Soak, http: httpx.AsyncClient) -> dict[str, int]:
    """Clients paused, no lease held: the manager's counts must equal the clients' books."""
    totals: Counter[str] = Counter()
    for pool in soak.pools:
        health = (await http.get(f"/v1/pools/{pool}/health")).json()
        leases, book = health["leases"], soak.books[pool]
        mgr = {k: leases[k] for k in ("active", "returned", "voided", "expired")}
        totals.update(mgr)
        totals["granted"] += book.granted
        totals["restarts"] += health["restarts"]["count"]
        if book.unsure:
            continue  # a request without an answer (already a violation): counts may differ
        ours = {
            "active": 0,
            "returned": book.returned,
            "voided": book.ended["voided"],
            "expired": book.ended["expired"],
        }
        if mgr != ours or book.granted != book.returned + sum(book.ended.values()):
            soak.violate("lease_books_differ", pool=pool, manager=mgr, clients=ours)
    return dict(totals)


def log_problems(soak: Soak) -> dict[str, Any]:
    errors, unhandled = 0, []
    log = soak.tmp / "logs" / "manager.jsonl"
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") in ("error", "critical"):
            errors += 1
        if entry.get("exception") or "Traceback" in str(entry.get("message", "")):
            unhandled.append(
                entry.get("message", "")[:200] + " | " + str(entry.get("exception"))[-400:]
            )
    stderr = (soak.tmp / "stderr.txt").read_text(errors="replace")
    for match in re.finditer(r"Traceback \(most recent call last\)", stderr):
        unhandled.append(stderr[match.start() : match.start() + 600])
    for text in unhandled:
        soak.violate("unhandled_exception", text=text)
    return {"error_lines": errors, "unhandled_exceptions": len(unhandled)}


async def run(soak: Soak) -> dict[str, Any]:
    args = soak.args
    soak.t0 = time.monotonic()
    start_manager(soak)
    soak.books = {pool: PoolBook() for pool in soak.pools}
    http = httpx.AsyncClient(base_url=soak.url, headers=HEADERS, timeout=30.0)
    started = soak.now()
    missing = await all_ready(soak, http, START_BOUND_S)
    if missing:
        raise SystemExit(f"soak: pools never became ready: {missing}")
    startup_s = soak.now() - started
    soak.clients_run.set()
    clients = [asyncio.ensure_future(client(soak, i)) for i in range(args.clients)]
    stop = asyncio.Event()
    probing = asyncio.ensure_future(prober(soak, http, stop))
    await asyncio.sleep(min(3.0, args.seconds / 4))  # leases flowing before the baseline
    soak.samples["baseline"] = await quiesce(soak, http, "baseline")
    warmup_s = min(30.0, args.seconds / 4)
    for label, seconds in (("first", warmup_s), ("last", args.seconds - warmup_s)):
        soak.clients_run.set()
        soak.faulting = True
        faulting = asyncio.ensure_future(inject(soak, http))
        await asyncio.sleep(seconds)
        soak.faulting = False
        await faulting
        soak.samples[label] = await quiesce(soak, http, label)
    totals = await reconcile(soak, http)
    stop.set()
    await probing
    for task in clients:
        task.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    await http.aclose()
    worst = check_breaker(soak)
    shutdown(soak)
    logs = log_problems(soak)
    return figures(soak, totals, worst, startup_s, logs)


def shutdown(soak: Soak) -> None:
    assert soak.proc is not None
    soak.proc.send_signal(signal.SIGTERM)
    try:
        soak.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        soak.violate("manager_did_not_stop", within_s=30)
        soak.proc.kill()
        soak.proc.wait(timeout=10)


def figures(
    soak: Soak, totals: dict[str, int], worst: int, startup_s: float, logs: dict[str, Any]
) -> dict[str, Any]:
    s = soak.samples
    first, last, base = s["first"], s["last"], s["baseline"]
    growth = (last["rss_bytes"] - first["rss_bytes"]) / first["rss_bytes"]
    if growth >= RSS_GROWTH_LIMIT:
        soak.violate("rss_growth", first=first["rss_bytes"], last=last["rss_bytes"])
    if abs(last["fds"] - first["fds"]) > FD_TOLERANCE:
        soak.violate(
            "fds_changed",
            first=first["fds"],
            last=last["fds"],
            tolerance=FD_TOLERANCE,
            tcp_first=first["tcp_by_state"],
            tcp_last=last["tcp_by_state"],
        )
    lat, rtt = soak.kill_latency_ms, soak.health_rtt_ms
    return {
        "faults": {kind: soak.faults[kind] for kind in FAULTS},
        "faults_refused_409": dict(soak.refused),
        "faults_skipped_no_engine": soak.skipped,
        "leases": {
            "granted": totals.get("granted", 0),
            "returned": totals.get("returned", 0),
            "voided": totals.get("voided", 0),
            "expired": totals.get("expired", 0),
        },
        "restarts": totals.get("restarts", 0),
        "max_restarts_in_breaker_window": worst,
        "kill_to_not_ready_ms": {
            "count": len(lat),
            "p50": None if not lat else round(statistics.median(lat), 1),
            "p99": None if not lat else round(percentile(lat, 0.99) or 0.0, 1),
        },
        "health_round_trip_ms": {
            "count": len(rtt),
            "p50": None if not rtt else round(statistics.median(rtt), 1),
            "p99": None if not rtt else round(percentile(rtt, 0.99) or 0.0, 1),
        },
        "manager": {"baseline": base, "first": first, "last": last},
        "ratios": {
            "rss_last_over_baseline": round(last["rss_bytes"] / base["rss_bytes"], 3),
            "rss_last_over_first": round(last["rss_bytes"] / first["rss_bytes"], 3),
            "fds_last_minus_baseline": last["fds"] - base["fds"],
            "kill_p50_over_health_rtt_p50": None
            if not lat or not rtt
            else round(statistics.median(lat) / statistics.median(rtt), 2),
        },
        "rss_growth": round(growth, 4),
        "fd_change": last["fds"] - first["fds"],
        "startup_s": round(startup_s, 2),
        "prober_rounds": soak.probes,
        "log": logs,
        "detection_window_ms": DETECTION_WINDOW_MS,
        "violations": soak.violations,
    }


def table(result: dict[str, Any]) -> str:
    f, m = result["figures"], result["figures"]["manager"]
    lat, rtt = f["kill_to_not_ready_ms"], f["health_round_trip_ms"]
    mib = 1 << 20
    rows = [
        ("Faults injected", ", ".join(f"{k} {v}" for k, v in f["faults"].items()), "-"),
        (
            "Leases granted / returned / voided / expired",
            "{granted} / {returned} / {voided} / {expired}".format(**f["leases"]),
            "-",
        ),
        (
            "Engine restarts (most in one breaker window)",
            f"{f['restarts']} ({f['max_restarts_in_breaker_window']})",
            f"bound {BREAKER['failure_threshold']} per {BREAKER['window_ms'] // 1000} s",
        ),
        (
            "kill -9 → not ready p50 / p99 (ms)",
            f"{lat['p50']} / {lat['p99']} (n={lat['count']})",
            f"health GET p50 / p99 {rtt['p50']} / {rtt['p99']} ms; window {DETECTION_WINDOW_MS} ms",
        ),
        (
            "Manager RSS first → last (MiB)",
            f"{m['first']['rss_bytes'] / mib:.1f} → {m['last']['rss_bytes'] / mib:.1f}"
            f" ({f['rss_growth']:+.1%})",
            f"{m['baseline']['rss_bytes'] / mib:.1f} before faults",
        ),
        (
            "Manager open fds first → last",
            f"{m['first']['fds']} → {m['last']['fds']}",
            f"{m['baseline']['fds']} before faults",
        ),
        (
            "Manager threads first → last",
            f"{m['first']['threads']} → {m['last']['threads']}",
            f"{m['baseline']['threads']} before faults",
        ),
        ("Unhandled exceptions in the log", str(f["log"]["unhandled_exceptions"]), "0"),
        ("Violations", str(len(f["violations"])), "0"),
    ]
    lines = ["| Figure | Value | Baseline (same run) |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="seconds of faults")
    parser.add_argument("--pools", type=int, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--fault-every", type=float, default=2.0, help="seconds between faults")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.pools < 1 or args.clients < 1 or args.fault_every <= 0:
        parser.error("--seconds, --fault-every must be > 0; --pools, --clients >= 1")
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="poolmgr-soak-") as tmp:
        soak = Soak(args, Path(tmp), random.Random(args.seed))
        try:
            result_figures = asyncio.run(run(soak))
        finally:
            if soak.proc is not None and soak.proc.poll() is None:
                soak.proc.kill()
                soak.proc.wait(timeout=10)
    result = {
        "command": "python bench/soak.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in load],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
        },
        "settings": {
            "seconds": args.seconds,
            "pools": args.pools,
            "clients": args.clients,
            "fault_every_s": args.fault_every,
            "seed": args.seed,
            "breaker": BREAKER,
            "probe": {"ready_interval_ms": PROBE_INTERVAL_MS, "timeout_ms": PROBE_TIMEOUT_MS},
            "fd_tolerance": FD_TOLERANCE,
            "rss_growth_limit": RSS_GROWTH_LIMIT,
        },
        "figures": result_figures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    count = len(result_figures["violations"])
    print(f"\n{count} violation(s); report in {args.out}")
    return 1 if count else 0


if __name__ == "__main__":
    raise SystemExit(main())
