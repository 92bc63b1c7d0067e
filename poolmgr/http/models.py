"""The shapes of the control plane's request and response bodies, and how a snapshot fills them.

Decides what a client may send (strict bodies: unknown fields, wrong types and out-of-range
values are refused, OC-CTL-4004) and what it gets back: pool and replica-set listings
(OC-CTL-4001), a pool's health (OC-CTL-4002, OC-POOL-3003), accepted drains and reloads
(OC-CTL-4003, OC-CTL-4014), granted and renewed leases (OC-POOL-3040, OC-POOL-3045,
OC-CTL-4010) and the manager's own health. The health body is versioned and states each fact
under one name; it repeats the listing entry's fields under the same names (OC-CTL-4020..4023).
The class names are the OpenAPI component names (spec/openapi.json, OC-CTL-4008); renaming one
changes the contract.
"""

from collections.abc import Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from poolmgr.core.admission import Priority
from poolmgr.core.decisions import PoolState, ReloadOutcome
from poolmgr.core.registry import PoolSnapshot
from poolmgr.http.walltime import WallTimes

__all__ = [
    "HEALTH_SCHEMA_VERSION",
    "MAX_DEADLINE_MS",
    "Accepted",
    "DeadlineSource",
    "DrainRequest",
    "LeaseGranted",
    "LeaseRenewal",
    "LeaseRenewed",
    "LeaseRequest",
    "ManagerHealth",
    "ManagerReady",
    "PoolEntry",
    "PoolHealth",
    "ReloadRequest",
    "ReplicaSetEntry",
    "entry_view",
    "health_view",
]

HEALTH_SCHEMA_VERSION: Final = 2
"""The shape of the pool health body (OC-CTL-4020); 2 states each fact once (see the spec)."""

MAX_DEADLINE_MS: Final = 3_600_000
"""The longest deadline or lease TTL a request may ask for (one hour)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DrainRequest(_Strict):
    deadline_ms: int | None = Field(
        default=None,
        ge=0,
        le=MAX_DEADLINE_MS,
        description=(
            "How long active leases may run before the stop; the pool's configured "
            "drain_deadline_ms when absent (OC-CTL-4014)."
        ),
    )


class ReloadRequest(_Strict):
    new_model_ref: str = Field(min_length=1, max_length=4096)
    deadline_ms: int | None = Field(
        default=None,
        ge=0,
        le=MAX_DEADLINE_MS,
        description="Drain deadline for the old engine; the pool's configured one when absent.",
    )


class LeaseRequest(_Strict):
    ttl_ms: int | None = Field(default=None, ge=1, le=MAX_DEADLINE_MS)
    job_id: str | None = Field(default=None, min_length=1, max_length=256)
    tenant: str | None = Field(
        default=None,
        min_length=1,
        max_length=63,
        description=(
            "A tenant of the config's tenants list; the tenant `default` when absent (OC-ADM-9010)."
        ),
    )
    priority: Priority = Field(
        default=Priority.INTERACTIVE,
        description="The request's tier: interactive requests go before batch ones (OC-ADM-9007).",
    )
    wait_ms: int = Field(
        default=0,
        ge=0,
        le=3_600_000,
        description=(
            "How long the request may wait for a slot (long poll: the answer comes when a slot "
            "is granted, or at the deadline with DEADLINE_EXCEEDED); at most the pool's "
            "admission.max_wait_ms. 0: granted or refused at once (OC-ADM-9001)."
        ),
    )

    @field_validator("priority", mode="before")
    @classmethod
    def _tier(cls, value: object) -> object:
        """A tier by its name: a strict model takes only ``Priority`` instances, and FastAPI
        validates the decoded JSON, where a tier is a string. An unknown name is refused
        naming the value (OC-ADM-9010)."""
        if isinstance(value, str) and not isinstance(value, Priority):
            known = ", ".join(tier.value for tier in Priority)
            if value not in {tier.value for tier in Priority}:
                raise ValueError(f"unknown tier {value!r} (known: {known})")
            return Priority(value)
        return value


class LeaseRenewal(_Strict):
    ttl_ms: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DEADLINE_MS,
        description=(
            "The lease lasts at least this long from the renewal (never shorter than it "
            "already does); the pool's default lease lifetime when absent (OC-POOL-3045)."
        ),
    )


GpusSource = Literal["nvml", "simulated", "none"]


class PoolEntry(BaseModel):
    """A pool in the listing; the health body repeats these fields under the same names."""

    id: str
    engine: str
    cpu: bool
    gpus: GpusSource = Field(
        description=(
            "Where the manager reads this pool's GPUs: nvml (the driver), simulated "
            "(manager.simulate_gpus: the static inventory and engine claim files, never a real "
            "GPU), none (a CPU pool) (OC-GPU-9508)"
        )
    )
    engine_version: str | None
    model_digest: str | None
    slots_total: int
    slots_free: int
    load: float = Field(description="Fraction of slots leased (0 when the pool has no slots)")
    state: PoolState
    ready: bool


class ReplicaSetEntry(PoolEntry):
    slo: dict[str, float] | None = None


class LastErrorView(BaseModel):
    cause: str
    message: str
    at_ms: int = Field(description="When, on the manager's monotonic clock")
    at: str = Field(description="When, as an RFC 3339 UTC time (OC-CTL-4021)")


class CtxView(BaseModel):
    """The pool's context: what one request gets and what the engine holds (OC-POOL-3070)."""

    per_slot: int = Field(description="Tokens of context one request (one slot) gets")
    total: int = Field(description="Tokens of context of all slots, the KV cache's size")


