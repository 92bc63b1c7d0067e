"""Simulated GPUs (placeholder until the nvml helper's version is merged)."""

from __future__ import annotations

import json
from pathlib import Path

import psutil

from poolmgr.core.gpu_truth import GpuReading, GpuView
from poolmgr.core.inventory import GpuInventory

CLAIMS_ENV = "POOLMGR_SIMULATED_GPU_CLAIMS"


class SimulatedGpus:
    def __init__(self, inventory: GpuInventory, claims_dir: Path) -> None:
        self.inventory = inventory
        self.claims_dir = claims_dir

    def _claims(self) -> dict[int, dict[int, int]]:
        held: dict[int, dict[int, int]] = {}
        for path in self.claims_dir.glob("*.json"):
            try:
                doc = json.loads(path.read_text())
                pid = int(doc["pid"])
                if not psutil.pid_exists(pid):
                    continue
                for index, amount in doc["gpus"].items():
                    held.setdefault(int(index), {})[pid] = int(amount)
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return held

    def read_view(self) -> GpuView:
        claims = self._claims()
        gpus = tuple(
            GpuReading(
                d.index,
                d.name,
                f"SIM-GPU-{d.index}",
                d.total_bytes,
                max(0, d.free_bytes - sum(claims.get(d.index, {}).values())),
                claims.get(d.index, {}),
            )
            for d in self.inventory.devices
        )
        return GpuView(gpus, driver_version="simulated", cuda_version="simulated", simulated=True)
