"""Benchmark of exit detection (#12, OC-PERF-9106): kill -9 of an engine until its pool is unready.

Three parts in one run, on one machine, so that the ratios compare across (noisy, shared) runs:

1. **The bare pidfd waiter** (the baseline): a ``sleep`` child started with ``subprocess``,
   its pidfd (``os.pidfd_open``) added to the event loop with ``loop.add_reader``; the time
   from ``kill -9`` to the reader's callback. Nothing faster can hear a process end on a loop.
   One such kill before each engine's kill, so both are measured under the same load.
2. **The manager, pidfd path** (what poolmgr does now): a real
   :class:`~poolmgr.runtime.supervisor.Supervisor` in this process with ``--pools`` stub pools,
   all Ready; each engine is killed once with SIGKILL, one after the other, and the time from
   the kill to the first action or fact after which the registry says the pool is not Ready is
   taken (the registry's listener is called in the same loop turn as the decision, so there is
   no polling in the figure). The hops are measured too, each from a pidfd of our own on the
   loop: kill to the engine's end (the kernel tearing a Python process down: a second
   baseline, the bare waiter on the engine itself), the engine's end to not Ready (the reaper
   reaps the engine, sweeps its tree and reports; the manager reads the rest of the output,
   classifies and decides), and the engine's end to its reaper's end. With every pool Ready,
   the manager's thread count (``psutil``) and its Python threads by name, so that a thread
   per child shows.
3. **The manager, old path**: the same with Python 3.11's ``ThreadedChildWatcher`` (one
   thread blocked in ``waitpid`` per child) chosen again (``--no-old`` leaves it out; on
   Python 3.12+ the default watcher already uses pidfds and this part measures the same path).

Restarts are put off (a 60 s backoff) so that no engine starts during the kills. Prints the
README's Markdown table and writes ``bench/results/exit.json``. Run:
``.venv/bin/python bench/bench_exit.py`` (``--quick`` for a smoke run, ``--pools``,
``--no-old``). Never used as a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil
import report  # bench/report.py, beside this script
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: import this checkout's poolmgr
    sys.path.insert(0, str(ROOT))

from poolmgr.config import parse_config  # noqa: E402
from poolmgr.core.registry import Registry  # noqa: E402
from poolmgr.runtime.output import EngineOutput  # noqa: E402
from poolmgr.runtime.pidfd import pidfd_usable, use_pidfd_watcher, use_thread_watcher  # noqa: E402
from poolmgr.runtime.supervisor import Supervisor, build_live_registry  # noqa: E402

OUT = ROOT / "bench" / "results" / "exit.json"
WAIT_S = 240.0
"""Bound on any one wait (all pools Ready on two busy cores; one kill heard)."""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def summary(ms: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3),
    }


async def _pidfd_ended(pid: int) -> asyncio.Future[float]:
    """A future set to ``perf_counter()`` when the loop hears ``pid`` end (from its pidfd)."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[float] = loop.create_future()
    fd = os.pidfd_open(pid)

    def readable() -> None:
        loop.remove_reader(fd)
        os.close(fd)
        if not ended.done():
            ended.set_result(time.perf_counter())

    loop.add_reader(fd, readable)
    return ended


# --- part 1: the bare waiter ---------------------------------------------------------------


async def bare_kill() -> float:
    """kill -9 of a ``sleep`` child, heard by its pidfd on the loop: milliseconds."""
    child = subprocess.Popen(["sleep", "1000"])
    ended = await _pidfd_ended(child.pid)
    await asyncio.sleep(0.01)  # the same quiet loop the manager's kills see
    killed = time.perf_counter()
    os.kill(child.pid, signal.SIGKILL)
    took = (await asyncio.wait_for(ended, WAIT_S) - killed) * 1000
    child.wait()
    return took


# --- parts 2 and 3: the manager ------------------------------------------------------------