class BreakerView(BaseModel):
    state: str
    next_trial_at_ms: int | None


class ReloadView(BaseModel):
    outcome: ReloadOutcome
    from_: str = Field(serialization_alias="from")
    to: str
    cause: str | None
    message: str | None


class RestartsView(BaseModel):
    count: int = Field(description="Engine restarts since the manager started")
    next_restart_at_ms: int | None
    backoff_attempt: int
    backoff_delay_ms: int | None
    by_cause: dict[str, int] = Field(description="Restarts counted by the failure before them")


class LeasesView(BaseModel):
    """Leases held now and how the ended ones ended (the slot counts are top-level fields)."""

    active: int
    returned: int
    expired: int
    voided: int


class CountersView(BaseModel):
    """Metric counters of the pool that no other health field states."""

    drain_events: dict[str, int] = Field(description="Drains counted by reason")
    preload_outcomes: dict[str, int] = Field(description="Preloads counted by result")
    driver_resets: int


class PoolHealth(PoolEntry):
    """One pool's health: its listing entry and everything else known about it, each fact once."""

    schema_version: int = Field(description="Version of this body's shape (OC-CTL-4020)")
    model_ref: str
    live: bool
    draining: bool
    drain_reason: str | None
    preload_ok: bool = Field(description="The current engine has preloaded (OC-CTL-4022)")
    uptime_ms: int | None = Field(
        description="How long the current engine has been Ready; null when not Ready (OC-CTL-4023)"
    )
    heartbeat_age_ms: int | None
    last_error: LastErrorView | None
    ctx: CtxView
    breaker: BreakerView
    restarts: RestartsView
    leases: LeasesView
    reload: ReloadView | None
    counters: CountersView


DeadlineSource = Literal["request", "pool_config", "manager_default"]


class Accepted(BaseModel):
    pool_id: str
    action: str
    deadline_ms: int = Field(description="The drain deadline that applies")
    deadline_source: DeadlineSource = Field(
        description=(
            "Where the deadline comes from: the request, the pool's configured "
            "drain_deadline_ms, or the manager's default for a pool the config does not list"
        )
    )
    stop_grace_ms: int = Field(
        description=(
            "After the deadline, how long the engine gets between SIGTERM and SIGKILL (the "
            "pool's stop_grace_ms): the stop ends at most deadline_ms plus this from now"
        )
    )
    new_model_ref: str | None = None


_EXPIRES_AT_MS = "Expiry on the manager's monotonic clock (the clock of every *_at_ms field)"
_EXPIRES_AT = (
    "Expiry as an RFC 3339 UTC time with milliseconds, read from the manager's wall clock "
    "at the answer (OC-CTL-4010)"
)
_RFC3339: Final[dict[str, JsonValue]] = {
    "format": "date-time",
    "examples": ["2026-12-01T02:03:04.567Z"],
}


