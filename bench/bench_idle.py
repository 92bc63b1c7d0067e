"""Benchmark of an idle manager (#12 goal 3): CPU and threads with every pool Ready.

A real ``poolmgr serve`` process (``harness.live.LiveManager``) runs N stub-engine pools with
the default probe settings; once every pool is Ready and a settling pause has passed, its CPU
time (user + system, its own process only, not the engines) is read with psutil over a window
of ``--seconds``. In the same window a **raw asyncio prober** (a child process of this script:
one kept-alive asyncio stream per engine, ``GET /health`` on the same engines at the same
``ready_interval_ms`` with the same timeout) is measured the same way: the baseline, i.e. what
probing those engines on that schedule costs at the least. Figures, at two pool counts:

* the manager's CPU in % of one core, the prober's, and the ratio (goal at 50 pools: <= 1 %
  and <= 3x the prober; OC-PERF-9104);
* the manager's threads and the prober's (goal: independent of the number of pools);
* the manager's TCP sockets to engines and how many are in CLOSE_WAIT (OC-PERF-9105);
* what the supervisor's tick costs: ``Registry.tick()`` over N Ready pools timed in-process,
  times the tick rate (one every 20 ms), in % of a core and as a share of the manager's CPU.

Prints the figures as a Markdown table and writes ``bench/results/idle.json``. Run:
``.venv/bin/python bench/bench_idle.py`` (``--quick`` for a smoke run at 2 and 4 pools,
``--pools A B``, ``--seconds``). Never used as a timed assertion in tests.
"""

# size: a benchmark script: the manager run, the raw prober child and the report in one file

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import report  # bench/report.py, beside this script
import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: import this checkout's poolmgr
    sys.path.insert(0, str(ROOT))

from harness.live import LiveManager  # noqa: E402
from harness.ready import ready_registry  # noqa: E402
from poolmgr.config import parse_config  # noqa: E402

OUT = ROOT / "bench" / "results" / "idle.json"
TICK_INTERVAL_S = 0.02
"""The supervisor's tick interval (``poolmgr serve``'s default)."""
STUB_ARGS = ("--host", "127.0.0.1", "--port", "0", "--model", "stub://bench")
GOAL_CPU_PCT = 1.0
GOAL_RATIO = 3.0
READY_WAIT_S = 60.0
"""Bound on the wait for every pool to be Ready, plus this much per pool."""
READY_WAIT_PER_POOL_S = 1.5


def config_text(pools: int) -> str:
    """``pools`` CPU stub pools with the default probe settings."""
    lines = ["pools:"]
    for i in range(pools):
        lines.append(
            f"  - {{id: idle-{i:03d}, engine: stub, model: 'stub://idle-{i}', devices: [],"
            " cpu: true, slots: 1}"
        )
    return "\n".join(lines) + "\n"


def cpu_s(proc: psutil.Process) -> float:
    """CPU seconds (user + system) of the process itself, not its children."""
    times = proc.cpu_times()
    return float(times.user + times.system)


# --- the raw asyncio prober (a child process) --------------------------------------------


async def _probe_forever(port: int, interval_s: float, timeout_s: float, done: list[int]) -> None:
    """GET /health on one kept-alive connection every ``interval_s``; reconnect on failure."""
    request = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    length = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)
    writer: asyncio.StreamWriter | None = None
    while True:
        try:
            async with asyncio.timeout(timeout_s):
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                found = length.search(head)
                await reader.readexactly(int(found.group(1)) if found else 0)
            done[0] += 1
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            if writer is not None:
                writer.close()
            writer = None
        await asyncio.sleep(interval_s)


