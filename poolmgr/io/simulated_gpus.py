"""Simulated GPUs: the static inventory and the stub engine's claim files as the NVML view.

A test mode (``manager.simulate_gpus: true``, OC-GPU-9508) for machines without a GPU: the
static inventory stands in for what NVML lists, and each engine that takes GPU memory says so in
a *claim file* that stands in for NVML's process lists. Only the stub engine writes them. The
view is labelled ``simulated=True``; its UUIDs read ``SIM-GPU-<index>`` and its driver and CUDA
versions ``simulated``, so no report can mistake it for a real host.

The claim-file protocol (the manager and the stub engine both rely on it, and this module is
its one definition):

* the manager puts the claims directory in the environment variable :data:`CLAIMS_ENV` of each
  engine it starts;
* an engine writes ``<dir>/<pid>.json`` = ``{"pid": <pid>, "gpus": {"<physical GPU index>":
  <bytes>}}`` atomically (a temporary file, then ``os.replace``) with :func:`write_claim`, and
  removes it at a clean exit with :func:`remove_claim`;
* the reader counts a claim only while its process is alive (not a zombie); an unreadable or
  garbled file is no claim. :meth:`SimulatedGpus.read_view` never raises.

A GPU's free bytes are its static free bytes less what the live claims on it hold (never
below zero).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import psutil

from poolmgr.core.gpu_truth import GpuReading, GpuView
from poolmgr.core.inventory import GpuInventory

__all__ = ["CLAIMS_ENV", "SIMULATED", "SimulatedGpus", "claim_path", "remove_claim", "write_claim"]

CLAIMS_ENV = "POOLMGR_SIMULATED_GPU_CLAIMS"
"""The environment variable naming the claims directory, set by the manager for its engines."""
SIMULATED = "simulated"
"""The driver and CUDA version of a simulated view."""


def claim_path(claims_dir: Path, pid: int) -> Path:
    """Where the process ``pid`` keeps its claim."""
    return claims_dir / f"{pid}.json"


def write_claim(claims_dir: Path, pid: int, gpus: Mapping[int, int]) -> Path:
    """Write ``pid``'s claim of ``gpus`` (physical index to bytes) atomically; its path."""
    claims_dir.mkdir(parents=True, exist_ok=True)
    body = {"pid": pid, "gpus": {str(index): held for index, held in sorted(gpus.items())}}
    target = claim_path(claims_dir, pid)
    fd, temp = tempfile.mkstemp(prefix=f".{pid}.", suffix=".tmp", dir=claims_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return target


def remove_claim(claims_dir: Path, pid: int) -> None:
    """Remove ``pid``'s claim; best effort (a claim already gone is fine)."""
    with contextlib.suppress(OSError):
        claim_path(claims_dir, pid).unlink()


def _parse(text: str) -> tuple[int, dict[int, int]] | None:
    """The PID and its claimed bytes per GPU, or ``None`` for a garbled claim."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    pid, gpus = body.get("pid"), body.get("gpus")
    if type(pid) is not int or pid <= 0 or not isinstance(gpus, dict):
        return None
    claimed: dict[int, int] = {}
    for key, held in gpus.items():
        if not (isinstance(key, str) and key.isdecimal()) or type(held) is not int or held < 0:
            return None
        claimed[int(key)] = held
    return pid, claimed


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:  # gone, or not ours to look at: no claim we can vouch for
        return False


class SimulatedGpus:
    """The simulated view of a static inventory plus the live claims in ``claims_dir``."""

    def __init__(self, inventory: GpuInventory, claims_dir: Path) -> None:
        self.inventory = inventory
        self.claims_dir = claims_dir

    def claims(self) -> dict[int, dict[int, int]]:
        """PID to its claimed bytes per GPU, for the live, well-formed claim files."""
        try:
            files = sorted(self.claims_dir.glob("*.json"))
        except OSError:
            return {}
        found: dict[int, dict[int, int]] = {}
        for path in files:
            try:
                parsed = _parse(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):  # removed meanwhile, or unreadable
                continue
            if parsed is not None and _alive(parsed[0]):
                found[parsed[0]] = parsed[1]
        return found

    def read_view(self) -> GpuView:
        """The static GPUs with the live claims as their holders (``simulated=True``)."""
        claims = self.claims()
        readings = []
        for device in self.inventory.devices:
            holders = {
                pid: gpus[device.index] for pid, gpus in claims.items() if device.index in gpus
            }
            readings.append(
                GpuReading(
                    index=device.index,
                    name=device.name,
                    uuid=f"SIM-GPU-{device.index}",
                    total_bytes=device.total_bytes,
                    free_bytes=max(0, device.free_bytes - sum(holders.values())),
                    holders=holders,
                )
            )
        return GpuView(
            tuple(readings), driver_version=SIMULATED, cuda_version=SIMULATED, simulated=True
        )
