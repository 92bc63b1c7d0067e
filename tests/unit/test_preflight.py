"""Preflight verdicts: VRAM and host-RAM shortfalls named per device (OC-POOL-3002, ORCH-3039)."""

from __future__ import annotations

import pytest

from poolmgr.core.errors import PlacementError
from poolmgr.core.inventory import GpuDevice, GpuInventory
from poolmgr.core.kvcap import ModelShape
from poolmgr.core.placement import LaunchPlan, MaskRequest, plan_launch
from poolmgr.core.preflight import DeviceNeed, preflight
from poolmgr.core.vocab import Cause

GIB = 2**30
MIB = 2**20
MARGIN = 512 * MIB
OVERHEAD = 256 * MIB

# 32 layers x 8 KV heads x 128 dims, f16: 4096 KV bytes per layer per token.
MODEL = ModelShape(32, 8, 128, 2.0, train_ctx=131072, weights_bytes=16 * GIB)
LAYER_TOKEN = 2 * 8 * 128 * 2


def inventory(*free_gib: float) -> GpuInventory:
    return GpuInventory(
        tuple(GpuDevice(i, f"GPU-{i}", 80 * GIB, int(f * GIB)) for i, f in enumerate(free_gib))
    )


def gpu_plan(
    devices: tuple[int, ...], split: tuple[float, ...] | None, ctx: int, inv: GpuInventory
) -> LaunchPlan:
    req = MaskRequest("p", "llamacpp", devices, cpu=False, tensor_split=split)
    return plan_launch(req, ctx, inv, None, slots=1)  # no shape: the plan keeps ctx as asked


def cpu_plan(ctx: int) -> LaunchPlan:
    return plan_launch(
        MaskRequest("c", "llamacpp", (), cpu=True, tensor_split=None), ctx, None, None, slots=1
    )


def test_device_need_shortfall_is_zero_when_there_is_room() -> None:
    assert DeviceNeed(0, need_bytes=10, free_bytes=12).shortfall_bytes == 0
    assert DeviceNeed(0, need_bytes=12, free_bytes=10).shortfall_bytes == 2


def test_oc_pool_3002_a_plan_that_fits_has_no_cause() -> None:
    inv = inventory(80)
    verdict = preflight(gpu_plan((0,), None, 8192, inv), MODEL, inv, 64 * GIB)
    assert verdict.fits is True
    assert verdict.cause is None
    need = 16 * GIB + 32 * LAYER_TOKEN * 8192 + MARGIN
    assert verdict.devices == (DeviceNeed(0, need, 80 * GIB),)
    assert verdict.host_need_bytes == OVERHEAD
    assert "fits" in verdict.message


def test_oc_pool_3002_each_gpu_needs_its_weights_share_plus_kv_share_plus_margin() -> None:
    inv = inventory(24, 80)
    plan = gpu_plan((0, 1), (0.25, 0.75), 16384, inv)
    verdict = preflight(plan, MODEL, inv, 64 * GIB)
    # 8 and 24 layers; weights 4 and 12 GiB.
    small = 4 * GIB + 8 * LAYER_TOKEN * 16384 + MARGIN
    big = 12 * GIB + 24 * LAYER_TOKEN * 16384 + MARGIN
    assert [(d.index, d.need_bytes) for d in verdict.devices] == [(0, small), (1, big)]
    assert verdict.fits


def test_oc_pool_3002_vram_shortfall_is_named_per_device_in_bytes_and_gib() -> None:
    inv = inventory(10, 80)
    plan = gpu_plan((0, 1), (0.5, 0.5), 32768, inv)
    verdict = preflight(plan, MODEL, inv, 64 * GIB)
    need0 = 8 * GIB + 16 * LAYER_TOKEN * 32768 + MARGIN  # 8 GiB + 2 GiB + 0.5 GiB
    short0 = need0 - 10 * GIB
    assert verdict.fits is False
    assert verdict.cause is Cause.VRAM_INSUFFICIENT
    assert verdict.devices[0].shortfall_bytes == short0
    assert verdict.devices[1].shortfall_bytes == 0
    assert f"GPU 0 needs {need0} bytes" in verdict.message
    assert f"short by {short0} bytes ({short0 / GIB:.2f} GiB)" in verdict.message
    assert "GPU 1" not in verdict.message  # only short devices are named


def test_oc_pool_3002_a_plan_on_mask_2_3_checks_the_physical_gpus() -> None:
    inv = inventory(80, 80, 80, 4)
    verdict = preflight(gpu_plan((2, 3), (0.5, 0.5), 4096, inv), MODEL, inv, 64 * GIB)
    assert [d.index for d in verdict.devices] == [2, 3]
    assert verdict.devices[1].free_bytes == 4 * GIB
    assert verdict.cause is Cause.VRAM_INSUFFICIENT


def test_orch_3039_host_ram_shortfall_on_a_gpu_pool_is_the_overhead() -> None:
    inv = inventory(80)
    verdict = preflight(gpu_plan((0,), None, 4096, inv), MODEL, inv, 100 * MIB)
    assert verdict.cause is Cause.HOST_RAM_INSUFFICIENT
    assert verdict.host_shortfall_bytes == OVERHEAD - 100 * MIB
    assert "host RAM" in verdict.message
    assert f"short by {OVERHEAD - 100 * MIB} bytes" in verdict.message


def test_orch_3039_vram_wins_when_both_are_short() -> None:
    inv = inventory(1)
    verdict = preflight(gpu_plan((0,), None, 4096, inv), MODEL, inv, 0)
    assert verdict.cause is Cause.VRAM_INSUFFICIENT
    assert verdict.host_shortfall_bytes == OVERHEAD
    assert "GPU 0" in verdict.message and "host RAM" in verdict.message


def test_oc_pool_3002_cpu_pool_needs_weights_plus_whole_kv_cache_in_host_ram() -> None:
    plan = cpu_plan(8192)
    need = 16 * GIB + 32 * LAYER_TOKEN * 8192 + OVERHEAD
    verdict = preflight(plan, MODEL, None, need - 1)
    assert verdict.devices == ()
    assert verdict.host_need_bytes == need
    assert verdict.host_shortfall_bytes == 1
    assert verdict.cause is Cause.HOST_RAM_INSUFFICIENT
    assert "CPU pool" in verdict.message


def test_cpu_pool_with_enough_host_ram_fits() -> None:
    plan = cpu_plan(8192)
    need = 16 * GIB + 32 * LAYER_TOKEN * 8192 + OVERHEAD
    assert preflight(plan, MODEL, None, need).fits


def test_margin_and_overhead_are_settable() -> None:
    inv = inventory(80)
    plan = gpu_plan((0,), None, 1024, inv)
    verdict = preflight(plan, MODEL, inv, 64 * GIB, margin_bytes=0, host_overhead_bytes=7)
    assert verdict.devices[0].need_bytes == 16 * GIB + 32 * LAYER_TOKEN * 1024
    assert verdict.host_need_bytes == 7


def test_oc_pool_3012_a_gpu_plan_without_an_inventory_is_refused() -> None:
    inv = inventory(80)
    with pytest.raises(PlacementError, match="inventory"):
        preflight(gpu_plan((0,), None, 1024, inv), MODEL, None, 64 * GIB)


def test_oc_pool_3012_a_gpu_plan_naming_a_gpu_the_inventory_lacks_is_refused() -> None:
    plan = gpu_plan((0, 1), (0.5, 0.5), 1024, inventory(80, 80))
    with pytest.raises(PlacementError, match="GPU 1"):
        preflight(plan, MODEL, inventory(80), 64 * GIB)
