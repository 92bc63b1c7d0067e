"""GPU truth: what the driver's view says about a GPU pool, before and after its engine starts.

Two decisions, both pure (the view is read by :mod:`poolmgr.io.nvml` or
:mod:`poolmgr.io.simulated_gpus`; this module only judges it):

* :func:`missing_gpus` / :func:`serve_refusal`: at ``serve`` a GPU pool's mask is checked
  against the NVML view, not the static inventory; a GPU the view lacks, or no view at all,
  refuses the pool before launch with ``placement_invalid`` (OC-GPU-9502), a cause the lifecycle
  does not retry (OC-GPU-9503);
* :func:`judge_engine`: after the engine's health probe succeeds, the view must show the
  engine's process tree holding memory on at least one GPU of the mask and on none outside it;
  anything else is a CPU spillover (OC-GPU-9504), and so is a view that cannot vouch: none at
  all, or a GPU of the mask whose process list is unknown (OC-GPU-9507).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from poolmgr.core.inventory import GpuDevice, GpuInventory, InventorySource

__all__ = ["GpuReading", "GpuView", "judge_engine", "missing_gpus", "serve_refusal"]


@dataclass(frozen=True)
class GpuReading:
    """One GPU as NVML (or the simulated view) reports it at one moment."""

    index: int
    name: str
    uuid: str
    total_bytes: int
    free_bytes: int
    holders: Mapping[int, int | None] | None
    """Process ID to the bytes it holds on this GPU (``None``: NVML did not say how much);
    ``None`` for the whole map when the process list could not be read."""


@dataclass(frozen=True)
class GpuView:
    """The driver's view of the host's GPUs (OC-GPU-9501)."""

    gpus: tuple[GpuReading, ...]
    driver_version: str
    cuda_version: str
    simulated: bool
    """Read from the static inventory and claim files (``manager.simulate_gpus``, OC-GPU-9508)."""

    def inventory(self) -> GpuInventory:
        """The GPUs as an inventory for placement and preflight."""
        source = InventorySource.STATIC if self.simulated else InventorySource.NVML
        devices = (GpuDevice(g.index, g.name, g.total_bytes, g.free_bytes) for g in self.gpus)
        return GpuInventory(tuple(devices), source=source)

    def reading(self, index: int) -> GpuReading | None:
        """The GPU with ``index``, or ``None`` when the view lacks it."""
        for gpu in self.gpus:
            if gpu.index == index:
                return gpu
        return None


def missing_gpus(mask: Collection[int], view: GpuView | None) -> tuple[int, ...]:
    """The GPU indices of ``mask`` that ``view`` lacks, in order; all of them without a view."""
    present = {g.index for g in view.gpus} if view is not None else set()
    return tuple(sorted(i for i in set(mask) if i not in present))


def serve_refusal(pool_id: str, mask: Collection[int], view: GpuView | None) -> str | None:
    """Why a GPU pool may not start at ``serve`` (OC-GPU-9502), or ``None`` when it may."""
    missing = missing_gpus(mask, view)
    if not missing:
        return None
    names = ", ".join(f"GPU {i}" for i in missing)
    if view is None:
        return (
            f"GPU pool {pool_id} needs {names} but NVML shows no GPU on this host (no driver "
            "or no nvidia-ml-py); the static inventory is only for plan, check-config and "
            "manager.simulate_gpus"
        )
    shown = ", ".join(str(g.index) for g in view.gpus) or "none"
    return f"GPU pool {pool_id} needs {names}, which NVML does not show (GPUs shown: {shown})"


def _engine_gpus(view: GpuView, tree: Collection[int]) -> set[int]:
    """The GPUs on which a process of ``tree`` holds memory."""
    found: set[int] = set()
    for gpu in view.gpus:
        if gpu.holders is None:
            continue
        for pid, held in gpu.holders.items():
            if pid in tree and (held is None or held > 0):
                found.add(gpu.index)
    return found


def _listed(indices: Collection[int]) -> str:
    return "[" + ", ".join(str(i) for i in sorted(indices)) + "]"


def judge_engine(mask: Collection[int], view: GpuView | None, tree: Collection[int]) -> str | None:
    """Whether a GPU pool's engine really runs on its GPUs (OC-GPU-9504, OC-GPU-9507).

    ``mask`` is the pool's device mask, ``tree`` the process IDs of the engine's process tree.
    ``None`` when the view shows the tree holding memory on at least one GPU of the mask and on
    none outside it; otherwise the message for the ``cpu_spillover`` failure.
    """
    wanted = set(mask)
    if view is None:
        return (
            f"cannot confirm that the engine runs on GPUs {_listed(wanted)}: NVML shows no GPU "
            "after the engine started"
        )
    unknown = sorted(g.index for g in view.gpus if g.index in wanted and g.holders is None)
    if unknown:
        return (
            f"cannot confirm that the engine runs on GPUs {_listed(wanted)}: NVML cannot list "
            f"the processes of GPUs {_listed(unknown)}"
        )
    found = _engine_gpus(view, tree)
    outside = found - wanted
    if outside:
        return (
            f"the engine holds memory on GPUs {_listed(outside)} outside its mask "
            f"{_listed(wanted)} (found on {_listed(found)})"
        )
    if not found:
        return (
            f"the engine holds no memory on its GPUs {_listed(wanted)} (found on none): it "
            "would serve from the CPU"
        )
    return None
