"""Admission as metrics and log lines (OC-ADM-9013..9016).

- :class:`WaitHistogram`: how long admitted requests waited, per tier
  (``admission_wait_seconds``), fed by :class:`~poolmgr.core.admissions.Admitted` facts;
- :func:`refusal_reason`: the ``reason`` label of ``admission_refusals_total`` for a refusal;
- :func:`admission_gauges`: ``admission_share``, ``deadlines_met_ratio`` and
  ``admission_queue_depth`` from the core's :class:`~poolmgr.core.admissions.AdmissionView`,
  read at scrape time like every other gauge;
- :func:`log_admission`: one structured line per admission and per refusal of a request.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Final

from poolmgr.core.admission import TIERS, Priority
from poolmgr.core.admissions import AdmissionFact, AdmissionView, Admitted, Refused
from poolmgr.core.errors import AdmissionRefused, PoolError

__all__ = [
    "WAIT_BUCKETS_S",
    "WaitHistogram",
    "admission_gauges",
    "log_admission",
    "refusal_reason",
]

WAIT_BUCKETS_S: Final[tuple[float, ...]] = (
    0.001,
    0.005,
    0.025,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
"""Upper bounds of ``admission_wait_seconds`` (``+Inf`` is added); 0 waits land in the first."""

log = logging.getLogger("poolmgr.admission")


class WaitHistogram:
    """Per tier: bucket counts, the sum and the count of admitted requests' waits."""

    def __init__(self, buckets: tuple[float, ...] = WAIT_BUCKETS_S) -> None:
        self.buckets = buckets
        self._lock = threading.Lock()
        self._counts = {tier: [0] * (len(buckets) + 1) for tier in TIERS}
        self._sums = dict.fromkeys(TIERS, 0.0)

    def observe(self, priority: Priority, seconds: float) -> None:
        with self._lock:
            self._counts[priority][bisect.bisect_left(self.buckets, seconds)] += 1
            self._sums[priority] += seconds

    def series(self, priority: Priority) -> tuple[list[tuple[str, float]], float]:
        """Cumulative ``(le, count)`` pairs ending with ``+Inf``, and the sum of the waits."""
        with self._lock:
            counts = list(self._counts[priority])
            total = self._sums[priority]
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*map(str, self.buckets), "+Inf"), counts, strict=True):
            running += count
            out.append((bound, float(running)))
        return out, total


def refusal_reason(error: PoolError) -> str:
    """The ``reason`` label of a refusal: the quota's or queue's reason, else the code."""
    if isinstance(error, AdmissionRefused):
        return error.reason
    return error.code.value.lower()


def admission_gauges(view: AdmissionView, put: Callable[[str, Iterable[str], float], None]) -> None:
    """Put the admission gauges of ``view`` (shares, deadline ratios, queue depths)."""
    for tier in TIERS:
        for tenant, share in view.shares[tier].items():
            put("admission_share", (tenant, tier.value), share)
        put("deadlines_met_ratio", (tier.value,), view.deadlines_met_ratio[tier])
    for pool_id, depths in view.depths.items():
        for tier in TIERS:
            put("admission_queue_depth", (pool_id, tier.value), float(depths[tier]))


def log_admission(pool_id: str, fact: AdmissionFact) -> None:
    """One line for an admission, or for a refusal, of a lease request that could wait
    (OC-ADM-9016); a request with ``wait_ms`` 0 is logged by the lease route alone."""
    ticket = fact.ticket
    if ticket.deadline_ms == ticket.arrived_ms:
        return
    fields: dict[str, object] = {
        "pool_id": pool_id,
        "tenant": ticket.tenant,
        "priority": ticket.priority.value,
        "waited_ms": fact.waited_ms,
        "wait_ms": ticket.deadline_ms - ticket.arrived_ms,
    }
    if isinstance(fact, Admitted):
        log.info(
            "lease request admitted on %s after %d ms",
            pool_id,
            fact.waited_ms,
            extra={"event": "admission_granted", "lease_id": fact.lease.lease_id, **fields},
        )
        return
    assert isinstance(fact, Refused)
    log.info(
        "lease request refused on %s after %d ms: %s",
        pool_id,
        fact.waited_ms,
        fact.error.code.value,
        extra={
            "event": "admission_refused",
            "code": fact.error.code.value,
            "reason": refusal_reason(fact.error),
            **fields,
        },
    )
