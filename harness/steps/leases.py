"""Steps of slot leases: granting, returning, refusing, expiry and how leases ended.

Serves OC-POOL-3031..3034, and the lease steps of OC-POOL-3001, 3003..3005, 3010, 3011, 3016
and 3040..3044, 3047..3049 (decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from harness.assertions import assert_equal, assert_no_refusal, assert_refused
from harness.registry import step
from harness.steps.lifecycle import given_pool_ready
from harness.world import PoolSpec, PoolWorld
from poolmgr.core.errors import PoolError
from poolmgr.core.events import LeasesDrained
from poolmgr.core.leases import Lease, LeaseEnd


@step("given", 'a pool "{pool}" whose leases last {ttl:d} ms unless renewed')
def given_pool_lease_ttl(world: PoolWorld, pool: str, ttl: int) -> None:
    world.pools.add(PoolSpec(pool, slots=2, lease_ttl_ms=ttl))


@step("given", 'the pool "{pool}" is ready with {n:d} slots leased')
def given_pool_ready_leased(world: PoolWorld, pool: str, n: int) -> None:
    given_pool_ready(world, pool)
    for _ in range(n):
        world.pools.leases.append(world.registry.acquire_lease(pool))


@step("when", 'a client leases a slot of "{pool}"')
def lease_slot(world: PoolWorld, pool: str) -> None:
    world.error = None
    try:
        world.pools.leases.append(world.registry.acquire_lease(pool))
    except PoolError as exc:
        world.error = exc


@step("when", 'clients lease {n:d} slots of "{pool}"')
def lease_slots(world: PoolWorld, n: int, pool: str) -> None:
    for _ in range(n):
        lease_slot(world, pool)


@step("when", "the client returns its lease")
def return_lease(world: PoolWorld) -> None:
    world.error = None
    lease = world.pools.leases[-1]
    try:
        world.pools.returned.append(world.registry.release_lease(lease.pool_id, lease.lease_id))
        world.pools.leases.remove(lease)
    except PoolError as exc:
        world.error = exc


def _renew(world: PoolWorld, ttl_ms: int | None) -> None:
    world.error = None
    lease = world.pools.leases[-1]
    try:
        renewed = world.registry.renew_lease(lease.pool_id, lease.lease_id, ttl_ms=ttl_ms)
    except PoolError as exc:
        world.error = exc
        return
    world.pools.leases[-1] = renewed


@step("when", "the client renews its lease")
def renew_lease(world: PoolWorld) -> None:
    _renew(world, None)


@step("when", "the client renews its lease for {ttl:d} ms")
def renew_lease_for(world: PoolWorld, ttl: int) -> None:
    _renew(world, ttl)


@step("when", "the client renews the lease it returned")
def renew_returned(world: PoolWorld) -> None:
    assert world.pools.returned, "setup: no lease was returned yet"
    lease = world.pools.returned[-1]
    world.error = None
    try:
        world.registry.renew_lease(lease.pool_id, lease.lease_id)
    except PoolError as exc:
        world.error = exc


@step("then", 'the lease held on "{pool}" expires at {ms:d} ms')
def then_lease_expires(world: PoolWorld, pool: str, ms: int) -> None:
    held = [lease for lease in world.pools.leases if lease.pool_id == pool]
    assert held, f"no lease is held on {pool}"
    assert_equal(held[-1].expires_at_ms, ms, f"expiry of the lease held on {pool}")


@step("when", "the client returns the same lease again")
def return_lease_again(world: PoolWorld) -> None:
    assert world.pools.returned, "setup: no lease was returned yet"
    _return_again(world, world.pools.returned[-1])


def _return_again(world: PoolWorld, lease: Lease) -> None:
    """A client returns ``lease`` a second time; the refusal, if any, is kept."""
    world.error = None
    try:
        world.registry.release_lease(lease.pool_id, lease.lease_id)
    except PoolError as exc:
        world.error = exc


@step("when", 'a client returns a lease of "{pool}" that was never granted')
def return_unknown(world: PoolWorld, pool: str) -> None:
    world.error = None
    try:
        world.registry.release_lease(pool, "never-granted")
    except PoolError as exc:
        world.error = exc


@step("when", 'every lease of "{pool}" is returned')
def return_all(world: PoolWorld, pool: str) -> None:
    for lease in [x for x in world.pools.leases if x.pool_id == pool]:
        world.registry.release_lease(pool, lease.lease_id)
        world.pools.leases.remove(lease)
    if world.registry.active_leases(pool) == 0:
        world.dispatch(pool, LeasesDrained())


@step("then", 'the request is refused with code "{code}"')
def then_refused(world: PoolWorld, code: str) -> None:
    assert_refused(world, code)


@step("then", "the refusal tells the client to retry in {ms:d} ms")
def then_retry_hint(world: PoolWorld, ms: int) -> None:
    error = world.error
    assert error is not None and hasattr(error, "retry_after_ms"), f"no retry hint: {error!r}"
    assert_equal(error.retry_after_ms, ms, "retry hint")


@step("then", "the request is accepted")
def then_accepted(world: PoolWorld) -> None:
    assert_no_refusal(world)


@step("then", 'the pool "{pool}" has {n:d} active leases')
def then_active(world: PoolWorld, pool: str, n: int) -> None:
    snap = world.registry.snapshot(pool)
    assert_equal(snap.active_leases, n, f"active leases of {pool}")
    assert 0 <= snap.active_leases <= snap.slots_total, f"leases out of bounds: {snap}"


@step("then", 'the pool "{pool}" counts {n:d} leases that ended as "{how}"')
def then_leases_ended(world: PoolWorld, pool: str, n: int, how: str) -> None:
    ended = world.registry.snapshot(pool).leases_ended
    assert_equal(ended[LeaseEnd(how)], n, f"leases of {pool} that ended as {how}")


@step("when", 'clients lease and return {n:d} slots of "{pool}", one after another')
def lease_and_return_many(world: PoolWorld, n: int, pool: str) -> None:
    for _ in range(n):
        lease = world.registry.acquire_lease(pool)
        world.pools.returned.append(world.registry.release_lease(pool, lease.lease_id))


@step("when", "the client returns lease number {k:d} again")
def return_numbered_again(world: PoolWorld, k: int) -> None:
    assert len(world.pools.returned) >= k, f"setup: only {len(world.pools.returned)} returned"
    _return_again(world, world.pools.returned[k - 1])


@step("then", 'the request is refused because that lease was already "{how}"')
def then_already(world: PoolWorld, how: str) -> None:
    error = assert_refused(world, "CONFLICT")
    assert error.message.endswith(f"it was already {how}"), error.message