class LeaseGranted(BaseModel):
    lease_id: str
    pool_id: str
    engine_url: str | None = Field(description="Base URL of the pool's engine; null if none runs")
    expires_at_ms: int = Field(description=_EXPIRES_AT_MS)
    expires_at: str = Field(description=_EXPIRES_AT, json_schema_extra=_RFC3339)
    ttl_ms: int = Field(description="How long the lease lasts from its grant")
    job_id: str | None


class LeaseRenewed(BaseModel):
    lease_id: str
    pool_id: str
    expires_at_ms: int = Field(description=_EXPIRES_AT_MS)
    expires_at: str = Field(description=_EXPIRES_AT, json_schema_extra=_RFC3339)
    ttl_ms: int = Field(description="How long the lease has left at this answer")
    job_id: str | None


class ManagerHealth(BaseModel):
    status: str
    version: str


class ManagerReady(BaseModel):
    ready: bool
    pools_total: int
    pools_ready: int


# --------------------------------------------------------------------------- views


def gpus_source(cpu: bool, simulated: bool) -> GpusSource:
    """What the ``gpus`` field says for a pool (OC-GPU-9508)."""
    if cpu:
        return "none"
    return "simulated" if simulated else "nvml"


def entry_view(s: PoolSnapshot, *, simulated_gpus: bool) -> dict[str, Any]:
    """The listing entry of one pool (OC-CTL-4001)."""
    return {
        "id": s.pool_id,
        "engine": s.engine,
        "cpu": s.cpu,
        "gpus": gpus_source(s.cpu, simulated_gpus),
        "engine_version": s.engine_version,
        "model_digest": s.model_digest,
        "slots_total": s.slots_total,
        "slots_free": s.slots_free,
        "load": s.load,
        "state": s.state,
        "ready": s.ready,
    }


def health_view(
    s: PoolSnapshot,
    counters: Mapping[str, Mapping[str, int]],
    wall: WallTimes,
    *,
    simulated_gpus: bool,
) -> PoolHealth:
    """One pool's health view: its snapshot, its metric counters, wall-clock times (OC-CTL-4002)."""
    ended = {end.value: n for end, n in s.leases_ended.items()}
    err = s.last_error
    return PoolHealth(
        schema_version=HEALTH_SCHEMA_VERSION,
        **entry_view(s, simulated_gpus=simulated_gpus),
        model_ref=s.model_ref,
        live=s.live,
        draining=s.draining,
        drain_reason=s.drain_reason,
        preload_ok=s.preload_ok,
        uptime_ms=s.uptime_ms,
        heartbeat_age_ms=s.heartbeat_age_ms,
        last_error=None
        if err is None
        else LastErrorView(
            cause=err.cause.value, message=err.message, at_ms=err.at_ms, at=wall.at(err.at_ms)
        ),
        ctx=CtxView(per_slot=s.ctx_per_slot, total=s.ctx_total),
        breaker=BreakerView(
            state=s.breaker_state.value, next_trial_at_ms=s.breaker_next_trial_at_ms
        ),
        restarts=RestartsView(
            count=s.restart_count,
            next_restart_at_ms=s.next_restart_at_ms,
            backoff_attempt=s.backoff_attempt,
            backoff_delay_ms=s.backoff_delay_ms,
            by_cause=dict(counters.get("restarts_total", {})),
        ),
        leases=LeasesView(
            active=s.active_leases,
            returned=ended.get("returned", 0),
            expired=ended.get("expired", 0),
            voided=ended.get("voided", 0),
        ),
        reload=None
        if s.reload is None
        else ReloadView(
            outcome=s.reload.outcome,
            from_=s.reload.from_model_ref,
            to=s.reload.to_model_ref,
            cause=None if s.reload.cause is None else s.reload.cause.value,
            message=s.reload.message,
        ),
        counters=CountersView(
            drain_events=dict(counters.get("drain_events_total", {})),
            preload_outcomes=dict(counters.get("preload_outcomes_total", {})),
            driver_resets=sum(counters.get("driver_resets_total", {}).values()),
        ),
    )
