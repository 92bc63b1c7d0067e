"""Cross-field config rules: what the schema cannot say about a config, checked after it.

Decides the meaning-level refusals, each reported against the field at fault: unique pool ids
and ports (and no pool on the manager's own port), stub fault knobs only with the stub engine,
a test engine only with ``manager.allow_test_engines`` (OC-PERF-9110),
backoff and breaker ceilings not below their starting values (OC-POOL-3011), no
``engine_args`` entry setting a flag poolmgr owns (:mod:`poolmgr.config.owned_flags`,
OC-CFG-5009), a consistent static inventory (unique GPU indices, free bytes within total),
and CPU pools, device masks and split ratios through
:func:`poolmgr.core.placement.validate_masks`, which owns those rules (OC-POOL-3017,
OC-POOL-3020/3022, OC-POOL-3021 / ORCH-3012). Serves OC-CFG-5001 (these are checked right
after the schema passes) and OC-CFG-5002 (every problem named by field path).
Works on the schema-valid document with defaults filled in; builds no config values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from poolmgr.config.owned_flags import check_engine_args
from poolmgr.core.inventory import GpuDevice, GpuInventory, InventorySource
from poolmgr.core.placement import MaskRequest, validate_masks
from poolmgr.core.problems import FieldPath, Problems
from poolmgr.core.vocab import Engine

__all__ = ["check_rules"]


def check_rules(doc: Mapping[str, Any], problems: Problems) -> None:
    """Add a problem for every cross-field rule ``doc`` breaks (``doc``: schema-valid, filled)."""
    pools: list[dict[str, Any]] = doc["pools"]
    first_id = _check_pools(pools, doc["manager"]["port"], problems)
    _check_test_engines(pools, doc["manager"]["allow_test_engines"], problems)
    if doc["manager"]["simulate_gpus"] and doc.get("inventory") is None:
        problems.add(
            ("manager", "simulate_gpus"),
            "simulated GPUs need a static inventory (inventory.gpus) to simulate",
        )
    inventory = _checked_inventory(doc, problems)
    _check_tenants(doc["tenants"], problems)
    for placement_problem in validate_masks([_mask_request(p) for p in pools], inventory):
        index = first_id.get(placement_problem.pool_id)
        if index is None:  # not one of ours: report it against the pool list itself
            problems.add(("pools",), f"{placement_problem.pool_id}: {placement_problem.reason}")
            continue
        problems.add(
            _field_path(("pools", index), placement_problem.field), placement_problem.reason
        )


def _check_tenants(tenants: list[dict[str, Any]], problems: Problems) -> None:
    """Unique tenant names; a burst only with a rate (OC-ADM-9017)."""
    first: dict[str, int] = {}
    for i, tenant in enumerate(tenants):
        name = tenant["name"]
        if name in first:
            problems.add(
                ("tenants", i, "name"),
                f"duplicate tenant name {name!r}; first used by tenants[{first[name]}]",
            )
        else:
            first[name] = i
        if tenant["burst"] is not None and tenant["rps"] is None:
            problems.add(
                ("tenants", i, "burst"), "burst needs rps (the rate the bucket refills at)"
            )


def _check_pools(
    pools: list[dict[str, Any]], manager_port: int, problems: Problems
) -> dict[str, int]:
    """Per-pool rules; returns the index of the first pool with each id."""
    first_id: dict[str, int] = {}
    first_port: dict[int, int] = {}
    for i, pool in enumerate(pools):
        here: FieldPath = ("pools", i)
        pid = pool["id"]
        if pid in first_id:
            problems.add(
                (*here, "id"), f"duplicate pool id {pid!r}; first used by pools[{first_id[pid]}]"
            )
        else:
            first_id[pid] = i
        port = pool["port"]
        if port:
            if port in first_port:
                j = first_port[port]
                problems.add(
                    (*here, "port"), f"port {port} is already used by pools[{j}] ({pools[j]['id']})"
                )
            else:
                first_port[port] = i
            if port == manager_port:
                problems.add((*here, "port"), f"port {port} is the manager's own port")
        if pool["stub"] is not None and pool["engine"] != Engine.STUB:
            problems.add(
                (*here, "stub"),
                f"stub fault knobs are only valid with engine: stub (this pool's engine is "
                f"{pool['engine']})",
            )
        _check_ceilings(here, pool, problems)
        check_engine_args(here, Engine(pool["engine"]), pool["engine_args"], problems)
    return first_id


def _check_test_engines(pools: list[dict[str, Any]], allowed: bool, problems: Problems) -> None:
    """A test engine only where the config enables test engines explicitly (OC-PERF-9110)."""
    if allowed:
        return
    for i, pool in enumerate(pools):
        if Engine(pool["engine"]).is_test:
            problems.add(
                ("pools", i, "engine"),
                f"engine {pool['engine']} is a test engine; it is refused unless "
                "manager.allow_test_engines is true",
            )


def _check_ceilings(here: FieldPath, pool: Mapping[str, Any], problems: Problems) -> None:
    backoff = pool["backoff"]
    if backoff["max_ms"] < backoff["initial_ms"]:
        problems.add(
            (*here, "backoff", "max_ms"),
            f"must be at least initial_ms ({backoff['initial_ms']}); got {backoff['max_ms']}",
        )
    breaker = pool["breaker"]
    if breaker["max_cooldown_ms"] < breaker["cooldown_ms"]:
        problems.add(
            (*here, "breaker", "max_cooldown_ms"),
            f"must be at least cooldown_ms ({breaker['cooldown_ms']}); "
            f"got {breaker['max_cooldown_ms']}",
        )


def _mask_request(pool: Mapping[str, Any]) -> MaskRequest:
    split = pool["tensor_split"]
    return MaskRequest(
        pool_id=pool["id"],
        engine=Engine(pool["engine"]),
        devices=tuple(pool["devices"]),
        cpu=pool["cpu"],
        tensor_split=None if split is None else tuple(float(r) for r in split),
        shared=pool["shared_devices"],
    )


def _field_path(base: FieldPath, field: str) -> FieldPath:
    """``("pools", 1)`` + ``"tensor_split[0]"`` -> ``("pools", 1, "tensor_split", 0)``."""
    out: list[str | int] = list(base)
    for part in field.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        else:
            out.append(part)
    return tuple(out)


def _checked_inventory(doc: Mapping[str, Any], problems: Problems) -> GpuInventory | None:
    """The static inventory, or ``None`` when absent or itself invalid (problems reported)."""
    if "inventory" not in doc:
        return None
    gpus: list[dict[str, Any]] = doc["inventory"]["gpus"]
    ok = True
    first: dict[int, int] = {}
    for i, gpu in enumerate(gpus):
        here: FieldPath = ("inventory", "gpus", i)
        if gpu["index"] in first:
            ok = False
            problems.add(
                (*here, "index"),
                f"duplicate GPU index {gpu['index']}; "
                f"first at inventory.gpus[{first[gpu['index']]}]",
            )
        else:
            first[gpu["index"]] = i
        if gpu["free_bytes"] > gpu["total_bytes"]:
            ok = False
            problems.add(
                (*here, "free_bytes"),
                f"must not exceed total_bytes ({gpu['total_bytes']}); got {gpu['free_bytes']}",
            )
    if not ok:
        return None
    devices = tuple(
        GpuDevice(g["index"], g["name"], g["total_bytes"], g["free_bytes"]) for g in gpus
    )
    return GpuInventory(devices, source=InventorySource.STATIC)
