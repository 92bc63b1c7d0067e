"""Steps of the ``@gpu`` scenarios: what only a real GPU can show (OC-POOL-3020, OC-POOL-3030).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from harness.registry import step
from harness.world import PoolWorld
from poolmgr.core.inventory import GpuInventory
from poolmgr.io.nvml import inventory_from_nvml


@step("when", "the GPU inventory is read from NVML")
def read_nvml(world: PoolWorld) -> None:
    world.gpu.inventory = inventory_from_nvml()


@step("then", "the inventory lists every GPU with its name, total and free memory")
def then_nvml_lists_gpus(world: PoolWorld) -> None:
    inventory = world.gpu.inventory
    assert isinstance(inventory, GpuInventory), "NVML gave no inventory"
    assert inventory.devices, "NVML lists no GPU"
    for device in inventory.devices:
        assert device.name, f"GPU {device.index} has no name"
        assert 0 < device.free_bytes <= device.total_bytes, f"GPU {device.index}: {device}"
