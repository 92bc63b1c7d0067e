"""Build the decision core for configured pools: machines, lease tables, a registry, plans.

This is the seam between the typed config (:mod:`poolmgr.config`) and the pure core: it
turns each :class:`~poolmgr.core.config.PoolConfig` into a
:class:`~poolmgr.core.lifecycle.PoolMachine` with its backoff and breaker policies and a
:class:`~poolmgr.core.leases.LeaseTable` sized by its slots, and it computes launch plans
with KV caps and preflight verdicts (OC-POOL-3002, OC-POOL-3017, OC-POOL-3020,
OC-POOL-3021, OC-POOL-3023).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

from poolmgr.core.admission import TenantBook
from poolmgr.core.backoff import Backoff
from poolmgr.core.breaker import CircuitBreaker
from poolmgr.core.clock import Clock
from poolmgr.core.config import Config, PoolConfig
from poolmgr.core.errors import ModelFileError, PlacementError
from poolmgr.core.inventory import GpuInventory
from poolmgr.core.kvcap import ModelShape
from poolmgr.core.leases import LeaseTable
from poolmgr.core.lifecycle import PoolMachine
from poolmgr.core.placement import LaunchPlan, plan_launch
from poolmgr.core.preflight import PreflightVerdict, preflight
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Cause, Engine
from poolmgr.io.gguf import read_gguf_shape


def build_machine(
    pool: PoolConfig, clock: Clock, rng: random.Random, *, heartbeat_stale_ms: int
) -> PoolMachine:
    return PoolMachine(
        pool.id,
        pool.model,
        clock,
        Backoff(pool.backoff, random.Random(rng.getrandbits(64))),
        CircuitBreaker(pool.breaker),
        probe_failure_threshold=pool.probe.failure_threshold,
        heartbeat_stale_ms=heartbeat_stale_ms,
        preload_timeout_ms=pool.preload_timeout_ms,
    )


def build_registry(
    config: Config, clock: Clock, rng: random.Random, *, registry: Registry | None = None
) -> Registry:
    """A registry holding every configured pool, Stopped, ready to be started.

    ``registry`` lets a caller supply an empty registry of its own (a subclass that observes
    events, say); by default a plain :class:`Registry` on ``clock`` is made.
    """
    if registry is None:
        registry = Registry(clock, TenantBook(config.tenants, clock.now_ms()))
    for pool in config.pools:
        machine = build_machine(
            pool, clock, rng, heartbeat_stale_ms=config.manager.heartbeat_stale_ms
        )
        leases = LeaseTable(
            pool.id,
            pool.slots,
            random.Random(rng.getrandbits(64)),
            default_ttl_ms=pool.lease_ttl_ms,
            max_ttl_ms=max(pool.lease_ttl_ms, 3_600_000),
        )
        registry.register(
            machine,
            leases,
            engine=pool.engine,
            cpu=pool.cpu,
            ctx_per_slot=pool.ctx,
            queue_depth=pool.admission.queue_depth,
            max_wait_ms=pool.admission.max_wait_ms,
        )
    return registry


def model_shape(pool: PoolConfig) -> ModelShape | None:
    """The model's shape when it is a local GGUF file (llama.cpp pools); ``None`` otherwise.

    Raises :class:`~poolmgr.core.errors.ModelFileError` for a GGUF file that cannot be read.
    """
    if pool.engine is not Engine.LLAMACPP or not os.path.isfile(pool.model):
        return None
    return read_gguf_shape(pool.model)


@dataclass(frozen=True)
class PoolPlan:
    """A pool's launch plan and its preflight verdict (either may be missing, with why).

    ``problem_cause`` says, as a typed cause, what refused the launch: ``model_load_failed``
    for a model file that cannot be read, ``placement_invalid`` for a placement or preflight
    that refused; ``None`` when nothing refused (a verdict missing only because the model's
    shape is unknown is a note in ``problem``, not a refusal). It is set whenever ``plan`` is
    ``None``.
    """

    pool_id: str
    plan: LaunchPlan | None
    verdict: PreflightVerdict | None
    problem: str | None
    problem_cause: Cause | None = None


def plan_pool(pool: PoolConfig, inventory: GpuInventory | None, host_free_bytes: int) -> PoolPlan:
    try:
        shape = model_shape(pool)
    except ModelFileError as exc:
        return PoolPlan(pool.id, None, None, str(exc), Cause.MODEL_LOAD_FAILED)
    try:
        plan = plan_launch(
            pool.mask_request(),
            pool.ctx,
            inventory,
            shape,
            slots=pool.slots,
            ctx_policy=pool.ctx_policy,
        )
    except PlacementError as exc:
        return PoolPlan(pool.id, None, None, exc.message, Cause.PLACEMENT_INVALID)
    if shape is None:
        return PoolPlan(pool.id, plan, None, "model shape unknown: no preflight verdict")
    try:
        verdict = preflight(plan, shape, inventory, host_free_bytes)
    except PlacementError as exc:
        return PoolPlan(pool.id, plan, None, exc.message, Cause.PLACEMENT_INVALID)
    return PoolPlan(pool.id, plan, verdict, None)
