"""Where a serving manager reads the truth about its GPUs, and the post-launch check.

* :func:`gpu_source_for`: the driver's view (NVML, :func:`poolmgr.io.nvml.read_view`) unless
  the config asks for simulated GPUs (``manager.simulate_gpus``, OC-GPU-9508): then the static
  inventory and the claim files that engines write stand in for it, and every engine is told
  where to write its claim (:data:`~poolmgr.io.simulated_gpus.CLAIMS_ENV`);
* :func:`engine_on_its_gpus`: after a GPU pool's engine answered its health probe, the view is
  read once more and the engine's process tree must hold memory on its mask's GPUs and nowhere
  else (OC-GPU-9504, OC-GPU-9507); the verdict is the pure
  :func:`poolmgr.core.gpu_truth.judge_engine`.

Reads go through a worker thread: NVML calls block.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from poolmgr.core.config import Config, PoolConfig
from poolmgr.core.gpu_truth import GpuView, judge_engine
from poolmgr.io.nvml import read_view
from poolmgr.io.simulated_gpus import CLAIMS_ENV, SimulatedGpus

__all__ = ["GpuSource", "engine_on_its_gpus", "engine_tree", "gpu_source_for"]


@dataclass(frozen=True)
class GpuSource:
    """How this manager reads its GPU view, and what engines must be told about it."""

    read: Callable[[], GpuView | None]
    simulated: bool
    engine_env: dict[str, str] = field(default_factory=dict)
    """Laid over each engine's environment (where a simulated engine writes its claim)."""

    async def view(self) -> GpuView | None:
        """The view now (read in a worker thread: NVML calls block)."""
        return await asyncio.to_thread(self.read)


CLAIMS_DIR = "gpu-claims"
"""Where, under the manager's log folder, simulated engines write their claim files."""


def gpu_source_for(config: Config, log_dir: Path) -> GpuSource:
    """NVML, or the simulated GPUs the config asks for (OC-GPU-9508), claims under ``log_dir``."""
    claims_dir = log_dir / CLAIMS_DIR
    static = config.gpu_inventory()
    if not config.manager.simulate_gpus or static is None:
        return GpuSource(read_view, simulated=False)
    claims_dir.mkdir(parents=True, exist_ok=True)
    simulated = SimulatedGpus(static, claims_dir)
    return GpuSource(simulated.read_view, simulated=True, engine_env={CLAIMS_ENV: str(claims_dir)})


def engine_tree(pid: int) -> frozenset[int]:
    """The engine process and every process it started (empty when it is gone)."""
    try:
        root = psutil.Process(pid)
        return frozenset([pid, *(child.pid for child in root.children(recursive=True))])
    except psutil.Error:
        return frozenset()


async def engine_on_its_gpus(source: GpuSource, pool: PoolConfig, pid: int) -> str | None:
    """``None`` when the view shows the engine on its GPUs only; else why it is a spillover."""
    view = await source.view()
    tree = await asyncio.to_thread(engine_tree, pid)
    return judge_engine(pool.devices, view, tree)
