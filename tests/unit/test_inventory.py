"""GPU inventory values and the NVML reader (OC-POOL-3020, OC-POOL-3012)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.nvml_double import NvmlDouble, load_double
from poolmgr.core.inventory import GpuDevice, GpuInventory, InventorySource
from poolmgr.io.nvml import inventory_from_nvml

GIB = 2**30


def gpu(index: int, total_gib: int = 24, free_gib: int | None = None) -> GpuDevice:
    free = total_gib if free_gib is None else free_gib
    return GpuDevice(index, f"GPU-{index}", total_gib * GIB, free * GIB)


# --- GpuDevice ------------------------------------------------------------------------------------


def test_device_refuses_free_bytes_above_total() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        GpuDevice(0, "A", total_bytes=10, free_bytes=11)


@pytest.mark.parametrize(
    ("index", "total", "free"),
    [(-1, 10, 5), (0, -1, 0), (0, 10, -1)],
)
def test_device_refuses_negative_values(index: int, total: int, free: int) -> None:
    with pytest.raises(ValueError):
        GpuDevice(index, "A", total_bytes=total, free_bytes=free)


def test_device_accepts_a_full_gpu_with_zero_free_bytes() -> None:
    assert GpuDevice(0, "A", total_bytes=10, free_bytes=0).free_bytes == 0


# --- GpuInventory ---------------------------------------------------------------------------------


def test_inventory_sorts_devices_by_index() -> None:
    inventory = GpuInventory((gpu(3), gpu(0), gpu(1)))
    assert [d.index for d in inventory.devices] == [0, 1, 3]


def test_inventory_refuses_a_repeated_index() -> None:
    with pytest.raises(ValueError, match="twice"):
        GpuInventory((gpu(1), gpu(1, total_gib=80)))


def test_inventory_get_returns_the_device_or_none_for_a_missing_index() -> None:
    inventory = GpuInventory((gpu(0, 24), gpu(2, 80)))
    found = inventory.get(2)
    assert found is not None and found.total_bytes == 80 * GIB
    assert inventory.get(1) is None


def test_inventory_indices_lists_every_physical_index() -> None:
    assert GpuInventory((gpu(2), gpu(5))).indices() == frozenset({2, 5})


def test_empty_inventory_has_no_indices() -> None:
    assert GpuInventory(()).indices() == frozenset()


def test_inventory_source_defaults_to_static_and_rejects_unknown_sources() -> None:
    source: str = GpuInventory(()).source
    assert source == "static"
    assert GpuInventory((), source="nvml").source is InventorySource.NVML
    with pytest.raises(ValueError, match="source"):
        GpuInventory((), source="guess")


# --- inventory_from_nvml --------------------------------------------------------------------------


DATA = Path(__file__).resolve().parents[1] / "data" / "nvml"
MIB = 2**20


def _double(monkeypatch: pytest.MonkeyPatch, recording: str) -> NvmlDouble:
    """The recorded NVML double (harness/nvml_double.py) installed as ``pynvml``."""
    double = load_double(DATA / f"{recording}.json")
    monkeypatch.setitem(sys.modules, "pynvml", double.module)
    return double


@pytest.fixture
def no_pynvml(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A None entry in sys.modules makes `import pynvml` raise ImportError.
    monkeypatch.setitem(sys.modules, "pynvml", None)
    yield


def test_nvml_inventory_is_none_when_the_library_is_absent(no_pynvml: None) -> None:
    """OC-POOL-3012: no GPU library means no NVML inventory, never an exception."""
    assert inventory_from_nvml() is None


def test_nvml_inventory_is_none_when_the_driver_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    _double(monkeypatch, "init_fails")
    assert inventory_from_nvml() is None


def test_nvml_inventory_reads_name_total_and_free_bytes_per_gpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    double = _double(monkeypatch, "two_gpus")
    inventory = inventory_from_nvml()
    assert inventory is not None
    assert inventory.source == InventorySource.NVML
    total = 81559 * MIB
    assert inventory.devices == (
        GpuDevice(0, "NVIDIA H100 80GB HBM3", total, total - (519 + 566) * MIB),
        GpuDevice(1, "NVIDIA H100 80GB HBM3", total, total - (519 + 300) * MIB),
    )
    assert double.shutdown_calls == 1


def test_nvml_inventory_is_none_when_a_device_query_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    double = _double(monkeypatch, "gpu_lost")
    assert inventory_from_nvml() is None
    assert double.shutdown_calls == 1


def test_nvml_inventory_on_this_machine_never_raises() -> None:
    """Whatever this host has (usually no GPU in CI), the call returns cleanly."""
    result = inventory_from_nvml()
    assert result is None or isinstance(result, GpuInventory)
