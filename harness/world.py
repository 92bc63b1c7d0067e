"""The scenario world: one typed part per area of what a scenario sets up, does and observes.

A :class:`PoolWorld` plays the supervisor's part around the pure decision core: it builds a
registry from a small generated config, feeds lifecycle events, carries out the actions the
machine asks for that a real supervisor would (an ordered spawn first passes the launch checks
a scenario described, as the supervisor's do, and is then launched and, unless the scenario
reports launches itself, answered with "engine started", as the supervisor does once the
process exists), records every action and every typed refusal, and drives time with a
:class:`~poolmgr.core.clock.ManualClock` only (a five-minute backoff cap is checked in
milliseconds). Randomness comes from seeded :class:`random.Random` instances.

What a scenario keeps is split into typed parts, one per area, composed in the world (no
attribute is ever attached with ``setattr``): :class:`PoolsPart` (pools, their registry and
the actions it ordered), :class:`RetryPart` (a standalone backoff), :class:`PlacementPart`
(GPUs, masks, plans, preflight), :class:`OutputPart` (engine output read by the classifier),
:class:`ConfigPart` (a config file checked), :class:`GatePart`
(throw-away projects, subprocess checks, metrics, the secrets transcript), :class:`GpuPart`
(NVML) and ``live`` (a real manager, :class:`harness.live.LiveManager`, created by the
process-level steps only, so that importing the world never loads the HTTP server).

Which lifecycle action is which is decided in one place, :meth:`PoolWorld.orders` (and
:meth:`PoolWorld.drain_reasons`); steps never name an action kind.

Serves the decision-level scenarios of OC-POOL-3001..3004, 3010..3014, 3017, 3020..3023,
3031..3034, 3040..3044 and OC-CFG-5001..5003, and holds the state of every other scenario.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from poolmgr.config import parse_config
from poolmgr.core.backoff import Backoff, BackoffPolicy, Jitter
from poolmgr.core.breaker import CircuitBreaker
from poolmgr.core.clock import ManualClock
from poolmgr.core.config import Config
from poolmgr.core.decisions import (
    Action,
    Decision,
    DrainCounted,
    DriverResetCounted,
    Fact,
    KillEngine,
    Spawn,
    StateChanged,
    StopEngine,
    WaitForLeases,
)
from poolmgr.core.errors import ConfigError, PoolError
from poolmgr.core.events import EngineStarted, Event, PreloadFailed
from poolmgr.core.inventory import GpuDevice, GpuInventory
from poolmgr.core.kvcap import ModelShape
from poolmgr.core.leases import Lease, LeaseTable
from poolmgr.core.placement import LaunchPlan, MaskRequest, PlacementProblem
from poolmgr.core.preflight import PreflightVerdict, preflight
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Cause

if TYPE_CHECKING:  # types only: these modules load requests, prometheus and the HTTP server
    from harness.canary import Transcript
    from harness.live import LiveManager
    from poolmgr.telemetry.metrics import PoolMetrics

__all__ = [
    "GIB",
    "ConfigPart",
    "GatePart",
    "GpuPart",
    "KeyValue",
    "LeasePart",
    "ModelFileDraft",
    "Order",
    "OutputPart",
    "PlacementPart",
    "PoolSpec",
    "PoolWorld",
    "PoolsPart",
    "RetryPart",
]

GIB = 2**30

Order = Literal[
    "spawn", "stop", "kill", "wait_for_leases", "count_drain", "count_driver_reset", "change_state"
]
"""The lifecycle actions the steps look for, by what they order."""

_ORDER_KINDS: dict[Order, type[Action | Fact]] = {
    "spawn": Spawn,
    "stop": StopEngine,
    "kill": KillEngine,
    "wait_for_leases": WaitForLeases,
    "count_drain": DrainCounted,
    "count_driver_reset": DriverResetCounted,
    "change_state": StateChanged,
}


@dataclass
class PoolSpec:
    """How a scenario wants one pool configured (turned into config YAML on first use)."""

    pool_id: str
    slots: int = 4
    cpu: bool = False
    model: str = "stub://model-a"
    breaker_threshold: int = 5
    breaker_window_ms: int = 120_000
    breaker_cooldown_ms: int = 60_000
    backoff_initial_ms: int = 1_000
    backoff_max_ms: int = 300_000
    lease_ttl_ms: int = 300_000
    probe_failure_threshold: int = 3


@dataclass
class PoolsPart:
    """The pools of a scenario: their specs, the registry built from them, what it ordered."""

    specs: dict[str, PoolSpec] = field(default_factory=dict)
    heartbeat_stale_ms: int = 5_000
    registry: Registry | None = None
    # Every action and fact the core decided for each pool, with when it was decided.
    actions: dict[str, list[tuple[int, Action | Fact]]] = field(default_factory=dict)
    leases: list[Lease] = field(default_factory=list)
    returned: list[Lease] = field(default_factory=list)
    next_pid: int = 1000
    # What an observer of the registry was told (pool id, fact), once one follows it.
    observed: list[tuple[str, Fact]] = field(default_factory=list)
    # The pid of every engine the world started, per pool (a refused launch starts none).
    started: dict[str, list[int]] = field(default_factory=dict)
    manual_launch: set[str] = field(default_factory=set)
    """Pools whose engine processes start only when a step says so (an outside-world event)."""
    pending_launches: dict[str, int] = field(default_factory=dict)
    """Ordered engine starts of the ``manual_launch`` pools whose process has not started yet."""
    metrics: PoolMetrics | None = None
    """The manager's metrics, fed by the registry from its first event (what a scrape shows)."""

    def add(self, spec: PoolSpec) -> None:
        if self.registry is not None:
            raise AssertionError("pools must be described before the first event")
        self.specs[spec.pool_id] = spec

    def config_yaml(self) -> str:
        """The config the specs describe: one GPU of 80 GiB per GPU pool, stub engines."""
        gpu_pools = [s for s in self.specs.values() if not s.cpu]
        lines = [f"manager: {{heartbeat_stale_ms: {self.heartbeat_stale_ms}}}"]
        if gpu_pools:
            lines.append("inventory:")
            lines.append("  gpus:")
            for i in range(len(gpu_pools)):
                lines.append(
                    f"    - {{index: {i}, name: gpu{i}, total_bytes: {80 * GIB}, "
                    f"free_bytes: {70 * GIB}}}"
                )
        lines.append("pools:")
        gpu_index = 0
        for spec in self.specs.values():
            if spec.cpu:
                devices = "[]"
            else:
                devices = f"[{gpu_index}]"
                gpu_index += 1
            lines += [
                f"  - id: {spec.pool_id}",
                "    engine: stub",
                f"    model: {spec.model}",
                f"    devices: {devices}",
                f"    cpu: {'true' if spec.cpu else 'false'}",
                f"    slots: {spec.slots}",
                f"    lease_ttl_ms: {spec.lease_ttl_ms}",
                f"    probe: {{failure_threshold: {spec.probe_failure_threshold}}}",
                f"    backoff: {{initial_ms: {spec.backoff_initial_ms}, "
                f"max_ms: {spec.backoff_max_ms}, multiplier: 2, jitter: none}}",
                f"    breaker: {{failure_threshold: {spec.breaker_threshold}, "
                f"window_ms: {spec.breaker_window_ms}, cooldown_ms: {spec.breaker_cooldown_ms}, "
                "cooldown_multiplier: 2, max_cooldown_ms: 900000}",
            ]
        return "\n".join(lines) + "\n"


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
    """What NVML showed of the real GPUs (the ``@gpu`` scenarios)."""

    inventory: GpuInventory | None = None


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


