"""Benchmark of the manager's start-up (#12 goal 6; OC-PERF-9107, OC-PERF-9108).

A real ``python -m poolmgr serve --config FILE --port P`` in a child process, for a config of
N stub-engine pools (``stub://`` models, CPU). From the moment the child is executed:

- **first answer**: the first ``GET /healthz`` that answers 200 (a client polls the port every
  2 ms from the start; the port is picked beforehand so nothing waits for the printed line);
- **ready**: the first ``GET /readyz`` that answers 200 (every pool has finished its first
  start);
- **most starting at once**: replayed from the manager's JSON log (``pool_state_changed``
  events), the most pools that were starting or preloading together; at most
  ``manager.start_concurrency`` (a fact, not a speed).

Figures at 100 pools (``--pools``) with the default ``start_concurrency`` 8, and with 256 (every
pool at once, what start-up did before the wave) for the time to ready. Baselines in the same
run: a bare ``python -c "import uvicorn, fastapi"`` (exec to exit: the least any FastAPI server
on uvicorn costs), ``python -c "import poolmgr.serve"`` and the first answer of the same
manager with 1 pool. Each figure is taken once per round (``--repeat`` rounds, interleaved, so a
drifting load on shared cores hits figure and baseline alike) and the median is reported.

Prints the figures as a Markdown table and writes ``bench/results/startup.json``. Run:
``.venv/bin/python bench/bench_startup.py`` (``--quick``: 5 pools started 2 at a time, one run
each, for the smoke test). Never used as a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import report  # bench/report.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "startup.json"
POLL_S = 0.002
FIRST_ANSWER_BOUND_S = 60.0
READY_BOUND_S = 300.0
STOP_BOUND_S = 120.0
STARTING = ("starting", "preloading")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def config_text(pools: int, concurrency: int) -> str:
    lines = ["manager:", f"  start_concurrency: {concurrency}", "  log_dir: ./logs", "pools:"]
    lines += [
        f'  - {{id: p{i}, engine: stub, model: "stub://p{i}", devices: [], cpu: true}}'
        for i in range(pools)
    ]
    return "\n".join(lines) + "\n"


def get_status(port: int, path: str) -> int | None:
    """The status of ``GET path``, or ``None`` when nothing answers yet."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def wait_status(port: int, path: str, status: int, started: float, bound_s: float) -> float:
    """Seconds from ``started`` until ``GET path`` answers ``status`` (bounded)."""
    while time.perf_counter() - started < bound_s:
        if get_status(port, path) == status:
            return time.perf_counter() - started
        time.sleep(POLL_S)
    raise RuntimeError(f"GET {path} did not answer {status} within {bound_s} s")


def most_starting(log: Path) -> tuple[int, int]:
    """(pools that started, the most starting at once), from the manager's JSON log."""
    starting: set[str] = set()
    started = most = 0
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("event") != "pool_state_changed":
            continue
        if record["to_state"] in STARTING:
            started += record["from_state"] not in STARTING
            starting.add(record["pool_id"])
        else:
            starting.discard(record["pool_id"])
        most = max(most, len(starting))
    return started, most


def serve_once(pools: int, concurrency: int) -> dict[str, Any]:
    """One ``poolmgr serve`` from exec to a clean stop; its start-up figures."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        path = Path(tmp) / "pools.yaml"
        path.write_text(config_text(pools, concurrency), encoding="utf-8")
        port = free_port()
        args = [sys.executable, "-m", "poolmgr", "serve", "--config", str(path)]
        args += ["--host", "127.0.0.1", "--port", str(port)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        proc = subprocess.Popen(
            args,
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            first = wait_status(port, "/healthz", 200, started, FIRST_ANSWER_BOUND_S)
            readyz_at_first = get_status(port, "/readyz")
            ready = wait_status(port, "/readyz", 200, started, READY_BOUND_S)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(STOP_BOUND_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                code = proc.wait(10)
        count, most = most_starting(Path(tmp) / "logs" / "manager.jsonl")
        return {
            "first_answer_s": round(first, 4),
            "readyz_status_just_after_first_answer": readyz_at_first,
            "ready_s": round(ready, 4),
            "pools_started": count,
            "most_starting_at_once": most,
            "exit_code": code,
        }


def summary(pools: int, concurrency: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "pools": pools,
        "start_concurrency": concurrency,
        "runs": runs,
        "first_answer_s": round(statistics.median(r["first_answer_s"] for r in runs), 4),
        "ready_s": round(statistics.median(r["ready_s"] for r in runs), 4),
        "most_starting_at_once": max(r["most_starting_at_once"] for r in runs),
    }


def exec_seconds(code: str) -> float:
    """Seconds from exec to exit of ``python -c CODE``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - started


