"""Lease bookkeeping: how many in-flight slots of one pool are taken, and by whom.

A lease is one slot of a pool handed to one request. :class:`LeaseTable` decides whether a slot
can be granted, when a granted slot ends and how it ended. It serves:

- OC-POOL-3040: the number of active leases never exceeds the pool's capacity at grant time and
  never goes negative; shrinking capacity keeps existing leases and floors ``free`` at zero.
- OC-POOL-3041: returning an unknown lease, or one that has already ended, is a typed error
  (:class:`~poolmgr.core.errors.UnknownLease`, :class:`~poolmgr.core.errors.LeaseAlreadyReturned`).
- OC-POOL-3042: every lease carries an expiry; a lease whose ``expires_at_ms`` is at or before
  ``now_ms`` has expired, whether or not a sweep has run yet.
- OC-POOL-3043: an engine crash voids every active lease of the pool and counts them.

The table applies no readiness or draining policy (the registry gates that before calling
:meth:`LeaseTable.acquire`). It is pure: time arrives as ``now_ms`` arguments and lease ids come
from an injected :class:`random.Random`. Every public method takes one lock, because the HTTP
layer and the supervisor call it from different threads.

Expiry is a function of time, not of when a sweep happened: ``acquire``, ``release``, ``renew``
and ``void_all`` first end the leases that are overdue at ``now_ms``, so releasing a lease after
its deadline reports that it expired, and a crash after a deadline counts that lease as expired
rather than voided.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from poolmgr.core.errors import CapacityExhausted, LeaseAlreadyReturned, UnknownLease

#: How many fresh ids are drawn before giving up on an rng that keeps repeating itself.
_MAX_ID_DRAWS = 64


@dataclass(frozen=True)
class Lease:
    """One granted slot of a pool."""

    lease_id: str
    pool_id: str
    granted_at_ms: int
    expires_at_ms: int
    job_id: str | None = None
    tenant: str = "default"
    """Who holds it (OC-ADM-9011 counts a tenant's leases over every pool)."""


class LeaseEnd(StrEnum):
    """How a lease ended."""

    RETURNED = "returned"
    EXPIRED = "expired"
    VOIDED = "voided"


class LeaseTable:
    """Capacity bookkeeping for the leases of one pool (OC-POOL-3040..3043).

    Lease ids are UUID4 strings built from ``rng``, so a seeded table hands out the same ids
    every run. A new id is never equal to an active lease's id nor to one of the last
    ``remembered_ended`` ended ids (a collision draws again); beyond that window the 122 random
    bits of a UUID4 are what keep ids apart.
    """

    def __init__(
        self,
        pool_id: str,
        capacity: int,
        rng: random.Random,
        *,
        default_ttl_ms: int = 300_000,
        max_ttl_ms: int = 3_600_000,
        remembered_ended: int = 4096,
    ) -> None:
        if not pool_id:
            raise ValueError("pool_id must be a non-empty string")
        _check_capacity(capacity)
        if max_ttl_ms < 1:
            raise ValueError(f"max_ttl_ms must be >= 1, got {max_ttl_ms}")
        if not 1 <= default_ttl_ms <= max_ttl_ms:
            raise ValueError(
                f"default_ttl_ms must be between 1 and max_ttl_ms ({max_ttl_ms}), "
                f"got {default_ttl_ms}"
            )
        if remembered_ended < 0:
            raise ValueError(f"remembered_ended must be >= 0, got {remembered_ended}")
        self.pool_id = pool_id
        self._capacity = capacity
        self._rng = rng
        self._default_ttl_ms = default_ttl_ms
        self._max_ttl_ms = max_ttl_ms
        self._remembered_limit = remembered_ended
        self._active: dict[str, Lease] = {}
        self._held: dict[str, int] = {}
        self._ended: OrderedDict[str, LeaseEnd] = OrderedDict()
        self._totals: dict[LeaseEnd, int] = dict.fromkeys(LeaseEnd, 0)
        self._lock = threading.Lock()

    # -- read side -------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """Slots the pool currently offers."""
        with self._lock:
            return self._capacity

    @property
    def active(self) -> int:
        """Leases granted and not yet ended (as of the last call that took a ``now_ms``)."""
        with self._lock:
            return len(self._active)

    @property
    def free(self) -> int:
        """Slots that can still be granted: ``capacity - active``, never below zero."""
        with self._lock:
            return max(0, self._capacity - len(self._active))

    @property
    def totals(self) -> Mapping[LeaseEnd, int]:
        """Ended leases counted by how they ended; a read-only copy with every key present."""
        with self._lock:
            return MappingProxyType(dict(self._totals))

    def held(self, tenant: str) -> int:
        """Active leases of ``tenant`` (as of the last call that took a ``now_ms``)."""
        with self._lock:
            return self._held.get(tenant, 0)

    def next_expiry_ms(self) -> int | None:
        """The earliest ``expires_at_ms`` among active leases, or ``None`` when there are none."""
        with self._lock:
            return min((lease.expires_at_ms for lease in self._active.values()), default=None)

    def snapshot(self) -> list[Lease]:
        """The active leases, ordered by grant time and then by id."""
        with self._lock:
            return sorted(self._active.values(), key=lambda x: (x.granted_at_ms, x.lease_id))

    # -- write side ------------------------------------------------------------------------

    def acquire(
        self,
        now_ms: int,
        *,
        ttl_ms: int | None = None,
        job_id: str | None = None,
        tenant: str = "default",
    ) -> Lease:
        """Grant one slot for ``ttl_ms`` (default ``default_ttl_ms``).

        Overdue leases are expired first. Raises :class:`ValueError` for a ttl outside
        ``1..max_ttl_ms`` and :class:`~poolmgr.core.errors.CapacityExhausted` when no slot is free.
        """
        ttl = self._resolve_ttl(ttl_ms)
        with self._lock:
            self._expire_locked(now_ms)
            if len(self._active) >= self._capacity:
                raise CapacityExhausted(
                    f"pool {self.pool_id!r} has no free slot "
                    f"({len(self._active)} of {self._capacity} leased)",
                    pool_id=self.pool_id,
                )
            lease = Lease(
                lease_id=self._new_id_locked(),
                pool_id=self.pool_id,
                granted_at_ms=now_ms,
                expires_at_ms=now_ms + ttl,
                job_id=job_id,
                tenant=tenant,
            )
            self._active[lease.lease_id] = lease
            self._held[tenant] = self._held.get(tenant, 0) + 1
            return lease

    def release(self, lease_id: str, now_ms: int) -> Lease:
        """Return a lease and hand back the lease that ended.

        Raises :class:`~poolmgr.core.errors.UnknownLease` for an id this table does not know and
        :class:`~poolmgr.core.errors.LeaseAlreadyReturned` (naming how it ended) for an id that has
        already ended and is still remembered.
        """
        with self._lock:
            self._expire_locked(now_ms)
            lease = self._active_or_raise(lease_id, "return")
            self._end_locked(lease, LeaseEnd.RETURNED)
            return lease

    def renew(self, lease_id: str, now_ms: int, ttl_ms: int | None = None) -> Lease:
        """Extend a lease so it lasts at least ``ttl_ms`` (default ``default_ttl_ms``) from now.

        Renewal never shortens a lease: the new expiry is the later of the current one and
        ``now_ms + ttl_ms``. Errors are those of :meth:`release`, plus :class:`ValueError` for a
        ttl outside ``1..max_ttl_ms``.
        """
        ttl = self._resolve_ttl(ttl_ms)
        with self._lock:
            self._expire_locked(now_ms)
            lease = self._active_or_raise(lease_id, "renew")
            renewed = dataclasses.replace(
                lease, expires_at_ms=max(lease.expires_at_ms, now_ms + ttl)
            )
            self._active[lease_id] = renewed
            return renewed

    def expire(self, now_ms: int) -> list[Lease]:
        """End every lease with ``expires_at_ms <= now_ms``; return them by expiry, then id."""
        with self._lock:
            return self._expire_locked(now_ms)

    def void_all(self, now_ms: int) -> list[Lease]:
        """The engine crashed: end every active lease as voided and return those leases.

        The leases come back (and are remembered as ended) ordered by grant time, then id.
        Leases already overdue at ``now_ms`` ended before the crash; they are counted as expired
        and are not part of the returned list.
        """
        with self._lock:
            self._expire_locked(now_ms)
            voided = sorted(self._active.values(), key=lambda x: (x.granted_at_ms, x.lease_id))
            for lease in voided:
                self._end_locked(lease, LeaseEnd.VOIDED)
            return voided

    def resize(self, capacity: int) -> None:
        """Adopt a new slot count; active leases are kept even when they now exceed it."""
        _check_capacity(capacity)
        with self._lock:
            self._capacity = capacity

    def check_ttl(self, ttl_ms: int | None) -> None:
        """Raise :class:`ValueError` for a ttl outside ``1..max_ttl_ms`` (``None`` is fine)."""
        self._resolve_ttl(ttl_ms)

    # -- internals (call with the lock held) -----------------------------------------------

    def _resolve_ttl(self, ttl_ms: int | None) -> int:
        ttl = self._default_ttl_ms if ttl_ms is None else ttl_ms
        if not 1 <= ttl <= self._max_ttl_ms:
            raise ValueError(f"ttl_ms must be between 1 and {self._max_ttl_ms}, got {ttl}")
        return ttl

    def _expire_locked(self, now_ms: int) -> list[Lease]:
        overdue = sorted(
            (lease for lease in self._active.values() if lease.expires_at_ms <= now_ms),
            key=lambda x: (x.expires_at_ms, x.lease_id),
        )
        for lease in overdue:
            self._end_locked(lease, LeaseEnd.EXPIRED)
        return overdue

    def _active_or_raise(self, lease_id: str, verb: str) -> Lease:
        lease = self._active.get(lease_id)
        if lease is not None:
            return lease
        ended = self._ended.get(lease_id)
        if ended is not None:
            raise LeaseAlreadyReturned(
                f"cannot {verb} lease {lease_id!r} of pool {self.pool_id!r}: "
                f"it was already {ended.value}",
                pool_id=self.pool_id,
            )
        raise UnknownLease(f"pool {self.pool_id!r} has no lease {lease_id!r}", pool_id=self.pool_id)

    def _end_locked(self, lease: Lease, how: LeaseEnd) -> None:
        del self._active[lease.lease_id]
        left = self._held[lease.tenant] - 1
        if left:
            self._held[lease.tenant] = left
        else:
            del self._held[lease.tenant]
        self._record_end_locked(lease.lease_id, how)

    def _record_end_locked(self, lease_id: str, how: LeaseEnd) -> None:
        self._totals[how] += 1
        if self._remembered_limit == 0:
            return
        self._ended[lease_id] = how
        while len(self._ended) > self._remembered_limit:
            self._ended.popitem(last=False)

    def _new_id_locked(self) -> str:
        for _ in range(_MAX_ID_DRAWS):
            candidate = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            if candidate not in self._active and candidate not in self._ended:
                return candidate
        raise RuntimeError(
            f"pool {self.pool_id!r}: the injected rng produced {_MAX_ID_DRAWS} lease ids in a "
            "row that are already in use"
        )


def _check_capacity(capacity: int) -> None:
    if capacity < 0:
        raise ValueError(f"capacity must be >= 0, got {capacity}")
