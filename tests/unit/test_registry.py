"""Registry: snapshots, lease admission and heartbeat staleness across pools."""

from __future__ import annotations

import random
import threading

import pytest

from poolmgr.core.admission import TenantBook
from poolmgr.core.backoff import Backoff, BackoffPolicy, Jitter
from poolmgr.core.breaker import BreakerPolicy, CircuitBreaker
from poolmgr.core.clock import ManualClock
from poolmgr.core.decisions import (
    Fact,
    PoolState,
    PreloadFinished,
    PreloadResult,
    ResizeSlots,
    Restarted,
    Spawn,
    StateChanged,
)
from poolmgr.core.errors import CapacityExhausted, PoolDraining, PoolUnready, UnknownPool
from poolmgr.core.events import (
    DrainRequested,
    EngineExited,
    EngineStarted,
    PreloadSucceeded,
    ProbeOk,
    StartRequested,
)
from poolmgr.core.leases import LeaseEnd, LeaseTable
from poolmgr.core.lifecycle import PoolMachine
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Cause, DrainReason, Engine


def add_pool(reg: Registry, clock: ManualClock, pool_id: str, slots: int = 2) -> None:
    machine = PoolMachine(
        pool_id,
        f"{pool_id}.gguf",
        clock,
        Backoff(BackoffPolicy(jitter=Jitter.NONE), random.Random(1)),
        CircuitBreaker(BreakerPolicy()),
        probe_failure_threshold=3,
        heartbeat_stale_ms=5_000,
        preload_timeout_ms=600_000,
    )
    reg.register(
        machine,
        LeaseTable(pool_id, slots, random.Random(2)),
        engine=Engine.STUB,
        cpu=True,
        ctx_per_slot=4096,
        queue_depth=0,
        max_wait_ms=0,
    )


def make_ready(reg: Registry, pool_id: str, slots: int = 2) -> None:
    reg.dispatch(pool_id, StartRequested())
    reg.dispatch(pool_id, EngineStarted(1000))
    reg.dispatch(pool_id, PreloadSucceeded("stub-1", "sha256:00", slots))


def test_oc_pool_3005_snapshots_are_ordered_by_pool_id() -> None:
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    for pool_id in ("zeta", "alpha", "mid"):
        add_pool(reg, clock, pool_id)
    assert [s.pool_id for s in reg.snapshots()] == ["alpha", "mid", "zeta"]


def test_oc_pool_3005_snapshot_carries_engine_facts_after_preload() -> None:
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    add_pool(reg, clock, "a")
    make_ready(reg, "a", slots=3)
    snap = reg.snapshot("a")
    assert snap.ready and snap.live and not snap.draining
    assert (snap.engine_version, snap.model_digest) == ("stub-1", "sha256:00")
    assert (snap.slots_total, snap.slots_free, snap.active_leases) == (3, 3, 0)
    assert snap.cpu is True


def test_unknown_pool_is_a_typed_error() -> None:
    reg = Registry(ManualClock(), TenantBook((), 0))
    with pytest.raises(UnknownPool):
        reg.snapshot("nope")


def test_oc_pool_3044_unready_pool_refuses_leases_with_retry_hint() -> None:
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    add_pool(reg, clock, "a")
    make_ready(reg, "a")
    reg.dispatch("a", EngineExited(Cause.KILLED_BY_SIGNAL, "SIGKILL"))
    with pytest.raises(PoolUnready) as err:
        reg.acquire_lease("a")
    assert err.value.retry_after_ms == 1_000


def test_oc_pool_3044_draining_pool_refuses_leases() -> None:
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    add_pool(reg, clock, "a")
    make_ready(reg, "a")
    reg.dispatch("a", DrainRequested(DrainReason.API_REQUEST, 10_000))
    with pytest.raises(PoolDraining):
        reg.acquire_lease("a")


def test_oc_pool_3043_engine_crash_voids_leases_and_counts_them() -> None:
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    add_pool(reg, clock, "a", slots=3)
    make_ready(reg, "a", slots=3)
    reg.acquire_lease("a")
    reg.acquire_lease("a")
    reg.dispatch("a", EngineExited(Cause.ENGINE_EXITED, "segfault"))
    snap = reg.snapshot("a")
    assert snap.active_leases == 0
    assert snap.leases_ended[LeaseEnd.VOIDED] == 2


