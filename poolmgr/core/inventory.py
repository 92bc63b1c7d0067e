"""GPU inventory: which GPUs exist, how big they are and how much memory is free.

Placement (OC-POOL-3020 / ORCH-3011) checks every device mask against this inventory before
an engine is launched, and the KV cap (OC-POOL-3021 / ORCH-3052) and preflight (OC-POOL-3002)
read per-device free bytes from it. On a GPU host the inventory comes from NVML through
``nvidia-ml-py``; on machines without a GPU the config supplies a static one, so masks, splits
and caps can be exercised anywhere (a GPU pool is never quietly moved to the CPU, OC-POOL-3012).

The value types are pure; :mod:`poolmgr.io.nvml` reads a real inventory from the driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class InventorySource(StrEnum):
    """Where an inventory came from."""

    STATIC = "static"
    NVML = "nvml"


@dataclass(frozen=True)
class GpuDevice:
    """One GPU as the pool manager sees it (physical index as NVML numbers it)."""

    index: int
    name: str
    total_bytes: int
    free_bytes: int

    def __post_init__(self) -> None:
        if self.index < 0:
            raise ValueError(f"GPU index must be >= 0, got {self.index}")
        if self.total_bytes < 0:
            raise ValueError(f"GPU {self.index}: total_bytes must be >= 0, got {self.total_bytes}")
        if self.free_bytes < 0:
            raise ValueError(f"GPU {self.index}: free_bytes must be >= 0, got {self.free_bytes}")
        if self.free_bytes > self.total_bytes:
            raise ValueError(
                f"GPU {self.index}: free_bytes ({self.free_bytes}) exceeds "
                f"total_bytes ({self.total_bytes})"
            )


@dataclass(frozen=True)
class GpuInventory:
    """The GPUs of one host, sorted by index; indices are unique."""

    devices: tuple[GpuDevice, ...]
    source: str = InventorySource.STATIC

    def __post_init__(self) -> None:
        seen: set[int] = set()
        for device in self.devices:
            if device.index in seen:
                raise ValueError(f"GPU index {device.index} appears twice in the inventory")
            seen.add(device.index)
        if self.source not in set(InventorySource):
            known = ", ".join(s.value for s in InventorySource)
            raise ValueError(f"inventory source must be one of {known}, got {self.source!r}")
        ordered = tuple(sorted(self.devices, key=lambda d: d.index))
        # Frozen dataclass: normalising the order in place is the documented escape hatch.
        object.__setattr__(self, "devices", ordered)
        object.__setattr__(self, "source", InventorySource(self.source))

    def get(self, index: int) -> GpuDevice | None:
        """The device with physical ``index``, or ``None`` when the host has no such GPU."""
        for device in self.devices:
            if device.index == index:
                return device
        return None

    def indices(self) -> frozenset[int]:
        """All physical GPU indices present."""
        return frozenset(d.index for d in self.devices)
