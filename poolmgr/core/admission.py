"""Admission queues: which waiting lease request of a pool gets its next free slot.

Decides, for one pool, the order in which waiting lease requests (:class:`Ticket`) are
admitted, and for the whole manager, whether a tenant may ask at all:

- OC-ADM-9002: a queue holds at most ``depth`` tickets (:attr:`AdmissionQueue.full`);
- OC-ADM-9003: :meth:`AdmissionQueue.pick` never returns a ticket past its deadline, and
  :meth:`AdmissionQueue.overdue` hands back the tickets whose deadline has come;
- OC-ADM-9007: tiers are strict: :data:`TIERS` in order, the first tier with an eligible
  ticket wins;
- OC-ADM-9008: one tenant's tickets of one tier leave in arrival order (a FIFO lane);
- OC-ADM-9009: within a tier, tenants are served by start-time fair queuing (below);
- OC-ADM-9011: a tenant that is not eligible (at its ``max_concurrent``) is skipped, so it
  holds nobody back;
- OC-ADM-9012: :class:`TokenBucket` is a tenant's ``rps`` quota.

Why start-time fair queuing (SFQ; P. Goyal, H. M. Vin, H. Cheng, "Start-time Fair Queuing",
SIGCOMM 1996), which for requests of equal cost is stride scheduling (C. A. Waldspurger,
W. E. Weihl, 1995): every lease request costs one slot, so the scheduler needs no packet
sizes; SFQ interleaves tenants one admission at a time (deficit round robin with quantum
``weight`` would admit ``weight`` requests of one tenant in a row, a worse share over short
windows); its bound on the lag between two backlogged tenants, |A_i/w_i - A_j/w_j| <=
1/w_i + 1/w_j, is exactly what OC-ADM-9009 states; and a tenant that returns from idle starts
at the current virtual time, so it banks no credit. Each lane carries a *pass* (its start
tag); the lane with the smallest pass goes next, its pass grows by ``STRIDE_ONE // weight``,
and the tier's virtual time becomes the start tag just served. Integer strides keep every
decision exact and repeatable (ties go to the older ticket).

Pure: time arrives as ``now_ms`` arguments; no locks (the registry serialises calls).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "DEFAULT_TENANT",
    "STRIDE_ONE",
    "TIERS",
    "AdmissionQueue",
    "Priority",
    "TenantBook",
    "TenantPolicy",
    "Ticket",
    "TokenBucket",
]

DEFAULT_TENANT: Final = "default"
"""The tenant of a request that names none (weight 1, no quotas unless configured)."""

STRIDE_ONE: Final = 1 << 40
"""The pass a weight-1 tenant advances per admission; weight ``w`` advances ``STRIDE_ONE // w``."""


class Priority(StrEnum):
    """A request's tier; :data:`TIERS` orders them, first served first (OC-ADM-9007)."""

    INTERACTIVE = "interactive"
    BATCH = "batch"


TIERS: Final[tuple[Priority, ...]] = (Priority.INTERACTIVE, Priority.BATCH)


@dataclass(frozen=True)
class TenantPolicy:
    """What the config says about one tenant (OC-ADM-9017)."""

    name: str
    weight: int
    max_concurrent: int | None
    """``None``: no limit on concurrent leases."""
    rps: float | None
    """``None``: no rate limit."""
    burst: int | None
    """Bucket size of the rate limit; ``None``: ``ceil(rps)``."""


DEFAULT_POLICY: Final = TenantPolicy(DEFAULT_TENANT, 1, None, None, None)


@dataclass(frozen=True)
class Ticket:
    """One waiting lease request."""

    ticket_id: int
    """Unique and increasing in arrival order (ties in the scheduler go to the smaller)."""
    pool_id: str
    tenant: str
    priority: Priority
    arrived_ms: int
    deadline_ms: int
    ttl_ms: int | None = None
    job_id: str | None = None


