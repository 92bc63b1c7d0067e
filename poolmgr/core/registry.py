"""The registry: every pool's lifecycle, leases and facts, behind one lock.

The registry is what the HTTP control plane reads and what the supervisor feeds. It owns
one :class:`~poolmgr.core.lifecycle.PoolMachine` and one :class:`~poolmgr.core.leases.LeaseTable`
per pool, serialises access to them with a re-entrant lock (the HTTP threads and the
supervisor call it concurrently), gates lease admission on readiness (OC-POOL-3044),
voids leases when an engine dies (OC-POOL-3043), and answers consistent snapshots
(OC-POOL-3003, OC-POOL-3005). Heartbeat staleness is evaluated on every read, so a pool
whose heartbeat stopped is never reported or admitted as Ready (OC-POOL-3004). A snapshot
says how long the current engine has been Ready (``uptime_ms``, OC-CTL-4023): counted from the
preload success the machine told, on the injected clock, and null whenever the pool is not Ready.

Every input goes to a machine's one transition function; the registry carries out the
lease-side actions of the answer (void leases, resize the slot table) and hands every fact to
its listeners (:meth:`Registry.observe`: metrics, logs), outside its lock, in the order the
machine told them. Nobody compares snapshots to learn what a transition did.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass

from poolmgr.core.admission import Priority, TenantBook, Ticket
from poolmgr.core.admissions import AdmissionFact, Admissions, AdmissionView
from poolmgr.core.breaker import BreakerState
from poolmgr.core.clock import Clock
from poolmgr.core.decisions import (
    Action,
    Decision,
    Fact,
    PoolState,
    PreloadFinished,
    PreloadResult,
    ResizeSlots,
    VoidLeases,
)
from poolmgr.core.errors import PoolDraining, PoolError, PoolUnready, UnknownPool
from poolmgr.core.events import Event, HeartbeatCheck, Tick
from poolmgr.core.leases import Lease, LeaseEnd, LeaseTable
from poolmgr.core.lifecycle import LastError, PoolMachine, ReloadStatus
from poolmgr.core.vocab import Engine

Told = Fact | AdmissionFact
FactListener = Callable[[str, Told], None]
"""``listener(pool_id, fact)``: told every fact of every pool (lifecycle facts and admission
decisions), in the order it happened."""


@dataclass(frozen=True)
class Pending:
    """A lease request that was queued: its ticket, and the future its answer settles."""

    ticket: Ticket
    future: Future[Lease]


@dataclass(frozen=True)
class PoolSnapshot:
    """Everything known about one pool at one instant."""

    pool_id: str
    engine: Engine
    cpu: bool
    model_ref: str
    state: PoolState
    live: bool
    ready: bool
    draining: bool
    preload_ok: bool
    last_heartbeat_ms: int | None
    heartbeat_age_ms: int | None
    engine_version: str | None
    model_digest: str | None
    last_error: LastError | None
    slots_total: int
    slots_free: int
    active_leases: int
    leases_ended: Mapping[LeaseEnd, int]
    restart_count: int
    next_restart_at_ms: int | None
    backoff_attempt: int
    backoff_delay_ms: int | None
    breaker_state: BreakerState
    breaker_next_trial_at_ms: int | None
    reload: ReloadStatus | None
    drain_reason: str | None
    pid: int | None
    uptime_ms: int | None
    """How long the current engine has been Ready (since its preload succeeded); else None."""
    ctx_per_slot: int
    """The context one request gets: as planned at the last launch, as configured before one
    (OC-POOL-3070)."""
    ctx_total: int
    """The context of all slots together, what the KV cache is sized for (OC-POOL-3070)."""

    @property
    def load(self) -> float:
        """Fraction of slots in use (0 when the pool has no slots)."""
        return self.active_leases / self.slots_total if self.slots_total else 0.0


@dataclass
class _Pool:
    engine: Engine
    cpu: bool
    machine: PoolMachine
    leases: LeaseTable
    ctx_per_slot: int
    ctx_total: int
    preloaded_at_ms: int | None = None
    """When the current engine's preload succeeded (from the machine's fact), if it did."""


class Registry:
    """Thread-safe collection of pools, keyed by pool id."""

    def __init__(self, clock: Clock, tenants: TenantBook) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self._pools: dict[str, _Pool] = {}
        self._listeners: list[FactListener] = []
        self.admissions = Admissions(tenants)
        self._gate = _Gate(self)
        self._expiry_due_ms: float | None = None  # no lease ends before; None: unknown

    def observe(self, listener: FactListener) -> None:
        """Tell ``listener`` every fact from now on (it is called outside the lock)."""
        with self._lock:
            self._listeners.append(listener)

    def _publish(self, facts: Iterable[tuple[str, Told]]) -> None:
        listeners = list(self._listeners)
        for pool_id, fact in facts:
            for listener in listeners:
                listener(pool_id, fact)

    def register(
        self,
        machine: PoolMachine,
        leases: LeaseTable,
        *,
        engine: Engine,
        cpu: bool,
        ctx_per_slot: int,
        queue_depth: int,
        max_wait_ms: int,
    ) -> None:
        """Add a pool; ``ctx_per_slot`` is its configured context per slot, ``queue_depth`` and
        ``max_wait_ms`` its admission queue (OC-ADM-9001/9002)."""
        pool_id = machine.pool_id
        if leases.pool_id != pool_id:
            raise ValueError(f"lease table belongs to {leases.pool_id!r}, not {pool_id!r}")
        with self._lock:
            self._expiry_due_ms = None  # its table may hold leases already
            if pool_id in self._pools:
                raise ValueError(f"pool {pool_id!r} is already registered")
            total = ctx_per_slot * leases.capacity
            self._pools[pool_id] = _Pool(
                engine, cpu, machine, leases, ctx_per_slot=ctx_per_slot, ctx_total=total
            )
            self.admissions.add_pool(pool_id, depth=queue_depth, max_wait_ms=max_wait_ms)

    def record_context(self, pool_id: str, per_slot: int, total: int) -> None:
        """The context a launch planned for the pool: per slot and for all slots together."""
        with self._lock:
            pool = self._get(pool_id)
            pool.ctx_per_slot, pool.ctx_total = per_slot, total

    def identity(self, pool_id: str) -> tuple[str, str | None] | None:
        """The pool's engine and engine version (``None`` until known); ``None``: no such pool.

        Read without the lock, on purpose: log formatting calls it from any thread, possibly
        while another thread holds the lock and waits on a logging handler. Each read is
        atomic; the pair is at worst one transition old.
        """
        pool = self._pools.get(pool_id)
        if pool is None:
            return None
        return pool.engine.value, pool.machine.engine_version

    def ids(self) -> list[str]:
        with self._lock:
            return sorted(self._pools)

    def _get(self, pool_id: str) -> _Pool:
        try:
            return self._pools[pool_id]
        except KeyError:
            raise UnknownPool(f"no pool named {pool_id!r}", pool_id=pool_id) from None

    def machine(self, pool_id: str) -> PoolMachine:
        """The pool's machine, for read access under the caller's own care."""
        with self._lock:
            return self._get(pool_id).machine

    # --- feeding events ---------------------------------------------------------------

    def dispatch(self, pool_id: str, event: Event) -> Decision:
        """Apply an event to a pool; lease-side actions are carried out here.

        Returns the whole decision (the supervisor skips the actions the registry did).
        """
        told: list[tuple[str, Told]] = []
        with self._lock:
            pool = self._get(pool_id)
            decision = self._step(pool, event)
            told += ((pool_id, fact) for fact in decision.facts)
            claimed = self._pump_waiting(told)
        self._publish(told)
        Admissions.settle(claimed)
        return decision

    def tick(self) -> dict[str, Decision]:
        """Advance every pool to the clock's current time; expire overdue leases.

        Answers the pools whose tick ordered an action.
        """
        now = self.clock.now_ms()
        out: dict[str, Decision] = {}
        told: list[tuple[str, Told]] = []
        with self._lock:
            for pool_id in sorted(self._pools):
                pool = self._pools[pool_id]
                pool.leases.expire(now)
                decision = self._step(pool, Tick())
                told += ((pool_id, fact) for fact in decision.facts)
                if decision.actions:
                    out[pool_id] = decision
            claimed = self._pump_waiting(told)
        self._publish(told)
        Admissions.settle(claimed)
        return out

    def _pump_waiting(
        self, told: list[tuple[str, Told]]
    ) -> list[tuple[Future[Lease], AdmissionFact]]:
        """Let every pool with waiting requests admit or refuse them now (OC-ADM-9003..9005).

        Every pool, not just the one that changed: a lease that ended may have taken its
        tenant below its quota, and that tenant may wait on any pool. Overdue leases of every
        pool end first: a quota check ends them on its way (``_Gate.held``), and a slot freed
        there after its pool was pumped would wait for the next decision. Call with the lock
        held.
        """
        now = self.clock.now_ms()  # every pool's leases, once one can have expired (OC-PERF-9109)
        if self._expiry_due_ms is None or now >= self._expiry_due_ms:
            for pool in self._pools.values():
                pool.leases.expire(now)
            dues = (pool.leases.next_expiry_ms() for pool in self._pools.values())
            self._expiry_due_ms = min((d for d in dues if d is not None), default=float("inf"))
        facts: list[AdmissionFact] = []
        for pool_id in self.admissions.waiting_pools():
            facts += self.admissions.pump(self._gate, pool_id, now)
        told += self._gate.take_told()
        told += ((fact.ticket.pool_id, fact) for fact in facts)
        return self.admissions.claim(facts)

    def _step(self, pool: _Pool, received: Event | Tick | HeartbeatCheck) -> Decision:
        decision = pool.machine.step(received)
        self._apply_lease_actions(pool, decision.actions)
        for fact in decision.facts:
            if isinstance(fact, PreloadFinished) and fact.result is PreloadResult.SUCCESS:
                pool.preloaded_at_ms = self.clock.now_ms()
        return decision

    def _apply_lease_actions(self, pool: _Pool, actions: Iterable[Action]) -> None:
        for action in actions:
            match action:
                case ResizeSlots(slots=slots):
                    pool.leases.resize(slots)
                case VoidLeases():
                    pool.leases.void_all(self.clock.now_ms())
                case _:
                    pass  # the supervisor's business

    def _check_heartbeat(self, pool_id: str, pool: _Pool, told: list[tuple[str, Told]]) -> None:
        told += ((pool_id, fact) for fact in self._step(pool, HeartbeatCheck()).facts)

    # --- leases -------------------------------------------------------------------

    def acquire_lease(
        self,
        pool_id: str,
        *,
        ttl_ms: int | None = None,
        job_id: str | None = None,
    ) -> Lease:
        """Take one slot of a Ready pool at once for the tenant ``default``, or raise why not
        (OC-POOL-3040, OC-POOL-3044)."""
        return self.request_lease(pool_id, ttl_ms=ttl_ms, job_id=job_id).future.result(timeout=0)

    def request_lease(
        self,
        pool_id: str,
        *,
        wait_ms: int = 0,
        ttl_ms: int | None = None,
        job_id: str | None = None,
        tenant: str | None = None,
        priority: Priority = Priority.INTERACTIVE,
    ) -> Pending:
        """Ask for one slot, waiting up to ``wait_ms`` in the pool's queue (OC-ADM-9001).

        Raises at once for a bad request, a pool that cannot admit and a rate quota; otherwise
        the answer (a lease or a refusal) settles :attr:`Pending.future`, already settled
        when ``wait_ms`` is 0. ``ValueError`` for a ttl outside the pool's bounds.
        """
        told: list[tuple[str, Told]] = []
        claimed: list[tuple[Future[Lease], AdmissionFact]] = []
        try:
            with self._lock:
                try:
                    self._get(pool_id).leases.check_ttl(ttl_ms)
                    # Slots of overdue leases go to the requests already waiting (OC-ADM-9004).
                    claimed = self._pump_waiting(told)
                    ticket, future, facts = self.admissions.submit(
                        self._gate,
                        pool_id,
                        self.clock.now_ms(),
                        tenant=tenant,
                        priority=priority,
                        wait_ms=wait_ms,
                        ttl_ms=ttl_ms,
                        job_id=job_id,
                    )
                finally:
                    told += self._gate.take_told()
                told += ((fact.ticket.pool_id, fact) for fact in facts)
                claimed += self.admissions.claim(facts)
        finally:
            self._publish(told)
            Admissions.settle(claimed)
        return Pending(ticket, future)

    def admission_view(self) -> AdmissionView:
        """Admission's shares, deadline ratios and queue depths (OC-ADM-9013..9015)."""
        with self._lock:
            return self.admissions.view()

    def cancel_request(self, pool_id: str, ticket_id: int) -> bool:
        """The client of a waiting request left; ``False`` when it was already answered."""
        with self._lock:
            return self.admissions.cancel(pool_id, ticket_id)

    def _refusal(self, pool_id: str) -> PoolError | None:
        """What a new lease request to the pool would be refused with now (lock held)."""
        pool = self._get(pool_id)
        machine = pool.machine
        self._check_heartbeat(pool_id, pool, self._gate.told)
        if machine.draining:
            return PoolDraining(
                f"pool {pool_id!r} is draining and takes no new leases", pool_id=pool_id
            )
        if not machine.ready:
            return PoolUnready(
                f"pool {pool_id!r} is {machine.state.value}, not ready",
                pool_id=pool_id,
                retry_after_ms=machine.retry_after_ms(),
            )
        return None

    def release_lease(self, pool_id: str, lease_id: str) -> Lease:
        """Give a slot back; unknown or already-ended leases raise typed errors (OC-POOL-3041).

        The slot goes to a waiting request at once (OC-ADM-9004).
        """
        return self._lease_call(pool_id, lambda table, now: table.release(lease_id, now))

    def renew_lease(self, pool_id: str, lease_id: str, *, ttl_ms: int | None = None) -> Lease:
        """Extend an active lease from now; ended or unknown leases raise (OC-POOL-3045).

        A draining pool still renews: its active leases run until the drain's deadline.
        """
        return self._lease_call(pool_id, lambda table, now: table.renew(lease_id, now, ttl_ms))

    def _lease_call(self, pool_id: str, call: Callable[[LeaseTable, int], Lease]) -> Lease:
        """A call on the pool's lease table, then the waiting requests take what it freed: the
        table ends overdue leases first, also in a call that then raises (OC-ADM-9004)."""
        told: list[tuple[str, Told]] = []
        claimed: list[tuple[Future[Lease], AdmissionFact]] = []
        try:
            with self._lock:
                try:
                    return call(self._get(pool_id).leases, self.clock.now_ms())
                finally:
                    claimed = self._pump_waiting(told)
        finally:
            self._publish(told)
            Admissions.settle(claimed)

    def active_leases(self, pool_id: str) -> int:
        with self._lock:
            return self._get(pool_id).leases.active

    # --- reading ------------------------------------------------------------------

    def snapshot(self, pool_id: str) -> PoolSnapshot:
        told: list[tuple[str, Told]] = []
        with self._lock:
            snap = self._snapshot(pool_id, self._get(pool_id), told)
            # A pool the read found stale refuses its queue now (OC-ADM-9005), and a deadline
            # the read finds passed is refused now rather than at the next sweep.
            claimed = self._pump_waiting(told)
        self._publish(told)
        Admissions.settle(claimed)
        return snap

    def snapshots(self, pool_ids: Iterable[str] | None = None) -> list[PoolSnapshot]:
        """Every pool (or those of ``pool_ids``), ordered by id (stable order for listings)."""
        told: list[tuple[str, Told]] = []
        with self._lock:
            ids = sorted(self._pools if pool_ids is None else pool_ids)
            snaps = [self._snapshot(pid, self._get(pid), told) for pid in ids]
            claimed = self._pump_waiting(told)
        self._publish(told)
        Admissions.settle(claimed)
        return snaps

    def _snapshot(self, pool_id: str, pool: _Pool, told: list[tuple[str, Told]]) -> PoolSnapshot:
        self._check_heartbeat(pool_id, pool, told)
        m = pool.machine
        now = self.clock.now_ms()
        leases = pool.leases
        hb = m.last_heartbeat_ms
        return PoolSnapshot(
            pool_id=pool_id,
            engine=pool.engine,
            cpu=pool.cpu,
            model_ref=m.model_ref,
            state=m.state,
            live=m.live,
            ready=m.ready,
            draining=m.draining,
            preload_ok=m.preload_ok,
            last_heartbeat_ms=hb,
            heartbeat_age_ms=None if hb is None else now - hb,
            engine_version=m.engine_version,
            model_digest=m.model_digest,
            last_error=m.last_error,
            slots_total=leases.capacity,
            slots_free=leases.free,
            active_leases=leases.active,
            leases_ended=dict(leases.totals),
            restart_count=m.restart_count,
            next_restart_at_ms=m.next_restart_at_ms,
            backoff_attempt=m.backoff.attempt,
            backoff_delay_ms=m.backoff.last_delay_ms,
            breaker_state=m.breaker.state(now),
            breaker_next_trial_at_ms=m.breaker.next_trial_at_ms,
            reload=m.reload,
            drain_reason=None if m.drain_reason is None else m.drain_reason.value,
            pid=m.pid,
            uptime_ms=None
            if not m.ready or pool.preloaded_at_ms is None
            else now - pool.preloaded_at_ms,
            ctx_per_slot=pool.ctx_per_slot,
            ctx_total=pool.ctx_total,
        )


class _Gate:
    """The registry as admissions sees it (:class:`~poolmgr.core.admissions.Gate`).

    Called with the registry's lock held; heartbeat facts told on the way are kept in
    :attr:`told` until the registry publishes them.
    """

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self.told: list[tuple[str, Told]] = []

    def take_told(self) -> list[tuple[str, Told]]:
        told, self.told = self.told, []
        return told

    def refusal(self, pool_id: str) -> PoolError | None:
        return self._registry._refusal(pool_id)

    def free(self, pool_id: str) -> int:
        return self._registry._get(pool_id).leases.free

    def grant(self, ticket: Ticket, now_ms: int) -> Lease:
        leases = self._registry._get(ticket.pool_id).leases
        self._registry._expiry_due_ms = None  # a new lease: the next pump looks again
        return leases.acquire(
            now_ms, ttl_ms=ticket.ttl_ms, job_id=ticket.job_id, tenant=ticket.tenant
        )

    def held(self, tenant: str) -> int:
        registry = self._registry
        now = registry.clock.now_ms()
        total = 0
        for pool in registry._pools.values():
            pool.leases.expire(now)
            total += pool.leases.held(tenant)
        return total
