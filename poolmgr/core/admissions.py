"""Admissions: lease requests that may wait, from arrival to a lease or a refusal.

:class:`Admissions` owns every pool's :class:`~poolmgr.core.admission.AdmissionQueue`, the
tenants (:class:`~poolmgr.core.admission.TenantBook`), the share and deadline meters, and one
:class:`concurrent.futures.Future` per waiting request, which the HTTP layer awaits. It decides:

- OC-ADM-9001: a request with ``wait_ms`` 0 is answered within the call; ``wait_ms`` above the
  pool's maximum is an :class:`~poolmgr.core.errors.InvalidRequest`;
- OC-ADM-9002: a request that would have to wait in a full queue gets
  :class:`~poolmgr.core.errors.QueueFull`;
- OC-ADM-9003: :meth:`Admissions.pump` refuses tickets past their deadline before it admits,
  and the ones whose deadline is now after it admitted;
- OC-ADM-9004: :meth:`Admissions.pump` admits while the pool has free slots and an eligible
  ticket waits (the registry calls it whenever a slot may have freed);
- OC-ADM-9005: a pool that cannot admit (the gate's refusal) refuses every ticket with it;
- OC-ADM-9006: :meth:`Admissions.cancel` takes a ticket out;
- OC-ADM-9010..9012: unknown tenants are invalid, rate tokens are spent on arrival (a request
  without one is refused before it queues), and a tenant at its ``max_concurrent`` is not
  eligible;
- OC-ADM-9013/9014: admissions and deadline misses feed the meters.

It holds no lock: the registry calls it under its own, claims the decided futures there
(:meth:`Admissions.claim`) and settles them after releasing it (:meth:`Admissions.settle`).
The registry is the :class:`Gate`: it knows slots, readiness and who holds which lease.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from poolmgr.core.admission import (
    DEFAULT_TENANT,
    TIERS,
    AdmissionQueue,
    Priority,
    TenantBook,
    Ticket,
)
from poolmgr.core.admission_stats import DeadlineBook, ShareMeter
from poolmgr.core.errors import (
    CapacityExhausted,
    DeadlineExceeded,
    InvalidRequest,
    PoolError,
    QueueFull,
    QuotaExceeded,
)
from poolmgr.core.leases import Lease

__all__ = ["AdmissionFact", "AdmissionView", "Admissions", "Admitted", "Gate", "Refused"]


class Gate(Protocol):
    """What admissions needs to know about pools and leases (the registry answers)."""

    def refusal(self, pool_id: str) -> PoolError | None:
        """The error a new request to the pool would get now for its state, or ``None``."""
        ...

    def free(self, pool_id: str) -> int:
        """Slots of the pool that can be granted now."""
        ...

    def grant(self, ticket: Ticket, now_ms: int) -> Lease:
        """Take one slot of the ticket's pool for the ticket."""
        ...

    def held(self, tenant: str) -> int:
        """Leases the tenant holds over every pool."""
        ...


@dataclass(frozen=True)
class Admitted:
    """A request was granted a lease after ``waited_ms``."""

    ticket: Ticket
    lease: Lease
    waited_ms: int


@dataclass(frozen=True)
class Refused:
    """A request was refused with ``error`` after ``waited_ms`` (0: at arrival)."""

    ticket: Ticket
    error: PoolError
    waited_ms: int


AdmissionFact = Admitted | Refused


@dataclass(frozen=True)
class AdmissionView:
    """What admission decided so far, as numbers (OC-ADM-9013..9015)."""

    shares: Mapping[Priority, Mapping[str, float]]
    deadlines_met_ratio: Mapping[Priority, float]
    depths: Mapping[str, Mapping[Priority, int]]


@dataclass(frozen=True)
class _QueuePolicy:
    depth: int
    max_wait_ms: int