class TokenBucket:
    """A tenant's ``rps`` quota: ``burst`` tokens, refilled at ``rate`` per second (OC-ADM-9012).

    Starts full. :meth:`take` spends one token or says in how many milliseconds one is due.
    """

    def __init__(self, rate_per_s: float, burst: int, now_ms: int) -> None:
        if not rate_per_s > 0:
            raise ValueError(f"rate must be > 0, got {rate_per_s}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = float(burst)
        self._at_ms = now_ms

    def tokens(self, now_ms: int) -> float:
        """Tokens available at ``now_ms`` (never more than ``burst``)."""
        elapsed = max(0, now_ms - self._at_ms)
        return min(float(self.burst), self._tokens + elapsed * self.rate_per_s / 1000.0)

    def take(self, now_ms: int) -> int | None:
        """Spend a token: ``None`` when one was there, else the milliseconds until one is."""
        available = self.tokens(now_ms)
        self._at_ms = max(self._at_ms, now_ms)
        self._tokens = available
        if available >= 1.0:
            self._tokens = available - 1.0
            return None
        return max(1, math.ceil((1.0 - available) * 1000.0 / self.rate_per_s))


class TenantBook:
    """Every tenant the manager knows, with its weight, quotas and rate bucket."""

    def __init__(self, policies: Iterable[TenantPolicy], now_ms: int) -> None:
        self._policies: dict[str, TenantPolicy] = {DEFAULT_TENANT: DEFAULT_POLICY}
        for policy in policies:
            if policy.weight < 1:
                raise ValueError(f"tenant {policy.name!r}: weight must be >= 1")
            self._policies[policy.name] = policy
        self._buckets: dict[str, TokenBucket] = {}
        for name, policy in self._policies.items():
            if policy.rps is not None:
                burst = policy.burst if policy.burst is not None else math.ceil(policy.rps)
                self._buckets[name] = TokenBucket(policy.rps, burst, now_ms)

    @property
    def names(self) -> list[str]:
        return sorted(self._policies)

    def known(self, tenant: str) -> bool:
        return tenant in self._policies

    def policy(self, tenant: str) -> TenantPolicy:
        """The tenant's policy; ``KeyError`` for a tenant the config does not list."""
        return self._policies[tenant]

    def weight(self, tenant: str) -> int:
        return self._policies[tenant].weight

    def limited(self, tenant: str) -> bool:
        """Whether the tenant has a ``max_concurrent`` quota."""
        return self._policies[tenant].max_concurrent is not None

    def allows(self, tenant: str, held: int) -> bool:
        """Whether a tenant holding ``held`` leases may be granted one more (OC-ADM-9011)."""
        limit = self._policies[tenant].max_concurrent
        return limit is None or held < limit

    def take_token(self, tenant: str, now_ms: int) -> int | None:
        """Spend one of the tenant's rate tokens: ``None``, or milliseconds until one is due."""
        bucket = self._buckets.get(tenant)
        return None if bucket is None else bucket.take(now_ms)


class _Lane:
    """One tenant's FIFO of tickets within one tier, with its SFQ pass."""

    __slots__ = ("pass_", "tickets")

    def __init__(self) -> None:
        self.tickets: deque[Ticket] = deque()
        self.pass_ = 0


class _Tier:
    __slots__ = ("lanes", "vtime")

    def __init__(self) -> None:
        self.lanes: dict[str, _Lane] = {}
        self.vtime = 0
        """The start tag of the ticket admitted last (SFQ's virtual time)."""


class AdmissionQueue:
    """The waiting requests of one pool, in tiers of per-tenant FIFO lanes."""

    def __init__(self, pool_id: str, depth: int, weight: Callable[[str], int]) -> None:
        if depth < 0:
            raise ValueError(f"depth must be >= 0, got {depth}")
        self.pool_id = pool_id
        self.depth = depth
        self._weight = weight
        self._tiers: dict[Priority, _Tier] = {tier: _Tier() for tier in TIERS}
        self._size = 0
        self._earliest: int | None = None
        """No waiting ticket has a deadline before this (a lower bound; ``None``: none waits).
        It lets :meth:`overdue`, which every decision calls twice, skip its scan of every
        waiting ticket while nothing can be due (1,000 waiting: 5x the decisions per second,
        bench/bench_admission.py)."""

    def __len__(self) -> int:
        return self._size

    @property
    def full(self) -> bool:
        return self._size >= self.depth

    def waiting(self, priority: Priority) -> int:
        """How many tickets of the tier wait."""
        return sum(len(lane.tickets) for lane in self._tiers[priority].lanes.values())

    def tickets(self) -> Iterator[Ticket]:
        """Every waiting ticket, by tier, then tenant, then arrival."""
        for tier in TIERS:
            lanes = self._tiers[tier].lanes
            for tenant in sorted(lanes):
                yield from lanes[tenant].tickets

    def push(self, ticket: Ticket, *, force: bool = False) -> None:
        """Queue a ticket at the end of its tenant's lane; ``OverflowError`` when full.

        ``force`` queues past the depth: the caller decides within the same call whether the
        ticket may stay (a request that is admitted at once never needed a place).
        """
        if self.full and not force:
            raise OverflowError(f"the admission queue of pool {self.pool_id!r} is full")
        tier = self._tiers[ticket.priority]
        lane = tier.lanes.get(ticket.tenant)
        if lane is None:
            lane = tier.lanes[ticket.tenant] = _Lane()
        if not lane.tickets:
            # SFQ: a lane that becomes backlogged starts no earlier than the virtual time.
            lane.pass_ = max(lane.pass_, tier.vtime)
        lane.tickets.append(ticket)
        self._size += 1
        if self._earliest is None or ticket.deadline_ms < self._earliest:
            self._earliest = ticket.deadline_ms

    def pick(self, now_ms: int, eligible: Callable[[str], bool]) -> Ticket | None:
        """Take the ticket to admit next at ``now_ms``, or ``None`` when none may go.

        Tiers in order (strict priority); within a tier the eligible tenant whose lane head is
        not past its deadline and whose pass is smallest (then the older head). A skipped
        ineligible lane is lifted to the virtual time as it stands after this pick, so waiting
        at a quota banks no credit: it comes back as a tenant returning from idle does.
        """
        for priority in TIERS:
            tier = self._tiers[priority]
            best: _Lane | None = None
            best_key: tuple[int, int] | None = None
            skipped: list[_Lane] = []
            for tenant, lane in tier.lanes.items():
                if not lane.tickets:
                    continue
                head = lane.tickets[0]
                if head.deadline_ms < now_ms:
                    continue  # overdue: refused by overdue(), never admitted late
                if not eligible(tenant):
                    skipped.append(lane)
                    continue
                key = (lane.pass_, head.ticket_id)
                if best_key is None or key < best_key:
                    best, best_key = lane, key
            ticket = None
            if best is not None:
                ticket = best.tickets.popleft()
                tier.vtime = best.pass_
                best.pass_ += STRIDE_ONE // self._weight(ticket.tenant)
                self._size -= 1
            # Lifted to the virtual time after the pick, not before: lifted before, a lane
            # skipped while another is served lags one stride behind it and, once eligible,
            # wins a run of admissions beyond the OC-ADM-9009 bound.
            for lane in skipped:
                lane.pass_ = max(lane.pass_, tier.vtime)
            if ticket is not None:
                return ticket
        return None

    def overdue(self, now_ms: int, *, inclusive: bool = True) -> list[Ticket]:
        """Remove and return the tickets whose deadline is at (when ``inclusive``) or before
        ``now_ms``, ordered by deadline, then arrival."""
        cutoff = now_ms if inclusive else now_ms - 1
        if self._earliest is None or cutoff < self._earliest:
            return []
        gone: list[Ticket] = []
        earliest: int | None = None
        for tier in self._tiers.values():
            for lane in tier.lanes.values():
                if not lane.tickets:
                    continue
                keep: deque[Ticket] = deque()
                for ticket in lane.tickets:
                    if ticket.deadline_ms <= cutoff:
                        gone.append(ticket)
                        continue
                    keep.append(ticket)
                    if earliest is None or ticket.deadline_ms < earliest:
                        earliest = ticket.deadline_ms
                lane.tickets = keep
        self._earliest = earliest
        self._size -= len(gone)
        return sorted(gone, key=lambda t: (t.deadline_ms, t.ticket_id))

    def remove(self, ticket_id: int) -> Ticket | None:
        """Take one ticket out (its client left); ``None`` when it no longer waits."""
        for tier in self._tiers.values():
            for lane in tier.lanes.values():
                for ticket in lane.tickets:
                    if ticket.ticket_id == ticket_id:
                        lane.tickets.remove(ticket)
                        self._size -= 1
                        return ticket
        return None

    def clear(self) -> list[Ticket]:
        """Remove every ticket (the pool cannot admit); returned in arrival order."""
        gone = sorted(self.tickets(), key=lambda t: t.ticket_id)
        for tier in self._tiers.values():
            for lane in tier.lanes.values():
                lane.tickets.clear()
        self._size = 0
        self._earliest = None
        return gone
