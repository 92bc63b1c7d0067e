"""The registry at many pools: an event or a read visits every pool's leases only when a lease
can have expired (OC-PERF-9109: with 1,000 pools, each probe's answer walked 1,000 lease tables,
and the manager could not keep its pools Ready).

Overdue leases still end at the first registry call after their expiry, as before (a
snapshot shows what the calls before it left).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from poolmgr.config import parse_config
from poolmgr.core.admission import AdmissionQueue
from poolmgr.core.clock import ManualClock
from poolmgr.core.events import ProbeOk
from poolmgr.core.leases import LeaseTable
from poolmgr.core.registry import Registry
from tests.api.helpers import ready_registry

POOLS = 50


@pytest.fixture
def registry() -> Registry:
    pools = [
        {"id": f"p{i:02d}", "engine": "stub", "model": "stub://m", "devices": [], "cpu": True}
        for i in range(POOLS)
    ]
    return ready_registry(parse_config(yaml.safe_dump({"pools": pools}), "<t>"))


@pytest.fixture
def expiries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The pool of every ``LeaseTable.expire`` call, from now on."""
    calls: list[str] = []
    original = LeaseTable.expire

    def counted(self: LeaseTable, now_ms: int) -> list[object]:
        calls.append(self.pool_id)
        return list(original(self, now_ms))

    monkeypatch.setattr(LeaseTable, "expire", counted)
    yield calls


def test_an_event_visits_no_lease_table_while_no_lease_exists(
    registry: Registry, expiries: list[str]
) -> None:
    registry.dispatch("p00", ProbeOk())  # the first call may look at every pool once
    expiries.clear()
    for pool_id in registry.ids():
        registry.dispatch(pool_id, ProbeOk())
    registry.snapshot("p07")
    assert expiries == []


def test_an_event_visits_no_lease_table_before_the_first_lease_expires(
    registry: Registry, expiries: list[str]
) -> None:
    clock = registry.clock
    assert isinstance(clock, ManualClock)
    registry.acquire_lease("p03", ttl_ms=5_000)
    registry.dispatch("p00", ProbeOk())  # a new lease: every pool is looked at once
    expiries.clear()
    clock.advance(4_999)
    registry.dispatch("p01", ProbeOk())
    assert expiries == []
    assert registry.snapshot("p03").active_leases == 1


def test_an_overdue_lease_still_ends_at_the_next_call_without_a_tick(registry: Registry) -> None:
    clock = registry.clock
    assert isinstance(clock, ManualClock)
    registry.acquire_lease("p03", ttl_ms=5_000)
    longer = registry.acquire_lease("p04", ttl_ms=9_000)
    clock.advance(5_000)
    registry.dispatch("p00", ProbeOk())
    assert registry.snapshot("p03").active_leases == 0
    assert registry.snapshot("p04").active_leases == 1
    registry.renew_lease("p04", longer.lease_id, ttl_ms=9_000)  # at 6,000: due at 15,000
    clock.advance(8_999)
    registry.dispatch("p00", ProbeOk())
    assert registry.snapshot("p04").active_leases == 1
    clock.advance(1)
    registry.dispatch("p00", ProbeOk())
    assert registry.snapshot("p04").active_leases == 0


def test_an_event_looks_at_no_admission_queue_while_no_request_waits(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked: list[int] = []
    original = AdmissionQueue.__len__

    def counted(self: AdmissionQueue) -> int:
        looked.append(1)
        return original(self)

    monkeypatch.setattr(AdmissionQueue, "__len__", counted)
    registry.dispatch("p00", ProbeOk())
    assert looked == []
