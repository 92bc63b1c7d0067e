"""Leases over a real socket with the real supervisor (OC-POOL-3040, 3041, 3044, OC-CTL-4004)."""

from __future__ import annotations

import requests

from tests.api.helpers import LiveManager


def acquire(live: LiveManager, pool_id: str, body: object = None) -> requests.Response:
    return requests.post(f"{live.url}/v1/pools/{pool_id}/leases", json=body, timeout=5)


def release(live: LiveManager, pool_id: str, lease_id: str) -> requests.Response:
    return requests.delete(f"{live.url}/v1/pools/{pool_id}/leases/{lease_id}", timeout=5)


def test_oc_pool_3040_lease_grant_names_a_live_engine_url(live: LiveManager) -> None:
    response = acquire(live, "leases", {"ttl_ms": 30_000, "job_id": "job-7"})
    assert response.status_code == 201
    body = response.json()
    assert body["pool_id"] == "leases" and body["job_id"] == "job-7"
    assert response.headers["Location"].endswith(f"/leases/{body['lease_id']}")
    engine = requests.get(f"{body['engine_url']}/health", timeout=5)
    assert engine.status_code == 200  # the URL really reaches the pool's engine
    assert live.health("leases")["leases"]["active"] == 1
    assert release(live, "leases", body["lease_id"]).status_code == 204


def test_oc_pool_3040_lease_expiry_is_ttl_after_grant(live: LiveManager) -> None:
    short = acquire(live, "leases", {"ttl_ms": 1_000}).json()
    long = acquire(live, "leases", {"ttl_ms": 21_000}).json()
    assert (short["ttl_ms"], long["ttl_ms"]) == (1_000, 21_000)
    assert 19_000 <= long["expires_at_ms"] - short["expires_at_ms"] <= 21_000
    release(live, "leases", short["lease_id"])
    release(live, "leases", long["lease_id"])


def test_oc_pool_3041_returning_a_lease_twice_is_409(live: LiveManager) -> None:
    lease_id = acquire(live, "leases").json()["lease_id"]
    assert release(live, "leases", lease_id).status_code == 204
    again = release(live, "leases", lease_id)
    assert again.status_code == 409
    assert again.json()["code"] == "CONFLICT"


def test_oc_pool_3041_returning_an_unknown_lease_is_404(live: LiveManager) -> None:
    response = release(live, "leases", "no-such-lease")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert response.json()["pool_id"] == "leases"


def test_oc_pool_3040_full_pool_answers_429_with_retry_after(live: LiveManager) -> None:
    first = acquire(live, "single")
    assert first.status_code == 201
    refused = acquire(live, "single")
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "REPLICA_EXHAUSTED" and body["retriable"] is True
    assert int(refused.headers["Retry-After"]) >= 1
    release(live, "single", first.json()["lease_id"])
    assert acquire(live, "single").status_code == 201  # the slot came back


def test_oc_pool_3044_unready_pool_answers_503_pool_unready_with_retry(live: LiveManager) -> None:
    response = acquire(live, "slow")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "POOL_UNREADY"
    assert body["retriable"] is True and body["retry_after_ms"] >= 1
    assert response.headers["Retry-After"] == str(-(-body["retry_after_ms"] // 1000))
    assert body["engine"] == "stub"


def test_oc_ctl_4004_ttl_out_of_range_names_the_field(live: LiveManager) -> None:
    response = acquire(live, "leases", {"ttl_ms": 0})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMS"
    assert "ttl_ms" in response.json()["message"]


def test_oc_ctl_4004_lease_on_unknown_pool_is_404(live: LiveManager) -> None:
    response = acquire(live, "ghost")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
