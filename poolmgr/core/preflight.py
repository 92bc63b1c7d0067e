"""Preflight: does a launch plan fit in the GPUs' free memory and the host's free RAM?

Decides, before the engine is started, whether the model's weights and KV cache at the planned
context of all its slots together (``ctx x slots``, OC-POOL-3070) fit on each visible GPU
(weights share + KV share + a safety margin) and in host RAM. When they do not, preload must
fail fast with the shortfall named per device and the cause ``vram_insufficient`` or
``host_ram_insufficient`` (OC-POOL-3002, ORCH-3039), instead of the engine crashing with an
OOM, or worse, quietly spilling onto the CPU (OC-POOL-3012).

Pure: free memory is passed in (the shell reads it from NVML and psutil).
"""

from __future__ import annotations

from dataclasses import dataclass

from poolmgr.core.errors import PlacementError
from poolmgr.core.inventory import GpuInventory
from poolmgr.core.kvcap import (
    ModelShape,
    kv_bytes_per_gpu,
    kv_bytes_per_token,
    weights_bytes_per_gpu,
)
from poolmgr.core.placement import LaunchPlan
from poolmgr.core.vocab import Cause

_GIB = 2**30


def _gib(n: int) -> str:
    return f"{n / _GIB:.2f} GiB"


@dataclass(frozen=True)
class DeviceNeed:
    """What one GPU must hold and what it has free."""

    index: int
    need_bytes: int
    free_bytes: int

    @property
    def shortfall_bytes(self) -> int:
        return max(0, self.need_bytes - self.free_bytes)


@dataclass(frozen=True)
class PreflightVerdict:
    """Whether a plan fits; when not, the cause and a message naming every shortfall."""

    fits: bool
    devices: tuple[DeviceNeed, ...]
    host_need_bytes: int
    host_free_bytes: int
    cause: Cause | None
    message: str

    @property
    def host_shortfall_bytes(self) -> int:
        return max(0, self.host_need_bytes - self.host_free_bytes)


def _describe(label: str, need: int, free: int) -> str:
    short = max(0, need - free)
    text = f"{label} needs {need} bytes ({_gib(need)}), {free} bytes ({_gib(free)}) free"
    if short:
        text += f", short by {short} bytes ({_gib(short)})"
    return text


def preflight(
    plan: LaunchPlan,
    shape: ModelShape,
    inventory: GpuInventory | None,
    host_free_bytes: int,
    *,
    margin_bytes: int = 512 * 2**20,
    host_overhead_bytes: int = 256 * 2**20,
) -> PreflightVerdict:
    """Check ``plan`` against free VRAM and host RAM.

    GPU pool: each visible GPU needs its weights share + its KV share at ``plan.ctx_total`` +
    ``margin_bytes``; the host needs ``host_overhead_bytes``. CPU pool: the host needs all
    weights + the whole KV cache + the overhead. When both are short, the cause is
    ``VRAM_INSUFFICIENT``. A GPU plan without an inventory, or naming a GPU the inventory
    lacks, raises :class:`PlacementError`: the GPU path is unavailable (OC-POOL-3012).
    """
    if host_free_bytes < 0:
        raise ValueError(f"host_free_bytes must be >= 0, got {host_free_bytes}")
    needs: list[DeviceNeed] = []
    if plan.cpu:
        kv_total = kv_bytes_per_token(shape) * plan.ctx_total
        host_need = shape.weights_bytes + kv_total + host_overhead_bytes
    else:
        if inventory is None:
            raise PlacementError(
                f"pool {plan.pool_id}: no GPU inventory to check the plan against",
                pool_id=plan.pool_id,
            )
        ratios = plan.tensor_split or (1.0,) * len(plan.visible_devices)
        weights = weights_bytes_per_gpu(shape, ratios)
        kv = kv_bytes_per_gpu(shape, plan.ctx_total, ratios)
        for index, weight, cache in zip(plan.visible_devices, weights, kv, strict=True):
            device = inventory.get(index)
            if device is None:
                raise PlacementError(
                    f"pool {plan.pool_id}: GPU {index} is not in the inventory",
                    pool_id=plan.pool_id,
                )
            needs.append(DeviceNeed(index, weight + cache + margin_bytes, device.free_bytes))
        host_need = host_overhead_bytes

    vram_short = [d for d in needs if d.shortfall_bytes > 0]
    host_short = host_need > host_free_bytes
    cause: Cause | None = None
    if vram_short:
        cause = Cause.VRAM_INSUFFICIENT
    elif host_short:
        cause = Cause.HOST_RAM_INSUFFICIENT

    parts = [_describe(f"GPU {d.index}", d.need_bytes, d.free_bytes) for d in needs]
    parts.append(_describe("host RAM", host_need, host_free_bytes))
    where = "CPU pool" if plan.cpu else "GPU pool"
    if cause is None:
        message = f"pool {plan.pool_id} fits at {plan.ctx_phrase()} ({where}): " + "; ".join(parts)
    else:
        short_parts = [_describe(f"GPU {d.index}", d.need_bytes, d.free_bytes) for d in vram_short]
        if host_short:
            short_parts.append(_describe("host RAM", host_need, host_free_bytes))
        message = (
            f"pool {plan.pool_id} does not fit at {plan.ctx_phrase()} ({where}, {cause}): "
            + "; ".join(short_parts)
        )
    return PreflightVerdict(
        fits=cause is None,
        devices=tuple(needs),
        host_need_bytes=host_need,
        host_free_bytes=host_free_bytes,
        cause=cause,
        message=message,
    )