@dataclass
class PoolWorld:
    """State of one scenario. Created fresh for every scenario by both runners."""

    clock: ManualClock = field(default_factory=ManualClock)
    seed: int = 7
    error: Exception | None = None
    """The last typed refusal (of the registry, the placement or the config loader)."""
    pools: PoolsPart = field(default_factory=PoolsPart)
    retry: RetryPart = field(default_factory=RetryPart)
    slots: LeasePart = field(default_factory=LeasePart)
    placement: PlacementPart = field(default_factory=PlacementPart)
    output: OutputPart = field(default_factory=OutputPart)
    config: ConfigPart = field(default_factory=ConfigPart)
    gate: GatePart = field(default_factory=GatePart)
    gpu: GpuPart = field(default_factory=GpuPart)
    live: LiveManager | None = None
    """Made by :func:`harness.live.live_manager_of` for the process-level scenarios only."""

    # --- pools ------------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        """The registry of the described pools, built on first use."""
        if self.pools.registry is None:
            from poolmgr.assemble import build_registry
            from poolmgr.telemetry.metrics import PoolMetrics

            config = parse_config(self.pools.config_yaml(), "<scenario>")
            registry = build_registry(config, self.clock, random.Random(self.seed))
            self.pools.metrics = PoolMetrics(registry)
            self.pools.registry = registry
        return self.pools.registry

    def record(self, pool_id: str, decision: Decision) -> None:
        now = self.clock.now_ms()
        told = self.pools.actions.setdefault(pool_id, [])
        told.extend((now, a) for a in decision.actions)
        told.extend((now, f) for f in decision.facts)
        for action in decision.actions:
            if isinstance(action, Spawn):
                # The supervisor checks the launch, then launches the engine it was asked for;
                # the process starts at once unless the scenario reports that event itself.
                refusal = self.launch_refusal(pool_id)
                if refusal is not None:
                    self.dispatch(pool_id, refusal)
                    continue
                if pool_id in self.pools.manual_launch:
                    pending = self.pools.pending_launches
                    pending[pool_id] = pending.get(pool_id, 0) + 1
                else:
                    self.engine_process_starts(pool_id)

    def engine_process_starts(self, pool_id: str) -> None:
        """The outside world: the engine process of ``pool_id`` exists (with a fresh pid)."""
        self.pools.next_pid += 1
        self.pools.started.setdefault(pool_id, []).append(self.pools.next_pid)
        self.dispatch(pool_id, EngineStarted(pid=self.pools.next_pid))

    def launch_pending_engine(self, pool_id: str) -> None:
        """The process of an engine start ordered earlier (and not yet reported) now runs."""
        waiting = self.pools.pending_launches.get(pool_id, 0)
        if waiting < 1:
            raise AssertionError(f"no engine start of {pool_id} was ordered and left waiting")
        self.pools.pending_launches[pool_id] = waiting - 1
        self.engine_process_starts(pool_id)

    def launch_refusal(self, pool_id: str) -> PreloadFailed | None:
        """The supervisor's launch checks, where the scenario described them (OC-POOL-3002).

        As :mod:`poolmgr.runtime.prepare` does at each spawn: the pool's launch plan is checked
        by :func:`~poolmgr.core.preflight.preflight` against the GPUs and the free host RAM;
        a verdict that does not fit fails the preload with the verdict's own cause and message
        and no engine is started. Without a plan for the pool and a host RAM figure, nothing
        is checked.
        """
        place = self.placement
        plan, shape = place.plan, place.shape
        if place.host_free is None or plan is None or shape is None or plan.pool_id != pool_id:
            return None
        place.verdict = preflight(plan, shape, place.inventory(), place.host_free)
        if place.verdict.fits or place.verdict.cause is None:
            return None
        return PreloadFailed(place.verdict.cause, place.verdict.message)

    def dispatch(self, pool_id: str, event: Event) -> None:
        """Feed one event; a typed refusal is kept in :attr:`error` instead of raised."""
        try:
            decision = self.registry.dispatch(pool_id, event)
        except PoolError as exc:
            self.error = exc
            return
        self.record(pool_id, decision)

    def advance(self, ms: int) -> None:
        """Let ``ms`` pass on the manual clock, then let every pool react."""
        self.clock.advance(ms)
        self.tick()
        if self.retry.backoff is not None:
            self.retry.backoff.observe(self.clock.now_ms())

    def tick(self) -> None:
        if self.pools.registry is None:
            return
        for pool_id, decision in self.pools.registry.tick().items():
            self.record(pool_id, decision)

    def orders(self, pool_id: str, *what: Order) -> list[tuple[int, Action | Fact]]:
        """The actions and facts of ``pool_id`` of any of the kinds ``what``, with when."""
        kinds = tuple(_ORDER_KINDS[w] for w in what)
        return [(t, a) for t, a in self.pools.actions.get(pool_id, []) if isinstance(a, kinds)]

    def drain_reasons(self, pool_id: str) -> list[str]:
        """The reason of every drain the machine counted for ``pool_id``, in order."""
        return [
            a.reason.value
            for _, a in self.orders(pool_id, "count_drain")
            if isinstance(a, DrainCounted)
        ]

    def engine_starts(self, pool_id: str) -> list[tuple[str, str | None]]:
        """Every engine start ordered for ``pool_id``: its model and the failure it follows."""
        return [
            (a.model_ref, None if a.restart_cause is None else a.restart_cause.value)
            for _, a in self.orders(pool_id, "spawn")
            if isinstance(a, Spawn)
        ]

    def lease_wait_deadline(self, pool_id: str) -> int:
        """The deadline of the last lease watch the machine ordered (what the supervisor keeps)."""
        waits = [a for _, a in self.orders(pool_id, "wait_for_leases")]
        assert waits, f"setup: no drain of {pool_id} is waiting for leases"
        last = waits[-1]
        assert isinstance(last, WaitForLeases)
        return last.deadline_ms

    def kill_causes(self, pool_id: str) -> list[str]:
        """The cause of every kill the machine ordered for ``pool_id``, in order."""
        return [a.cause.value for _, a in self.orders(pool_id, "kill") if isinstance(a, KillEngine)]

    def fail_preload_repeatedly(self, pool_id: str, times: int, cause: Cause) -> None:
        """Fail the preload ``times`` times, waiting for each scheduled restart in between."""
        for n in range(times):
            self.dispatch(pool_id, PreloadFailed(cause, f"preload failure {n + 1}"))
            if n + 1 < times:
                self.wait_for_restart(pool_id)

    def keep_failing_preload(self, pool_id: str, ms: int, *, max_attempts: int = 1_000) -> int:
        """Fail every preload of ``pool_id`` for ``ms``, waiting out each scheduled restart.

        Fails with a clear message instead of looping forever when more than ``max_attempts``
        preloads fail (a schedule that never moves the clock forward). Answers the attempts.
        """
        end = self.clock.now_ms() + ms
        for attempt in range(1, max_attempts + 1):
            self.dispatch(pool_id, PreloadFailed(Cause.MODEL_LOAD_FAILED, "still broken"))
            at = self.registry.machine(pool_id).next_restart_at_ms
            if at is None or at > end:
                self.clock.set(max(end, self.clock.now_ms()))
                self.tick()
                return attempt
            self.wait_for_restart(pool_id)
        raise AssertionError(
            f"{pool_id}: {max_attempts} preload failures within {ms} ms and the restarts never "
            f"reached the end of that time (clock at {self.clock.now_ms()} ms, end {end} ms)"
        )

    def wait_for_restart(self, pool_id: str) -> None:
        """Jump the clock to the pool's next restart (backoff or breaker trial) and tick."""
        machine = self.registry.machine(pool_id)
        at = machine.next_restart_at_ms
        if at is None:
            raise AssertionError(f"pool {pool_id} has no restart scheduled ({machine.state})")
        self.clock.set(max(at, self.clock.now_ms()))
        self.tick()

    # --- standalone backoff --------------------------------------------------------

    def set_backoff(self, policy: BackoffPolicy) -> None:
        self.retry.backoff = Backoff(policy, random.Random(self.seed))

    def new_backoff(self, initial_ms: int, cap_ms: int, jitter: Jitter) -> None:
        self.set_backoff(BackoffPolicy(initial_ms=initial_ms, max_ms=cap_ms, jitter=jitter))

    # --- config -------------------------------------------------------------------

    def check_config(self) -> None:
        self.config.parsed = None
        self.error = None
        try:
            self.config.parsed = parse_config(self.config.text, self.config.source)
        except ConfigError as exc:
            self.error = exc