def config_for(pools: int) -> Any:
    doc = {
        "pools": [
            {
                "id": f"p{n:03d}",
                "engine": "stub",
                "model": f"stub://p{n:03d}",
                "devices": [],
                "cpu": True,
                "slots": 2,
                "backoff": {"initial_ms": 60_000, "max_ms": 60_000},
                "probe": {
                    "starting_interval_ms": 50,
                    "ready_interval_ms": 1000,
                    "timeout_ms": 1000,
                    "failure_threshold": 3,
                },
            }
            for n in range(pools)
        ]
    }
    return parse_config(yaml.safe_dump(doc, sort_keys=False), "<bench_exit>")


class Watch:
    """Tells, per pool, when the registry first says it is not Ready after a kill."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.waiting: dict[str, asyncio.Future[float]] = {}

    def on_action(self, pool_id: str, _action: object) -> None:
        fut = self.waiting.get(pool_id)
        if fut is not None and not fut.done() and not self.registry.snapshot(pool_id).ready:
            fut.set_result(time.perf_counter())


def thread_census() -> dict[str, Any]:
    """The process's threads, and its Python threads by name less the number."""
    names = Counter(re.sub(r"[-_]?\d+$", "", t.name) for t in threading.enumerate())
    return {
        "os_threads": psutil.Process().num_threads(),
        "python_threads_by_name": dict(sorted(names.items())),
        "waitpid_threads": names.get("asyncio-waitpid", 0),
    }


async def manager_run(pools: int, log_dir: Path) -> dict[str, Any]:
    """Start ``pools`` stub pools, count threads, kill each engine once; the figures."""
    config = config_for(pools)
    registry = build_live_registry(config, random.Random(7))
    watch = Watch(registry)
    sup = Supervisor(config, registry, log_dir=log_dir, on_action=watch.on_action)
    registry.observe(watch.on_action)
    ids = [p.id for p in config.pools]
    before = thread_census()
    await sup.start()
    try:
        deadline = time.monotonic() + WAIT_S
        while not all(registry.snapshot(i).ready for i in ids):
            if time.monotonic() > deadline:
                raise SystemExit(f"not every pool became Ready within {WAIT_S} s")
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # the startup's probes settle
        ready = thread_census()
        hops: dict[str, list[float]] = {
            k: []
            for k in ("total", "engine_end", "engine_end_to_not_ready", "engine_end_to_reaper_end")
        }
        bare: list[float] = []
        for pool_id in ids:
            bare.append(await bare_kill())  # the baseline, interleaved: the same load
            pid = sup.engine_pid(pool_id)
            assert pid is not None
            reaper = psutil.Process(pid).ppid()
            engine_end, reaper_end = await _pidfd_ended(pid), await _pidfd_ended(reaper)
            not_ready = watch.waiting[pool_id] = asyncio.get_running_loop().create_future()
            await asyncio.sleep(0.01)
            killed = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            end = await asyncio.wait_for(not_ready, WAIT_S)
            e, r = await asyncio.wait_for(asyncio.gather(engine_end, reaper_end), WAIT_S)
            for key, value in (
                ("total", end - killed),
                ("engine_end", e - killed),
                ("engine_end_to_not_ready", end - e),
                ("engine_end_to_reaper_end", r - e),
            ):
                hops[key].append(value * 1000)
            await asyncio.sleep(0.05)  # its exit handled before the next kill
    finally:
        await sup.stop(deadline_ms=500)
    return {
        "pools": pools,
        "kill_to_not_ready": summary(hops["total"]),
        "bare_pidfd_waiter": summary(bare),
        "bare_waiter_on_the_engine": summary(hops["engine_end"]),
        "hops_p50_ms": {k: round(statistics.median(v), 3) for k, v in hops.items() if k != "total"},
        "hops_p99_ms": {k: round(percentile(v, 0.99), 3) for k, v in hops.items() if k != "total"},
        "threads_without_pools": before,
        "threads_with_pools_ready": ready,
    }


@contextlib.contextmanager
def old_path() -> Iterator[None]:
    """The path before OC-PERF-9106: a thread per child, and the engine's end heard from the
    reaper's exit only (its report ignored). The reaper's faster sweep stays."""
    hears = EngineOutput.engine_ended
    EngineOutput.engine_ended = lambda self, returncode: None  # type: ignore[method-assign]
    use_thread_watcher()
    try:
        yield
    finally:
        EngineOutput.engine_ended = hears  # type: ignore[method-assign]


