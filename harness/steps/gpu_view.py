"""Steps that read the NVML view from recorded NVML answers (OC-GPU-9501).

The recording stands in for the host's NVML library (the outside world) through
:mod:`harness.nvml_double`, installed as ``pynvml`` only while the When-step reads the view with
the real adapter, :func:`poolmgr.io.nvml.read_view`.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from harness.assertions import assert_equal
from harness.nvml_double import NvmlDouble, load_double
from harness.registry import step
from harness.world import PoolWorld
from poolmgr.core.gpu_truth import GpuReading, GpuView
from poolmgr.io.nvml import inventory_from_nvml, read_view

_T = TypeVar("_T")

RECORDINGS = Path(__file__).resolve().parents[2] / "tests" / "data" / "nvml"


def _double(world: PoolWorld) -> NvmlDouble:
    double = world.gpu.nvml
    assert isinstance(double, NvmlDouble), "no NVML recording was given"
    return double


def _view(world: PoolWorld) -> GpuView:
    view = world.gpu.view
    assert isinstance(view, GpuView), "NVML gave no view"
    return view


def _gpu(world: PoolWorld, index: int) -> GpuReading:
    reading = _view(world).reading(index)
    assert reading is not None, f"the view has no GPU {index}"
    return reading


@step("given", 'the NVML answers recorded in "{name}"')
def given_recording(world: PoolWorld, name: str) -> None:
    world.gpu.nvml = load_double(RECORDINGS / f"{name}.json")


def _replayed(world: PoolWorld, read: Callable[[], _T]) -> _T:
    """``read()`` with the recording installed as ``pynvml``, as the adapter imports it."""
    before = sys.modules.get("pynvml")
    sys.modules["pynvml"] = _double(world).module
    try:
        return read()
    finally:
        if before is None:
            sys.modules.pop("pynvml", None)
        else:
            sys.modules["pynvml"] = before


@step("when", "the NVML view is read")
def read_the_view(world: PoolWorld) -> None:
    world.gpu.view = _replayed(world, read_view)


@step("when", "placement reads its inventory from NVML")
def read_the_inventory(world: PoolWorld) -> None:
    world.gpu.inventory = _replayed(world, inventory_from_nvml)


@step("then", 'the NVML view lists the GPUs "{indices}"')
def then_gpus(world: PoolWorld, indices: str) -> None:
    want = [int(i) for i in indices.split(",")]
    assert_equal([g.index for g in _view(world).gpus], want, "GPU indices in the view")


@step("then", 'GPU {index:d} of the view is "{name}" with UUID "{uuid}"')
def then_name_uuid(world: PoolWorld, index: int, name: str, uuid: str) -> None:
    gpu = _gpu(world, index)
    assert_equal((gpu.name, gpu.uuid), (name, uuid), f"name and UUID of GPU {index}")


@step("then", "GPU {index:d} of the view has {total:d} bytes in all and {free:d} bytes free")
def then_memory(world: PoolWorld, index: int, total: int, free: int) -> None:
    gpu = _gpu(world, index)
    assert_equal((gpu.total_bytes, gpu.free_bytes), (total, free), f"memory of GPU {index}")


@step("then", "on GPU {index:d} of the view the process {pid:d} holds {held:d} bytes")
def then_holds(world: PoolWorld, index: int, pid: int, held: int) -> None:
    holders = _gpu(world, index).holders
    assert holders is not None, f"the holders of GPU {index} are unknown"
    assert_equal(dict(holders), {pid: held}, f"holders of GPU {index}")


@step("then", "on GPU {index:d} of the view the process {pid:d} holds an unknown amount")
def then_holds_unknown(world: PoolWorld, index: int, pid: int) -> None:
    holders = _gpu(world, index).holders
    assert holders is not None, f"the holders of GPU {index} are unknown"
    assert_equal(dict(holders), {pid: None}, f"holders of GPU {index}")


@step("then", "GPU {index:d} of the view has no process holding memory")
def then_no_holder(world: PoolWorld, index: int) -> None:
    holders = _gpu(world, index).holders
    assert_equal(None if holders is None else dict(holders), {}, f"holders of GPU {index}")


@step("then", "the holders of GPU {index:d} of the view are unknown")
def then_holders_unknown(world: PoolWorld, index: int) -> None:
    assert_equal(_gpu(world, index).holders, None, f"holders of GPU {index}")


@step("then", 'the view names the driver "{driver}" and CUDA "{cuda}"')
def then_versions(world: PoolWorld, driver: str, cuda: str) -> None:
    view = _view(world)
    assert_equal((view.driver_version, view.cuda_version), (driver, cuda), "driver and CUDA")


@step("then", "the NVML library was shut down after it was started")
def then_shut_down(world: PoolWorld) -> None:
    double = _double(world)
    assert_equal((double.init_calls, double.shutdown_calls), (1, 1), "nvmlInit and nvmlShutdown")


@step("then", "there is no NVML view")
def then_no_view(world: PoolWorld) -> None:
    assert_equal(world.gpu.view, None, "the NVML view")


@step("then", 'on GPU {index:d} of the view the processes hold "{holders}"')
def then_processes_hold(world: PoolWorld, index: int, holders: str) -> None:
    held = _gpu(world, index).holders
    assert held is not None, f"the holders of GPU {index} are unknown"
    want: dict[int, int | None] = {}
    for item in holders.split(","):
        pid, amount = item.split(":")
        want[int(pid)] = None if amount.strip() == "unknown" else int(amount)
    assert_equal(dict(held), want, f"holders of GPU {index}")


@step("then", "the view says it was read from NVML, not simulated")
def then_not_simulated(world: PoolWorld) -> None:
    assert_equal(_view(world).simulated, False, "the view's simulated flag")


@step("then", 'the inventory placement reads lists GPU {index:d} "{name}" with {free:d} bytes free')
def then_inventory(world: PoolWorld, index: int, name: str, free: int) -> None:
    inventory = world.gpu.inventory
    assert inventory is not None, "no inventory was read from NVML"
    listed = [(d.index, d.name, d.free_bytes) for d in inventory.devices]
    assert_equal(listed, [(index, name, free)], "the inventory read from NVML")


@step("then", "the inventory placement reads is none")
def then_no_inventory(world: PoolWorld) -> None:
    assert_equal(world.gpu.inventory, None, "the inventory read from NVML")
