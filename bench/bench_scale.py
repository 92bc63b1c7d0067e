"""Benchmark of one manager at 1,000 pools (#12 goals 5 and 7; OC-PERF-9103, 9109, 9110).

Each figure with a baseline measured in the same run (the machines are shared and noisy, so the
ratios are what compare across runs):

1. Live, ``poolmgr serve`` as a child process with N pools of the in-process test engine
   (``engine: test-inproc``, ``manager.allow_test_engines: true``): the time from the
   process's start until every pool is Ready; ``/healthz`` latency (p50, p99, max; one request
   at a time, each on a fresh connection, as many from an idle manager as during back-to-back
   ``/metrics`` scrapes by a separate scraper process); the time of one ``/metrics`` scrape
   and of one ``/v1/pools`` listing (median of several); the manager's memory (RSS and USS)
   once all pools are Ready. Baseline: the same measurements of a 10-pool manager in the same
   run; memory per pool is the difference between the two managers over the difference in
   pools. The health p99 during scrapes is also given against the idle p99 of the same manager
   (goal: within 2x, and <= 5 ms).
2. In-process, on a registry of N Ready pools (no HTTP): the longest event-loop pause while
   ``/metrics`` text is made in steps (:meth:`PoolMetrics.render_async`, what the endpoint
   does) and while the listing is made in steps, against the one-go rendering
   (:meth:`PoolMetrics.render`, the single pause the endpoint used to cost the loop). The pause
   is measured by a task that yields to the loop continuously and records the gaps.

Prints a Markdown table and writes ``bench/results/scale.json``. Run:
``.venv/bin/python bench/bench_scale.py`` (``--quick`` for a smoke run at 20 pools, ``--pools``,
``--out``). Never used as a timed assertion in tests.
"""

# size: a benchmark script: a live part, an in-process part, a scraper mode and the report

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.ready import ready_registry  # noqa: E402
from poolmgr.config import parse_config  # noqa: E402
from poolmgr.http.models import PoolEntry, entry_view  # noqa: E402
from poolmgr.http.routers.pools import LIST_STEP  # noqa: E402
from poolmgr.telemetry.metrics import PoolMetrics  # noqa: E402
from poolmgr.telemetry.redact import Redactor  # noqa: E402

LISTENING = "poolmgr: listening on "
BASELINE_POOLS = 10


