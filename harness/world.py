"""The scenario world: everything one decision-level scenario sets up, does and observes.

A :class:`PoolWorld` plays the supervisor's part around the pure decision core: it builds a
registry from a small generated config, feeds lifecycle events, carries out the actions the
machine asks for that a real supervisor would (an ordered spawn is answered with "engine
started"), records every action and fact the core decided and every typed refusal, and drives
time with a :class:`~poolmgr.core.clock.ManualClock` only (a five-minute backoff cap is checked in
milliseconds). Randomness comes from seeded :class:`random.Random` instances.

Serves the decision-level scenarios of OC-POOL-3001..3004, 3010..3014, 3017, 3020..3023,
3031..3034, 3040..3044 and OC-CFG-5001..5003.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TypeVar

from poolmgr.config import Config, parse_config
from poolmgr.core.backoff import Backoff, BackoffPolicy, Jitter
from poolmgr.core.clock import ManualClock
from poolmgr.core.decisions import Action, Decision, Fact, Spawn
from poolmgr.core.errors import ConfigError, PoolError
from poolmgr.core.inventory import GpuDevice, GpuInventory
from poolmgr.core.kvcap import ModelShape
from poolmgr.core.leases import Lease
from poolmgr.core.lifecycle import (
    EngineStarted,
    Event,
    PreloadFailed,
)
from poolmgr.core.placement import LaunchPlan, MaskRequest, PlacementProblem
from poolmgr.core.preflight import PreflightVerdict
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Cause

GIB = 2**30
_T = TypeVar("_T", bound=Action | Fact)


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


@dataclass
class PoolWorld:
    """State of one scenario. Created fresh for every scenario by both runners."""

    clock: ManualClock = field(default_factory=ManualClock)
    seed: int = 7
    heartbeat_stale_ms: int = 5_000
    specs: dict[str, PoolSpec] = field(default_factory=dict)
    error: Exception | None = None
    # Every action and fact of each pool, with the time it was decided at.
    actions: dict[str, list[tuple[int, Action | Fact]]] = field(default_factory=dict)
    leases: list[Lease] = field(default_factory=list)
    returned: list[Lease] = field(default_factory=list)
    # standalone decision objects
    backoff: Backoff | None = None
    delays: list[int] = field(default_factory=list)
    # placement and KV sizing
    gpus: dict[int, int] = field(default_factory=dict)
    mask_requests: dict[str, MaskRequest] = field(default_factory=dict)
    problems: list[PlacementProblem] = field(default_factory=list)
    shape: ModelShape | None = None
    plan: LaunchPlan | None = None
    verdict: PreflightVerdict | None = None
    # config
    config_text: str = ""
    config_source: str = "pools.yaml"
    config: Config | None = None
    # @gpu scenarios
    nvml_inventory: GpuInventory | None = None
    _registry: Registry | None = None
    _next_pid: int = 1000

    # --- pools ------------------------------------------------------------------

    def add_pool(self, spec: PoolSpec) -> None:
        if self._registry is not None:
            raise AssertionError("pools must be described before the first event")
        self.specs[spec.pool_id] = spec

    def config_yaml(self) -> str:
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
                f"    backoff: {{initial_ms: {spec.backoff_initial_ms}, "
                f"max_ms: {spec.backoff_max_ms}, multiplier: 2, jitter: none}}",
                f"    breaker: {{failure_threshold: {spec.breaker_threshold}, "
                f"window_ms: {spec.breaker_window_ms}, cooldown_ms: {spec.breaker_cooldown_ms}, "
                "cooldown_multiplier: 2, max_cooldown_ms: 900000}",
            ]
        return "\n".join(lines) + "\n"

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            config = parse_config(self.config_yaml(), "<scenario>")
            from poolmgr.assemble import build_registry

            self._registry = build_registry(config, self.clock, random.Random(self.seed))
        return self._registry

    def record(self, pool_id: str, decision: Decision) -> None:
        now = self.clock.now_ms()
        told = self.actions.setdefault(pool_id, [])
        told.extend((now, a) for a in decision.actions)
        told.extend((now, f) for f in decision.facts)
        for action in decision.actions:
            if isinstance(action, Spawn):
                # The supervisor starts the engine it was asked for.
                self._next_pid += 1
                self.dispatch(pool_id, EngineStarted(pid=self._next_pid))

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
        if self.backoff is not None:
            self.backoff.observe(self.clock.now_ms())

    def tick(self) -> None:
        if self._registry is None:
            return
        for pool_id, decision in self._registry.tick().items():
            self.record(pool_id, decision)

    def actions_of(self, pool_id: str, kind: type[_T]) -> list[tuple[int, _T]]:
        """The pool's actions or facts of one type (``KillEngine``, ``DrainCounted``...)."""
        return [(t, a) for t, a in self.actions.get(pool_id, []) if isinstance(a, kind)]

    def fail_preload_repeatedly(self, pool_id: str, times: int, cause: Cause) -> None:
        """Fail the preload ``times`` times, waiting for each scheduled restart in between."""
        for n in range(times):
            self.dispatch(pool_id, PreloadFailed(cause, f"preload failure {n + 1}"))
            if n + 1 < times:
                self.wait_for_restart(pool_id)

    def wait_for_restart(self, pool_id: str) -> None:
        """Jump the clock to the pool's next restart (backoff or breaker trial) and tick."""
        machine = self.registry.machine(pool_id)
        at = machine.next_restart_at_ms
        if at is None:
            raise AssertionError(f"pool {pool_id} has no restart scheduled ({machine.state})")
        self.clock.set(max(at, self.clock.now_ms()))
        self.tick()

    # --- standalone backoff --------------------------------------------------------

    def set_backoff(self, initial_ms: int, cap_ms: int, jitter: Jitter) -> None:
        policy = BackoffPolicy(initial_ms=initial_ms, max_ms=cap_ms, jitter=jitter)
        self.backoff = Backoff(policy, random.Random(self.seed))

    def inventory(self) -> GpuInventory | None:
        if not self.gpus:
            return None
        return GpuInventory(
            tuple(
                GpuDevice(i, f"gpu{i}", max(free, 80 * GIB), free)
                for i, free in sorted(self.gpus.items())
            )
        )

    # --- config -------------------------------------------------------------------

    def check_config(self) -> None:
        self.config = None
        self.error = None
        try:
            self.config = parse_config(self.config_text, self.config_source)
        except ConfigError as exc:
            self.error = exc
