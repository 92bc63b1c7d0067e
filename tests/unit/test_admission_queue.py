"""Unit tests of the admission core's parts: queues, token buckets, tenants and meters.

Exact values for :class:`~poolmgr.core.admission.AdmissionQueue` (OC-ADM-9002, 9003, 9007,
9008, 9009, 9011), :class:`~poolmgr.core.admission.TokenBucket` (OC-ADM-9012),
:class:`~poolmgr.core.admission.TenantBook` (OC-ADM-9010, 9011),
:class:`~poolmgr.core.admission_stats.ShareMeter` (OC-ADM-9014) and
:class:`~poolmgr.core.admission_stats.DeadlineBook` (OC-ADM-9013); the registry's side of a
lazily expired lease (OC-ADM-9004).
"""

from __future__ import annotations

import itertools
import math
import random

import pytest

from poolmgr.core.admission import (
    DEFAULT_TENANT,
    STRIDE_ONE,
    TIERS,
    AdmissionQueue,
    Priority,
    TenantBook,
    TenantPolicy,
    Ticket,
    TokenBucket,
)
from poolmgr.core.admission_stats import SHARE_WINDOW, DeadlineBook, ShareMeter
from poolmgr.core.backoff import Backoff, BackoffPolicy
from poolmgr.core.breaker import BreakerPolicy, CircuitBreaker
from poolmgr.core.clock import ManualClock
from poolmgr.core.errors import ErrorCode, LeaseAlreadyReturned
from poolmgr.core.events import EngineStarted, PreloadSucceeded, ProbeOk, StartRequested
from poolmgr.core.leases import LeaseTable
from poolmgr.core.lifecycle import PoolMachine
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Engine

INTER, BATCH = Priority.INTERACTIVE, Priority.BATCH
WEIGHTS = {"a": 1, "b": 2, "c": 3, DEFAULT_TENANT: 1}
_ids = itertools.count(1)


def ticket(
    tenant: str = "a", priority: Priority = INTER, *, at: int = 0, wait: int = 1_000
) -> Ticket:
    return Ticket(next(_ids), "p", tenant, priority, arrived_ms=at, deadline_ms=at + wait)


def queue(depth: int = 100) -> AdmissionQueue:
    return AdmissionQueue("p", depth, WEIGHTS.__getitem__)


def everyone(_: str) -> bool:
    return True


def drain(q: AdmissionQueue, now: int = 0, eligible: object = everyone) -> list[Ticket]:
    """Pick until nothing may go (bounded by the queue's size)."""
    out: list[Ticket] = []
    for _ in range(len(q)):
        t = q.pick(now, eligible)  # type: ignore[arg-type]
        if t is None:
            break
        out.append(t)
    return out


# -- AdmissionQueue: construction, depth ---------------------------------------------------


def test_queue_rejects_a_negative_depth() -> None:
    with pytest.raises(ValueError, match="depth must be >= 0, got -1"):
        AdmissionQueue("p", -1, WEIGHTS.__getitem__)


def test_oc_adm_9002_queue_of_depth_zero_is_full_at_once() -> None:
    q = queue(depth=0)
    assert q.full and len(q) == 0
    with pytest.raises(OverflowError, match="'p' is full"):
        q.push(ticket())
    assert len(q) == 0


def test_oc_adm_9002_push_refuses_at_exactly_depth_and_force_goes_past() -> None:
    q = queue(depth=2)
    q.push(ticket())
    one_in = q.full
    q.push(ticket())
    assert (one_in, q.full) == (False, True)
    with pytest.raises(OverflowError):
        q.push(ticket())
    assert len(q) == 2
    q.push(ticket(), force=True)
    assert len(q) == 3 and q.full


def test_empty_queue_answers_nothing() -> None:
    q = queue()
    assert q.pick(0, everyone) is None
    assert q.overdue(10**9) == [] and q.clear() == []
    assert q.remove(12345) is None
    assert list(q.tickets()) == []
    assert [q.waiting(t) for t in TIERS] == [0, 0]


# -- tiers, FIFO lanes ---------------------------------------------------------------------


def test_oc_adm_9007_interactive_goes_before_older_batch() -> None:
    q = queue()
    old_batch = ticket("a", BATCH)
    inter = ticket("b", INTER)
    q.push(old_batch)
    q.push(inter)
    assert (q.waiting(INTER), q.waiting(BATCH)) == (1, 1)
    assert drain(q) == [inter, old_batch]


