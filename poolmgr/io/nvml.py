"""The host's GPUs as NVML (``nvidia-ml-py``) shows them: the NVML view (OC-GPU-9501).

:func:`read_view` reads, for each GPU, its index, name, UUID, total and free bytes and the
processes holding memory on it (compute and graphics contexts, with the bytes each holds), plus
the driver and CUDA versions. It never raises: without the library, without a driver, or when a
query fails mid-way there is no view (``None``), never a partial list of GPUs. A GPU whose
process list cannot be read (some boards answer "not supported") keeps its place with
``holders=None``, and the post-launch check then refuses to vouch for an engine on it
(OC-GPU-9507).

:func:`inventory_from_nvml` is the view as a placement inventory (OC-POOL-3020).
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

from poolmgr.core.gpu_truth import GpuReading, GpuView
from poolmgr.core.inventory import GpuInventory

__all__ = ["inventory_from_nvml", "read_view"]


def _load_pynvml() -> Any | None:
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        return None


def _text(raw: object) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


# NVML's marker for a figure it does not have (nvmlDeviceGetComputeRunningProcesses' usedGpuMemory
# under WDDM or without the process' namespace); nvidia-ml-py turns it into None, but a binding
# that passes it through must not read as 16 EiB held.
_NOT_AVAILABLE = 2**64 - 1


def _used(proc: Any) -> int | None:
    used = getattr(proc, "usedGpuMemory", None)
    if used is None or isinstance(used, bool):
        return None
    amount = int(used)
    return None if amount >= _NOT_AVAILABLE or amount < 0 else amount


def _holders(nvml: Any, handle: Any) -> dict[int, int | None] | None:
    """PID to bytes held, over compute and graphics contexts; ``None`` when NVML cannot say.

    A process with both kinds of context is in both lists with the same per-process figure, so
    the larger figure is kept, not the sum; an unknown figure gives way to a known one.
    """
    held: dict[int, int | None] = {}
    try:
        listed = [
            *nvml.nvmlDeviceGetComputeRunningProcesses(handle),
            *nvml.nvmlDeviceGetGraphicsRunningProcesses(handle),
        ]
    except Exception:  # NVMLError_NotSupported and the like: the list is unknown, not empty
        return None
    for proc in listed:
        pid, amount = int(proc.pid), _used(proc)
        before = held.get(pid)
        held[pid] = amount if before is None else max(before, amount or 0)
    return held


def _cuda_version(nvml: Any) -> str:
    try:
        raw = int(nvml.nvmlSystemGetCudaDriverVersion_v2())
    except Exception:  # an old driver without the call: the version is simply not known
        return "unknown"
    return f"{raw // 1000}.{(raw % 1000) // 10}"


def _reading(nvml: Any, index: int) -> GpuReading:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    total = int(memory.total)
    return GpuReading(
        index=index,
        name=_text(nvml.nvmlDeviceGetName(handle)),
        uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
        total_bytes=total,
        free_bytes=min(int(memory.free), total),
        holders=_holders(nvml, handle),
    )


def read_view() -> GpuView | None:
    """The NVML view of this host's GPUs, or ``None`` when NVML cannot give one."""
    nvml = _load_pynvml()
    if nvml is None:
        return None
    try:
        nvml.nvmlInit()
    except Exception:  # NVMLError, or OSError when libnvidia-ml cannot be loaded
        return None
    try:
        gpus = tuple(_reading(nvml, i) for i in range(int(nvml.nvmlDeviceGetCount())))
        driver = _text(nvml.nvmlSystemGetDriverVersion())
        return GpuView(
            gpus, driver_version=driver, cuda_version=_cuda_version(nvml), simulated=False
        )
    except Exception:  # a device that vanished or a driver fault mid-query: no usable view
        return None
    finally:
        # Shutting down a half-initialised library must not raise either.
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()


def inventory_from_nvml() -> GpuInventory | None:
    """Read the host's GPUs through NVML; ``None`` when ``nvidia-ml-py`` or the driver is absent.

    Never raises: a machine without a GPU (development, CI) simply has no NVML inventory and
    falls back to the static one in the config.
    """
    view = read_view()
    return view.inventory() if view is not None else None