def config_yaml(pools: int, log_dir: str, probe_interval_ms: int | None = None) -> str:
    probe = {} if probe_interval_ms is None else {"probe": {"ready_interval_ms": probe_interval_ms}}
    doc = {
        "manager": {"allow_test_engines": True, "log_dir": log_dir},
        "pools": [
            {
                "id": f"p{i:04d}",
                "engine": "test-inproc",
                "model": "test://m",
                "devices": [],
                "cpu": True,
                **probe,
            }
            for i in range(pools)
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 3) if baseline else None


# --------------------------------------------------------------------------- HTTP, plainly


def get(host: str, port: int, path: str, timeout_s: float = 30.0) -> tuple[int, bytes, float]:
    """One GET on a fresh connection: status, body, seconds from connect to the last byte."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.connect()
        # ACK at once: ``poolmgr serve`` writes a response's head and body separately and
        # (until #12 goal 1 sets TCP_NODELAY) the body waits for the head's ACK, 40 ms of a
        # delayed ACK that would hide every figure here.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        conn.request("GET", path)
        answer = conn.getresponse()
        body = answer.read()
        return answer.status, body, time.perf_counter() - start
    finally:
        conn.close()


def scraper(url: str, seconds: float) -> int:
    """``--scrape URL SECONDS``: back-to-back ``/metrics`` scrapes; prints how many."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the bench ends it: a clean end
    print("scraping", flush=True)
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        status, _, _ = get(host, int(port), "/metrics")
        if status != 200:
            print(f"scrape answered {status}", file=sys.stderr)
            return 1
        count += 1
    print(count, flush=True)
    return 0


# --------------------------------------------------------------------------- the live manager


class Manager:
    """``poolmgr serve`` with N test-engine pools, in a child process."""

    def __init__(self, pools: int, work: Path, probe_interval_ms: int | None) -> None:
        self.pools = pools
        work.mkdir(parents=True, exist_ok=True)
        config = work / "pools.yaml"
        config.write_text(config_yaml(pools, str(work / "logs"), probe_interval_ms))
        self._stderr = (work / "serve.stderr").open("w")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "poolmgr", "serve", "--config", str(config), "--port", "0"],
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith(LISTENING):
            raise RuntimeError(f"poolmgr serve did not start: {line!r}; see {work}")
        self.url = line[len(LISTENING) :].strip()
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        self.host, self.port = host, int(port)

    def wait_ready(self, bound_s: float) -> float:
        """Seconds from the process's start until every pool is Ready (bounded)."""
        deadline = time.monotonic() + bound_s
        while time.monotonic() < deadline:
            status, body, _ = get(self.host, self.port, "/v1/pools")
            if status == 200:
                listed = json.loads(body)
                if len(listed) == self.pools and all(p["ready"] for p in listed):
                    return time.perf_counter() - self.started
            time.sleep(0.05)
        raise RuntimeError(f"{self.pools} pools not all Ready within {bound_s} s")

    def memory(self) -> dict[str, float]:
        info = psutil.Process(self.proc.pid).memory_full_info()
        return {"rss_mib": round(info.rss / 2**20, 2), "uss_mib": round(info.uss / 2**20, 2)}

    def health_latencies(self, count: int, pause_s: float) -> list[float]:
        out: list[float] = []
        for _ in range(count):
            status, _, took = get(self.host, self.port, "/healthz")
            if status != 200:
                raise RuntimeError(f"/healthz answered {status}")
            out.append(took)
            time.sleep(pause_s)
        return out

    def timed(self, path: str, count: int) -> tuple[float, int]:
        """Median seconds of ``count`` GETs of ``path``, and the body's size."""
        took: list[float] = []
        size = 0
        for _ in range(count):
            status, body, seconds = get(self.host, self.port, path)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            took.append(seconds)
            size = len(body)
        return statistics.median(took), size

    def under_scrapes(self, count: int, pause_s: float) -> tuple[list[float], int]:
        """Health latencies while a separate process scrapes ``/metrics`` back to back."""
        seconds = count * (pause_s + 0.01) + 30.0  # outlives the sampling; stopped after it
        scraping = subprocess.Popen(
            [sys.executable, __file__, "--scrape", self.url, str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert scraping.stdout is not None
        scraping.stdout.readline()  # "scraping": its first scrape is under way
        try:
            latencies = self.health_latencies(count, pause_s)
        finally:
            scraping.terminate()
            scraping.wait(30)
        return latencies, scraping.returncode

    def close(self) -> int | None:
        self.proc.terminate()
        try:
            code = self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(30)
        self._stderr.close()
        return code


def health_figures(latencies: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": ms(percentile(latencies, 0.5)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "max_ms": ms(max(latencies)),
        "samples": len(latencies),
    }


def live_manager(
    pools: int, work: Path, samples: int, repeats: int, probe_interval_ms: int | None
) -> dict[str, Any]:
    manager = Manager(pools, work, probe_interval_ms)
    try:
        startup = manager.wait_ready(bound_s=max(60.0, pools * 0.2))
        time.sleep(0.5)  # past the start-up's own work
        memory = manager.memory()
        idle = manager.health_latencies(samples, 0.005)
        busy, scraper_rc = manager.under_scrapes(samples, 0.005)
        metrics_s, metrics_bytes = manager.timed("/metrics", repeats)
        listing_s, listing_bytes = manager.timed("/v1/pools", repeats)
    finally:
        exit_code = manager.close()
    return {
        "pools": pools,
        "startup_to_all_ready_s": round(startup, 3),
        "memory": memory,
        "health_idle": health_figures(idle),
        "health_during_scrapes": health_figures(busy),
        "health_p99_during_scrapes_over_idle": ratio(
            ms(percentile(busy, 0.99)), ms(percentile(idle, 0.99))
        ),
        "metrics_scrape_ms": ms(metrics_s),
        "metrics_bytes": metrics_bytes,
        "listing_ms": ms(listing_s),
        "listing_bytes": listing_bytes,
        "scraper_exit": scraper_rc,
        "serve_exit": exit_code,
    }


# --------------------------------------------------------------------------- in-process pauses


async def longest_pause(work: Callable[[], Any]) -> tuple[float, float]:
    """The longest gap a continuously yielding task sees while ``await work()`` runs, and the
    work's own duration (seconds)."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def watch() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0)
    start = time.perf_counter()
    await work()
    took = time.perf_counter() - start
    done.set()
    await watcher
    return max(gaps, default=0.0), took


def in_process(pools: int, repeats: int) -> dict[str, Any]:
    registry = ready_registry(parse_config(config_yaml(pools, "./logs"), "<bench>"))
    metrics = PoolMetrics(registry, redactor=Redactor(environ={}))
    metrics.render()  # labels admitted once, as on a running manager

    async def one_go() -> None:
        metrics.render()

    async def stepped() -> None:
        await metrics.render_async()

    async def listing_stepped() -> None:
        from pydantic import TypeAdapter

        adapter = TypeAdapter(list[PoolEntry])
        ids = registry.ids()
        for start in range(0, len(ids), LIST_STEP):
            views = [
                entry_view(s, simulated_gpus=False)
                for s in registry.snapshots(ids[start : start + LIST_STEP])
            ]
            adapter.dump_json(adapter.validate_python(views))
            await asyncio.sleep(0)

    async def listing_one_go() -> None:
        from pydantic import TypeAdapter

        adapter = TypeAdapter(list[PoolEntry])
        adapter.dump_json(
            adapter.validate_python(
                [entry_view(s, simulated_gpus=False) for s in registry.snapshots()]
            )
        )

    def best(work: Callable[[], Any]) -> tuple[float, float]:
        runs = [asyncio.run(longest_pause(work)) for _ in range(repeats)]
        return min(p for p, _ in runs), statistics.median(t for _, t in runs)

    pause_one, took_one = best(one_go)
    pause_steps, took_steps = best(stepped)
    list_pause_one, _ = best(listing_one_go)
    list_pause_steps, list_took = best(listing_stepped)
    return {
        "pools": pools,
        "metrics_one_go_pause_ms": ms(pause_one),
        "metrics_stepped_longest_pause_ms": ms(pause_steps),
        "metrics_stepped_pause_over_one_go": ratio(ms(pause_steps), ms(pause_one)),
        "metrics_one_go_total_ms": ms(took_one),
        "metrics_stepped_total_ms": ms(took_steps),
        "listing_one_go_pause_ms": ms(list_pause_one),
        "listing_stepped_longest_pause_ms": ms(list_pause_steps),
        "listing_stepped_pause_over_one_go": ratio(ms(list_pause_steps), ms(list_pause_one)),
        "listing_stepped_total_ms": ms(list_took),
    }


# --------------------------------------------------------------------------- the report


def report_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    big, small = result["live"]["scale"], result["live"]["baseline"]
    ip = result["in_process"]
    n, b = big["pools"], small["pools"]
    mem = result["memory_per_pool"]
    return [
        (
            f"/healthz p99 idle, {n} pools",
            f"{big['health_idle']['p99_ms']} ms",
            f"{small['health_idle']['p99_ms']} ms at {b} pools",
        ),
        (
            f"/healthz p99 during back-to-back /metrics, {n} pools",
            f"{big['health_during_scrapes']['p99_ms']} ms",
            f"idle {big['health_idle']['p99_ms']} ms "
            f"(x{big['health_p99_during_scrapes_over_idle']}; goal <= 2x and <= 5 ms)",
        ),
        (
            f"/metrics scrape, {n} pools",
            f"{big['metrics_scrape_ms']} ms ({big['metrics_bytes']} bytes)",
            f"{small['metrics_scrape_ms']} ms at {b} pools (goal <= 100 ms)",
        ),
        (
            f"/v1/pools, {n} pools",
            f"{big['listing_ms']} ms",
            f"{small['listing_ms']} ms at {b} pools",
        ),
        (
            "memory per pool (RSS; USS)",
            f"{mem['rss_mib_per_pool']} MiB; {mem['uss_mib_per_pool']} MiB",
            f"manager RSS {small['memory']['rss_mib']} MiB at {b} pools, "
            f"{big['memory']['rss_mib']} MiB at {n}",
        ),
        (
            f"startup to all Ready, {n} pools",
            f"{big['startup_to_all_ready_s']} s",
            f"{small['startup_to_all_ready_s']} s at {b} pools",
        ),
        (
            f"longest loop pause making /metrics, {ip['pools']} pools (in-process)",
            f"{ip['metrics_stepped_longest_pause_ms']} ms in steps",
            f"{ip['metrics_one_go_pause_ms']} ms in one go",
        ),
        (
            f"longest loop pause making /v1/pools, {ip['pools']} pools (in-process)",
            f"{ip['listing_stepped_longest_pause_ms']} ms in steps",
            f"{ip['listing_one_go_pause_ms']} ms in one go",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    parser.add_argument("--pools", type=int, default=None, help="pools of the big manager")
    parser.add_argument(
        "--probe-interval-ms",
        type=int,
        default=None,
        help="probe.ready_interval_ms of every pool (default: the config's default, 1000)",
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "scale.json"))
    parser.add_argument("--scrape", nargs=2, help=argparse.SUPPRESS)  # URL SECONDS
    args = parser.parse_args(argv)
    if args.scrape:
        return scraper(args.scrape[0], float(args.scrape[1]))
    pools = args.pools or (20 if args.quick else 1000)
    baseline_pools = 5 if args.quick else BASELINE_POOLS
    samples, repeats = (40, 2) if args.quick else (300, 5)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "one manager at 1,000 pools: health under scrapes, scrape time, memory",
        "command": "python bench/bench_scale.py"
        + (" --quick" if args.quick else "")
        + (f" --pools {args.pools}" if args.pools else "")
        + (f" --probe-interval-ms {args.probe_interval_ms}" if args.probe_interval_ms else ""),
        "probe_ready_interval_ms": args.probe_interval_ms or 1000,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        },
    }
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        probe = args.probe_interval_ms
        baseline = live_manager(baseline_pools, Path(tmp) / "small", samples, repeats, probe)
        scale = live_manager(pools, Path(tmp) / "big", samples, repeats, probe)
    result["live"] = {"baseline": baseline, "scale": scale}
    extra = pools - baseline_pools
    result["memory_per_pool"] = {
        "rss_mib_per_pool": round(
            (scale["memory"]["rss_mib"] - baseline["memory"]["rss_mib"]) / extra, 4
        ),
        "uss_mib_per_pool": round(
            (scale["memory"]["uss_mib"] - baseline["memory"]["uss_mib"]) / extra, 4
        ),
        "between_pools": [baseline_pools, pools],
    }
    result["in_process"] = in_process(pools, repeats)
    result["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print("| Figure | Value | Baseline (same run) |")
    print("|---|---|---|")
    for row in report_rows(result):
        print("| " + " | ".join(row) + " |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
