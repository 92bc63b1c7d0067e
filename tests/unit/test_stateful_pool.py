"""Hypothesis stateful test over lifecycle + leases + breaker + backoff, through the registry.

Random event sequences (preload outcomes, crashes, faults, probes, drains, reloads, leases,
time jumps) are fed to one pool; after every step the invariants the spec promises are
checked against an independent model of what happened:

- OC-POOL-3001: never Ready unless a preload succeeded after the latest spawn and after the
  latest fatal event;
- OC-POOL-3040: active leases within [0, slots];
- OC-POOL-3011: no window of ``window_ms`` holds more than ``failure_threshold`` restarts;
- OC-POOL-3013: backoff delays within [0, cap]; the attempt counter resets only after the
  pool stayed Ready for the stable period;
- OC-POOL-3030: the ``Restarted`` facts the registry tells its listeners are exactly the
  restarts the snapshot counts, and every spawn that is a restart carries its cause.
"""

from __future__ import annotations

import os
import random

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from poolmgr.core.admission import TenantBook
from poolmgr.core.backoff import Backoff, BackoffPolicy
from poolmgr.core.breaker import BreakerPolicy, CircuitBreaker
from poolmgr.core.clock import ManualClock
from poolmgr.core.decisions import Decision, Fact, PoolState, Restarted, Spawn
from poolmgr.core.errors import PoolError
from poolmgr.core.events import (
    DeadlinePassed,
    DrainRequested,
    EngineExited,
    EngineFault,
    EngineStarted,
    Event,
    LeasesDrained,
    PreloadFailed,
    PreloadSucceeded,
    ProbeFailed,
    ProbeOk,
    ReloadRequested,
    StartRequested,
)
from poolmgr.core.leases import LeaseTable
from poolmgr.core.lifecycle import PoolMachine
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Cause, DrainReason

BACKOFF = BackoffPolicy(initial_ms=1_000, max_ms=16_000, stable_reset_ms=30_000)
BREAKER = BreakerPolicy(failure_threshold=3, window_ms=60_000, cooldown_ms=20_000)
SLOTS = 3
# CI runs the full budget (>= 1000 generated runs); a quick local run can lower it.
EXAMPLES = int(os.environ.get("POOLMGR_STATEFUL_EXAMPLES", "1000"))

FATAL_CAUSES = st.sampled_from(
    [Cause.MODEL_LOAD_FAILED, Cause.VRAM_OOM, Cause.DRIVER_ERROR, Cause.CPU_SPILLOVER]
)


class PoolModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(1_000_000)
        self.reg = Registry(self.clock, TenantBook((), 0))
        machine = PoolMachine(
            "p",
            "m0",
            self.clock,
            Backoff(BACKOFF, random.Random(11)),
            CircuitBreaker(BREAKER),
            probe_failure_threshold=2,
            heartbeat_stale_ms=10_000,
            preload_timeout_ms=600_000,
        )
        self.machine = machine
        self.reg.register(
            machine,
            LeaseTable("p", SLOTS, random.Random(5)),
            engine="stub",
            cpu=True,
            ctx_per_slot=4096,
            queue_depth=0,
            max_wait_ms=0,
        )
        self.step = 0
        self.last_spawn = -1
        self.last_preload_ok = -2
        self.last_fatal = -1
        self.restart_times: list[int] = []
        self.restart_count = 0
        self.leases: list[str] = []
        self.ended: list[str] = []
        self.ready_since: int | None = None
        self.prev_attempt = 0
        self.restarts_told: list[Restarted] = []
        self.restart_spawns = 0
        self.reg.observe(self.told)

    def told(self, pool_id: str, fact: Fact) -> None:
        if isinstance(fact, Restarted):
            self.restarts_told.append(fact)

    # --- plumbing -------------------------------------------------------------------

    def send(self, event: Event) -> None:
        self.step += 1
        try:
            decision = self.reg.dispatch("p", event)
        except PoolError:
            return
        self.note([decision])

    def note(self, decisions: list[Decision]) -> None:
        for action in (a for d in decisions for a in d.actions):
            if isinstance(action, Spawn):
                self.last_spawn = self.step
                if action.restart_cause is not None:
                    self.restart_spawns += 1
        snap = self.reg.snapshot("p")
        if snap.restart_count > self.restart_count:
            self.restart_times.extend(
                [self.clock.now_ms()] * (snap.restart_count - self.restart_count)
            )
            self.restart_count = snap.restart_count
        if snap.active_leases == 0:
            self.leases = []

    # --- rules ----------------------------------------------------------------------

    @precondition(lambda self: self.machine.state is PoolState.STOPPED)
    @rule()
    def start(self) -> None:
        self.send(StartRequested())

    @precondition(lambda self: self.machine.state is PoolState.STARTING)
    @rule()
    def engine_started(self) -> None:
        self.send(EngineStarted(4242))

    @rule(slots=st.integers(1, SLOTS))
    def preload_succeeded(self, slots: int) -> None:
        before = self.machine.state
        self.send(PreloadSucceeded("v1", "sha256:00", slots))
        if before in (PoolState.STARTING, PoolState.PRELOADING):
            self.last_preload_ok = self.step

    @rule(cause=FATAL_CAUSES)
    def preload_failed(self, cause: Cause) -> None:
        # A preload outcome only means something while a preload is running.
        before = self.machine.state
        self.send(PreloadFailed(cause, "boom"))
        if before in (PoolState.STARTING, PoolState.PRELOADING):
            self.last_fatal = self.step

    @rule(cause=FATAL_CAUSES)
    def engine_exited(self, cause: Cause) -> None:
        self.send(EngineExited(cause, "exited"))
        self.last_fatal = self.step

    @rule(cause=FATAL_CAUSES)
    def engine_fault(self, cause: Cause) -> None:
        self.send(EngineFault(cause, "fault"))
        self.last_fatal = self.step

    @rule(cause=FATAL_CAUSES)
    def crash_then_wait_for_restart(self, cause: Cause) -> None:
        """A crash loop step: fail, then let exactly the scheduled delay pass and tick."""
        self.send(EngineExited(cause, "crash loop"))
        self.last_fatal = self.step
        wait = self.machine.retry_after_ms()
        if wait is not None:
            self.clock.advance(wait)
            self.step += 1
            self.note(list(self.reg.tick().values()))

    @rule()
    def probe_ok(self) -> None:
        self.send(ProbeOk())

    @rule(timed_out=st.booleans())
    def probe_failed(self, timed_out: bool) -> None:
        self.send(ProbeFailed("probe", timed_out=timed_out))

    @rule(ms=st.sampled_from([0, 1, 999, 1_000, 5_000, 10_001, 20_000, 30_000, 60_000, 250_000]))
    def advance(self, ms: int) -> None:
        self.clock.advance(ms)
        self.step += 1
        self.note([])

    @rule()
    def tick(self) -> None:
        self.step += 1
        self.note(list(self.reg.tick().values()))

    @rule()
    def acquire(self) -> None:
        try:
            lease = self.reg.acquire_lease("p", ttl_ms=45_000)
        except PoolError:
            return
        self.leases.append(lease.lease_id)

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        choices = [*self.leases, *self.ended, "not-a-lease"]
        lease_id = data.draw(st.sampled_from(choices))
        try:
            self.reg.release_lease("p", lease_id)
        except PoolError:
            return
        self.leases.remove(lease_id)
        self.ended.append(lease_id)

    @rule(deadline=st.sampled_from([0, 5_000]))
    def drain(self, deadline: int) -> None:
        self.send(DrainRequested(DrainReason.API_REQUEST, self.clock.now_ms() + deadline))

    @rule()
    def leases_drained(self) -> None:
        self.send(LeasesDrained())

    @rule()
    def deadline_passed(self) -> None:
        self.send(DeadlinePassed())

    @rule(model=st.sampled_from(["m1", "m2"]))
    def reload(self, model: str) -> None:
        self.send(ReloadRequested(model, self.clock.now_ms() + 5_000))

    # --- invariants (one snapshot per step keeps the 1000-run budget affordable) ---------

    @invariant()
    def spec_invariants(self) -> None:
        snap = self.reg.snapshot("p")
        now = self.clock.now_ms()

        # OC-POOL-3001: never Ready without a preload success after the spawn and the failures.
        if snap.ready:
            assert self.last_preload_ok > self.last_spawn, "Ready without a preload since spawn"
            assert self.last_preload_ok > self.last_fatal, "Ready although a failure came later"

        # OC-POOL-3040: leases within [0, slots].
        assert 0 <= snap.active_leases <= snap.slots_total
        assert snap.slots_free == snap.slots_total - snap.active_leases

        # OC-POOL-3011: no breaker window holds more than N restarts.
        times = self.restart_times
        j = 0
        for i in range(len(times)):
            while times[i] - times[j] >= BREAKER.window_ms:
                j += 1
            assert i - j + 1 <= BREAKER.failure_threshold, f"restart storm: {times[j : i + 1]}"

        # OC-POOL-3030: every counted restart was told, with its cause, exactly once.
        assert len(self.restarts_told) == snap.restart_count == self.restart_spawns

        # OC-POOL-3013: delays within [0, cap]; attempt resets only after the stable period.
        delay = self.machine.backoff.last_delay_ms
        if delay is not None:
            assert 0 <= delay <= BACKOFF.max_ms
        attempt = self.machine.backoff.attempt
        if attempt < self.prev_attempt:
            assert self.ready_since is not None, "attempt reset while not Ready"
            assert now - self.ready_since >= BACKOFF.stable_reset_ms, "attempt reset too early"
        self.prev_attempt = attempt
        if snap.ready:
            if self.ready_since is None:
                self.ready_since = now
        else:
            self.ready_since = None


PoolModel.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_pool_lifecycle_leases_breaker_invariants = PoolModel.TestCase
