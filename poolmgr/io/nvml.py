"""The host's GPU inventory read through NVML (``nvidia-ml-py``).

Returns ``None`` when the library or the driver is absent, so machines without a GPU fall
back to the config's static inventory (OC-POOL-3020).
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

from poolmgr.core.inventory import GpuDevice, GpuInventory, InventorySource


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