def test_oc_adm_9007_batch_goes_when_every_interactive_tenant_is_ineligible() -> None:
    q = queue()
    inter, batch = ticket("a", INTER), ticket("b", BATCH)
    q.push(inter)
    q.push(batch)
    assert q.pick(0, lambda tenant: tenant != "a") == batch
    assert list(q.tickets()) == [inter]


def test_oc_adm_9008_one_tenants_tickets_leave_in_arrival_order() -> None:
    q = queue()
    mine = [ticket("c", INTER, wait=w) for w in (5_000, 10, 2_000, 1)]
    for t in mine:
        q.push(t)
    assert drain(q) == mine


def test_oc_adm_9011_ineligible_tenant_holds_nobody_back_and_keeps_its_tickets() -> None:
    q = queue()
    a1, b1, a2 = ticket("a"), ticket("b"), ticket("a")
    for t in (a1, b1, a2):
        q.push(t)
    assert drain(q, eligible=lambda tenant: tenant == "b") == [b1]
    assert list(q.tickets()) == [a1, a2]
    assert [t.tenant for t in q.tickets()] == ["a", "a"]


# -- SFQ (OC-ADM-9009) ---------------------------------------------------------------------


def test_oc_adm_9009_weights_interleave_one_admission_at_a_time() -> None:
    # b (weight 2) and a (weight 1), both backlogged from 0, b's tickets older. Start tags in
    # STRIDE_ONE units: b 0, 1/2, 1, 3/2, 2, ...; a 0, 1, 2, ...; ties go to the older ticket.
    q = queue()
    for _ in range(6):
        q.push(ticket("b"))
    for _ in range(3):
        q.push(ticket("a"))
    assert "".join(t.tenant for t in drain(q)) == "babbabbab"


def test_oc_adm_9009_the_lane_pass_moves_by_stride_one_over_weight() -> None:
    q = queue()
    q.push(ticket("c"))  # weight 3
    q.push(ticket("a"))  # weight 1
    assert q.pick(0, everyone).tenant == "c"  # type: ignore[union-attr]
    q.push(ticket("c"))
    # c's pass is now STRIDE_ONE // 3 > 0 = a's pass: a goes, whatever the ticket ids.
    assert q.pick(0, everyone).tenant == "a"  # type: ignore[union-attr]
    assert q.pick(0, everyone).tenant == "c"  # type: ignore[union-attr]
    assert STRIDE_ONE == 1 << 40


def test_oc_adm_9009_a_tenant_back_from_idle_banks_no_credit() -> None:
    q = queue()
    for _ in range(10):
        q.push(ticket("b"))  # b, weight 2, backlogged alone for 10 admissions
    assert [t.tenant for t in drain(q)] == ["b"] * 10
    # a (weight 1) arrives now; without the virtual-time lift it would win 5 in a row.
    for _ in range(4):
        q.push(ticket("a"))
    for _ in range(8):
        q.push(ticket("b"))
    order = "".join(t.tenant for t in drain(q))[:6]
    assert order.count("a") <= 3 and order.count("b") >= 3, order
    assert "aa" not in order, order


def test_oc_adm_9009_waiting_at_a_quota_banks_no_credit() -> None:
    q = queue()
    for _ in range(6):
        q.push(ticket("a"))
        q.push(ticket("b"))
    # a is ineligible for four admissions: b alone goes, a's lane is lifted each time.
    assert [t.tenant for t in drain(q, eligible=lambda x: x == "b")] == ["b"] * 6
    for _ in range(6):
        q.push(ticket("b"))
    order = "".join(t.tenant for t in drain(q))
    assert "aa" not in order[:6], order


# -- deadlines -----------------------------------------------------------------------------


def test_oc_adm_9003_pick_never_returns_a_ticket_past_its_deadline() -> None:
    q = queue()
    late = ticket("a", at=0, wait=100)
    q.push(late)
    assert q.pick(101, everyone) is None
    assert q.pick(100, everyone) == late  # at the deadline is still in time


def test_oc_adm_9003_overdue_is_inclusive_or_strict_and_sorted_by_deadline() -> None:
    q = queue()
    t1 = ticket("a", at=0, wait=300)
    t2 = ticket("b", at=0, wait=100)
    t3 = ticket("a", at=0, wait=200)
    t4 = ticket("c", at=0, wait=200)
    for t in (t1, t2, t3, t4):
        q.push(t)
    assert min(t.deadline_ms for t in q.tickets()) == 100
    assert q.overdue(200, inclusive=False) == [t2]
    assert q.overdue(200) == [t3, t4]
    assert len(q) == 1 and list(q.tickets()) == [t1]


