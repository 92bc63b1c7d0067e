"""What a ``@gpu @process`` scenario keeps between its steps (OC-GPU-9509, OC-GPU-9510).

Standard library only, so the world (:mod:`harness.parts`) can hold it without loading the
HTTP server or NVML: the heavy helpers live in :mod:`harness.gpu_engine`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["GpuRun"]


@dataclass
class GpuRun:
    """Marks in time and the helper processes of one GPU scenario."""

    started_at: float | None = None
    """``time.monotonic()`` when the scenario started its manager."""
    killed_at: float | None = None
    """``time.monotonic()`` when the scenario killed an engine with SIGKILL."""
    hog: subprocess.Popen[str] | None = None
    """The process holding GPU memory for the VRAM preflight scenario, stopped with the world."""
    hog_free_bytes: int | None = None
    """Free bytes of the GPU the hog reported after it took its share."""
    folder: Path | None = None
    """A private temp folder (the hidden NVML, the GPU check's output), removed with the world."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment of the commands the scenario runs (``PYTHONPATH`` hiding NVML)."""
    check: subprocess.CompletedProcess[str] | None = None
    """How ``bench/gpu/run.sh`` ended in this scenario."""
