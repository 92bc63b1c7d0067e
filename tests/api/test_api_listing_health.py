"""Listings and pool health over a real socket, against the real supervisor and stub engines.

Serves OC-CTL-4001 (listings ordered by id with slot counts), OC-CTL-4002 (health fields),
OC-POOL-3003 (last error with its cause), OC-POOL-3017 (CPU pools marked as CPU) and
OC-POOL-3050 (engine version once preloaded).
"""

from __future__ import annotations

import requests

from tests.api.helpers import LiveManager

POOL_FIELDS = {
    "id",
    "engine",
    "cpu",
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
    assert beta["engine"] == "stub" and beta["cpu"] is True
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


def test_oc_ctl_4002_health_of_a_ready_pool_has_every_field(live: LiveManager) -> None:
    health = live.health("alpha")
    for field in (
        "live",
        "ready",
        "draining",
        "state",
        "cpu",
        "last_error",
        "breaker",
        "restart_count",
        "restarts",
        "next_restart_at_ms",
        "heartbeat_age_ms",
        "active_leases",
        "leases",
        "reload",
        "metrics",
    ):
        assert field in health, field
    assert health["live"] is True and health["ready"] is True and health["draining"] is False
    assert health["cpu"] is True
    assert health["breaker"] == {"state": "closed", "next_trial_at_ms": None}
    assert 0 <= health["heartbeat_age_ms"] < 5_000
    assert health["metrics"]["preload_outcomes"] == {"success": 1}
    assert health["leases"]["slots_total"] == 4


def test_oc_pool_3003_health_shows_last_error_cause_of_a_failing_preload(
    live: LiveManager,
) -> None:
    health = live.wait_health(
        "broken", lambda h: h["last_error"] is not None, what="a recorded error"
    )
    assert health["ready"] is False
    assert health["last_error"]["cause"] in {"model_load_failed", "preload_failed"}
    assert isinstance(health["last_error"]["at_ms"], int)
    later = live.wait_health(
        "broken", lambda h: h["metrics"]["preload_outcomes"].get("failure", 0) >= 2, what="fails"
    )
    assert later["restart_count"] >= 1


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