def test_remove_and_clear() -> None:
    q = queue()
    ts = [ticket("b", BATCH), ticket("a", INTER), ticket("c", BATCH)]
    for t in ts:
        q.push(t)
    assert q.remove(ts[1].ticket_id) == ts[1]
    assert q.remove(ts[1].ticket_id) is None
    assert len(q) == 2
    assert q.clear() == [ts[0], ts[2]]  # arrival order
    assert len(q) == 0 and not q.full


# -- TokenBucket (OC-ADM-9012) -------------------------------------------------------------


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (math.nan, 1), (1.0, 0)])
def test_token_bucket_rejects_bad_settings(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst, 0)


def test_oc_adm_9012_bucket_starts_full_then_says_when_the_next_token_is_due() -> None:
    bucket = TokenBucket(2.0, 3, 1_000)
    assert bucket.tokens(1_000) == 3.0
    assert [bucket.take(1_000) for _ in range(3)] == [None, None, None]
    assert bucket.take(1_000) == 500  # 2 per second: one every 500 ms
    assert bucket.take(1_200) == 300
    assert bucket.take(1_500) is None
    assert bucket.take(1_500) == 500


def test_oc_adm_9012_bucket_never_holds_more_than_burst() -> None:
    bucket = TokenBucket(10.0, 2, 0)
    assert bucket.tokens(10**9) == 2.0
    assert [bucket.take(10**9) for _ in range(3)] == [None, None, 100]


def test_oc_adm_9012_retry_after_is_at_least_one_ms_and_rounded_up() -> None:
    bucket = TokenBucket(3.0, 1, 0)
    assert bucket.take(0) is None
    assert bucket.take(0) == 334  # ceil(1000 / 3)
    fast = TokenBucket(5_000.0, 1, 0)
    fast.take(0)
    assert fast.take(0) == 1


def test_oc_adm_9012_clock_going_back_neither_refills_nor_drains() -> None:
    bucket = TokenBucket(1.0, 1, 1_000)
    assert bucket.take(1_000) is None
    assert bucket.take(500) == 1_000
    assert bucket.take(2_000) is None


# -- TenantBook (OC-ADM-9010, 9011) --------------------------------------------------------


def test_oc_adm_9010_default_tenant_always_exists_with_weight_one_and_no_quota() -> None:
    book = TenantBook((), 0)
    assert book.names == [DEFAULT_TENANT]
    assert book.weight(DEFAULT_TENANT) == 1 and not book.limited(DEFAULT_TENANT)
    assert book.allows(DEFAULT_TENANT, 10**6)
    assert book.take_token(DEFAULT_TENANT, 0) is None
    assert not book.known("nobody")
    with pytest.raises(KeyError):
        book.policy("nobody")


def test_oc_adm_9010_config_may_override_the_default_tenant() -> None:
    book = TenantBook([TenantPolicy(DEFAULT_TENANT, 4, 1, None, None)], 0)
    assert book.weight(DEFAULT_TENANT) == 4 and not book.allows(DEFAULT_TENANT, 1)


def test_tenant_book_rejects_weight_below_one() -> None:
    with pytest.raises(ValueError, match="'z': weight must be >= 1"):
        TenantBook([TenantPolicy("z", 0, None, None, None)], 0)


def test_oc_adm_9011_allows_below_the_quota_only() -> None:
    book = TenantBook([TenantPolicy("q", 1, 2, None, None)], 0)
    assert book.limited("q")
    assert [book.allows("q", held) for held in (0, 1, 2, 3)] == [True, True, False, False]


def test_oc_adm_9012_burst_defaults_to_ceil_rps() -> None:
    book = TenantBook([TenantPolicy("r", 1, None, 2.5, None)], 0)
    assert [book.take_token("r", 0) for _ in range(4)] == [None, None, None, 400]
    sized = TenantBook([TenantPolicy("s", 1, None, 1.0, 2)], 0)
    assert [sized.take_token("s", 0) for _ in range(3)] == [None, None, 1_000]


# -- ShareMeter (OC-ADM-9014) and DeadlineBook (OC-ADM-9013) --------------------------------


def test_share_meter_rejects_a_window_below_one() -> None:
    with pytest.raises(ValueError, match="window must be >= 1, got 0"):
        ShareMeter(0)


def test_oc_adm_9014_smoothing_factor_is_two_over_window_plus_one() -> None:
    assert SHARE_WINDOW == 100
    assert ShareMeter().alpha == pytest.approx(2 / 101)


def test_oc_adm_9014_shares_are_empty_before_and_one_after_the_first_admission() -> None:
    meter = ShareMeter()
    assert dict(meter.shares(INTER)) == {}
    meter.admitted("a", INTER)
    assert dict(meter.shares(INTER)) == {"a": 1.0}
    assert dict(meter.shares(BATCH)) == {}


