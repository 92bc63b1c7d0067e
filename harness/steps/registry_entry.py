"""Steps of the registry as its readers see it: one entry per pool, the listing, its observers.

A registry entry is compared field by field with a doc string in business words; the step
insists that the doc string names every field OC-POOL-3005 requires, so no scenario can leave
one unchecked. Observers are told every fact of every pool (metrics and logs follow the
registry this way).

Serves OC-CTL-4022 (preloaded while draining), OC-CTL-4023 (ready for), OC-POOL-3003,
OC-POOL-3005, OC-POOL-3040, OC-POOL-3044, OC-POOL-3046 and OC-POOL-3047
(decision level).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from harness.assertions import assert_equal
from harness.registry import step
from harness.steps.leases import lease_slot
from harness.world import PoolWorld
from poolmgr.assemble import build_machine
from poolmgr.config import parse_config
from poolmgr.core.admissions import Admitted, Refused
from poolmgr.core.decisions import (
    DrainCounted,
    DriverResetCounted,
    PreloadFinished,
    ReloadFinished,
    Restarted,
    StateChanged,
)
from poolmgr.core.errors import PoolError
from poolmgr.core.events import PreloadSucceeded
from poolmgr.core.leases import LeaseEnd, LeaseTable
from poolmgr.core.registry import PoolSnapshot, Told


def _opt(value: object) -> str:
    return "none" if value is None else str(value)


def _flag(value: bool) -> str:
    return "yes" if value else "no"


#: Each field of a registry entry in the words a feature uses, and how it is shown.
ENTRY_FIELDS: dict[str, Callable[[PoolSnapshot], str]] = {
    "live": lambda s: _flag(s.live),
    "ready": lambda s: _flag(s.ready),
    "draining": lambda s: _flag(s.draining),
    "state": lambda s: s.state.value,
    "last heartbeat at": lambda s: _opt(s.last_heartbeat_ms),
    "heartbeat age": lambda s: _opt(s.heartbeat_age_ms),
    "model": lambda s: s.model_ref,
    "engine": lambda s: s.engine.value,
    "engine version": lambda s: _opt(s.engine_version),
    "model digest": lambda s: _opt(s.model_digest),
    "last error": lambda s: "none" if s.last_error is None else s.last_error.cause.value,
    "slots": lambda s: str(s.slots_total),
    "free slots": lambda s: str(s.slots_free),
    "active leases": lambda s: str(s.active_leases),
    "restart count": lambda s: str(s.restart_count),
    "next restart at": lambda s: _opt(s.next_restart_at_ms),
    "runs on the CPU": lambda s: _flag(s.cpu),
    "preloaded": lambda s: _flag(s.preload_ok),
    "ready for": lambda s: _opt(s.uptime_ms),
    "returned leases": lambda s: str(s.leases_ended[LeaseEnd.RETURNED]),
    "expired leases": lambda s: str(s.leases_ended[LeaseEnd.EXPIRED]),
    "voided leases": lambda s: str(s.leases_ended[LeaseEnd.VOIDED]),
    "load": lambda s: f"{s.load:.2f}",
    "backoff attempt": lambda s: str(s.backoff_attempt),
    "last backoff delay": lambda s: _opt(s.backoff_delay_ms),
    "breaker": lambda s: s.breaker_state.value,
    "next breaker trial at": lambda s: _opt(s.breaker_next_trial_at_ms),
    "drain reason": lambda s: _opt(s.drain_reason),
    "engine process": lambda s: _opt(s.pid),
    "context per slot": lambda s: _opt(s.ctx_per_slot),
    "context in total": lambda s: _opt(s.ctx_total),
}

#: The fields OC-POOL-3005 requires, which every compared entry must name.
REQUIRED_FIELDS = (
    "live",
    "ready",
    "draining",
    "state",
    "last heartbeat at",
    "model",
    "engine",
    "engine version",
    "model digest",
    "last error",
    "slots",
    "active leases",
    "restart count",
    "next restart at",
)


def _entry_lines(docstring: str) -> dict[str, str]:
    pairs = [line.split(":", 1) for line in docstring.strip().splitlines()]
    assert all(len(p) == 2 for p in pairs), f"write one 'field: value' per line: {pairs}"
    return {name.strip(): value.strip() for name, value in pairs}


def _compare(snap: PoolSnapshot, docstring: str) -> None:
    expected = _entry_lines(docstring)
    unknown = sorted(set(expected) - set(ENTRY_FIELDS))
    assert not unknown, f"not fields of a registry entry: {unknown}"
    missing = [f for f in REQUIRED_FIELDS if f not in expected]
    assert not missing, f"the feature leaves fields of OC-POOL-3005 unchecked: {missing}"
    shown = {name: ENTRY_FIELDS[name](snap) for name in expected}
    assert_equal(shown, expected, f"registry entry of {snap.pool_id}")


@step("then", 'the registry holds for "{pool}"')
def then_registry_holds(world: PoolWorld, pool: str, docstring: str) -> None:
    assert docstring.strip(), "the feature gives no registry entry to compare with"
    _compare(world.registry.snapshot(pool), docstring)


@step(
    "when", 'the launch of "{pool}" plans a context of {per_slot:d} per slot and {total:d} in total'
)
def when_launch_plans_context(world: PoolWorld, pool: str, per_slot: int, total: int) -> None:
    world.registry.record_context(pool, per_slot, total)


@step(
    "then",
    'the registry identifies "{pool}" to log lines as engine "{engine}" version "{version}"',
)
def then_identity(world: PoolWorld, pool: str, engine: str, version: str) -> None:
    shown = None if version == "none" else version
    assert_equal(world.registry.identity(pool), (engine, shown), f"identity of {pool}")


@step("then", 'the registry identifies no pool "{pool}" to log lines')
def then_no_identity(world: PoolWorld, pool: str) -> None:
    assert_equal(world.registry.identity(pool), None, f"identity of {pool}")


@step("then", "the registry lists these pools")
def then_registry_lists(world: PoolWorld, docstring: str) -> None:
    """Rows ``pool | state | ready | slots | free slots | active leases``, in listed order."""
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in docstring.strip().splitlines()
    ]
    header = ["pool", "state", "ready", "slots", "free slots", "active leases"]
    assert rows and rows[0] == header, f"header must be {header}: {rows[:1]}"
    assert len(rows) > 1, "the feature lists no pool"
    listed = world.registry.snapshots()
    assert listed, "the registry lists no pool"
    shown = [
        [s.pool_id, s.state.value, _flag(s.ready)]
        + [str(n) for n in (s.slots_total, s.slots_free, s.active_leases)]
        for s in listed
    ]
    assert_equal(shown, rows[1:], "registry listing")
    assert_equal(world.registry.ids(), [r[0] for r in rows[1:]], "pool ids")


# --------------------------------------------------------------------------- observers


def _shown(fact: Told) -> str:
    match fact:
        case Admitted(ticket=t, waited_ms=w):
            return f"admitted {t.tenant} ({t.priority.value}) after {w} ms"
        case Refused(ticket=t, error=e, waited_ms=w):
            return f"refused {t.tenant} ({t.priority.value}) after {w} ms: {e.code.value}"
        case StateChanged(from_state=a, to_state=b):
            return f"state {a.value} -> {b.value}"
        case PreloadFinished(result=r, cause=c):
            return f"preload {r.value}" + ("" if c is None else f" ({c.value})")
        case Restarted(cause=c):
            return f"restarted after {c.value}"
        case DrainCounted(reason=r):
            return f"drain counted ({r.value})"
        case DriverResetCounted(cause=c):
            return f"driver reset counted ({c.value})"
        case ReloadFinished(outcome=o, from_model_ref=old, to_model_ref=new, cause=c):
            return f"reload {o.value} from {old} to {new}" + ("" if c is None else f" ({c.value})")


@step("given", "an observer follows the registry")
def given_observer(world: PoolWorld) -> None:
    observed = world.pools.observed
    world.registry.observe(lambda pool, fact: observed.append((pool, fact)))


@step("then", "the observer was told, in order")
def then_observer_told(world: PoolWorld, docstring: str) -> None:
    """Lines ``pool: fact``."""
    expected = [line.strip() for line in docstring.strip().splitlines()]
    assert expected, "the feature lists nothing the observer was told"
    shown = [f"{pool}: {_shown(fact)}" for pool, fact in world.pools.observed]
    assert_equal(shown, expected, "what the observer was told")
    world.pools.observed.clear()


# --------------------------------------------------------------------------- events and reads


@step("when", "{ms:d} ms pass before the manager next checks its pools")
def time_passes_unchecked(world: PoolWorld, ms: int) -> None:
    """Time moves but no periodic check runs: a read or a request comes first."""
    world.clock.advance(ms)


@step(
    "when", 'the engine of "{pool}" finishes preloading, reporting version "{v}" and digest "{d}"'
)
def preload_with_digest(world: PoolWorld, pool: str, v: str, d: str) -> None:
    world.dispatch(pool, PreloadSucceeded(v, d, world.pools.specs[pool].slots))


@step("when", 'a client for job "{job}" leases a slot of "{pool}" for {ttl:d} ms')
def lease_for_job(world: PoolWorld, pool: str, ttl: int, job: str) -> None:
    world.error = None
    try:
        world.pools.leases.append(world.registry.acquire_lease(pool, ttl_ms=ttl, job_id=job))
    except PoolError as exc:
        world.error = exc


@step("when", 'the registry is read for "{pool}"')
def read_entry(world: PoolWorld, pool: str) -> None:
    world.registry.snapshot(pool)


@step("when", "the registry's pools are listed")
def read_listing(world: PoolWorld) -> None:
    world.registry.snapshots()


@step("when", 'a client leases a slot of the unknown pool "{pool}"')
def lease_unknown_pool(world: PoolWorld, pool: str) -> None:
    lease_slot(world, pool)


@step("when", 'the pool "{pool}" is registered {how}')
def register_again(world: PoolWorld, pool: str, how: str) -> None:
    """``again`` (a second pool of the same name) or ``with the lease table of "<other>"``."""
    config = parse_config(world.pools.config_yaml(), "<scenario>")
    (cfg,) = [p for p in config.pools if p.id == pool]
    machine = build_machine(cfg, world.clock, random.Random(1), heartbeat_stale_ms=5_000)
    table_of = pool if how == "again" else how.removeprefix('with the lease table of "')[:-1]
    table = LeaseTable(table_of, 1, random.Random(1))
    world.error = None
    try:
        world.registry.register(
            machine,
            table,
            engine=cfg.engine,
            cpu=cfg.cpu,
            ctx_per_slot=cfg.ctx,
            queue_depth=cfg.admission.queue_depth,
            max_wait_ms=cfg.admission.max_wait_ms,
        )
    except ValueError as exc:
        world.error = exc


# --------------------------------------------------------------------------- outcomes


@step("then", 'the registration is refused: "{message}"')
def then_registration_refused(world: PoolWorld, message: str) -> None:
    error = world.error
    assert isinstance(error, ValueError), f"expected the registration refused, got {error!r}"
    assert_equal(str(error), message, "refusal")


@step("then", "the refusal gives no retry time")
def then_no_retry_hint(world: PoolWorld) -> None:
    error = world.error
    assert isinstance(error, PoolError), f"expected a refusal, got {error!r}"
    assert_equal(getattr(error, "retry_after_ms", None), None, "retry hint")


@step("then", 'the lease granted on "{pool}" is for job "{job}" and expires at {ms:d} ms')
def then_lease_granted(world: PoolWorld, pool: str, job: str, ms: int) -> None:
    assert world.error is None, f"expected a grant, got {world.error!r}"
    assert world.pools.leases, "no lease was granted"
    lease = world.pools.leases[-1]
    shown = (lease.pool_id, lease.job_id, lease.granted_at_ms, lease.expires_at_ms)
    assert_equal(shown, (pool, job, world.clock.now_ms(), ms), "lease granted")


@step("then", 'the pool "{pool}" has been ready for {ms:d} ms')
def then_ready_for(world: PoolWorld, pool: str, ms: int) -> None:
    assert_equal(world.registry.snapshot(pool).uptime_ms, ms, f"time {pool} has been ready")


@step("then", 'the pool "{pool}" reports no ready time')
def then_no_ready_time(world: PoolWorld, pool: str) -> None:
    assert_equal(world.registry.snapshot(pool).uptime_ms, None, f"time {pool} has been ready")