class Admissions:
    """Every pool's admission queue, the tenants, and the waiting requests' futures."""

    def __init__(self, tenants: TenantBook) -> None:
        self.tenants = tenants
        self.shares = ShareMeter()
        self.deadlines = DeadlineBook()
        self._queues: dict[str, AdmissionQueue] = {}
        self._policies: dict[str, _QueuePolicy] = {}
        self._futures: dict[int, Future[Lease]] = {}
        self._ids = itertools.count(1)

    def add_pool(self, pool_id: str, *, depth: int, max_wait_ms: int) -> None:
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        self._queues[pool_id] = AdmissionQueue(pool_id, depth, self.tenants.weight)
        self._policies[pool_id] = _QueuePolicy(depth, max_wait_ms)

    def queue(self, pool_id: str) -> AdmissionQueue:
        return self._queues[pool_id]

    def waiting_pools(self) -> list[str]:
        """Pools with at least one waiting ticket, by id."""
        if not self._futures:  # every waiting ticket has its future here: none waits (OC-PERF-9109)
            return []
        return sorted(pid for pid, queue in self._queues.items() if len(queue))

    def view(self) -> AdmissionView:
        """Shares, deadline ratios and queue depths as of now (for metrics and health)."""
        return AdmissionView(
            shares={tier: dict(self.shares.shares(tier)) for tier in TIERS},
            deadlines_met_ratio={tier: self.deadlines.ratio(tier) for tier in TIERS},
            depths=self.depths(),
        )

    def depths(self) -> Mapping[str, Mapping[Priority, int]]:
        """Waiting tickets per pool and tier."""
        return {
            pid: {tier: queue.waiting(tier) for tier in TIERS}
            for pid, queue in sorted(self._queues.items())
        }

    # --- arrival ------------------------------------------------------------------

    def submit(
        self,
        gate: Gate,
        pool_id: str,
        now_ms: int,
        *,
        tenant: str | None = None,
        priority: Priority = Priority.INTERACTIVE,
        wait_ms: int = 0,
        ttl_ms: int | None = None,
        job_id: str | None = None,
    ) -> tuple[Ticket, Future[Lease], list[AdmissionFact]]:
        """A new request: raises for a bad request or a pool that cannot admit, else queues it.

        Returns the ticket, its future (settled by :meth:`settle` once the facts that decide it
        are claimed; already among ``facts`` when the call answered it) and the facts of the
        pump it caused.
        """
        name = DEFAULT_TENANT if tenant is None else tenant
        if not self.tenants.known(name):
            raise InvalidRequest(
                f"body.tenant: unknown tenant {name!r} (known: {', '.join(self.tenants.names)})",
                pool_id=pool_id,
            )
        policy = self._policies[pool_id]
        if not 0 <= wait_ms <= policy.max_wait_ms:
            raise InvalidRequest(
                f"body.wait_ms: must be between 0 and {policy.max_wait_ms} for pool "
                f"{pool_id!r} (its admission.max_wait_ms), got {wait_ms}",
                pool_id=pool_id,
            )
        refusal = gate.refusal(pool_id)
        if refusal is not None:
            raise refusal
        ticket = Ticket(
            ticket_id=next(self._ids),
            pool_id=pool_id,
            tenant=name,
            priority=priority,
            arrived_ms=now_ms,
            deadline_ms=now_ms + wait_ms,
            ttl_ms=ttl_ms,
            job_id=job_id,
        )
        future: Future[Lease] = Future()
        self._futures[ticket.ticket_id] = future
        retry = self.tenants.take_token(name, now_ms)
        if retry is not None:
            over = QuotaExceeded(
                f"tenant {name!r} is over its rate quota "
                f"({self.tenants.policy(name).rps} requests per second)",
                quota="rps",
                pool_id=pool_id,
                retry_after_ms=retry,
            )
            return ticket, future, [Refused(ticket, over, 0)]
        queue = self._queues[pool_id]
        queue.push(ticket, force=True)
        facts = self.pump(gate, pool_id, now_ms)
        if len(queue) > policy.depth and queue.remove(ticket.ticket_id) is not None:
            full = QueueFull(
                f"the admission queue of pool {pool_id!r} is full "
                f"({policy.depth} requests waiting)",
                pool_id=pool_id,
            )
            facts.append(Refused(ticket, full, 0))
        return ticket, future, facts

    # --- decisions ------------------------------------------------------------------

    def pump(self, gate: Gate, pool_id: str, now_ms: int) -> list[AdmissionFact]:
        """Admit what the pool can take at ``now_ms``; refuse what can no longer wait."""
        queue = self._queues[pool_id]
        if not len(queue):
            return []
        facts: list[AdmissionFact] = []
        refusal = gate.refusal(pool_id)
        if refusal is not None:
            facts += (Refused(t, refusal, now_ms - t.arrived_ms) for t in queue.clear())
            return facts
        for overdue in queue.overdue(now_ms, inclusive=False):
            facts.append(self._late(gate, overdue, now_ms))

        def eligible(tenant: str) -> bool:
            return not self.tenants.limited(tenant) or self.tenants.allows(
                tenant, gate.held(tenant)
            )

        while gate.free(pool_id) > 0:
            chosen = queue.pick(now_ms, eligible)
            if chosen is None:
                break
            lease = gate.grant(chosen, now_ms)
            self.shares.admitted(chosen.tenant, chosen.priority)
            self.deadlines.met(chosen.priority)
            facts.append(Admitted(chosen, lease, now_ms - chosen.arrived_ms))
        for late in queue.overdue(now_ms):
            facts.append(self._late(gate, late, now_ms))
        return facts

    def _late(self, gate: Gate, ticket: Ticket, now_ms: int) -> Refused:
        """The refusal of a ticket whose deadline came before it was admitted."""
        waited = now_ms - ticket.arrived_ms
        pool_id, tenant = ticket.pool_id, ticket.tenant
        limit = self.tenants.policy(tenant).max_concurrent
        if limit is not None and not self.tenants.allows(tenant, gate.held(tenant)):
            error: PoolError = QuotaExceeded(
                f"tenant {tenant!r} holds its maximum of {limit} concurrent leases",
                quota="max_concurrent",
                pool_id=pool_id,
            )
        elif ticket.deadline_ms == ticket.arrived_ms:
            self.deadlines.missed(ticket.priority)
            error = CapacityExhausted(f"pool {pool_id!r} has no free slot", pool_id=pool_id)
        else:
            self.deadlines.missed(ticket.priority)
            error = DeadlineExceeded(
                f"pool {pool_id!r} had no free slot within the request's "
                f"{ticket.deadline_ms - ticket.arrived_ms} ms wait",
                pool_id=pool_id,
            )
        return Refused(ticket, error, waited)

    def cancel(self, pool_id: str, ticket_id: int) -> bool:
        """The request's client left: take its ticket out. ``False``: it no longer waits."""
        queue = self._queues.get(pool_id)
        if queue is None or queue.remove(ticket_id) is None:
            return False  # answered already, or not waiting on this pool: its future stays
        future = self._futures.pop(ticket_id, None)
        if future is not None:
            future.cancel()
        return True

    def claim(self, facts: Iterable[AdmissionFact]) -> list[tuple[Future[Lease], AdmissionFact]]:
        """Take the futures of decided requests out of the book (under the registry's lock)."""
        out: list[tuple[Future[Lease], AdmissionFact]] = []
        for fact in facts:
            future = self._futures.pop(fact.ticket.ticket_id, None)
            if future is not None:
                out.append((future, fact))
        return out

    @staticmethod
    def settle(claimed: Iterable[tuple[Future[Lease], AdmissionFact]]) -> None:
        """Answer claimed futures (call without the registry's lock: callbacks run here)."""
        for future, fact in claimed:
            if future.done():
                continue
            if isinstance(fact, Admitted):
                future.set_result(fact.lease)
            else:
                future.set_exception(fact.error)
