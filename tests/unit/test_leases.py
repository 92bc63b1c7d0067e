"""Unit and stateful tests for poolmgr.core.leases (OC-POOL-3040, 3041, 3042, 3043)."""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter, OrderedDict

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from poolmgr.core.clock import ManualClock
from poolmgr.core.errors import CapacityExhausted, LeaseAlreadyReturned, PoolError, UnknownLease
from poolmgr.core.leases import Lease, LeaseEnd, LeaseTable

POOL = "pool-a"
END_WORDS = ("returned", "expired", "voided")


def make_table(capacity: int = 2, seed: int = 1, **kwargs: int) -> LeaseTable:
    return LeaseTable(POOL, capacity, random.Random(seed), **kwargs)


def ended_words(err: PoolError) -> list[str]:
    """The end words ("returned", "expired", "voided") that an error message mentions."""
    return [word for word in END_WORDS if word in err.message]


class ScriptedRandom(random.Random):
    """A Random whose getrandbits hands out a fixed script of values (to force id collisions)."""

    def __init__(self, values: list[int]) -> None:
        super().__init__(0)
        self._values = list(values)

    def getrandbits(self, k: int, /) -> int:
        return self._values.pop(0)


# -- construction ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capacity", "kwargs"),
    [
        (-1, {}),
        (1, {"default_ttl_ms": 0}),
        (1, {"default_ttl_ms": 2_000, "max_ttl_ms": 1_000}),
        (1, {"max_ttl_ms": 0}),
        (1, {"remembered_ended": -1}),
    ],
)
def test_constructor_rejects_invalid_settings(capacity: int, kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        LeaseTable(POOL, capacity, random.Random(0), **kwargs)


def test_constructor_rejects_empty_pool_id() -> None:
    with pytest.raises(ValueError):
        LeaseTable("", 1, random.Random(0))


def test_new_table_is_empty_with_zero_totals() -> None:
    table = make_table(capacity=3)
    assert (table.pool_id, table.capacity, table.active, table.free) == (POOL, 3, 0, 3)
    assert dict(table.totals) == {LeaseEnd.RETURNED: 0, LeaseEnd.EXPIRED: 0, LeaseEnd.VOIDED: 0}
    assert table.next_expiry_ms() is None
    assert table.snapshot() == []


# -- acquire --------------------------------------------------------------------------------


def test_oc_pool_3040_acquire_grants_a_lease_stamped_with_pool_time_and_job() -> None:
    table = make_table()
    lease = table.acquire(1_000, ttl_ms=250, job_id="job-7")
    assert lease.pool_id == POOL
    assert lease.granted_at_ms == 1_000
    assert lease.expires_at_ms == 1_250
    assert lease.job_id == "job-7"


def test_acquire_without_ttl_uses_the_default_ttl() -> None:
    table = make_table(default_ttl_ms=4_000)
    assert table.acquire(10).expires_at_ms == 4_010


def test_oc_pool_3040_acquire_takes_a_slot() -> None:
    table = make_table(capacity=3)
    table.acquire(0)
    table.acquire(0)
    assert (table.active, table.free) == (2, 1)


def test_oc_pool_3040_acquire_on_a_full_pool_raises_capacity_exhausted() -> None:
    table = make_table(capacity=2)
    table.acquire(0)
    table.acquire(0)
    with pytest.raises(CapacityExhausted) as info:
        table.acquire(0)
    assert info.value.pool_id == POOL
    assert info.value.code == "REPLICA_EXHAUSTED"


def test_oc_pool_3040_refused_acquire_changes_nothing() -> None:
    table = make_table(capacity=1)
    held = table.acquire(0)
    with pytest.raises(CapacityExhausted):
        table.acquire(5)
    assert table.snapshot() == [held]
    assert sum(table.totals.values()) == 0


def test_oc_pool_3040_zero_capacity_pool_grants_nothing() -> None:
    with pytest.raises(CapacityExhausted):
        make_table(capacity=0).acquire(0)


@pytest.mark.parametrize("ttl", [0, -5, 1_001])
def test_acquire_rejects_ttl_outside_one_to_max(ttl: int) -> None:
    table = make_table(default_ttl_ms=100, max_ttl_ms=1_000)
    with pytest.raises(ValueError):
        table.acquire(0, ttl_ms=ttl)
    assert table.active == 0


@pytest.mark.parametrize("ttl", [1, 1_000])
def test_acquire_accepts_ttl_at_both_bounds(ttl: int) -> None:
    table = make_table(default_ttl_ms=100, max_ttl_ms=1_000)
    assert table.acquire(0, ttl_ms=ttl).expires_at_ms == ttl


def test_oc_pool_3042_acquire_on_full_pool_first_expires_overdue_leases() -> None:
    table = make_table(capacity=1)
    old = table.acquire(0, ttl_ms=100)
    new = table.acquire(100, ttl_ms=100)
    assert table.snapshot() == [new]
    assert new.lease_id != old.lease_id
    assert table.totals[LeaseEnd.EXPIRED] == 1


# -- lease ids ------------------------------------------------------------------------------


def test_lease_ids_are_uuid4_strings() -> None:
    lease = make_table().acquire(0)
    parsed = uuid.UUID(lease.lease_id)
    assert parsed.version == 4
    assert str(parsed) == lease.lease_id


def test_lease_ids_are_deterministic_for_a_seeded_rng() -> None:
    first = make_table(capacity=5, seed=42)
    second = make_table(capacity=5, seed=42)
    assert [first.acquire(0).lease_id for _ in range(5)] == [
        second.acquire(0).lease_id for _ in range(5)
    ]


def test_lease_ids_come_from_the_injected_rng() -> None:
    expected = str(uuid.UUID(int=random.Random(9).getrandbits(128), version=4))
    assert make_table(seed=9).acquire(0).lease_id == expected


def test_lease_ids_differ_for_different_seeds() -> None:
    assert make_table(seed=1).acquire(0).lease_id != make_table(seed=2).acquire(0).lease_id


def test_id_colliding_with_an_active_lease_is_drawn_again() -> None:
    table = LeaseTable(POOL, 2, ScriptedRandom([7, 7, 8]))
    first = table.acquire(0)
    second = table.acquire(0)
    assert first.lease_id == str(uuid.UUID(int=7, version=4))
    assert second.lease_id == str(uuid.UUID(int=8, version=4))


def test_id_colliding_with_a_remembered_ended_lease_is_drawn_again() -> None:
    table = LeaseTable(POOL, 1, ScriptedRandom([7, 7, 9]))
    first = table.acquire(0)
    table.release(first.lease_id, 1)
    second = table.acquire(2)
    assert second.lease_id == str(uuid.UUID(int=9, version=4))
    with pytest.raises(LeaseAlreadyReturned):
        table.release(first.lease_id, 3)


def test_rng_that_only_repeats_itself_fails_loudly_instead_of_looping() -> None:
    table = LeaseTable(POOL, 2, ScriptedRandom([7] * 200))
    table.acquire(0)
    with pytest.raises(RuntimeError):
        table.acquire(0)
    assert table.active == 1


# -- release --------------------------------------------------------------------------------


def test_oc_pool_3040_release_returns_the_ended_lease_and_frees_its_slot() -> None:
    table = make_table(capacity=1)
    lease = table.acquire(0, job_id="j")
    assert table.release(lease.lease_id, 10) == lease
    assert (table.active, table.free) == (0, 1)
    assert table.totals[LeaseEnd.RETURNED] == 1


def test_oc_pool_3041_release_of_unknown_id_raises_unknown_lease() -> None:
    table = make_table()
    table.acquire(0)
    with pytest.raises(UnknownLease) as info:
        table.release("not-a-lease", 0)
    assert info.value.pool_id == POOL
    assert info.value.code == "NOT_FOUND"
    assert table.active == 1


def test_oc_pool_3041_second_release_says_the_lease_was_returned() -> None:
    table = make_table()
    lease = table.acquire(0)
    table.release(lease.lease_id, 1)
    with pytest.raises(LeaseAlreadyReturned) as info:
        table.release(lease.lease_id, 2)
    assert info.value.pool_id == POOL
    assert info.value.code == "CONFLICT"
    assert ended_words(info.value) == ["returned"]
    assert table.totals[LeaseEnd.RETURNED] == 1


def test_oc_pool_3041_release_after_expiry_says_the_lease_expired() -> None:
    table = make_table()
    lease = table.acquire(0, ttl_ms=50)
    table.expire(60)
    with pytest.raises(LeaseAlreadyReturned) as info:
        table.release(lease.lease_id, 70)
    assert ended_words(info.value) == ["expired"]


def test_oc_pool_3041_release_after_crash_says_the_lease_was_voided() -> None:
    table = make_table()
    lease = table.acquire(0)
    table.void_all(5)
    with pytest.raises(LeaseAlreadyReturned) as info:
        table.release(lease.lease_id, 6)
    assert ended_words(info.value) == ["voided"]


def test_oc_pool_3042_release_at_the_deadline_finds_the_lease_expired_without_a_sweep() -> None:
    table = make_table()
    lease = table.acquire(0, ttl_ms=50)
    with pytest.raises(LeaseAlreadyReturned) as info:
        table.release(lease.lease_id, 50)
    assert ended_words(info.value) == ["expired"]
    assert dict(table.totals) == {LeaseEnd.RETURNED: 0, LeaseEnd.EXPIRED: 1, LeaseEnd.VOIDED: 0}


def test_oc_pool_3042_release_one_ms_before_the_deadline_is_a_normal_return() -> None:
    table = make_table()
    lease = table.acquire(0, ttl_ms=50)
    assert table.release(lease.lease_id, 49) == lease
    assert table.totals[LeaseEnd.RETURNED] == 1


def test_oc_pool_3041_ended_ids_beyond_the_memory_window_become_unknown() -> None:
    table = make_table(capacity=1, remembered_ended=2)
    ids = []
    for t in range(3):
        lease = table.acquire(t)
        table.release(lease.lease_id, t)
        ids.append(lease.lease_id)
    with pytest.raises(UnknownLease):
        table.release(ids[0], 10)
    for lease_id in ids[1:]:
        with pytest.raises(LeaseAlreadyReturned):
            table.release(lease_id, 10)


def test_oc_pool_3041_with_no_memory_an_ended_id_is_unknown() -> None:
    table = make_table(remembered_ended=0)
    lease = table.acquire(0)
    table.release(lease.lease_id, 1)
    with pytest.raises(UnknownLease):
        table.release(lease.lease_id, 2)


# -- renew ----------------------------------------------------------------------------------


def test_oc_pool_3042_renew_moves_the_expiry_to_now_plus_ttl() -> None:
    table = make_table()
    lease = table.acquire(0, ttl_ms=100)
    renewed = table.renew(lease.lease_id, 80, ttl_ms=100)
    assert renewed.expires_at_ms == 180
    assert (renewed.lease_id, renewed.granted_at_ms) == (lease.lease_id, 0)
    assert table.snapshot() == [renewed]


def test_oc_pool_3042_renewed_lease_outlives_its_original_deadline() -> None:
    table = make_table()
    lease = table.acquire(0, ttl_ms=100)
    table.renew(lease.lease_id, 90, ttl_ms=100)
    assert table.expire(150) == []
    assert table.release(lease.lease_id, 150).expires_at_ms == 190


def test_renew_without_ttl_uses_the_default_ttl() -> None:
    table = make_table(default_ttl_ms=100)
    lease = table.acquire(0, ttl_ms=10)
    assert table.renew(lease.lease_id, 5).expires_at_ms == 105


def test_renew_never_shortens_a_lease() -> None:
    table = make_table()
    lease = table.acquire(0, ttl_ms=1_000)
    assert table.renew(lease.lease_id, 10, ttl_ms=5).expires_at_ms == 1_000


def test_oc_pool_3041_renew_of_unknown_id_raises_unknown_lease() -> None:
    with pytest.raises(UnknownLease) as info:
        make_table().renew("nope", 0)
    assert info.value.pool_id == POOL


def test_oc_pool_3042_renew_after_the_deadline_says_the_lease_expired() -> None:
    table = make_table()
    lease = table.acquire(0, ttl_ms=100)
    with pytest.raises(LeaseAlreadyReturned) as info:
        table.renew(lease.lease_id, 100)
    assert ended_words(info.value) == ["expired"]
    assert info.value.pool_id == POOL


@pytest.mark.parametrize("ttl", [0, 1_001])
def test_renew_rejects_ttl_outside_one_to_max(ttl: int) -> None:
    table = make_table(default_ttl_ms=100, max_ttl_ms=1_000)
    lease = table.acquire(0)
    with pytest.raises(ValueError):
        table.renew(lease.lease_id, 1, ttl_ms=ttl)
    assert table.snapshot() == [lease]


# -- expire ---------------------------------------------------------------------------------


def test_oc_pool_3042_expire_ends_only_leases_due_at_or_before_now() -> None:
    table = make_table(capacity=3)
    early = table.acquire(0, ttl_ms=10)
    due = table.acquire(0, ttl_ms=20)
    later = table.acquire(0, ttl_ms=21)
    assert table.expire(20) == [early, due]
    assert table.snapshot() == [later]
    assert table.totals[LeaseEnd.EXPIRED] == 2


def test_oc_pool_3042_expire_returns_leases_earliest_deadline_first() -> None:
    table = make_table(capacity=2)
    slow = table.acquire(0, ttl_ms=30)
    fast = table.acquire(5, ttl_ms=10)
    assert table.expire(100) == [fast, slow]


def test_expire_with_nothing_due_ends_nothing() -> None:
    table = make_table()
    lease = table.acquire(0, ttl_ms=10)
    assert table.expire(9) == []
    assert table.snapshot() == [lease]
    assert table.totals[LeaseEnd.EXPIRED] == 0


# -- void_all -------------------------------------------------------------------------------


def test_oc_pool_3043_void_all_ends_every_active_lease_and_counts_them() -> None:
    table = make_table(capacity=3)
    leases = [table.acquire(t) for t in range(3)]
    assert table.void_all(5) == leases
    assert (table.active, table.free) == (0, 3)
    assert dict(table.totals) == {LeaseEnd.RETURNED: 0, LeaseEnd.EXPIRED: 0, LeaseEnd.VOIDED: 3}


def test_oc_pool_3043_leases_overdue_at_the_crash_count_as_expired_not_voided() -> None:
    table = make_table(capacity=2)
    overdue = table.acquire(0, ttl_ms=10)
    live = table.acquire(0, ttl_ms=100)
    assert table.void_all(50) == [live]
    assert table.totals[LeaseEnd.EXPIRED] == 1
    assert table.totals[LeaseEnd.VOIDED] == 1
    with pytest.raises(LeaseAlreadyReturned) as info:
        table.release(overdue.lease_id, 51)
    assert ended_words(info.value) == ["expired"]


def test_oc_pool_3043_void_all_on_an_empty_table_counts_nothing() -> None:
    table = make_table()
    assert table.void_all(0) == []
    assert sum(table.totals.values()) == 0


def test_oc_pool_3043_pool_accepts_leases_again_after_a_crash() -> None:
    table = make_table(capacity=1)
    table.acquire(0)
    table.void_all(1)
    assert table.acquire(2).granted_at_ms == 2


# -- resize ---------------------------------------------------------------------------------


def test_oc_pool_3040_growing_capacity_admits_more_leases() -> None:
    table = make_table(capacity=1)
    table.acquire(0)
    table.resize(2)
    table.acquire(0)
    assert (table.capacity, table.active, table.free) == (2, 2, 0)


def test_oc_pool_3040_shrinking_below_active_keeps_leases_and_floors_free_at_zero() -> None:
    table = make_table(capacity=3)
    leases = [table.acquire(t) for t in range(3)]
    table.resize(1)
    assert table.snapshot() == leases
    assert (table.capacity, table.active, table.free) == (1, 3, 0)


def test_oc_pool_3040_after_shrinking_acquire_waits_until_active_drops_below_capacity() -> None:
    table = make_table(capacity=3)
    leases = [table.acquire(0) for _ in range(3)]
    table.resize(2)
    table.release(leases[0].lease_id, 1)
    with pytest.raises(CapacityExhausted):
        table.acquire(1)
    table.release(leases[1].lease_id, 1)
    table.acquire(1)
    assert table.active == 2


def test_resize_rejects_negative_capacity() -> None:
    table = make_table(capacity=2)
    with pytest.raises(ValueError):
        table.resize(-1)
    assert table.capacity == 2


# -- views ----------------------------------------------------------------------------------


def test_next_expiry_is_the_earliest_deadline_among_active_leases() -> None:
    table = make_table(capacity=3)
    table.acquire(0, ttl_ms=300)
    first = table.acquire(0, ttl_ms=100)
    table.acquire(0, ttl_ms=200)
    assert table.next_expiry_ms() == 100
    table.release(first.lease_id, 1)
    assert table.next_expiry_ms() == 200


def test_next_expiry_follows_a_renewal() -> None:
    table = make_table()
    lease = table.acquire(0, ttl_ms=100)
    table.renew(lease.lease_id, 50, ttl_ms=500)
    assert table.next_expiry_ms() == 550


def test_snapshot_orders_by_grant_time_then_id() -> None:
    table = make_table(capacity=4)
    late = table.acquire(20)
    same_time = [table.acquire(10), table.acquire(10)]
    early = table.acquire(5)
    expected = [early, *sorted(same_time, key=lambda lease: lease.lease_id), late]
    assert table.snapshot() == expected


def test_snapshot_is_a_copy() -> None:
    table = make_table()
    table.acquire(0)
    table.snapshot().clear()
    assert len(table.snapshot()) == 1


def test_totals_is_read_only_and_not_live() -> None:
    table = make_table()
    totals = table.totals
    with pytest.raises(TypeError):
        totals[LeaseEnd.RETURNED] = 5  # type: ignore[index]
    lease = table.acquire(0)
    table.release(lease.lease_id, 1)
    assert totals[LeaseEnd.RETURNED] == 0
    assert table.totals[LeaseEnd.RETURNED] == 1


def test_lease_is_immutable() -> None:
    lease = make_table().acquire(0)
    with pytest.raises(AttributeError):
        lease.expires_at_ms = 5  # type: ignore[misc]


# -- concurrency ----------------------------------------------------------------------------


def test_oc_pool_3040_concurrent_acquires_never_exceed_capacity() -> None:
    capacity, threads, attempts = 50, 16, 10
    table = make_table(capacity=capacity)
    barrier = threading.Barrier(threads)
    granted: list[Lease] = []
    refused: list[int] = []
    guard = threading.Lock()

    def worker() -> None:
        barrier.wait()
        for _ in range(attempts):
            try:
                lease = table.acquire(0)
            except CapacityExhausted:
                with guard:
                    refused.append(1)
            else:
                with guard:
                    granted.append(lease)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert len(granted) == capacity
    assert len(refused) == threads * attempts - capacity
    assert len({lease.lease_id for lease in granted}) == capacity
    assert table.active == capacity


# -- stateful model -------------------------------------------------------------------------

REMEMBER = 6


class LeaseTableMachine(RuleBasedStateMachine):
    """Drives a LeaseTable and a plain-dict model side by side (OC-POOL-3040..3043)."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(0)
        self.table = make_table()
        self.capacity = 0
        self.model_active: dict[str, int] = {}  # lease id -> expires_at_ms
        self.model_ended: OrderedDict[str, LeaseEnd] = OrderedDict()
        self.model_totals: Counter[LeaseEnd] = Counter()
        self.issued: list[str] = []
        self.granted: dict[str, int] = {}  # lease id -> granted_at_ms
        self.successful_acquires = 0
        self.max_capacity_at_grant = 0

    @initialize(capacity=st.integers(1, 4), seed=st.integers(0, 2**32))
    def build(self, capacity: int, seed: int) -> None:
        self.capacity = capacity
        self.table = LeaseTable(
            "pool-sm",
            capacity,
            random.Random(seed),
            default_ttl_ms=100,
            max_ttl_ms=400,
            remembered_ended=REMEMBER,
        )

    # model helpers

    def _end(self, lease_id: str, how: LeaseEnd) -> None:
        del self.model_active[lease_id]
        self.model_totals[how] += 1
        self.model_ended[lease_id] = how
        while len(self.model_ended) > REMEMBER:
            self.model_ended.popitem(last=False)

    def _model_expire(self, now: int) -> list[str]:
        due = sorted(
            (lease_id for lease_id, exp in self.model_active.items() if exp <= now),
            key=lambda lease_id: (self.model_active[lease_id], lease_id),
        )
        for lease_id in due:
            self._end(lease_id, LeaseEnd.EXPIRED)
        return due

    def _expect_refusal(self, lease_id: str, call: str) -> None:
        """After the model's expiry sweep, check the table refuses ``lease_id`` correctly."""
        now = self.clock.now_ms()
        how = self.model_ended.get(lease_id)
        expected: type[PoolError] = UnknownLease if how is None else LeaseAlreadyReturned
        with pytest.raises(expected) as info:
            if call == "release":
                self.table.release(lease_id, now)
            else:
                self.table.renew(lease_id, now)
        assert info.value.pool_id == "pool-sm"
        if how is not None:
            assert ended_words(info.value) == [how.value]

    # rules

    @rule(ttl=st.integers(1, 400))
    def acquire(self, ttl: int) -> None:
        now = self.clock.now_ms()
        self._model_expire(now)
        if len(self.model_active) >= self.capacity:
            with pytest.raises(CapacityExhausted):
                self.table.acquire(now, ttl_ms=ttl)
            return
        lease = self.table.acquire(now, ttl_ms=ttl)
        assert lease.lease_id not in self.issued
        assert (lease.granted_at_ms, lease.expires_at_ms) == (now, now + ttl)
        self.issued.append(lease.lease_id)
        self.granted[lease.lease_id] = now
        self.model_active[lease.lease_id] = lease.expires_at_ms
        self.successful_acquires += 1
        self.max_capacity_at_grant = max(self.max_capacity_at_grant, self.capacity)
        assert self.table.active <= self.capacity

    @precondition(lambda self: bool(self.model_active))
    @rule(data=st.data())
    def release_held(self, data: st.DataObject) -> None:
        lease_id = data.draw(st.sampled_from(sorted(self.model_active)))
        now = self.clock.now_ms()
        self._model_expire(now)
        if lease_id in self.model_active:
            expected_expiry = self.model_active[lease_id]
            returned = self.table.release(lease_id, now)
            assert (returned.lease_id, returned.expires_at_ms) == (lease_id, expected_expiry)
            self._end(lease_id, LeaseEnd.RETURNED)
        else:
            self._expect_refusal(lease_id, "release")

    @rule(raw=st.uuids(version=4))
    def release_unknown(self, raw: uuid.UUID) -> None:
        lease_id = str(raw)
        if lease_id in self.issued:
            return
        self._model_expire(self.clock.now_ms())
        self._expect_refusal(lease_id, "release")

    @precondition(lambda self: len(self.issued) > len(self.model_active))
    @rule(data=st.data(), call=st.sampled_from(["release", "renew"]))
    def reuse_ended(self, data: st.DataObject, call: str) -> None:
        ended = [lease_id for lease_id in self.issued if lease_id not in self.model_active]
        lease_id = data.draw(st.sampled_from(ended))
        self._model_expire(self.clock.now_ms())
        self._expect_refusal(lease_id, call)

    @precondition(lambda self: bool(self.model_active))
    @rule(data=st.data(), ttl=st.integers(1, 400))
    def renew_held(self, data: st.DataObject, ttl: int) -> None:
        lease_id = data.draw(st.sampled_from(sorted(self.model_active)))
        now = self.clock.now_ms()
        self._model_expire(now)
        if lease_id in self.model_active:
            renewed = self.table.renew(lease_id, now, ttl_ms=ttl)
            expected = max(self.model_active[lease_id], now + ttl)
            assert renewed.expires_at_ms == expected
            self.model_active[lease_id] = expected
        else:
            self._expect_refusal(lease_id, "renew")

    @rule(ms=st.integers(0, 250))
    def advance(self, ms: int) -> None:
        self.clock.advance(ms)

    @rule()
    def expire(self) -> None:
        now = self.clock.now_ms()
        expected = self._model_expire(now)
        assert [lease.lease_id for lease in self.table.expire(now)] == expected

    @rule()
    def crash(self) -> None:
        now = self.clock.now_ms()
        self._model_expire(now)
        doomed = sorted(self.model_active, key=lambda lease_id: (self.granted[lease_id], lease_id))
        voided = self.table.void_all(now)
        assert [lease.lease_id for lease in voided] == doomed
        for lease_id in doomed:
            self._end(lease_id, LeaseEnd.VOIDED)

    @rule(capacity=st.integers(0, 5))
    def resize(self, capacity: int) -> None:
        self.table.resize(capacity)
        self.capacity = capacity

    # invariants

    @invariant()
    def active_is_within_bounds(self) -> None:
        assert 0 <= self.table.active <= max(self.max_capacity_at_grant, 0)

    @invariant()
    def free_is_capacity_minus_active_floored_at_zero(self) -> None:
        assert self.table.capacity == self.capacity
        assert self.table.free == max(0, self.capacity - self.table.active)

    @invariant()
    def lease_ids_are_unique(self) -> None:
        assert len(set(self.issued)) == len(self.issued)

    @invariant()
    def every_granted_lease_is_active_or_counted_once(self) -> None:
        assert sum(self.table.totals.values()) + self.table.active == self.successful_acquires

    @invariant()
    def table_agrees_with_model(self) -> None:
        snapshot = self.table.snapshot()
        assert {lease.lease_id: lease.expires_at_ms for lease in snapshot} == self.model_active
        assert dict(self.table.totals) == {how: self.model_totals[how] for how in LeaseEnd}
        expected_next = min(self.model_active.values(), default=None)
        assert self.table.next_expiry_ms() == expected_next


LeaseTableMachine.TestCase.settings = settings(
    max_examples=300, stateful_step_count=40, deadline=None
)
test_oc_pool_3040_to_3043_lease_table_state_machine = LeaseTableMachine.TestCase
