"""Steps of one pool's lease bookkeeping on its own: grants, returns, renewals, expiry, crashes.

The lease table decides alone here (no registry, no lifecycle): a scenario sets it up with its
slot count, lifetimes and memory of ended leases, names its clients, moves the clock and reads
what the table answers. Lease ids come from the scenario's seeded id source; a source that
repeats itself is an outside-world input, described in the feature.

Serves OC-POOL-3040..3043 and OC-POOL-3045..3049 (decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import random

from harness.assertions import assert_equal
from harness.registry import step
from harness.world import LeasePart, PoolWorld
from poolmgr.core.errors import LeaseAlreadyReturned, PoolError
from poolmgr.core.leases import Lease, LeaseTable

#: The words a feature uses for each setting, and the name the refusal message gives it.
SETTING_NAMES = {
    "slot count": "capacity",
    "default lifetime": "default_ttl_ms",
    "maximum lifetime": "max_ttl_ms",
    "memory of ended leases": "remembered_ended",
}


class _IdSource(random.Random):
    """A seeded source of lease-id bits that hands out each draw ``repeat`` times in a row."""

    def __init__(self, seed: int, repeat: int, part: LeasePart) -> None:
        self._repeat = repeat
        self._left = 0
        self._last = 0
        self._part = part
        super().__init__(seed)

    def getrandbits(self, k: int) -> int:
        self._part.draws += 1
        if self._left == 0:
            self._last = super().getrandbits(k)
            self._left = self._repeat
        self._left -= 1
        return self._last


def _build(
    world: PoolWorld,
    *,
    pool: str = "chat",
    slots: int,
    default_ms: int = 300_000,
    max_ms: int = 3_600_000,
    remembered: int = 4096,
    repeat: int = 1,
) -> None:
    part = world.slots
    world.error = None
    try:
        part.table = LeaseTable(
            pool,
            slots,
            _IdSource(world.seed, repeat, part),
            default_ttl_ms=default_ms,
            max_ttl_ms=max_ms,
            remembered_ended=remembered,
        )
    except ValueError as exc:
        world.error = exc


def _now(world: PoolWorld) -> int:
    return world.clock.now_ms()


def _held(world: PoolWorld, client: str) -> Lease:
    lease = world.slots.held.get(client)
    assert lease is not None, f"setup: client {client} was never granted a lease"
    return lease


def _name_of(world: PoolWorld, lease_id: str) -> str:
    names = [c for c, lease in world.slots.held.items() if lease.lease_id == lease_id]
    assert len(names) == 1, f"lease {lease_id} belongs to {names or 'no client'}"
    return names[0]


# --------------------------------------------------------------------------- setting up


@step(
    "given",
    "a lease table is set up with {slots:d} slots, a default lifetime of {default:d} ms, "
    "a maximum lifetime of {maximum:d} ms and a memory of {remembered:d} ended leases",
)
def given_table_full(
    world: PoolWorld, slots: int, default: int, maximum: int, remembered: int
) -> None:
    _build(world, slots=slots, default_ms=default, max_ms=maximum, remembered=remembered)


@step("given", "a lease table is set up for a pool with no name")
def given_table_nameless(world: PoolWorld) -> None:
    _build(world, pool="", slots=1)


@step("given", "a lease table with {slots:d} slots whose leases last {ttl:d} ms by default")
def given_table(world: PoolWorld, slots: int, ttl: int) -> None:
    _build(world, slots=slots, default_ms=ttl, max_ms=max(ttl, 3_600_000))
    assert world.error is None, f"setup: {world.error}"


@step("given", "a lease table with {slots:d} slots and no lifetime settings of its own")
def given_table_defaults(world: PoolWorld, slots: int) -> None:
    world.slots.table = LeaseTable("chat", slots, _IdSource(world.seed, 1, world.slots))


@step("given", "a lease table with {slots:d} slots that remembers the last {n:d} ended leases")
def given_table_memory(world: PoolWorld, slots: int, n: int) -> None:
    _build(world, slots=slots, remembered=n)
    assert world.error is None, f"setup: {world.error}"


@step(
    "given",
    "a lease table with {slots:d} slots that remembers the last {n:d} ended leases, "
    "whose id source hands out every id {repeat:d} times in a row",
)
def given_table_repeating(world: PoolWorld, slots: int, n: int, repeat: int) -> None:
    _build(world, slots=slots, remembered=n, repeat=repeat)
    assert world.error is None, f"setup: {world.error}"


@step("given", "a lease table with {slots:d} slots whose id source always hands out the same id")
def given_table_stuck(world: PoolWorld, slots: int) -> None:
    _build(world, slots=slots, repeat=10**9)
    assert world.error is None, f"setup: {world.error}"


# --------------------------------------------------------------------------- requests


@step("when", "the clock reaches {ms:d} ms")
def clock_reaches(world: PoolWorld, ms: int) -> None:
    world.clock.set(ms)


def _take(world: PoolWorld, client: str, ttl: int | None) -> None:
    world.error = None
    world.slots.request = "take"
    world.slots.draws_before = world.slots.draws
    try:
        world.slots.held[client] = world.slots.current().acquire(_now(world), ttl_ms=ttl)
    except (PoolError, ValueError, RuntimeError) as exc:
        world.error = exc


@step("when", 'client "{client}" takes a slot')
def take_slot(world: PoolWorld, client: str) -> None:
    _take(world, client, None)


@step("when", 'client "{client}" takes a slot for {ttl:d} ms')
def take_slot_for(world: PoolWorld, client: str, ttl: int) -> None:
    _take(world, client, ttl)


@step("when", 'clients "{a}", "{b}" and "{c}" take a slot each')
def take_three(world: PoolWorld, a: str, b: str, c: str) -> None:
    for client in (a, b, c):
        _take(world, client, None)
        assert world.error is None, f"setup: client {client} got no slot: {world.error}"


@step("when", 'client "{client}" returns its lease')
def give_back(world: PoolWorld, client: str) -> None:
    world.error = None
    world.slots.request = "return"
    try:
        world.slots.ended = [
            world.slots.current().release(_held(world, client).lease_id, _now(world))
        ]
    except PoolError as exc:
        world.error = exc


def _renew(world: PoolWorld, client: str, ttl: int | None) -> None:
    world.error = None
    world.slots.request = "renew"
    lease = _held(world, client)
    try:
        world.slots.held[client] = world.slots.current().renew(lease.lease_id, _now(world), ttl)
    except (PoolError, ValueError) as exc:
        world.error = exc


@step("when", 'client "{client}" renews its lease')
def renew(world: PoolWorld, client: str) -> None:
    _renew(world, client, None)


@step("when", 'client "{client}" renews its lease for {ttl:d} ms')
def renew_for(world: PoolWorld, client: str, ttl: int) -> None:
    _renew(world, client, ttl)


@step("when", "a client {verb} a lease the table never granted")
def unknown_lease(world: PoolWorld, verb: str) -> None:
    world.error = None
    table = world.slots.current()
    try:
        if verb == "returns":
            table.release("never-granted", _now(world))
        else:
            assert_equal(verb, "renews", "what the client does")
            table.renew("never-granted", _now(world))
    except PoolError as exc:
        world.error = exc


@step("when", "the table sweeps out overdue leases")
def sweep(world: PoolWorld) -> None:
    world.slots.ended = world.slots.current().expire(_now(world))


@step("when", "the pool's engine crashes")
def crash(world: PoolWorld) -> None:
    world.slots.ended = world.slots.current().void_all(_now(world))


@step("when", "the pool's slot count changes to {n:d}")
def resize(world: PoolWorld, n: int) -> None:
    world.error = None
    try:
        world.slots.current().resize(n)
    except ValueError as exc:
        world.error = exc


# --------------------------------------------------------------------------- outcomes


@step("then", "the setup is accepted")
def then_setup_accepted(world: PoolWorld) -> None:
    assert world.error is None, f"the setup was refused: {world.error}"
    assert world.slots.table is not None, "no lease table was made"


@step("then", 'the setup is refused, naming the {what} and the value "{value}"')
def then_setup_refused(world: PoolWorld, what: str, value: str) -> None:
    error = world.error
    assert isinstance(error, ValueError), f"expected the setup to be refused, got {error!r}"
    message = str(error)
    assert message.startswith(SETTING_NAMES[what] + " must"), f"{what} not named: {message}"
    assert message.endswith(f", got {value}"), f"value {value} not named: {message}"


@step("then", "the setup is refused for the missing pool name")
def then_setup_refused_nameless(world: PoolWorld) -> None:
    error = world.error
    assert isinstance(error, ValueError), f"expected the setup to be refused, got {error!r}"
    assert_equal(str(error), "pool_id must be a non-empty string", "refusal")


@step("then", "the request is refused: the lifetime must lie between 1 and {maximum:d} ms")
def then_lifetime_refused(world: PoolWorld, maximum: int) -> None:
    error = world.error
    assert isinstance(error, ValueError), f"expected a refused lifetime, got {error!r}"
    expected = f"ttl_ms must be between 1 and {maximum}, got "
    assert str(error).startswith(expected), f"expected {expected!r}..., got {error}"


@step("then", "the slot count is refused as negative")
def then_slots_refused(world: PoolWorld) -> None:
    error = world.error
    assert isinstance(error, ValueError), f"expected a refused slot count, got {error!r}"
    assert_equal(str(error), "capacity must be >= 0, got -1", "refusal")


@step("then", 'the request is refused because the lease was already "{how}"')
def then_already_ended(world: PoolWorld, how: str) -> None:
    error = world.error
    assert isinstance(error, LeaseAlreadyReturned), f"expected an ended lease, got {error!r}"
    assert_equal(error.code, "CONFLICT", "code")
    assert_equal(error.pool_id, "chat", "pool named by the refusal")
    verb = world.slots.request
    assert f"cannot {verb} lease '" in error.message, f"request not named: {error.message}"
    assert error.message.endswith(f"of pool 'chat': it was already {how}"), error.message


@step("then", "the request is refused as an unknown lease of the pool")
def then_unknown(world: PoolWorld) -> None:
    error = world.error
    assert isinstance(error, PoolError), f"expected an unknown lease, got {error!r}"
    assert_equal(error.code, "NOT_FOUND", "code")
    assert_equal(error.pool_id, "chat", "pool named by the refusal")
    assert_equal(error.message, "pool 'chat' has no lease 'never-granted'", "message")


@step("then", "the grant is refused as full, naming {active:d} of {total:d} slots leased")
def then_full(world: PoolWorld, active: int, total: int) -> None:
    error = world.error
    assert isinstance(error, PoolError), f"expected a full pool, got {error!r}"
    assert_equal(error.code, "REPLICA_EXHAUSTED", "code")
    assert_equal(error.pool_id, "chat", "pool named by the refusal")
    expected = f"pool 'chat' has no free slot ({active} of {total} leased)"
    assert_equal(error.message, expected, "message")


@step("then", "the table gave up after drawing {n:d} ids for that grant")
def then_gave_up(world: PoolWorld, n: int) -> None:
    error = world.error
    assert isinstance(error, RuntimeError), f"expected the grant to give up, got {error!r}"
    assert_equal(world.slots.draws - world.slots.draws_before, n, "ids drawn for the grant")
    assert f"produced {n} lease ids in a row" in str(error), str(error)


@step("then", "the request is accepted by the table")
def then_table_accepted(world: PoolWorld) -> None:
    assert world.error is None, f"expected no refusal, got {world.error!r}"


@step("then", "the table holds these leases")
def then_table_holds(world: PoolWorld, docstring: str) -> None:
    """Rows ``client | granted at | expires at``, in the order the table lists its leases."""
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in docstring.strip().splitlines()
    ]
    assert rows and rows[0] == ["client", "granted at", "expires at"], f"header: {rows[:1]}"
    expected = [(c, int(g), int(e)) for c, g, e in rows[1:]]
    assert expected, "the feature lists no lease; use 'the table holds no lease'"
    listed = world.slots.current().snapshot()
    shown = [(_name_of(world, x.lease_id), x.granted_at_ms, x.expires_at_ms) for x in listed]
    assert_equal(shown, expected, "leases held")
    assert_equal(world.slots.current().active, len(expected), "active leases")


@step("then", "the table holds no lease")
def then_table_empty(world: PoolWorld) -> None:
    assert_equal(world.slots.current().snapshot(), [], "leases held")
    assert_equal(world.slots.current().active, 0, "active leases")
    assert world.slots.current().next_expiry_ms() is None, "an expiry is still due"


@step("then", "the next lease expires at {ms:d} ms")
def then_next_expiry(world: PoolWorld, ms: int) -> None:
    assert_equal(world.slots.current().next_expiry_ms(), ms, "next expiry")


@step("then", "the table has {active:d} active leases and {free:d} of {total:d} slots free")
def then_table_counts(world: PoolWorld, active: int, free: int, total: int) -> None:
    table = world.slots.current()
    assert_equal((table.active, table.free, table.capacity), (active, free, total), "leases")


@step("then", "the table counts {r:d} returned, {e:d} expired and {v:d} voided leases")
def then_table_totals(world: PoolWorld, r: int, e: int, v: int) -> None:
    totals = world.slots.current().totals
    shown = {end.value: n for end, n in totals.items()}
    assert_equal(shown, {"returned": r, "expired": e, "voided": v}, "ended leases")


@step("then", 'the leases of "{clients}" ended, in this order')
def then_ended_in_order(world: PoolWorld, clients: str) -> None:
    expected = [c.strip() for c in clients.split(",")]
    shown = [_name_of(world, lease.lease_id) for lease in world.slots.ended]
    assert_equal(shown, expected, "leases that ended")


@step("then", "no lease ended")
def then_none_ended(world: PoolWorld) -> None:
    assert_equal(world.slots.ended, [], "leases that ended")


@step("then", "the lease ids handed out are")
def then_lease_ids(world: PoolWorld, docstring: str) -> None:
    """Lines ``client: id``."""
    pairs = [line.split(":", 1) for line in docstring.strip().splitlines()]
    expected = {client.strip(): lease_id.strip() for client, lease_id in pairs}
    assert expected, "the feature lists no lease id"
    shown = {c: lease.lease_id for c, lease in world.slots.held.items() if c in expected}
    assert_equal(shown, expected, "lease ids")


@step("then", 'client "{b}" holds the lease id that "{a}" held')
def then_same_id(world: PoolWorld, b: str, a: str) -> None:
    assert_equal(_held(world, b).lease_id, _held(world, a).lease_id, f"{b}'s lease id")


@step("then", 'client "{b}" holds a lease id other than the one "{a}" held')
def then_other_id(world: PoolWorld, b: str, a: str) -> None:
    held = _held(world, b).lease_id
    assert held != _held(world, a).lease_id, f"{b} was handed {a}'s lease id {held}"