def test_oc_adm_9014_shares_are_bias_corrected_exact_values() -> None:
    meter = ShareMeter(window=3)  # alpha = 0.5
    meter.admitted("a", BATCH)
    meter.admitted("b", BATCH)
    # raw: a = 0.5 * 0.5 = 0.25, b = 0.5; mass = 0.75
    assert dict(meter.shares(BATCH)) == {"a": pytest.approx(1 / 3), "b": pytest.approx(2 / 3)}


def test_oc_adm_9014_shares_follow_the_weights_of_a_long_run() -> None:
    meter = ShareMeter()
    for _ in range(400):
        for tenant in ("a", "c", "c", "c"):
            meter.admitted(tenant, INTER)
    shares = meter.shares(INTER)
    assert shares["a"] == pytest.approx(0.25, abs=0.02)
    assert shares["c"] == pytest.approx(0.75, abs=0.02)


def test_oc_adm_9014_shares_sum_to_one_for_any_sequence() -> None:
    rng = random.Random(3)
    meter = ShareMeter()
    for _ in range(500):
        meter.admitted(rng.choice("abcdef"), INTER)
        assert math.fsum(meter.shares(INTER).values()) == pytest.approx(1.0, abs=1e-9)


def test_oc_adm_9013_ratio_is_one_without_counts_then_met_over_all() -> None:
    book = DeadlineBook()
    assert book.ratio(INTER) == 1.0 and book.counts(INTER) == (0, 0)
    book.met(INTER)
    book.met(INTER)
    book.missed(INTER)
    book.missed(BATCH)
    assert book.counts(INTER) == (2, 1) and book.ratio(INTER) == pytest.approx(2 / 3)
    assert book.counts(BATCH) == (0, 1) and book.ratio(BATCH) == 0.0


# -- the registry's side: a lease that expired on the way (OC-ADM-9004) -------------------


def _two_pools(slots_b: int) -> tuple[ManualClock, Registry]:
    clock = ManualClock(0)
    reg = Registry(clock, TenantBook([TenantPolicy("q", 1, 1, None, None)], 0))
    for pool_id, slots in (("a", 1), ("b", slots_b)):
        machine = PoolMachine(
            pool_id,
            "m",
            clock,
            Backoff(BackoffPolicy(1_000, 16_000, 30_000), random.Random(1)),
            CircuitBreaker(BreakerPolicy(3, 60_000, 20_000)),
            probe_failure_threshold=2,
            heartbeat_stale_ms=10**12,
            preload_timeout_ms=600_000,
        )
        leases = LeaseTable(pool_id, slots, random.Random(2))
        reg.register(
            machine, leases, engine=Engine.STUB, cpu=True, ctx_per_slot=1, queue_depth=4,
            max_wait_ms=60_000,
        )  # fmt: skip
        reg.dispatch(pool_id, StartRequested())
        reg.dispatch(pool_id, EngineStarted(1))
        reg.dispatch(pool_id, PreloadSucceeded("v", "sha256:00", slots))
    return clock, reg


def test_oc_adm_9004_a_lease_that_expires_while_another_pool_asks_is_granted_at_once() -> None:
    """A quota check counts the tenant's leases over every pool and ends the overdue ones on
    the way; a slot freed so must go to its pool's waiting request in that same decision."""
    clock, reg = _two_pools(slots_b=1)
    reg.acquire_lease("a", ttl_ms=100)
    waiting = reg.request_lease("a", wait_ms=10_000)
    assert not waiting.future.done()
    clock.advance(100)  # a's lease is due now; no tick has run
    reg.request_lease("b", tenant="q", wait_ms=1_000)  # q's quota check ends a's lease
    assert reg.active_leases("a") == 1, "a's freed slot was not granted to its waiting request"
    assert waiting.future.done() and waiting.future.result(timeout=0).pool_id == "a"


def test_oc_adm_9004_a_lease_that_expires_during_another_pools_pump_is_granted_at_once() -> None:
    """Pools pump in id order; a quota check in pool b's pump must not free a slot of pool a
    (pumped before it) without granting it."""
    clock, reg = _two_pools(slots_b=2)
    reg.acquire_lease("a", ttl_ms=100)
    waiting = reg.request_lease("a", wait_ms=10_000)
    reg.request_lease("b", tenant="q").future.result(timeout=0)
    at_quota = reg.request_lease("b", tenant="q", wait_ms=10_000)  # b has a free slot
    assert not waiting.future.done() and not at_quota.future.done()
    clock.advance(100)
    reg.dispatch("b", ProbeOk())  # any decision pumps every pool with waiting requests
    assert reg.active_leases("a") == 1, "a's freed slot was not granted to its waiting request"
    assert waiting.future.done() and not at_quota.future.done()


