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
(NVML), :class:`AdmissionPart` (named lease requests and what admission decided),
:class:`StartupPart` (the startup wave over the pools, OC-PERF-9107/9108) and
``live`` (a real manager, :class:`harness.live.LiveManager`, created by the process-level
steps only, so that importing the world never loads the HTTP server).

Which lifecycle action is which is decided in one place, :meth:`PoolWorld.orders` (and
:meth:`PoolWorld.drain_reasons`); steps never name an action kind.

Serves the decision-level scenarios of OC-POOL-3001..3004, 3010..3014, 3017, 3020..3023,
3031..3034, 3040..3044, OC-CFG-5001..5003 and OC-ADM-9001..9014 (pools with tenants and
admission queues in the config), and holds the state of every other scenario.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from harness.kube import KubePart
from harness.parts import (
    GIB,
    ConfigPart,
    GatePart,
    GpuPart,
    KeyValue,
    LeasePart,
    ModelFileDraft,
    OutputPart,
    PlacementPart,
    RetryPart,
)
from poolmgr.config import parse_config
from poolmgr.core.admission import TenantPolicy
from poolmgr.core.admissions import AdmissionFact
from poolmgr.core.backoff import Backoff, BackoffPolicy, Jitter
from poolmgr.core.clock import ManualClock
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
from poolmgr.core.leases import Lease
from poolmgr.core.preflight import preflight
from poolmgr.core.registry import Pending, Registry, Told
from poolmgr.core.startup import StartupWave
from poolmgr.core.vocab import Cause

if TYPE_CHECKING:  # types only: these modules load requests, prometheus and the HTTP server
    from harness.live import LiveManager
    from poolmgr.telemetry.metrics import PoolMetrics

__all__ = [
    "GIB",
    "AdmissionPart",
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
    "StartupPart",
]


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
    preload_timeout_ms: int = 600_000
    queue_depth: int = 256
    """``admission.queue_depth`` (OC-ADM-9002); the config's default."""
    max_wait_ms: int = 30_000
    """``admission.max_wait_ms`` (OC-ADM-9001); the config's default."""


@dataclass
class PoolsPart:
    """The pools of a scenario: their specs, the registry built from them, what it ordered."""

    specs: dict[str, PoolSpec] = field(default_factory=dict)
    heartbeat_stale_ms: int = 5_000
    start_concurrency: int | None = None
    """``manager.start_concurrency`` (OC-PERF-9108); none: the config's default."""
    tenants: list[TenantPolicy] = field(default_factory=list)
    """The config's ``tenants`` (OC-ADM-9017); none: only the ``default`` tenant."""
    registry: Registry | None = None
    # Every action and fact the core decided for each pool, with when it was decided.
    actions: dict[str, list[tuple[int, Action | Fact]]] = field(default_factory=dict)
    leases: list[Lease] = field(default_factory=list)
    returned: list[Lease] = field(default_factory=list)
    next_pid: int = 1000
    # What an observer of the registry was told (pool id, fact), once one follows it.
    observed: list[tuple[str, Told]] = field(default_factory=list)
    # The pid of every engine the world started, per pool (a refused launch starts none).
    started: dict[str, list[int]] = field(default_factory=dict)
    # What each pool's engine wrote, as the supervisor keeps it (its last lines).
    tails: dict[str, deque[str]] = field(default_factory=dict)
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
        manager = f"heartbeat_stale_ms: {self.heartbeat_stale_ms}"
        if self.start_concurrency is not None:
            manager += f", start_concurrency: {self.start_concurrency}"
        lines = [f"manager: {{{manager}}}"]
        if self.tenants:
            lines.append("tenants:")
            lines += [f"  - {_tenant_yaml(t)}" for t in self.tenants]
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
                f"    preload_timeout_ms: {spec.preload_timeout_ms}",
                f"    backoff: {{initial_ms: {spec.backoff_initial_ms}, "
                f"max_ms: {spec.backoff_max_ms}, multiplier: 2, jitter: none}}",
                f"    breaker: {{failure_threshold: {spec.breaker_threshold}, "
                f"window_ms: {spec.breaker_window_ms}, cooldown_ms: {spec.breaker_cooldown_ms}, "
                "cooldown_multiplier: 2, max_cooldown_ms: 900000}",
                f"    admission: {{queue_depth: {spec.queue_depth}, "
                f"max_wait_ms: {spec.max_wait_ms}}}",
            ]
        return "\n".join(lines) + "\n"


def _tenant_yaml(tenant: TenantPolicy) -> str:
    """One tenant of the config, as a YAML flow mapping (``null`` for a quota it lacks)."""

    def value(v: float | None) -> str:
        return "null" if v is None else str(v)

    return (
        f"{{name: {tenant.name}, weight: {tenant.weight}, "
        f"max_concurrent: {value(tenant.max_concurrent)}, rps: {value(tenant.rps)}, "
        f"burst: {value(tenant.burst)}}}"
    )


@dataclass
class AdmissionPart:
    """Named lease requests of a scenario and what admission told about them (OC-ADM-*)."""

    pending: dict[str, Pending] = field(default_factory=dict)
    """Requests the registry took, by the scenario's name for them."""
    asked: dict[str, str] = field(default_factory=dict)
    """The pool each request asked for a slot of."""
    raised: dict[str, PoolError] = field(default_factory=dict)
    """Requests refused before they got a ticket (a bad request, a pool that cannot admit)."""
    invalid: dict[str, str] = field(default_factory=dict)
    """Requests refused as malformed (a lease lifetime out of range), with the reason."""
    facts: list[AdmissionFact] = field(default_factory=list)
    """Every admission and refusal the registry told, in order."""
    following: bool = False
    """Whether the registry tells :attr:`facts` (from the first request on)."""
    returned: set[str] = field(default_factory=set)
    """Requests whose lease the scenario returned."""
    cancelled: dict[str, bool] = field(default_factory=dict)
    """Requests whose client left, with whether the request still waited then."""


@dataclass
class StartupPart:
    """The startup wave over a scenario's pools (OC-PERF-9107, OC-PERF-9108), once it began."""

    wave: StartupWave | None = None
    asked: list[str] = field(default_factory=list)
    """Every pool the wave asked to start, in the order it asked."""
    finished: list[str] = field(default_factory=list)
    """Every pool the wave answered had finished its first start, in the order it answered."""
    pumping: bool = False
    """Whether the wave's starts are being carried out (a pool finishing meanwhile is seen by
    the next round of the same pump, as the runtime's scheduled pump would see it)."""


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
    kube: KubePart = field(default_factory=KubePart)
    admission: AdmissionPart = field(default_factory=AdmissionPart)
    startup: StartupPart = field(default_factory=StartupPart)
    live: LiveManager | None = None
    """Made by :func:`harness.live.live_manager_of` for the process-level scenarios only."""
    fleet: list[LiveManager] = field(default_factory=list)
    """Further managers of a fleet scenario (``poolmgr status --dns``), stopped with the world."""
    engine_children: list[tuple[int, float]] = field(default_factory=list)
    """Engine children a process-level scenario saw: (pid, start time), oldest first."""

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
