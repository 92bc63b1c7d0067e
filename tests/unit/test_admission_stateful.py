"""Hypothesis stateful test of the admission queue invariants, through the registry.

Three pools on one :class:`~poolmgr.core.clock.ManualClock`, tenants with weights, a
``max_concurrent`` quota and a rate quota. Random steps: lease requests (random tenant, tier,
``wait_ms``, ttl), returns of held leases, the clock advancing with a tick, clients leaving
the queue, pools turning Unready and Ready again, draining and reloading. The registry tells
every admission decision (:class:`~poolmgr.core.admissions.Admitted`,
:class:`~poolmgr.core.admissions.Refused`) to a listener, in order; the test keeps its own
model of who waits, and checks each decision at the moment it was made and the state after
every step:

- OC-ADM-9002: no queue ever holds more than its ``queue_depth``; ``QUEUE_FULL`` only for a
  request that found its queue full;
- OC-ADM-9003: no lease granted after its request's deadline; after every step, every
  waiting request's deadline is still ahead of the last decision, so each request is answered
  no later than the first tick (or any other decision) at or after its deadline; a deadline
  refusal never comes early;
- OC-ADM-9004: no request waits while its pool is Ready, not draining, has a free slot and the
  request's tenant is eligible (work conservation);
- OC-ADM-9005: a pool that is not Ready, or drains, has an empty queue;
- OC-ADM-9006: a cancelled request leaves its queue and is never granted;
- OC-ADM-9007: no ``batch`` request is admitted on a pool while an ``interactive`` request of
  an eligible tenant waits there;
- OC-ADM-9008: one tenant's requests of one tier on one pool are admitted in arrival order;
- OC-ADM-9011: a tenant's leases over every pool never exceed its ``max_concurrent``;
- OC-ADM-9012: a rate-refused request never enters a queue;
- OC-ADM-9014: each tier's shares sum to 1 once it admitted anything;
- OC-POOL-3040: a pool's active leases stay within [0, slots].

The clock also moves without a tick: leases then fall due unseen, and the next decision (a
request, a return, a lifecycle event) must first end them and hand their slots to the
waiting requests, before a quota check ends them on its way.
"""

from __future__ import annotations

import math
import os
import random
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from poolmgr.core.admission import DEFAULT_TENANT, TIERS, Priority, TenantBook, TenantPolicy, Ticket
from poolmgr.core.admissions import AdmissionFact, Admitted, Refused
from poolmgr.core.backoff import Backoff, BackoffPolicy
from poolmgr.core.breaker import BreakerPolicy, CircuitBreaker
from poolmgr.core.clock import ManualClock
from poolmgr.core.decisions import PoolState
from poolmgr.core.errors import AdmissionRefused, ErrorCode, PoolError
from poolmgr.core.events import (
    DeadlinePassed,
    DrainRequested,
    EngineExited,
    EngineStarted,
    Event,
    PreloadSucceeded,
    ProbeFailed,
    ProbeOk,
    ReloadRequested,
    StartRequested,
)
from poolmgr.core.leases import Lease, LeaseTable
from poolmgr.core.lifecycle import PoolMachine
from poolmgr.core.registry import Registry, Told
from poolmgr.core.vocab import Cause, DrainReason, Engine

EXAMPLES = int(os.environ.get("POOLMGR_ADMISSION_EXAMPLES", "400"))
MAX_WAIT_MS = 5_000


@dataclass(frozen=True)
class PoolSpec:
    slots: int
    depth: int


POOLS = {"p1": PoolSpec(2, 3), "p2": PoolSpec(1, 2), "p3": PoolSpec(3, 0)}
TENANTS = (
    TenantPolicy("a", 3, 2, None, None),
    TenantPolicy("b", 1, 1, None, None),
    TenantPolicy("c", 5, None, None, None),
    TenantPolicy("r", 2, None, 2.0, 2),
)
LIMIT = {t.name: t.max_concurrent for t in TENANTS} | {DEFAULT_TENANT: None}
TENANT_NAMES = [None, DEFAULT_TENANT, *(t.name for t in TENANTS)]
POOL_IDS = st.sampled_from(sorted(POOLS))
TTLS = st.sampled_from([1_000, 4_000, 60_000])
NO_WAIT = (ErrorCode.QUEUE_FULL, ErrorCode.REPLICA_EXHAUSTED)


