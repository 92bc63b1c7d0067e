"""Listings and pool health over a real socket, against the real supervisor and stub engines.

Serves OC-CTL-4001 (listings ordered by id with slot counts), OC-CTL-4002 (health fields),
OC-POOL-3003 (last error with its cause), OC-POOL-3017 (CPU pools marked as CPU) and
OC-POOL-3050 (engine version once preloaded), OC-CTL-4020 (one name per fact, versioned),
OC-CTL-4021 (last error on the wall clock) and OC-CTL-4023 (uptime).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from poolmgr.config import parse_config
from poolmgr.core.clock import ManualClock
from poolmgr.core.events import ProbeFailed
from poolmgr.http.app import create_app
from poolmgr.telemetry.metrics import PoolMetrics
from tests.api.helpers import TWO_POOLS, AppServer, FakeController, LiveManager, ready_registry

POOL_FIELDS = {
    "id",
    "engine",
    "cpu",
    "gpus",
    "engine_version",
    "model_digest",
    "slots_total",
    "slots_free",
    "load",
    "state",
    "ready",
}


def test_oc_ctl_4001_pools_are_listed_in_ascending_id_order(live: LiveManager) -> None:
    response = requests.get(f"{live.url}/v1/pools", timeout=5)
    assert response.status_code == 200
    ids = [entry["id"] for entry in response.json()]
    configured = [pool.id for pool in live.config.pools]
    assert ids == sorted(configured)
    assert ids != configured  # the config lists zulu first: the order really is imposed


def test_oc_ctl_4001_pool_entries_carry_slot_counts_and_state(live: LiveManager) -> None:
    entries = {e["id"]: e for e in requests.get(f"{live.url}/v1/pools", timeout=5).json()}
    beta = entries["beta"]
    assert set(beta) == POOL_FIELDS
    assert (beta["slots_total"], beta["slots_free"], beta["load"]) == (3, 3, 0.0)
    assert beta["ready"] is True and beta["state"] == "ready"
    assert beta["engine"] == "stub" and beta["cpu"] is True and beta["gpus"] == "none"
    assert beta["engine_version"]


def test_oc_ctl_4001_replicasets_list_the_same_pools_with_slo(live: LiveManager) -> None:
    pools = requests.get(f"{live.url}/v1/pools", timeout=5).json()
    sets = requests.get(f"{live.url}/v1/replicasets", timeout=5).json()
    assert [s["id"] for s in sets] == [p["id"] for p in pools]
    assert all({"id", "engine", "load", "slots_total", "slots_free", "slo"} <= set(s) for s in sets)


def test_oc_ctl_4001_two_listings_without_change_are_byte_identical(live: LiveManager) -> None:
    first = requests.get(f"{live.url}/v1/replicasets", timeout=5)
    second = requests.get(f"{live.url}/v1/replicasets", timeout=5)
    # Only pools that change by themselves (crash loops, preloads) may differ between calls.
    steady = set(("alpha", "beta", "zulu"))
    pick = [e for e in first.json() if e["id"] in steady]
    assert pick == [e for e in second.json() if e["id"] in steady]


#: The health body of schema version 2, written out: each fact under one name (OC-CTL-4020).
HEALTH_V2 = {
    "schema_version": None,
    **dict.fromkeys(POOL_FIELDS),
    "model_ref": None,
    "live": None,
    "draining": None,
    "drain_reason": None,
    "preload_ok": None,
    "uptime_ms": None,
    "heartbeat_age_ms": None,
    "last_error": {"cause", "message", "at_ms", "at"},
    "ctx": {"per_slot", "total"},
    "breaker": {"state", "next_trial_at_ms"},
    "restarts": {"count", "next_restart_at_ms", "backoff_attempt", "backoff_delay_ms", "by_cause"},
    "leases": {"active", "returned", "expired", "voided"},
    "reload": {"outcome", "from", "to", "cause", "message"},
    "counters": {"drain_events", "preload_outcomes", "driver_resets"},
}


def _shape(body: dict[str, Any]) -> dict[str, set[str] | None]:
    return {k: set(v) if isinstance(v, dict) and k in GROUPS else None for k, v in body.items()}


GROUPS = {"last_error", "ctx", "breaker", "restarts", "leases", "reload", "counters"}


def test_oc_ctl_4020_health_states_each_fact_once_under_schema_version_2(
    live: LiveManager,
) -> None:
    health = live.health("alpha")
    assert health["schema_version"] == 2
    expected = {k: v for k, v in HEALTH_V2.items() if k not in ("last_error", "reload")}
    assert _shape(health) == {**expected, "last_error": None, "reload": None}
    # The names of version 1 that repeated a fact are gone.
    for old in ("restart_count", "next_restart_at_ms", "active_leases", "metrics"):
        assert old not in health, old


def test_oc_ctl_4020_health_repeats_the_listing_entry_under_the_same_names(
    live: LiveManager,
) -> None:
    listed = {e["id"]: e for e in requests.get(f"{live.url}/v1/pools", timeout=5).json()}
    health = live.health("beta")
    assert {k: health[k] for k in POOL_FIELDS} == listed["beta"]


def test_oc_ctl_4002_health_of_a_ready_pool_has_every_field(live: LiveManager) -> None:
    health = live.health("alpha")
    assert health["live"] is True and health["ready"] is True and health["draining"] is False
    assert health["cpu"] is True and health["preload_ok"] is True
    assert health["breaker"] == {"state": "closed", "next_trial_at_ms": None}
    assert 0 <= health["heartbeat_age_ms"] < 5_000
    assert health["counters"]["preload_outcomes"] == {"success": 1}
    assert health["slots_total"] == 4
    assert health["restarts"]["count"] == 0 and health["restarts"]["by_cause"] == {}
    assert isinstance(health["uptime_ms"], int) and health["uptime_ms"] >= 0


def test_oc_pool_3003_health_shows_last_error_cause_of_a_failing_preload(
    live: LiveManager,
) -> None:
    health = live.wait_health(
        "broken", lambda h: h["last_error"] is not None, what="a recorded error"
    )
    assert health["ready"] is False and health["uptime_ms"] is None
    assert health["last_error"]["cause"] in {"model_load_failed", "preload_failed"}
    assert isinstance(health["last_error"]["at_ms"], int)
    assert set(health["last_error"]) == HEALTH_V2["last_error"]
    later = live.wait_health(
        "broken", lambda h: h["counters"]["preload_outcomes"].get("failure", 0) >= 2, what="fails"
    )
    assert later["restarts"]["count"] >= 1
    assert sum(later["restarts"]["by_cause"].values()) >= 1


def test_oc_ctl_4021_last_error_says_when_on_the_wall_clock(tmp_path: Path) -> None:
    """The error happened at 3 000 ms; at 4 000 ms the wall clock reads 12:00:00: 11:59:59."""
    config = parse_config(TWO_POOLS, "<test>")
    registry = ready_registry(config)  # Ready at 1 000 ms on a manual clock
    clock = registry.clock
    assert isinstance(clock, ManualClock)
    app = create_app(
        registry,
        FakeController(),
        config,
        PoolMetrics(registry),
        environ={},
        wall_clock=lambda: datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC),
    )
    clock.set(3_000)
    registry.dispatch("alpha", ProbeFailed("no answer", timed_out=True))
    clock.set(4_000)
    with AppServer(app) as server:
        alpha = requests.get(f"{server.url}/v1/pools/alpha/health", timeout=5).json()
        beta = requests.get(f"{server.url}/v1/pools/beta/health", timeout=5).json()
    assert alpha["last_error"]["at_ms"] == 3_000
    assert alpha["last_error"]["at"] == "2026-12-01T11:59:59.000Z"
    assert (alpha["ready"], alpha["uptime_ms"]) == (False, None)
    assert (beta["ready"], beta["uptime_ms"]) == (True, 3_000)


def test_oc_pool_3070_health_states_the_configured_context_per_slot_and_in_total() -> None:
    config = parse_config(
        "pools:\n  - {id: a, engine: stub, model: 'stub://a', devices: [], cpu: true,\n"
        "     slots: 3, ctx: 512}\n",
        "<test>",
    )
    registry = ready_registry(config)  # no engine launched: the configured figures
    app = create_app(registry, FakeController(), config, PoolMetrics(registry), environ={})
    with AppServer(app) as server:
        health = requests.get(f"{server.url}/v1/pools/a/health", timeout=5).json()
    assert health["ctx"] == {"per_slot": 512, "total": 1536}


def test_oc_ctl_4013_head_on_a_pool_health_answers_the_get_status_without_a_body(
    live: LiveManager,
) -> None:
    for pool, status in (("alpha", 200), ("nosuch", 404)):
        head = requests.head(f"{live.url}/v1/pools/{pool}/health", timeout=5)
        get = requests.get(f"{live.url}/v1/pools/{pool}/health", timeout=5)
        assert (head.status_code, head.content) == (status, b"")
        assert get.status_code == status


def test_oc_ctl_4004_health_of_unknown_pool_is_404_envelope(live: LiveManager) -> None:
    response = requests.get(f"{live.url}/v1/pools/nosuch/health", timeout=5)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "NOT_FOUND"
    assert body["pool_id"] == "nosuch"
    assert set(body) == {
        "code",
        "message",
        "pool_id",
        "engine",
        "retriable",
        "retry_after_ms",
        "policy_label",
    }
