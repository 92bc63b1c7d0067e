"""GPU inventory: which GPUs exist, how big they are and how much memory is free.

Placement (OC-POOL-3020 / ORCH-3011) checks every device mask against this inventory before
an engine is launched, and the KV cap (OC-POOL-3021 / ORCH-3052) and preflight (OC-POOL-3002)
read per-device free bytes from it. On a GPU host the inventory comes from NVML through
``nvidia-ml-py``; on machines without a GPU the config supplies a static one, so masks, splits
and caps can be exercised anywhere (a GPU pool is never quietly moved to the CPU, OC-POOL-3012).

The value types are pure. :func:`inventory_from_nvml` is the only function here that touches
the outside world; it returns ``None`` when the library or the driver is absent.
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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


def _load_pynvml() -> Any | None:
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        return None


def inventory_from_nvml() -> GpuInventory | None:
    """Read the host's GPUs through NVML; ``None`` when ``nvidia-ml-py`` or the driver is absent.

    Never raises: a machine without a GPU (development, CI) simply has no NVML inventory and
    falls back to the static one in the config.
    """
    nvml = _load_pynvml()
    if nvml is None:
        return None
    try:
        nvml.nvmlInit()
    except Exception:  # NVMLError, or OSError when libnvidia-ml cannot be loaded
        return None
    try:
        devices: list[GpuDevice] = []
        for index in range(int(nvml.nvmlDeviceGetCount())):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            raw_name = nvml.nvmlDeviceGetName(handle)
            name = raw_name.decode("utf-8", "replace") if isinstance(raw_name, bytes) else raw_name
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            total = int(memory.total)
            free = min(int(memory.free), total)
            devices.append(GpuDevice(index, str(name), total, free))
        return GpuInventory(tuple(devices), source=InventorySource.NVML)
    except Exception:  # a device that vanished or a driver fault mid-query: no usable inventory
        return None
    finally:
        # Shutting down a half-initialised library must not raise either.
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()
