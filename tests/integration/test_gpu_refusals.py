"""GPU truth with real engines (OC-GPU-9502, 9503, 9505): what a GPU pool's start ends in.

- The packaged ``llama-server`` is built for the CPU only: given ``--device CUDA0`` it stops at
  its argument parser with ``invalid device: CUDA0`` and prints its usage text. The manager must
  record ``placement_invalid`` with that line kept in the message, and must not retry.
- Without simulated GPUs, a GPU pool on a host without NVML is refused before launch and never
  retried; no engine process is started.

Simulated GPUs (``manager.simulate_gpus``) let the first test pass placement on this machine.
"""

from __future__ import annotations

from pathlib import Path

from harness.gguf_files import write_tiny_llama_gguf
from poolmgr.core.decisions import PoolState
from poolmgr.core.vocab import Cause
from poolmgr.io.nvml import read_view
from tests.integration.test_supervisor import FAST_PROBE, SMALL_BACKOFF, make_config, run, running
from tests.llama import needs_llama_server

GPU = {"index": 0, "name": "Simulated GPU", "total_bytes": 80 * 2**30, "free_bytes": 80 * 2**30}


@needs_llama_server
def test_oc_gpu_9505_cpu_only_llama_server_on_cuda0_is_placement_invalid_and_not_retried(
    tmp_path: Path, log_dir: Path
) -> None:
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    pool = {
        "id": "gpu",
        "engine": "llamacpp",
        "model": str(model),
        "devices": [0],
        "backoff": dict(SMALL_BACKOFF),
        "probe": dict(FAST_PROBE),
    }
    config = make_config(pool, inventory={"gpus": [GPU]}, manager={"simulate_gpus": True})

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_for("failed", lambda: h.snap("gpu").state is PoolState.FAILED, "gpu")
            # Nothing scheduled: the lifecycle never restarts a failed pool (the decision
            # scenarios drive its clock far past every backoff delay, OC-GPU-9503).
            snap = h.snap("gpu")
            assert snap.state is PoolState.FAILED
            assert snap.restart_count == 0 and snap.next_restart_at_ms is None
            error = snap.last_error
            assert error is not None and error.cause is Cause.PLACEMENT_INVALID
            assert "invalid device: CUDA0" in error.message, error.message

    run(scenario())


def test_oc_gpu_9502_gpu_pool_without_nvml_is_refused_before_launch(log_dir: Path) -> None:
    view = read_view()
    missing = 7  # a GPU index no test machine has
    assert view is None or view.reading(missing) is None
    gpu = {**GPU, "index": missing}
    pool = {
        "id": "ghost",
        "engine": "stub",
        "model": "stub://ghost",
        "devices": [missing],
        "backoff": dict(SMALL_BACKOFF),
        "probe": dict(FAST_PROBE),
    }
    config = make_config(pool, inventory={"gpus": [gpu]})

    async def scenario() -> None:
        async with running(config, log_dir) as h:
            await h.wait_for("failed", lambda: h.snap("ghost").state is PoolState.FAILED, "ghost")
            snap = h.snap("ghost")
            assert snap.state is PoolState.FAILED and snap.restart_count == 0
            assert snap.next_restart_at_ms is None
            error = snap.last_error
            assert error is not None and error.cause is Cause.PLACEMENT_INVALID
            assert f"GPU {missing}" in error.message, error.message
            assert h.supervisor.engine_pid("ghost") is None

    run(scenario())