def run_manager(pools: int, old: bool) -> dict[str, Any]:
    chosen = old_path() if old else contextlib.nullcontext()
    with tempfile.TemporaryDirectory(prefix="bench-exit-") as tmp, chosen:
        if not old:
            use_pidfd_watcher()
        result = asyncio.run(manager_run(pools, Path(tmp)))
    result["path"] = (
        "old: thread per child, end heard from the reaper's exit"
        if old
        else "pidfd on the loop, end reported by the reaper"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    parser.add_argument("--pools", type=int, default=50, help="stub pools, each killed once")
    parser.add_argument("--no-old", action="store_true", help="skip the thread-watcher run")
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON goes")
    args = parser.parse_args(argv)
    if not pidfd_usable():
        print("this kernel has no pidfd_open: nothing to compare", file=sys.stderr)
        return 2
    if args.quick:
        args.pools = 3
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "exit detection: kill -9 of an engine until its pool is not Ready",
        "command": "python bench/bench_exit.py" + (" --quick" if args.quick else ""),
        "machine": report.machine(),
    }
    parts = [("pidfd", False)] + ([] if args.no_old else [("thread_watcher", True)])
    for name, old in parts:
        part = run_manager(args.pools, old)
        fig = part["kill_to_not_ready"]
        own, bare = part["bare_waiter_on_the_engine"], part["bare_pidfd_waiter"]
        part["ratio_p50_to_bare"] = round(fig["p50_ms"] / bare["p50_ms"], 2)
        part["ratio_p99_to_bare"] = round(fig["p99_ms"] / bare["p99_ms"], 2)
        part["ratio_p50_to_engine_end"] = round(fig["p50_ms"] / own["p50_ms"], 2)
        part["ratio_p99_to_engine_end"] = round(fig["p99_ms"] / own["p99_ms"], 2)
        result[name] = part
    return report.finish(result, args.out, render, started)


def render(result: dict[str, Any]) -> str:
    """The figures as the README's Markdown table."""
    rows = []
    for name in ("pidfd", "thread_watcher"):
        part = result.get(name)
        if part is None:
            continue
        bare = part["bare_pidfd_waiter"]
        base = f"bare pidfd waiter (sleep) {bare['p50_ms']:.2f} / {bare['p99_ms']:.2f} ms"
        fig, own, hops = (
            part["kill_to_not_ready"],
            part["bare_waiter_on_the_engine"],
            part["hops_p50_ms"],
        )
        threads, before = part["threads_with_pools_ready"], part["threads_without_pools"]
        rows += [
            (
                f"kill -9 -> not Ready p50 / p99, {part['pools']} stub pools ({part['path']})",
                f"{fig['p50_ms']:.2f} / {fig['p99_ms']:.2f} ms",
                base,
                f"{part['ratio_p50_to_bare']:.1f}x / {part['ratio_p99_to_bare']:.1f}x",
            ),
            (
                f"  the same kills ({name})",
                f"{fig['p50_ms']:.2f} / {fig['p99_ms']:.2f} ms",
                f"bare pidfd waiter on the engine {own['p50_ms']:.2f} / {own['p99_ms']:.2f} ms",
                f"{part['ratio_p50_to_engine_end']:.1f}x / {part['ratio_p99_to_engine_end']:.1f}x",
            ),
            (
                f"  engine's end -> not Ready / -> reaper's end, p50 ({name})",
                f"{hops['engine_end_to_not_ready']:.2f} / "
                f"{hops['engine_end_to_reaper_end']:.2f} ms",
                "",
                "",
            ),
            (
                f"Threads blocked in waitpid, {part['pools']} pools Ready ({name})",
                str(threads["waitpid_threads"]),
                "",
                "",
            ),
            (
                f"Manager threads, {part['pools']} pools Ready ({name})",
                str(threads["os_threads"]),
                f"{before['os_threads']} before any pool",
                f"+{threads['os_threads'] - before['os_threads']}",
            ),
        ]
    lines = ["| Figure | Value | Baseline (same run) | Ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
