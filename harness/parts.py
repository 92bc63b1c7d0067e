"""The typed parts of the scenario world that do not drive pools: the standalone backoff and
breaker, placement and model files, one pool's lease table, engine output, config, NVML and
the gate projects (:class:`harness.world.PoolWorld` composes them).

Split from :mod:`harness.world` so that each module stays readable; the world re-exports every
part, so steps import them from either.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.gpu_run import GpuRun
from poolmgr.core.backoff import Backoff
from poolmgr.core.breaker import CircuitBreaker
from poolmgr.core.config import Config
from poolmgr.core.gpu_truth import GpuView
from poolmgr.core.inventory import GpuDevice, GpuInventory
from poolmgr.core.kvcap import ModelShape
from poolmgr.core.leases import Lease, LeaseTable
from poolmgr.core.placement import LaunchPlan, MaskRequest, PlacementProblem
from poolmgr.core.preflight import PreflightVerdict
from poolmgr.core.vocab import Cause

if TYPE_CHECKING:  # types only: these modules load requests, prometheus and the HTTP server
    from harness.canary import Transcript
    from poolmgr.telemetry.metrics import PoolMetrics


GIB = 2**30


@dataclass
class RetryPart:
    """A standalone restart backoff and the delays it drew; a fleet of backoffs that fail
    together; a standalone circuit breaker; a refused policy setting."""

    backoff: Backoff | None = None
    delays: list[int] = field(default_factory=list)
    fleet: list[Backoff] = field(default_factory=list)
    fleet_delays: list[list[int]] = field(default_factory=list)
    """One list per failure round: the delay each backoff of the fleet drew."""
    breaker: CircuitBreaker | None = None
    answers: list[bool] = field(default_factory=list)
    """The standalone breaker's answers to the starts asked for, in order."""
    refusal: ValueError | None = None
    """Why the latest policy settings were refused (``None`` when accepted)."""
    settings_tried: bool = False

    def current(self) -> Backoff:
        assert self.backoff is not None, "setup: describe the backoff first"
        return self.backoff

    def current_breaker(self) -> CircuitBreaker:
        assert self.breaker is not None, "setup: describe the circuit breaker first"
        return self.breaker


KeyValue = int | bool | str | bytes | list[int]
"""A GGUF header value: an integer, a flag, a text (or raw text bytes), per-layer integers."""


@dataclass
class ModelFileDraft:
    """A GGUF model file a scenario describes: its header keys, tensor sizes and damage.

    Written by the GGUF steps when the file is read; ``exists=False`` means no file at all.
    """

    keys: dict[str, KeyValue] = field(default_factory=dict)
    tensor_bytes: list[int] = field(default_factory=list)
    exists: bool = True
    keep_bytes: int | None = None
    magic: bytes | None = None
    version: int | None = None
    path: Path | None = None


@dataclass
class PlacementPart:
    """GPUs, device masks, a model shape, and the plan and preflight verdict made from them."""

    gpus: dict[int, int] = field(default_factory=dict)
    totals: dict[int, int] = field(default_factory=dict)
    """A GPU's memory size where a scenario names it; otherwise 80 GiB (or its free bytes)."""
    masks: dict[str, MaskRequest] = field(default_factory=dict)
    problems: list[PlacementProblem] = field(default_factory=list)
    shape: ModelShape | None = None
    model_file: ModelFileDraft | None = None
    plan: LaunchPlan | None = None
    verdict: PreflightVerdict | None = None
    host_free: int | None = None
    """Free host RAM (bytes) the supervisor's launch checks see; ``None``: no checks described."""

    def inventory(self) -> GpuInventory | None:
        if not self.gpus:
            return None
        return GpuInventory(
            tuple(
                GpuDevice(i, f"gpu{i}", self.totals.get(i, max(free, 80 * GIB)), free)
                for i, free in sorted(self.gpus.items())
            )
        )


@dataclass
class LeasePart:
    """One pool's lease bookkeeping on its own (no registry) and the leases its clients hold.

    ``held`` maps a client's name in the scenario to the lease it was granted, ``ended`` the
    leases the last request ended; ``draws`` counts the lease-id draws taken from the id source
    (``draws_before``: when the last grant was asked for), ``request`` what the last one was.
    """

    table: LeaseTable | None = None
    held: dict[str, Lease] = field(default_factory=dict)
    ended: list[Lease] = field(default_factory=list)
    draws: int = 0
    draws_before: int = 0
    request: str = ""

    def current(self) -> LeaseTable:
        assert self.table is not None, "setup: describe the lease table first"
        return self.table


@dataclass
class OutputPart:
    """An engine's output as the manager read it: the lines written, a line's verdict (``None``:
    harmless), and the cause and message it gave an exit."""

    tail: list[str] = field(default_factory=list)
    gpu_pool: bool = True
    line_cause: Cause | None = None
    exit_cause: Cause | None = None
    exit_message: str = ""


@dataclass
class ConfigPart:
    """A config file's text and name, and the config parsed from it (``None`` if refused)."""

    text: str = ""
    source: str = "pools.yaml"
    parsed: Config | None = None


@dataclass
class GpuPart:
    """What NVML showed of the real GPUs (the ``@gpu`` scenarios) or of a recording; the driver's
    view a decision scenario describes, the engine's process tree and what the GPU checks made
    of them."""

    inventory: GpuInventory | None = None
    nvml: Any = None
    """The recorded NVML answers (:class:`harness.nvml_double.NvmlDouble`) a scenario replays."""
    view: GpuView | None = None
    """The NVML view read from a recording, or the view a decision scenario describes."""
    tree: frozenset[int] = frozenset()
    verdict: str | None = None
    """A GPU check's refusal (``None``: the pool may start, or the engine is vouched for)."""
    run: GpuRun = field(default_factory=GpuRun)
    """Time marks and helper processes of a ``@gpu @process`` scenario (harness.gpu_engine)."""


@dataclass
class GatePart:
    """A throw-away project and what the gates, checks, metrics and canary client observed.

    The private temp dir is made on first use and removed when the part goes away.
    """

    project: dict[str, Any] = field(default_factory=dict)
    violations: list[str] | None = None
    metrics: PoolMetrics | None = None
    exit_code: int | None = None
    output: str = ""
    planted: str = ""
    transcript: Transcript | None = None
    _tmp: Path | None = None

    @property
    def tmp(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="gate-world-"))
            weakref.finalize(self, shutil.rmtree, self._tmp, ignore_errors=True)
        return self._tmp