def eligible(held: int, tenant: str) -> bool:
    limit = LIMIT[tenant]
    return limit is None or held < limit


class AdmissionModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(1_000_000)
        self.reg = Registry(self.clock, TenantBook(TENANTS, self.clock.now_ms()))
        self.tables: dict[str, LeaseTable] = {}
        self.machines: dict[str, PoolMachine] = {}
        for i, (pool_id, spec) in enumerate(sorted(POOLS.items())):
            machine = PoolMachine(
                pool_id,
                "m0",
                self.clock,
                Backoff(BackoffPolicy(1_000, 16_000, 30_000), random.Random(i)),
                CircuitBreaker(BreakerPolicy(3, 60_000, 20_000)),
                probe_failure_threshold=10**6,  # a failed probe turns Unready, never fatal
                heartbeat_stale_ms=10**12,
                preload_timeout_ms=10**12,
            )
            table = LeaseTable(pool_id, spec.slots, random.Random(100 + i))
            self.reg.register(
                machine,
                table,
                engine=Engine.STUB,
                cpu=True,
                ctx_per_slot=1,
                queue_depth=spec.depth,
                max_wait_ms=MAX_WAIT_MS,
            )
            self.machines[pool_id], self.tables[pool_id] = machine, table
            self.revive(pool_id)
        self.told: list[AdmissionFact] = []
        self.reg.observe(self.listen)
        self.waiting: dict[int, Ticket] = {}
        self.futures: dict[int, Future[Lease]] = {}
        self.leases: list[Lease] = []
        self.cancelled: set[int] = set()
        self.admitted_tiers: set[Priority] = set()
        self.pumped_at = self.clock.now_ms()
        """When a call last let every pool admit and refuse (the clock may move in between)."""

    def listen(self, pool_id: str, fact: Told) -> None:
        if isinstance(fact, Admitted | Refused):
            self.told.append(fact)

    # --- the decisions of one registry call, checked at the moment each was made ----------

    def held(self, tenant: str) -> int:
        return sum(table.held(tenant) for table in self.tables.values())

    def check_decisions(self, new: Ticket | None = None) -> None:
        """Replay the facts of the last call against the model of who waited.

        Within one call leases only end before its admissions (a return, a void, the expiry
        of every overdue lease: then the pumps), so a tenant's leases when decision k was made
        are its leases now less its admissions from k on. A new request (``new``) joins its
        queue after every pool was pumped once, and that pump left nothing for anyone else to
        take at this instant: it waits from the first fact about it on.
        """
        facts, self.told = self.told, []
        waiting = dict(self.waiting)
        answered = {f.ticket.ticket_id for f in facts}
        now = self.clock.now_ms()
        later = Counter(f.ticket.tenant for f in facts if isinstance(f, Admitted))
        held_now = {name: self.held(name) for name in LIMIT}
        for fact in facts:
            t = fact.ticket
            if t == new and t.ticket_id not in waiting:
                waiting[t.ticket_id] = t
            assert t.ticket_id not in self.cancelled, f"a cancelled request was answered: {t}"
            assert waiting.pop(t.ticket_id, None) == t, f"answered twice or never asked: {t}"
            held_then = held_now[t.tenant] - later[t.tenant]
            assert fact.waited_ms == now - t.arrived_ms
            queued = "from the queue" if t.ticket_id in self.waiting else "on arrival"
            if isinstance(fact, Admitted):
                event(f"admitted {t.priority} {queued}")
                self.check_admitted(fact, waiting, held_now, later, held_then)
                later[t.tenant] -= 1
            else:
                event(f"refused {fact.error.code} {queued}")
                self.check_refused(fact, new, held_then)
        if new is not None and new.ticket_id not in answered:
            waiting[new.ticket_id] = new
        self.waiting = waiting

    def check_admitted(
        self,
        fact: Admitted,
        waiting: dict[int, Ticket],
        held_now: dict[str, int],
        later: Counter[str],
        held_then: int,
    ) -> None:
        t, lease, now = fact.ticket, fact.lease, self.clock.now_ms()
        assert now <= t.deadline_ms, f"OC-ADM-9003: granted at {now} after deadline {t}"
        assert (lease.pool_id, lease.tenant, lease.granted_at_ms) == (t.pool_id, t.tenant, now)
        assert eligible(held_then, t.tenant), f"OC-ADM-9011: {t.tenant} granted at its quota"
        for u in waiting.values():
            if u.pool_id != t.pool_id:
                continue
            if (u.tenant, u.priority) == (t.tenant, t.priority):
                assert u.ticket_id > t.ticket_id, f"OC-ADM-9008: {t} admitted before older {u}"
            if t.priority is Priority.BATCH and u.priority is Priority.INTERACTIVE:
                # u's tenant's leases as t was granted: now, less its grants from t on.
                held_u = held_now[u.tenant] - later[u.tenant]
                assert not eligible(held_u, u.tenant), f"OC-ADM-9007: {t} admitted before {u}"
        self.leases.append(lease)
        self.admitted_tiers.add(t.priority)
        future = self.futures.pop(t.ticket_id)
        assert future.done() and future.result(timeout=0) == lease

    def check_refused(self, fact: Refused, new: Ticket | None, held_then: int) -> None:
        t, error, now = fact.ticket, fact.error, self.clock.now_ms()
        code = error.code
        if code in NO_WAIT or getattr(error, "reason", "") == "rps":
            assert new is not None and t == new and fact.waited_ms == 0, (code, t)
        if code is ErrorCode.QUEUE_FULL:
            assert len(self.reg.admissions.queue(t.pool_id)) == POOLS[t.pool_id].depth
        elif code is ErrorCode.REPLICA_EXHAUSTED:
            assert t.deadline_ms == t.arrived_ms == now
        elif code is ErrorCode.DEADLINE_EXCEEDED:
            assert t.arrived_ms < t.deadline_ms <= now, f"OC-ADM-9003: refused early {t}"
        elif code is ErrorCode.QUOTA_EXCEEDED and getattr(error, "reason", "") == "max_concurrent":
            assert t.deadline_ms <= now and not eligible(held_then, t.tenant), t
        elif code is ErrorCode.QUOTA_EXCEEDED:
            assert t.tenant == "r" and isinstance(error, AdmissionRefused)
            assert error.retry_after_ms is not None and error.retry_after_ms >= 1
        else:
            machine = self.machines[t.pool_id]
            expected = ErrorCode.POOL_UNAVAILABLE if machine.draining else ErrorCode.POOL_UNREADY
            assert not machine.ready and code is expected, (code, machine.state)
        future = self.futures.pop(t.ticket_id, None)
        if future is not None:
            assert future.done() and future.exception(timeout=0) is error

    # --- driving pools ----------------------------------------------------------------

    def send(self, pool_id: str, received: Event) -> None:
        try:
            self.reg.dispatch(pool_id, received)
        except PoolError:
            pass  # a transition the pool cannot take now: nothing was decided
        else:
            self.pumped_at = self.clock.now_ms()
        if hasattr(self, "told"):
            self.check_decisions()

    def revive(self, pool_id: str) -> None:
        """Drive the pool back to Ready from wherever it is (bounded)."""
        machine = self.machines[pool_id]
        steps: dict[PoolState, Event] = {
            PoolState.DRAINING: DeadlinePassed(),
            PoolState.STOPPED: StartRequested(),
            PoolState.STARTING: EngineStarted(4242),
            PoolState.PRELOADING: PreloadSucceeded("v1", "sha256:00", POOLS[pool_id].slots),
            PoolState.UNREADY: ProbeOk(),
        }
        for _ in range(8):
            state = machine.state
            if state is PoolState.READY:
                return
            self.send(pool_id, steps[state])
            if state is PoolState.DRAINING:  # the engine the drain stopped has exited
                self.send(pool_id, EngineExited(Cause.ENGINE_EXITED, "stopped"))
        raise AssertionError(f"pool {pool_id} did not get Ready: {machine.state}")

    # --- rules --------------------------------------------------------------------------

    def ask(
        self, pool_id: str, tenant: str | None, priority: Priority, wait_ms: int, ttl_ms: int
    ) -> None:
        try:
            pending = self.reg.request_lease(
                pool_id, wait_ms=wait_ms, ttl_ms=ttl_ms, tenant=tenant, priority=priority
            )
        except PoolError as exc:
            machine = self.machines[pool_id]
            assert not machine.ready, f"a Ready pool refused a request at once: {exc}"
            self.pumped_at = self.clock.now_ms()
            self.check_decisions()  # what waited was decided before the refusal
            return
        self.pumped_at = self.clock.now_ms()
        ticket = pending.ticket
        assert ticket.tenant == (tenant or DEFAULT_TENANT)
        assert ticket.deadline_ms == self.clock.now_ms() + wait_ms
        self.futures[ticket.ticket_id] = pending.future
        self.check_decisions(new=ticket)
        if wait_ms == 0:
            assert pending.future.done(), "OC-ADM-9001: wait_ms 0 must be answered at once"

    @rule(
        pool_id=POOL_IDS,
        tenant=st.sampled_from(TENANT_NAMES),
        priority=st.sampled_from(TIERS),
        wait_ms=st.sampled_from([0, 1, 300, 1_000, 5_000]),
        ttl_ms=TTLS,
    )
    def request(
        self, pool_id: str, tenant: str | None, priority: Priority, wait_ms: int, ttl_ms: int
    ) -> None:
        self.ask(pool_id, tenant, priority, wait_ms, ttl_ms)

    @rule(
        pool_id=POOL_IDS,
        tenant=st.sampled_from(TENANT_NAMES),
        priority=st.sampled_from(TIERS),
        wait_ms=st.sampled_from([300, 1_000, 5_000]),
        ttl_ms=TTLS,
    )
    def request_that_may_wait(
        self, pool_id: str, tenant: str | None, priority: Priority, wait_ms: int, ttl_ms: int
    ) -> None:
        """A second rule for waiting requests: queues fill up in a run of a few dozen steps."""
        self.ask(pool_id, tenant, priority, wait_ms, ttl_ms)

    @rule(
        pool_id=POOL_IDS,
        tenant=st.sampled_from(TENANT_NAMES),
        priority=st.sampled_from(TIERS),
        count=st.integers(2, 3),
    )
    def burst(self, pool_id: str, tenant: str | None, priority: Priority, count: int) -> None:
        """Several waiting requests of one tenant and tier: their order is OC-ADM-9008's."""
        for wait_ms in (5_000, 300, 1_000)[:count]:
            self.ask(pool_id, tenant, priority, wait_ms, 4_000)

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        if self.leases:
            self.give_back(data.draw(st.sampled_from(self.leases)))

    @rule()
    def release_the_newest(self) -> None:
        """A second way to return a lease: waiting requests get slots in most runs."""
        if self.leases:
            self.give_back(self.leases[-1])

    def give_back(self, lease: Lease) -> None:
        self.leases.remove(lease)
        try:
            self.reg.release_lease(lease.pool_id, lease.lease_id)
        except PoolError:
            pass  # it expired or was voided: nothing was decided
        else:
            self.pumped_at = self.clock.now_ms()
        self.check_decisions()

    @rule(ms=st.sampled_from([0, 1, 299, 300, 700, 1_000, 2_500, 5_000]))
    def advance_and_tick(self, ms: int) -> None:
        self.clock.advance(ms)
        self.reg.tick()
        self.pumped_at = self.clock.now_ms()
        self.check_decisions()

    @rule(ms=st.sampled_from([1, 300, 1_000, 4_000]))
    def advance_without_tick(self, ms: int) -> None:
        """Time passes between decisions: leases fall due and deadlines come, and the next
        call of any kind must catch up before it decides anything else."""
        self.clock.advance(ms)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        if not self.waiting:
            return
        ticket = data.draw(
            st.sampled_from(sorted(self.waiting.values(), key=lambda t: t.ticket_id))
        )
        assert self.reg.cancel_request(ticket.pool_id, ticket.ticket_id)
        assert not self.reg.cancel_request(ticket.pool_id, ticket.ticket_id)
        del self.waiting[ticket.ticket_id]
        assert self.futures.pop(ticket.ticket_id).cancelled()
        self.cancelled.add(ticket.ticket_id)
        assert self.told == []

    @rule(
        pool_id=POOL_IDS,
        change=st.sampled_from(["unready", "ready", "drain", "reload", "revive", "revive"]),
    )
    def lifecycle(self, pool_id: str, change: str) -> None:
        """One rule for every readiness change, so requests and returns make up most steps."""
        deadline = self.clock.now_ms() + 2_000
        if change == "unready":
            self.send(pool_id, ProbeFailed("probe", timed_out=False))
        elif change == "ready":
            self.send(pool_id, ProbeOk())
        elif change == "drain":
            self.send(pool_id, DrainRequested(DrainReason.API_REQUEST, deadline))
        elif change == "reload":
            self.send(pool_id, ReloadRequested("m1", deadline))
        else:
            self.revive(pool_id)

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def queues_hold_what_the_model_says(self) -> None:
        now = self.clock.now_ms()
        queued: dict[int, Ticket] = {}
        for pool_id, spec in POOLS.items():
            queue = self.reg.admissions.queue(pool_id)
            assert len(queue) <= spec.depth, f"OC-ADM-9002: {pool_id} holds {len(queue)}"
            queued |= {t.ticket_id: t for t in queue.tickets()}
        assert queued == self.waiting
        for t in self.waiting.values():
            assert t.deadline_ms > self.pumped_at, f"OC-ADM-9003: {t} still waits at {now}"
            assert not self.futures[t.ticket_id].done()

    @invariant()
    def pools_quotas_and_work_conservation(self) -> None:
        for tenant, limit in LIMIT.items():
            held = self.held(tenant)
            assert limit is None or held <= limit, f"OC-ADM-9011: {tenant} holds {held}"
        for pool_id, table in self.tables.items():
            assert 0 <= table.active <= table.capacity, f"OC-POOL-3040: {pool_id}"
            machine = self.machines[pool_id]
            waiting = [t for t in self.waiting.values() if t.pool_id == pool_id]
            if not machine.ready:
                assert waiting == [], f"OC-ADM-9005: {pool_id} is {machine.state} with waiters"
            elif table.free > 0:
                for t in waiting:
                    assert not eligible(self.held(t.tenant), t.tenant), (
                        f"OC-ADM-9004: {t} waits while {pool_id} has {table.free} free slots"
                    )

    @invariant()
    def shares_sum_to_one(self) -> None:
        view = self.reg.admission_view()
        for tier in TIERS:
            shares = view.shares[tier]
            if tier in self.admitted_tiers:
                assert math.isclose(math.fsum(shares.values()), 1.0, abs_tol=1e-9), shares
            else:
                assert dict(shares) == {}
        depths = {pid: sum(view.depths[pid].values()) for pid in POOLS}
        assert depths == {pid: len(self.reg.admissions.queue(pid)) for pid in POOLS}


AdmissionModel.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_oc_adm_9002_9011_admission_queue_invariants = AdmissionModel.TestCase