def rounds(pools: int, concurrency: int, repeat: int) -> dict[str, Any]:
    """Every figure once per round, interleaved, so a load that drifts hits them all alike."""
    bare: list[float] = []
    serve_import: list[float] = []
    one: list[dict[str, Any]] = []
    many: list[dict[str, Any]] = []
    for _ in range(repeat):
        bare.append(exec_seconds("import uvicorn, fastapi"))
        serve_import.append(exec_seconds("import poolmgr.serve"))
        one.append(serve_once(1, concurrency))
        many.append(serve_once(pools, concurrency))
    return {
        "baseline_import_uvicorn_fastapi_s": round(statistics.median(bare), 4),
        "import_poolmgr_serve_s": round(statistics.median(serve_import), 4),
        "one_pool": summary(1, concurrency, one),
        "many_pools": summary(pools, concurrency, many),
        "many_pools_unthrottled": summary(pools, 256, [serve_once(pools, 256)]),
    }


def ratio(value: float, base: float) -> float:
    return round(value / base, 2) if base else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 pools, one run each (smoke)")
    parser.add_argument("--pools", type=int, default=100, help="pools of the measured config")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--concurrency", type=int, default=8, help="manager.start_concurrency")
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON goes")
    args = parser.parse_args(argv)
    if args.quick:
        args.pools, args.repeat, args.concurrency = 5, 1, 2
    began = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "manager start-up: first answer and readiness",
        "command": "python bench/bench_startup.py" + (" --quick" if args.quick else ""),
        "machine": report.machine(),
        **rounds(args.pools, args.concurrency, args.repeat),
    }
    base = result["baseline_import_uvicorn_fastapi_s"]
    many, one = result["many_pools"], result["one_pool"]
    result["ratios"] = {
        "first_answer_to_bare_import": ratio(many["first_answer_s"], base),
        "first_answer_to_one_pool": ratio(many["first_answer_s"], one["first_answer_s"]),
        "import_poolmgr_serve_to_bare_import": ratio(result["import_poolmgr_serve_s"], base),
        "first_answer_to_unthrottled": ratio(
            many["first_answer_s"], result["many_pools_unthrottled"]["first_answer_s"]
        ),
        "ready_to_unthrottled": ratio(many["ready_s"], result["many_pools_unthrottled"]["ready_s"]),
    }
    result["goal_first_answer_s"] = 1.5
    return report.finish(result, args.out, render, began)


def render(result: dict[str, Any]) -> str:
    """The figures as the README's Markdown table."""
    many, one = result["many_pools"], result["one_pool"]
    free = result["many_pools_unthrottled"]
    base = result["baseline_import_uvicorn_fastapi_s"]
    r = result["ratios"]
    n = many["pools"]
    rows = [
        (
            f"First /healthz answer, {n} pools (exec to 200)",
            f"{many['first_answer_s']:.2f} s",
            f"bare import uvicorn, fastapi {base:.2f} s; 1 pool {one['first_answer_s']:.2f} s",
            f"{r['first_answer_to_bare_import']:.2f}x / {r['first_answer_to_one_pool']:.2f}x",
        ),
        (
            f"First /healthz answer, {n} pools, start_concurrency {many['start_concurrency']}",
            f"{many['first_answer_s']:.2f} s",
            f"start_concurrency {free['start_concurrency']} (all at once) "
            f"{free['first_answer_s']:.2f} s",
            f"{r['first_answer_to_unthrottled']:.2f}x",
        ),
        (
            f"/readyz 200, {n} pools, start_concurrency {many['start_concurrency']}",
            f"{many['ready_s']:.2f} s",
            f"start_concurrency {free['start_concurrency']} (all at once) {free['ready_s']:.2f} s",
            f"{r['ready_to_unthrottled']:.2f}x",
        ),
        (
            "Most pools starting at once",
            f"{many['most_starting_at_once']} (limit {many['start_concurrency']})",
            f"all at once: {free['most_starting_at_once']}",
            "",
        ),
        (
            "import poolmgr.serve (exec to exit)",
            f"{result['import_poolmgr_serve_s']:.2f} s",
            f"bare import uvicorn, fastapi {base:.2f} s",
            f"{r['import_poolmgr_serve_to_bare_import']:.2f}x",
        ),
    ]
    out = ["| Figure | Value | Baseline (same run) | Ratio |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