def test_oc_pool_3004_stale_heartbeat_shows_in_snapshot_and_blocks_leases() -> None:
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    add_pool(reg, clock, "a")
    make_ready(reg, "a")
    clock.advance(5_001)
    snap = reg.snapshot("a")
    assert not snap.ready and snap.state is PoolState.UNREADY
    assert snap.last_error is not None and snap.last_error.cause is Cause.HEARTBEAT_STALE
    assert snap.heartbeat_age_ms == 5_001
    with pytest.raises(PoolUnready):
        reg.acquire_lease("a")


def test_oc_pool_3040_concurrent_acquires_never_exceed_slots() -> None:
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    add_pool(reg, clock, "a", slots=5)
    make_ready(reg, "a", slots=5)
    granted: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            try:
                lease = reg.acquire_lease("a")
            except CapacityExhausted:
                with lock:
                    refused.append("x")
            else:
                with lock:
                    granted.append(lease.lease_id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 5 and len(set(granted)) == 5
    assert len(refused) == 75
    assert reg.snapshot("a").slots_free == 0


def test_tick_restarts_only_the_failed_pool_and_others_stay_ready() -> None:
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    add_pool(reg, clock, "a")
    add_pool(reg, clock, "b")
    make_ready(reg, "a")
    make_ready(reg, "b")
    reg.dispatch("a", EngineExited(Cause.ENGINE_EXITED, "exit 1"))
    clock.advance(1_000)
    reg.dispatch("b", ProbeOk())
    due = reg.tick()
    assert list(due) == ["a"]
    assert reg.snapshot("b").ready


def test_oc_pool_3040_stale_preload_report_does_not_shrink_slots_under_leases() -> None:
    """Found by the stateful test: an ignored preload event must not resize the lease table."""
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    add_pool(reg, clock, "a", slots=2)
    make_ready(reg, "a", slots=2)
    reg.acquire_lease("a")
    reg.acquire_lease("a")
    reg.dispatch("a", PreloadSucceeded("stub-1", "sha256:00", 1))
    snap = reg.snapshot("a")
    assert (snap.slots_total, snap.active_leases) == (2, 2)


def test_oc_pool_3030_facts_reach_listeners_from_dispatch_reads_and_ticks() -> None:
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    add_pool(reg, clock, "a")
    told: list[tuple[str, Fact]] = []
    reg.observe(lambda pool_id, fact: told.append((pool_id, fact)))
    make_ready(reg, "a")
    assert [f for _, f in told if isinstance(f, StateChanged)] == [
        StateChanged(PoolState.STOPPED, PoolState.STARTING),
        StateChanged(PoolState.STARTING, PoolState.PRELOADING),
        StateChanged(PoolState.PRELOADING, PoolState.READY),
    ]
    assert ("a", PreloadFinished(PreloadResult.SUCCESS)) in told
    told.clear()
    clock.advance(5_001)
    reg.snapshot("a")  # the read notices the stale heartbeat and says so
    assert told == [("a", StateChanged(PoolState.READY, PoolState.UNREADY))]
    told.clear()
    reg.dispatch("a", EngineExited(Cause.ENGINE_EXITED, "exit 1"))
    clock.advance(1_000)
    due = reg.tick()
    assert due["a"].actions == (Spawn("a.gguf", restart_cause=Cause.ENGINE_EXITED),)
    assert ("a", Restarted(Cause.ENGINE_EXITED)) in told


def test_oc_pool_3040_only_an_accepted_preload_resizes_the_slots() -> None:
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    add_pool(reg, clock, "a", slots=2)
    reg.dispatch("a", StartRequested())
    reg.dispatch("a", EngineStarted(1000))
    assert ResizeSlots(4) in reg.dispatch("a", PreloadSucceeded("v", None, 4)).actions
    assert reg.snapshot("a").slots_total == 4
    assert reg.dispatch("a", PreloadSucceeded("v", None, 1)).actions == ()
    assert reg.snapshot("a").slots_total == 4


def test_listeners_are_called_outside_the_registry_lock() -> None:
    clock = ManualClock()
    reg = Registry(clock, TenantBook((), 0))
    add_pool(reg, clock, "a")
    free: list[bool] = []

    def listener(pool_id: str, fact: Fact) -> None:
        # Another thread must be able to read the registry while a listener runs.
        reader = threading.Thread(target=reg.snapshot, args=(pool_id,))
        reader.start()
        reader.join(5)
        free.append(not reader.is_alive())

    reg.observe(listener)
    reg.dispatch("a", StartRequested())
    assert free == [True]
