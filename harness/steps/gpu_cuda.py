"""Steps of the ``@gpu @process`` scenarios: a real manager with the real CUDA ``llama-server``.

Each scenario runs ``poolmgr serve`` (:class:`harness.live.LiveManager`) with ``engine:
llamacpp`` and the CUDA binary ``bench/gpu/run.sh`` built (:mod:`harness.gpu_engine` says how
they are found), and checks against what NVML shows: preload gating (OC-POOL-3001,
OC-GPU-9504), no CPU spillover (OC-POOL-3012, OC-GPU-9502, 9503, 9504), the VRAM preflight on
real numbers (OC-POOL-3002) and a restart after SIGKILL (OC-POOL-3011), whose time back to
Ready is a reported figure, never an assertion. Where NVML lists no GPU both runners skip
these scenarios with the reason (OC-GPU-9510).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import contextlib
import re
import time
import weakref

import psutil

from harness.assertions import assert_equal
from harness.gpu_engine import (
    gpu_bytes_of_tree,
    llama_server,
    record_figure,
    start_hog,
    stop_hog,
    substitute,
    write_hidden_gpu_wrapper,
)
from harness.live import live_manager_of
from harness.registry import step
from harness.waiting import wait_until
from harness.world import PoolWorld
from poolmgr.io.nvml import read_view

CUDA_READY_TIMEOUT_S = 120.0
"""A CUDA engine loads its model onto the GPU before /health says 200 (seconds on an H200)."""
FAILED_TIMEOUT_S = 60.0
_GIB = 2**30
_SHORT = re.compile(r"GPU (\d+) needs \d+ bytes .*?short by (\d+) bytes")


def _engine_pids(world: PoolWorld, pool: str) -> list[int]:
    """The live engine processes the manager runs for ``pool`` (by its model reference)."""
    live = live_manager_of(world)
    model_ref = str(live.health(pool)["model_ref"])
    pids = []
    for proc in live.engines():
        with contextlib.suppress(psutil.Error):
            if model_ref in proc.cmdline() and proc.status() != psutil.STATUS_ZOMBIE:
                pids.append(proc.pid)
    return pids


def _top_engine(world: PoolWorld, pool: str) -> int:
    """The engine process the manager started for ``pool`` (the root of its tree)."""
    live = live_manager_of(world)
    return live.engine_of(str(live.health(pool)["model_ref"])).pid


# --------------------------------------------------------------------------- givens


@step("given", "the manager is running the CUDA engine with this config")
def given_cuda_manager(world: PoolWorld, docstring: str) -> None:
    live = live_manager_of(world)
    world.gpu.run.started_at = time.monotonic()
    live.start(substitute(docstring))


@step("given", "NVML lists no GPU {index:d} on this host")
def given_no_such_gpu(world: PoolWorld, index: int) -> None:
    view = read_view()
    assert view is not None, "NVML gives no view of this host's GPUs"
    indexes = [gpu.index for gpu in view.gpus]
    assert index not in indexes, f"this host has GPU {index} (NVML lists {indexes})"


@step("given", 'a wrapper "{name}" runs the CUDA engine with no GPU visible and {log} its warnings')
def given_hidden_gpu_wrapper(world: PoolWorld, name: str, log: str) -> None:
    assert log in ("keeps", "drops"), f'expected "keeps" or "drops", got {log!r}'
    live = live_manager_of(world)
    write_hidden_gpu_wrapper(live.tmp / name, llama_server(), drop_warnings=log == "drops")


@step("given", "another process holds all but {gib:d} GiB of the free memory of GPU 0")
def given_gpu_hog(world: PoolWorld, gib: int) -> None:
    proc, free = start_hog(gib * _GIB)
    world.gpu.run.hog = proc
    world.gpu.run.hog_free_bytes = free
    weakref.finalize(world, stop_hog, proc)


# --------------------------------------------------------------------------- whens


@step("when", 'the live pool "{pool}" becomes ready, its time reported as the figure "{figure}"')
def when_ready_timed(world: PoolWorld, pool: str, figure: str) -> None:
    live = live_manager_of(world)
    live.wait_health(pool, lambda h: bool(h["ready"]), "ready", CUDA_READY_TIMEOUT_S)
    started = world.gpu.run.started_at
    assert started is not None, "the scenario did not start its manager with a CUDA config"
    seconds = time.monotonic() - started
    record_figure(figure, round(seconds, 3), "s", f"manager start to pool {pool} ready (polled)")


@step("when", 'the CUDA engine of the live pool "{pool}" is killed with SIGKILL')
def when_kill_cuda_engine(world: PoolWorld, pool: str) -> None:
    live = live_manager_of(world)
    engine = live.engine_of(str(live.health(pool)["model_ref"]))
    live.killed_pids.append(engine.pid)
    world.gpu.run.killed_at = time.monotonic()
    engine.kill()
    engine.wait(10)


# --------------------------------------------------------------------------- thens


@step(
    "then", 'NVML shows the engine of the live pool "{pool}" holding memory on GPU {index:d} only'
)
def then_nvml_holds(world: PoolWorld, pool: str, index: int) -> None:
    held = gpu_bytes_of_tree(_top_engine(world, pool))
    assert_equal(sorted(held), [index], f"GPUs the engine of {pool} holds memory on ({held})")
    assert held[index] > 0, f"the engine of {pool} holds no bytes on GPU {index}: {held}"


@step("then", 'the live pool "{pool}" fails with the cause "{cause}" and the state "{state}"')
def then_fails_with(world: PoolWorld, pool: str, cause: str, state: str) -> None:
    h = live_manager_of(world).wait_health(
        pool, lambda h: h["last_error"] is not None, "a last error", FAILED_TIMEOUT_S
    )
    assert_equal(h["last_error"]["cause"], cause, "last error cause")
    assert_equal(h["state"], state, "state")
    assert_equal(h["ready"], False, "ready")


@step("then", 'the last error of the live pool "{pool}" names GPU {index:d}')
def then_error_names_gpu(world: PoolWorld, pool: str, index: int) -> None:
    message = str(live_manager_of(world).health(pool)["last_error"]["message"])
    assert re.search(rf"\bGPU {index}\b", message), f"GPU {index} not named in {message!r}"


@step("then", 'the live pool "{pool}" has no engine running and {n:d} restarts')
def then_no_engine_no_restart(world: PoolWorld, pool: str, n: int) -> None:
    pids = _engine_pids(world, pool)
    assert_equal(pids, [], f"engine processes of {pool}")
    restarts = live_manager_of(world).health(pool)["restarts"]["count"]
    assert_equal(restarts, n, "restarts.count")


@step(
    "then",
    'the last error of the live pool "{pool}" finds GPU {index:d} short by between '
    "{low:d} and {high:d} GiB",
)
def then_short_by(world: PoolWorld, pool: str, index: int, low: int, high: int) -> None:
    message = str(live_manager_of(world).health(pool)["last_error"]["message"])
    found = {int(gpu): int(short) for gpu, short in _SHORT.findall(message)}
    assert index in found, f"no shortfall of GPU {index} in {message!r}"
    assert low * _GIB <= found[index] <= high * _GIB, f"GPU {index} short by {found[index]} bytes"


@step(
    "then",
    'the live pool "{pool}" is ready again on a new engine process, the time reported as the '
    'figure "{figure}"',
)
def then_ready_again_timed(world: PoolWorld, pool: str, figure: str) -> None:
    live = live_manager_of(world)
    live.wait_health(pool, lambda h: bool(h["ready"]), "ready again", CUDA_READY_TIMEOUT_S)
    killed = world.gpu.run.killed_at
    assert killed is not None, "no engine was killed in this scenario"
    seconds = time.monotonic() - killed
    engine = wait_until(lambda: _top_engine(world, pool), 10, f"the new engine of {pool}")
    assert engine not in live.killed_pids, f"engine {engine} is the killed one"
    record_figure(figure, round(seconds, 3), "s", f"SIGKILL of the engine to pool {pool} ready")