def test_oc_adm_9005_a_pool_a_read_finds_stale_refuses_its_waiters_at_once() -> None:
    """Heartbeat staleness is judged on every read (OC-POOL-3004); a read that finds the pool
    no longer Ready must refuse its queue in that same call, not at the next tick."""
    clock = ManualClock(0)
    reg = Registry(clock, TenantBook((), 0))
    machine = PoolMachine(
        "p",
        "m",
        clock,
        Backoff(BackoffPolicy(1_000, 16_000, 30_000), random.Random(1)),
        CircuitBreaker(BreakerPolicy(3, 60_000, 20_000)),
        probe_failure_threshold=2,
        heartbeat_stale_ms=1_000,
        preload_timeout_ms=600_000,
    )
    reg.register(
        machine, LeaseTable("p", 1, random.Random(2)), engine=Engine.STUB, cpu=True,
        ctx_per_slot=1, queue_depth=4, max_wait_ms=60_000,
    )  # fmt: skip
    for event in (StartRequested(), EngineStarted(1), PreloadSucceeded("v", "sha256:00", 1)):
        reg.dispatch("p", event)
    reg.dispatch("p", ProbeOk())
    reg.acquire_lease("p")
    waiting = reg.request_lease("p", wait_ms=30_000)
    clock.advance(1_001)
    assert not reg.snapshot("p").ready
    assert waiting.future.done(), "the waiter of a pool that left Ready still waits"
    assert waiting.future.exception(timeout=0).code == ErrorCode.POOL_UNREADY  # type: ignore[union-attr]
    assert reg.admission_view().depths["p"][INTER] == 0


def test_oc_adm_9004_a_return_that_finds_its_lease_expired_still_grants_the_slot() -> None:
    """Returning a lease that fell due ends it as expired (and answers CONFLICT): that call
    freed the slot, so it grants it to the waiting request too."""
    clock, reg = _two_pools(slots_b=1)
    lease = reg.acquire_lease("a", ttl_ms=100)
    waiting = reg.request_lease("a", wait_ms=10_000)
    clock.advance(100)
    with pytest.raises(LeaseAlreadyReturned):
        reg.release_lease("a", lease.lease_id)
    assert waiting.future.done(), "the slot the failed return freed was not granted"
    assert reg.active_leases("a") == 1


def test_oc_adm_9004_a_renewal_that_ends_overdue_leases_grants_their_slots() -> None:
    clock, reg = _two_pools(slots_b=2)
    reg.acquire_lease("b", ttl_ms=100)  # falls due first
    long = reg.acquire_lease("b", ttl_ms=10_000)
    waiting = reg.request_lease("b", wait_ms=10_000)
    clock.advance(100)
    reg.renew_lease("b", long.lease_id, ttl_ms=10_000)  # ends `short` on its way
    assert waiting.future.done(), "the slot the renewal freed was not granted"
    assert reg.active_leases("b") == 2


def test_oc_adm_9006_cancel_naming_another_pool_leaves_the_request_and_its_answer() -> None:
    """A cancel that names the wrong pool takes nothing out, and the request is still answered."""
    import random

    from poolmgr.assemble import build_registry
    from poolmgr.config import parse_config
    from poolmgr.core.clock import ManualClock
    from poolmgr.core.events import EngineStarted, PreloadSucceeded, StartRequested

    config = parse_config(
        "pools:\n"
        "  - {id: a, engine: stub, model: stub://a, devices: [], cpu: true, slots: 1}\n"
        "  - {id: b, engine: stub, model: stub://b, devices: [], cpu: true, slots: 1}\n",
        "<test>",
    )
    registry = build_registry(config, ManualClock(0), random.Random(1))
    for i, pool in enumerate(("a", "b")):
        registry.dispatch(pool, StartRequested())
        registry.dispatch(pool, EngineStarted(pid=100 + i))
        registry.dispatch(pool, PreloadSucceeded("v", "sha256:" + "ab" * 32, 1))
    held = registry.acquire_lease("a")
    pending = registry.request_lease("a", wait_ms=1000)
    assert registry.cancel_request("b", pending.ticket.ticket_id) is False
    registry.release_lease("a", held.lease_id)
    assert pending.future.done()
    assert pending.future.result().pool_id == "a"
