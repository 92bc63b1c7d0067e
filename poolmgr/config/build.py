"""Typed config values from the schema-filled document: the one place the model is made.

Decides how a checked document becomes :mod:`poolmgr.core.config` values: the core's enums for
engines and context policies, tuples for lists, and the core's own
:class:`~poolmgr.core.backoff.BackoffPolicy` / :class:`~poolmgr.core.breaker.BreakerPolicy` for a
pool's restart settings (OC-POOL-3011). Every value comes from the document, whose omitted
fields the JSON Schema's defaults have filled (OC-CFG-5001); nothing here has a default of its
own. :func:`pool_config` and :func:`stub_faults` make values outside a config file (tests,
tools) the same way: the fields given, the schema's defaults for the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from poolmgr.config.schema import schema_defaults
from poolmgr.core.admission import TenantPolicy
from poolmgr.core.backoff import BackoffPolicy, Jitter
from poolmgr.core.breaker import BreakerPolicy
from poolmgr.core.config import (
    AdmissionConfig,
    AuthConfig,
    Config,
    GpuSpec,
    ManagerConfig,
    PoolConfig,
    ProbePolicy,
    StubFaults,
)
from poolmgr.core.vocab import CtxPolicy, Engine

__all__ = ["config_from_document", "pool_config", "stub_faults"]

_REQUIRED_POOL_FIELDS = ("id", "engine", "model", "devices")


def config_from_document(doc: Mapping[str, Any], source: str) -> Config:
    """The typed config of ``doc``: schema-valid, defaults filled, cross-field rules passed."""
    manager = dict(doc["manager"])
    auth = manager.pop("auth")
    inventory = (
        tuple(GpuSpec(**g) for g in doc["inventory"]["gpus"]) if "inventory" in doc else None
    )
    return Config(
        manager=ManagerConfig(**manager, auth=None if auth is None else _auth(auth)),
        inventory=inventory,
        tenants=tuple(_tenant(t) for t in doc["tenants"]),
        pools=tuple(_pool(p) for p in doc["pools"]),
        source=source,
    )


def _auth(auth: Mapping[str, Any]) -> AuthConfig:
    return AuthConfig(token_env=auth.get("token_env"), token_file=auth.get("token_file"))


def _tenant(t: Mapping[str, Any]) -> TenantPolicy:
    rps = t["rps"]
    return TenantPolicy(
        name=t["name"],
        weight=t["weight"],
        max_concurrent=t["max_concurrent"],
        rps=None if rps is None else float(rps),
        burst=t["burst"],
    )


def _backoff(b: Mapping[str, Any]) -> BackoffPolicy:
    return BackoffPolicy(
        initial_ms=b["initial_ms"],
        max_ms=b["max_ms"],
        multiplier=float(b["multiplier"]),
        stable_reset_ms=b["stable_reset_ms"],
        jitter=Jitter(b["jitter"]),
    )


def _breaker(b: Mapping[str, Any]) -> BreakerPolicy:
    return BreakerPolicy(
        failure_threshold=b["failure_threshold"],
        window_ms=b["window_ms"],
        cooldown_ms=b["cooldown_ms"],
        cooldown_multiplier=float(b["cooldown_multiplier"]),
        max_cooldown_ms=b["max_cooldown_ms"],
    )


def _pool(p: Mapping[str, Any]) -> PoolConfig:
    split = p["tensor_split"]
    stub = p["stub"]
    return PoolConfig(
        id=p["id"],
        engine=Engine(p["engine"]),
        model=p["model"],
        model_digest=p["model_digest"],
        devices=tuple(p["devices"]),
        cpu=p["cpu"],
        shared_devices=p["shared_devices"],
        tensor_split=None if split is None else tuple(float(r) for r in split),
        ctx=p["ctx"],
        ctx_policy=CtxPolicy(p["ctx_policy"]),
        slots=p["slots"],
        port=p["port"],
        engine_bin=p["engine_bin"],
        engine_args=tuple(p["engine_args"]),
        backoff=_backoff(p["backoff"]),
        breaker=_breaker(p["breaker"]),
        probe=ProbePolicy(**p["probe"]),
        drain_deadline_ms=p["drain_deadline_ms"],
        lease_ttl_ms=p["lease_ttl_ms"],
        admission=AdmissionConfig(**p["admission"]),
        stop_grace_ms=p["stop_grace_ms"],
        preload_timeout_ms=p["preload_timeout_ms"],
        stub=None if stub is None else _stub(stub),
    )


def _stub(s: dict[str, Any]) -> StubFaults:
    claim = s["claim_gpus"]
    return StubFaults(**{**s, "claim_gpus": None if claim is None else tuple(claim)})


def pool_config(**fields: Any) -> PoolConfig:
    """A pool with ``fields`` (typed values) and the schema's defaults for every other field.

    ``id``, ``engine``, ``model`` and ``devices`` are required, as in a config file. The result
    is not checked against the schema or the cross-field rules.
    """
    missing = [name for name in _REQUIRED_POOL_FIELDS if name not in fields]
    if missing:
        raise TypeError(f"pool_config() is missing required field(s): {', '.join(missing)}")
    placeholder = {"id": "_", "engine": Engine.STUB.value, "model": "_", "devices": []}
    return dataclasses.replace(_pool(schema_defaults("pool", placeholder)), **fields)


def stub_faults(**fields: Any) -> StubFaults:
    """Stub fault knobs with ``fields`` set and the schema's defaults (no fault) for the rest."""
    return dataclasses.replace(_stub(schema_defaults("stub")), **fields)
