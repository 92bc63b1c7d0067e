"""Steps of admission deciding on its own: queued lease requests, tiers, tenants, deadlines.

A scenario names its lease requests ("a1", "holder") and drives the registry as the HTTP
layer would (:meth:`~poolmgr.core.registry.Registry.request_lease`, ``release_lease``,
``cancel_request``), with the lifecycle steps making a pool unready or draining and the
manager's clock moved by hand (:class:`~poolmgr.core.clock.ManualClock`): "the manager sweeps
at N ms" is the timer that fires at a deadline (a tick), "the clock reaches N ms" moves the
clock with no sweep at all. What admission decided is read from the facts the registry tells
its observers (in the order it decided them), from each request's future and from
``Registry.admission_view``; Then-steps compare with values written in the feature.

Serves OC-ADM-9001..9014 (decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

from concurrent.futures import Future

from harness.assertions import assert_equal
from harness.registry import step
from harness.steps.fields import rows
from harness.world import AdmissionPart, PoolSpec, PoolWorld
from poolmgr.core.admission import Priority, TenantPolicy
from poolmgr.core.admissions import Admitted, Refused
from poolmgr.core.errors import AdmissionRefused, PoolError, PoolUnready
from poolmgr.core.leases import Lease
from poolmgr.core.registry import Registry, Told

# --- setting up ---------------------------------------------------------------------


@step(
    "given",
    'a pool "{pool}" with {slots:d} slots whose queue holds at most {depth:d} requests, '
    "each waiting at most {wait:d} ms",
)
def given_admission_pool(world: PoolWorld, pool: str, slots: int, depth: int, wait: int) -> None:
    world.pools.add(PoolSpec(pool, slots=slots, queue_depth=depth, max_wait_ms=wait))


def _optional(cell: str) -> str | None:
    return None if cell in ("", "-") else cell


@step("given", "the config lists these tenants")
def given_tenants(world: PoolWorld, datatable: list[list[str]]) -> None:
    """Columns: tenant, weight, max concurrent, rps, burst ("-": not set)."""
    for row in rows(datatable):
        limit, rps, burst = (_optional(row[k]) for k in ("max concurrent", "rps", "burst"))
        world.pools.tenants.append(
            TenantPolicy(
                name=row["tenant"],
                weight=int(row["weight"]),
                max_concurrent=None if limit is None else int(limit),
                rps=None if rps is None else float(rps),
                burst=None if burst is None else int(burst),
            )
        )


# --- requests -----------------------------------------------------------------------


def _registry(world: PoolWorld) -> Registry:
    """The registry, with the scenario following what admission decides from now on."""
    registry = world.registry
    part = world.admission
    if not part.following:
        part.following = True

        def tell(_pool_id: str, fact: Told) -> None:
            if isinstance(fact, Admitted | Refused):
                part.facts.append(fact)

        registry.observe(tell)
    return registry


def _ask(
    world: PoolWorld,
    name: str,
    pool: str,
    *,
    tenant: str | None,
    wait_ms: int = 0,
    tier: str = "interactive",
    ttl_ms: int | None = None,
) -> None:
    part = world.admission
    assert name not in part.pending and name not in part.raised, f"setup: {name} asked twice"
    registry = _registry(world)
    part.asked[name] = pool
    try:
        part.pending[name] = registry.request_lease(
            pool, wait_ms=wait_ms, tenant=tenant, priority=Priority(tier), ttl_ms=ttl_ms
        )
    except PoolError as exc:
        part.raised[name] = exc
    except ValueError as exc:  # a lease lifetime out of range: the HTTP layer's 400
        part.invalid[name] = str(exc)


@step("when", 'request "{name}" of tenant "{tenant}" asks for a slot of "{pool}"')
def ask_now(world: PoolWorld, name: str, tenant: str, pool: str) -> None:
    _ask(world, name, pool, tenant=tenant)


@step("when", 'request "{name}" of tenant "{tenant}" takes a slot of "{pool}" for {ttl:d} ms')
def ask_with_ttl(world: PoolWorld, name: str, tenant: str, pool: str, ttl: int) -> None:
    _ask(world, name, pool, tenant=tenant, ttl_ms=ttl)


@step(
    "when", 'request "{name}" of tenant "{tenant}" waits up to {wait:d} ms for a slot of "{pool}"'
)
def ask_waiting(world: PoolWorld, name: str, tenant: str, wait: int, pool: str) -> None:
    _ask(world, name, pool, tenant=tenant, wait_ms=wait)


@step(
    "when",
    'request "{name}" of tenant "{tenant}" waits up to {wait:d} ms for a {tier} slot of "{pool}"',
)
def ask_in_tier(world: PoolWorld, name: str, tenant: str, wait: int, tier: str, pool: str) -> None:
    _ask(world, name, pool, tenant=tenant, wait_ms=wait, tier=tier)


@step(
    "when",
    'request "{name}" of tenant "{tenant}" waits up to {wait:d} ms for a slot of "{pool}" '
    "lasting {ttl:d} ms",
)
def ask_waiting_with_ttl(
    world: PoolWorld, name: str, tenant: str, wait: int, pool: str, ttl: int
) -> None:
    _ask(world, name, pool, tenant=tenant, wait_ms=wait, ttl_ms=ttl)


@step("when", 'request "{name}" names no tenant and waits up to {wait:d} ms for a slot of "{pool}"')
def ask_without_tenant(world: PoolWorld, name: str, wait: int, pool: str) -> None:
    _ask(world, name, pool, tenant=None, wait_ms=wait)


@step("when", 'these requests arrive at "{pool}", in this order')
def ask_many(world: PoolWorld, pool: str, datatable: list[list[str]]) -> None:
    """Columns: request, tenant, tier, wait ms."""
    for row in rows(datatable):
        _ask(
            world,
            row["request"],
            pool,
            tenant=row["tenant"],
            tier=row["tier"],
            wait_ms=int(row["wait ms"]),
        )


def _lease_of(part: AdmissionPart, name: str) -> Lease:
    pending = part.pending.get(name)
    assert pending is not None, f"request {name} got no ticket: {part.raised.get(name)!r}"
    future = pending.future
    assert future.done() and not future.cancelled(), f"request {name} holds no lease yet"
    error = future.exception(timeout=0)
    assert error is None, f"request {name} was refused: {error!r}"
    return future.result(timeout=0)


@step("when", 'the holder of request "{name}" returns its lease')
def return_lease(world: PoolWorld, name: str) -> None:
    part = world.admission
    lease = _lease_of(part, name)
    world.registry.release_lease(lease.pool_id, lease.lease_id)
    part.returned.add(name)


@step(
    "when", 'each holder on "{pool}" returns its lease as soon as it gets it, {n:d} times in a row'
)
def pass_the_slot(world: PoolWorld, pool: str, n: int) -> None:
    """Return, ``n`` times, the lease on ``pool`` of the request admitted longest ago that
    still holds it (each return lets the pool admit the next request at once)."""
    part = world.admission
    for _ in range(n):
        holding = [
            name
            for name in (
                _name(part, f.ticket.ticket_id)
                for f in part.facts
                if _admitted(f) and f.ticket.pool_id == pool
            )
            if name not in part.returned
        ]
        assert holding, f"setup: no request holds a lease of {pool} to return"
        return_lease(world, holding[0])


def _admitted(fact: Admitted | Refused) -> bool:
    return isinstance(fact, Admitted)


@step("when", 'the client of request "{name}" disconnects')
def disconnect(world: PoolWorld, name: str) -> None:
    part = world.admission
    pending = part.pending[name]
    part.cancelled[name] = world.registry.cancel_request(
        pending.ticket.pool_id, pending.ticket.ticket_id
    )


@step("when", "the manager sweeps at {ms:d} ms")
def sweep_at(world: PoolWorld, ms: int) -> None:
    world.clock.set(ms)
    world.tick()


# --- what was decided ---------------------------------------------------------------


def _name(part: AdmissionPart, ticket_id: int) -> str:
    for name, pending in part.pending.items():
        if pending.ticket.ticket_id == ticket_id:
            return name
    raise AssertionError(f"ticket {ticket_id} belongs to no request of the scenario")


def _facts_of(part: AdmissionPart, name: str) -> list[Admitted | Refused]:
    pending = part.pending.get(name)
    if pending is None:
        return []
    return [f for f in part.facts if f.ticket.ticket_id == pending.ticket.ticket_id]


def _refusal(part: AdmissionPart, name: str) -> PoolError:
    """The error request ``name`` was answered with, however it was answered."""
    if name in part.raised:
        return part.raised[name]
    pending = part.pending.get(name)
    assert pending is not None, f"no request {name} was made"
    future: Future[Lease] = pending.future
    assert future.done() and not future.cancelled(), f"request {name} has no answer"
    error = future.exception(timeout=0)
    assert isinstance(error, PoolError), f"request {name} was not refused: {future.result()!r}"
    return error


@step("then", 'request "{name}" was refused at once as invalid: "{text}"')
def then_invalid(world: PoolWorld, name: str, text: str) -> None:
    part = world.admission
    assert_equal(part.invalid.get(name), text, f"why request {name} is invalid")
    assert name not in part.pending, f"request {name} got a ticket"


@step("then", 'request "{name}" holds a lease of "{pool}"')
def then_holds(world: PoolWorld, name: str, pool: str) -> None:
    lease = _lease_of(world.admission, name)
    assert_equal(lease.pool_id, pool, f"pool of request {name}'s lease")


@step("then", 'request "{name}" was admitted after waiting {ms:d} ms')
def then_admitted_after(world: PoolWorld, name: str, ms: int) -> None:
    part = world.admission
    lease = _lease_of(part, name)
    facts = _facts_of(part, name)
    assert len(facts) == 1 and isinstance(facts[0], Admitted), f"{name} was told: {facts}"
    assert_equal(facts[0].lease.lease_id, lease.lease_id, f"lease told for {name}")
    assert_equal(facts[0].waited_ms, ms, f"time request {name} waited")
    assert_equal(lease.granted_at_ms, facts[0].ticket.arrived_ms + ms, f"grant time of {name}")


@step("then", 'request "{name}" is still waiting')
def then_waiting(world: PoolWorld, name: str) -> None:
    part = world.admission
    pending = part.pending.get(name)
    assert pending is not None, f"request {name} got no ticket: {part.raised.get(name)!r}"
    assert not pending.future.done(), f"request {name} was already answered"
    assert_equal(_facts_of(part, name), [], f"what admission told about {name}")
    queue = world.registry.admissions.queue(pending.ticket.pool_id)
    assert pending.ticket in list(queue.tickets()), f"request {name} is not in its queue"


@step("then", 'request "{name}" was refused with code "{code}"')
def then_refused(world: PoolWorld, name: str, code: str) -> None:
    part = world.admission
    error = _refusal(part, name)
    assert_equal(str(error.code), code, f"code of the refusal of {name} ({error.message})")
    assert_equal(error.pool_id, part.asked[name], f"pool named by the refusal of {name}")


@step("then", 'request "{name}" was refused with code "{code}" after waiting {ms:d} ms')
def then_refused_after(world: PoolWorld, name: str, code: str, ms: int) -> None:
    then_refused(world, name, code)
    facts = _facts_of(world.admission, name)
    assert len(facts) == 1 and isinstance(facts[0], Refused), f"{name} was told: {facts}"
    assert_equal(facts[0].waited_ms, ms, f"time request {name} waited")


@step("then", 'request "{name}" was refused for its "{reason}" quota with code "{code}"')
def then_refused_for(world: PoolWorld, name: str, reason: str, code: str) -> None:
    then_refused(world, name, code)
    error = _refusal(world.admission, name)
    assert isinstance(error, AdmissionRefused), f"not an admission refusal: {error!r}"
    assert_equal(error.reason, reason, f"reason of the refusal of {name}")


@step("then", 'the refusal of request "{name}" says to retry in {ms:d} ms')
def then_retry_in(world: PoolWorld, name: str, ms: int) -> None:
    error = _refusal(world.admission, name)
    assert isinstance(error, AdmissionRefused | PoolUnready), f"no retry hint: {error!r}"
    assert_equal(error.retry_after_ms, ms, f"retry hint of the refusal of {name}")


@step("then", 'the refusal of request "{name}" says "{text}"')
def then_refusal_says(world: PoolWorld, name: str, text: str) -> None:
    error = _refusal(world.admission, name)
    assert text in error.message, f"{text!r} is not in the refusal of {name}: {error.message!r}"


@step("then", 'the disconnect of request "{name}" {found} it waiting')
def then_disconnect_found(world: PoolWorld, name: str, found: str) -> None:
    assert found in ("found", "did not find"), f"setup: say found or did not find, not {found}"
    assert_equal(world.admission.cancelled.get(name), found == "found", f"disconnect of {name}")


@step("then", 'request "{name}" was withdrawn without an answer')
def then_withdrawn(world: PoolWorld, name: str) -> None:
    part = world.admission
    assert part.pending[name].future.cancelled(), f"request {name} was answered"
    assert_equal(_facts_of(part, name), [], f"what admission told about {name}")


@step("then", 'request "{name}" never held a lease')
def then_never_held(world: PoolWorld, name: str) -> None:
    part = world.admission
    admitted = [f for f in _facts_of(part, name) if isinstance(f, Admitted)]
    assert_equal(admitted, [], f"admissions of {name}")
    pending = part.pending.get(name)
    if pending is not None and pending.future.done() and not pending.future.cancelled():
        assert pending.future.exception(timeout=0) is not None, f"{name} got a lease"


@step("then", "the admissions went to these requests, in this order")
def then_admission_order(world: PoolWorld, datatable: list[list[str]]) -> None:
    """Columns: request, tenant (every admission since the first request, none left out)."""
    part = world.admission
    told = [
        (_name(part, f.ticket.ticket_id), f.ticket.tenant)
        for f in part.facts
        if isinstance(f, Admitted)
    ]
    want = [(row["request"], row["tenant"]) for row in rows(datatable)]
    assert_equal(told, want, "admissions (request, tenant) in order")


@step("then", "admission decided, in this order")
def then_decision_order(world: PoolWorld, datatable: list[list[str]]) -> None:
    """Columns: request, decision ("admitted" or the refusal's code); every decision told
    since the first request, none left out."""
    part = world.admission
    told = [
        (
            _name(part, f.ticket.ticket_id),
            "admitted" if isinstance(f, Admitted) else str(f.error.code),
        )
        for f in part.facts
    ]
    want = [(row["request"], row["decision"]) for row in rows(datatable)]
    assert_equal(told, want, "decisions (request, decision) in order")


@step(
    "then", 'the queue of "{pool}" holds {interactive:d} interactive and {batch:d} batch requests'
)
def then_depth(world: PoolWorld, pool: str, interactive: int, batch: int) -> None:
    depths = world.registry.admission_view().depths[pool]
    got = (depths[Priority.INTERACTIVE], depths[Priority.BATCH])
    assert_equal(got, (interactive, batch), f"waiting (interactive, batch) requests of {pool}")


def assert_close(actual: float, written: str, what: str) -> None:
    """``actual`` equals the decimal ``written`` to the digits written (half a unit either way)."""
    decimals = len(written.partition(".")[2])
    assert abs(actual - float(written)) <= 0.5 * 10**-decimals, f"{what}: {written}, got {actual}"


@step("then", "the deadlines met ratio is {interactive} for interactive and {batch} for batch")
def then_deadline_ratio(world: PoolWorld, interactive: str, batch: str) -> None:
    ratios = world.registry.admission_view().deadlines_met_ratio
    assert_close(ratios[Priority.INTERACTIVE], interactive, "interactive deadlines met ratio")
    assert_close(ratios[Priority.BATCH], batch, "batch deadlines met ratio")


@step("then", "the admission shares of the {tier} tier are")
def then_shares(world: PoolWorld, tier: str, datatable: list[list[str]]) -> None:
    """Columns: tenant, share (every tenant the tier admitted, no other)."""
    shares = world.registry.admission_view().shares[Priority(tier)]
    want = rows(datatable)
    assert_equal(sorted(shares), sorted(row["tenant"] for row in want), f"tenants of {tier}")
    for row in want:
        assert_close(shares[row["tenant"]], row["share"], f"share of {row['tenant']} in {tier}")


@step("then", "the {tier} tier shows no admission shares")
def then_no_shares(world: PoolWorld, tier: str) -> None:
    assert_equal(dict(world.registry.admission_view().shares[Priority(tier)]), {}, f"{tier} shares")
