"""Which scenarios need a real GPU, and why they are skipped on machines without one.

Scenarios tagged ``@gpu`` prove what only real hardware can show (the NVML inventory, VRAM
numbers). On a machine where NVML reports no device they are reported as *skipped with a
reason* by both runners (``environment.py`` for behave, ``tests/bdd/conftest.py`` for
pytest-bdd); they never pass silently.
"""

from __future__ import annotations

import functools

from poolmgr.io.nvml import inventory_from_nvml

GPU_TAG = "gpu"


@functools.cache
def gpu_skip_reason() -> str | None:
    """``None`` when NVML lists at least one GPU; otherwise why GPU scenarios cannot run."""
    inventory = inventory_from_nvml()
    if inventory is None:
        return "needs a GPU: NVML (nvidia-ml-py and an NVIDIA driver) is not available here"
    if not inventory.devices:
        return "needs a GPU: NVML reports no device on this machine"
    return None