def raw_prober(ports: str, interval_ms: str, timeout_ms: str) -> int:
    """Child process: probe every port until stdin closes; then print how many probes."""
    done = [0]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        tasks = [
            asyncio.create_task(
                _probe_forever(int(p), int(interval_ms) / 1000, int(timeout_ms) / 1000, done)
            )
            for p in ports.split(",")
        ]
        print("probing", flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
        for task in tasks:
            task.cancel()

    asyncio.run(main())
    print(json.dumps({"probes": done[0]}), flush=True)
    return 0


# --- the manager --------------------------------------------------------------------------


def wait_all_ready(manager: LiveManager, pools: int) -> float:
    """Poll the pool listing until every pool is Ready (bounded); the seconds it took."""
    started = time.monotonic()
    bound = READY_WAIT_S + READY_WAIT_PER_POOL_S * pools
    states: list[str] = ["no answer"]
    while time.monotonic() - started < bound:
        try:
            listing = manager.get_json("/v1/pools")
        except requests.RequestException:  # a manager busy starting engines answers late
            continue
        if sum(bool(p["ready"]) for p in listing) == pools:
            return time.monotonic() - started
        states = sorted({p["state"] for p in listing})
        time.sleep(0.2)
    raise SystemExit(f"not every pool Ready after {bound:.0f} s: states {states}")


def engine_ports(manager: LiveManager) -> list[int]:
    """The ports the manager's stub engines listen on (from their command lines)."""
    ports = []
    for proc in manager.engines():
        with contextlib.suppress(psutil.Error):
            argv = proc.cmdline()
            if "poolmgr.runtime.stub_engine" in argv and "--port" in argv:
                ports.append(int(argv[argv.index("--port") + 1]))
    return sorted(set(ports))


def engine_sockets(proc: psutil.Process, ports: list[int]) -> tuple[int, int]:
    """The process's TCP sockets to those ports, and how many of them are in CLOSE_WAIT."""
    wanted = set(ports)
    conns = [c for c in proc.net_connections("tcp") if c.raddr and c.raddr.port in wanted]
    return len(conns), sum(c.status == psutil.CONN_CLOSE_WAIT for c in conns)


def pct(cpu_seconds: float, wall_s: float) -> float:
    return round(100 * cpu_seconds / wall_s, 3) if wall_s > 0 else 0.0


def measure(
    pools: int, seconds: float, settle_s: float, code_root: Path | None = None
) -> dict[str, Any]:
    """Run a manager with ``pools`` Ready pools and, beside it, the raw prober; measure both.

    ``code_root``: run the manager (and its engines) from that checkout instead of this one."""
    config = parse_config(config_text(pools), "<bench idle>")
    probe = config.pools[0].probe
    manager = LiveManager()
    prober: subprocess.Popen[str] | None = None
    try:
        started = time.monotonic()
        env = None if code_root is None else {"PYTHONPATH": str(code_root)}
        manager.start(config_text(pools), env, adopt=False)
        ready_s = wait_all_ready(manager, pools)
        assert manager.proc is not None
        me = psutil.Process(manager.proc.pid)
        ports = engine_ports(manager)
        if len(ports) != pools:
            raise SystemExit(f"found {len(ports)} stub engines for {pools} pools")
        prober = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--raw-prober",
                ",".join(map(str, ports)),
                str(probe.ready_interval_ms),
                str(probe.timeout_ms),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert prober.stdout is not None and prober.stdin is not None
        if prober.stdout.readline().strip() != "probing":
            raise SystemExit("the raw prober did not start")
        raw = psutil.Process(prober.pid)
        time.sleep(settle_s)
        wall0, m0, r0 = time.monotonic(), cpu_s(me), cpu_s(raw)
        time.sleep(seconds)
        wall1, m1, r1 = time.monotonic(), cpu_s(me), cpu_s(raw)
        wall = wall1 - wall0
        threads, raw_threads = me.num_threads(), raw.num_threads()
        sockets, close_wait = engine_sockets(me, ports)
        children = len(me.children(recursive=False))
        still_ready = sum(bool(p["ready"]) for p in manager.get_json("/v1/pools"))
        prober.stdin.close()
        probes = json.loads(prober.stdout.readline())["probes"]
        prober.wait(10)
        manager_pct, raw_pct = pct(m1 - m0, wall), pct(r1 - r0, wall)
        return {
            "pools": pools,
            "pools_ready_after": still_ready,
            "seconds_to_all_ready": round(ready_s, 1),
            "seconds_measured": round(wall, 2),
            "probe": {
                "ready_interval_ms": probe.ready_interval_ms,
                "timeout_ms": probe.timeout_ms,
            },
            "manager": {
                "cpu_pct_of_core": manager_pct,
                "threads": threads,
                "direct_children": children,
                "tcp_sockets_to_engines": sockets,
                "close_wait": close_wait,
            },
            "raw_prober": {"cpu_pct_of_core": raw_pct, "threads": raw_threads, "probes": probes},
            "ratio_to_raw_prober": round(manager_pct / raw_pct, 2) if raw_pct > 0 else None,
            "seconds": round(time.monotonic() - started, 1),
        }
    finally:
        if prober is not None and prober.poll() is None:
            prober.kill()
            prober.wait(10)
        manager.stop()


# --- the tick -----------------------------------------------------------------------------


def tick_cost(pools: int, ticks: int) -> dict[str, Any]:
    """``Registry.tick()`` over ``pools`` Ready pools, timed in-process."""
    registry = ready_registry(parse_config(config_text(pools), "<bench idle>"))
    registry.tick()
    started = time.perf_counter()
    for _ in range(ticks):
        registry.tick()
    per_tick = (time.perf_counter() - started) / ticks
    return {
        "pools": pools,
        "ticks": ticks,
        "us_per_tick": round(per_tick * 1e6, 1),
        "interval_ms": round(TICK_INTERVAL_S * 1000),
        "cpu_pct_of_core": round(100 * per_tick / TICK_INTERVAL_S, 3),
    }


# --- one request -------------------------------------------------------------------------


async def _raw_gets(port: int, count: int) -> float:
    """CPU seconds for ``count`` GET /health on one kept-alive raw asyncio stream."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    length = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)
    started = time.process_time()
    for _ in range(count):
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        found = length.search(head)
        await reader.readexactly(int(found.group(1)) if found else 0)
    spent = time.process_time() - started
    writer.close()
    return spent


async def _manager_gets(port: int, count: int) -> float:
    """CPU seconds for ``count`` health probes as the manager makes them (adapter, client)."""
    from poolmgr.core.vocab import Engine
    from poolmgr.runtime.engine_client import EngineClient
    from poolmgr.runtime.engines import adapter_for

    engines, adapter, url = EngineClient(), adapter_for(Engine.STUB), f"http://127.0.0.1:{port}"
    async with engines.engine(url) as client:
        await adapter.probe_health(client, url, 5.0)  # the connection is made before timing
        started = time.process_time()
        for _ in range(count):
            result = await adapter.probe_health(client, url, 5.0)
            assert result.ok, result
        spent = time.process_time() - started
    await engines.aclose()
    return spent


def request_cost(count: int) -> dict[str, Any]:
    """CPU per health probe on a kept-alive connection to one Ready stub engine: the
    manager's path (adapter + pooled httpx client) against a raw asyncio stream."""
    engine = subprocess.Popen(
        [sys.executable, "-m", "poolmgr.runtime.stub_engine", *STUB_ARGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert engine.stdout is not None
        port = int(engine.stdout.readline().strip().rsplit(":", 1)[1])
        manager_s = raw_s = 0.0
        for _ in range(50):  # bounded: until the stub has loaded its (stub) model
            try:
                manager_s = asyncio.run(_manager_gets(port, count))
                break
            except AssertionError:
                time.sleep(0.1)
        raw_s = asyncio.run(_raw_gets(port, count))
    finally:
        engine.kill()
        engine.wait(10)
    manager_us, raw_us = manager_s / count * 1e6, raw_s / count * 1e6
    return {
        "requests": count,
        "manager_us_cpu_per_probe": round(manager_us, 1),
        "raw_stream_us_cpu_per_probe": round(raw_us, 1),
        "ratio_to_raw_stream": round(manager_us / raw_us, 2) if raw_us > 0 else None,
    }


# --- the report ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    parser.add_argument("--pools", type=int, nargs=2, default=[50, 100], help="two pool counts")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON goes")
    parser.add_argument(
        "--compare-root",
        type=Path,
        help="also measure, at the first pool count, a manager run from this checkout (e.g. an "
        "export of main before the change)",
    )
    parser.add_argument("--raw-prober", nargs=3, help=argparse.SUPPRESS)  # PORTS MS TIMEOUT
    args = parser.parse_args(argv)
    if args.raw_prober:
        return raw_prober(*args.raw_prober)
    sizes, seconds, settle, ticks = args.pools, args.seconds, 3.0, 2000
    if args.quick:
        sizes, seconds, settle, ticks = [2, 4], 1.5, 0.5, 50
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "idle manager: CPU and threads with every pool Ready",
        "command": "python bench/bench_idle.py" + (" --quick" if args.quick else ""),
        "machine": report.machine(),
        "sizes": [measure(n, seconds, settle) for n in sizes],
        "tick": [tick_cost(n, ticks) for n in sizes],
        "request": request_cost(30 if args.quick else 500),
    }
    if args.compare_root is not None:
        reference = measure(sizes[0], seconds, settle, args.compare_root.resolve())
        reference["code"] = str(args.compare_root)
        result["reference"] = reference
        result["command"] += f" --compare-root {args.compare_root}"
    for size, tick in zip(result["sizes"], result["tick"], strict=True):
        cpu = size["manager"]["cpu_pct_of_core"]
        tick["share_of_manager_cpu"] = round(tick["cpu_pct_of_core"] / cpu, 2) if cpu else None
    first, second = result["sizes"]
    result["threads_per_added_pool"] = round(
        (second["manager"]["threads"] - first["manager"]["threads"])
        / (second["pools"] - first["pools"]),
        3,
    )
    result["goal"] = {
        "pools": first["pools"],
        "cpu_pct_of_core_at_most": GOAL_CPU_PCT,
        "ratio_to_raw_prober_at_most": GOAL_RATIO,
        "cpu_met": first["manager"]["cpu_pct_of_core"] <= GOAL_CPU_PCT,
        "ratio_met": (first["ratio_to_raw_prober"] or 0) <= GOAL_RATIO,
    }
    return report.finish(result, args.out, render, started)


def render(result: dict[str, Any]) -> str:
    """The figures as the README's Markdown table."""
    rows = ["| Figure | Value | Baseline (same run) |", "| --- | --- | --- |"]
    for size, tick in zip(result["sizes"], result["tick"], strict=True):
        n, m, raw = size["pools"], size["manager"], size["raw_prober"]
        rows += [
            f"| idle CPU at {n} pools, % of a core | {m['cpu_pct_of_core']} "
            f"({size['ratio_to_raw_prober']}x) | raw asyncio prober {raw['cpu_pct_of_core']} |",
            f"| threads at {n} pools | {m['threads']} ({m['direct_children']} children) "
            f"| raw asyncio prober {raw['threads']} |",
            f"| sockets to engines at {n} pools (CLOSE_WAIT) | {m['tcp_sockets_to_engines']} "
            f"({m['close_wait']}) | {n} engines |",
            f"| tick over {n} Ready pools, % of a core | {tick['cpu_pct_of_core']} "
            f"({tick['us_per_tick']} us every {tick['interval_ms']} ms) "
            f"| share of the manager's CPU {tick['share_of_manager_cpu']} |",
        ]
    req = result["request"]
    rows.append(
        f"| CPU per health probe (kept-alive), us | {req['manager_us_cpu_per_probe']} "
        f"({req['ratio_to_raw_stream']}x) "
        f"| raw asyncio stream {req['raw_stream_us_cpu_per_probe']} |"
    )
    ref = result.get("reference")
    if ref is not None:
        m, raw = ref["manager"], ref["raw_prober"]
        rows += [
            f"| reference {ref['code']}: idle CPU at {ref['pools']} pools, % of a core "
            f"| {m['cpu_pct_of_core']} ({ref['ratio_to_raw_prober']}x) "
            f"| raw asyncio prober {raw['cpu_pct_of_core']} |",
            f"| reference {ref['code']}: threads at {ref['pools']} pools | {m['threads']} "
            f"| raw asyncio prober {raw['threads']} |",
        ]
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
