"""Leases over a real socket (OC-POOL-3040, 3041, 3044, 3045, OC-CTL-4004, 4010, 4011).

Grants and returns run against the real supervisor; renewal runs against it too and, with the
monotonic and wall clocks pinned, against the control plane over a hand-driven registry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from poolmgr.config import parse_config
from poolmgr.core.clock import ManualClock
from poolmgr.core.events import EngineExited
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import Cause
from poolmgr.http.app import create_app
from poolmgr.telemetry.metrics import PoolMetrics
from tests.api.helpers import AppServer, FakeController, LiveManager, ready_registry


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


# --- renewal and wall-clock expiries (OC-POOL-3045, OC-CTL-4010, OC-CTL-4011) ------------

WALL_AT_1000_MS = 1_796_090_584_567
"""2026-12-01T02:03:04.567Z: the pinned wall clock when the manual monotonic clock reads 1000."""

RENEW_POOLS = """
pools:
  - {id: alpha, engine: stub, model: "stub://alpha", devices: [], cpu: true, slots: 2,
     lease_ttl_ms: 45000}
"""


@pytest.fixture
def pinned() -> Iterator[tuple[AppServer, Registry, ManualClock]]:
    """The control plane over a Ready registry, its monotonic and wall clocks pinned."""
    config = parse_config(RENEW_POOLS, "<test>")
    registry = ready_registry(config)
    clock = registry.clock
    assert isinstance(clock, ManualClock) and clock.now_ms() == 1_000

    def wall_clock() -> datetime:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return epoch + timedelta(milliseconds=WALL_AT_1000_MS + clock.now_ms() - 1_000)

    app = create_app(
        registry,
        FakeController(),
        config,
        PoolMetrics(registry),
        environ={},
        wall_clock=wall_clock,
    )
    with AppServer(app) as server:
        yield server, registry, clock


def renew(url: str, pool_id: str, lease_id: str, **kwargs: Any) -> requests.Response:
    return requests.post(f"{url}/v1/pools/{pool_id}/leases/{lease_id}/renew", timeout=5, **kwargs)


def test_oc_ctl_4010_grant_and_renewal_tell_the_expiry_in_utc(
    pinned: tuple[AppServer, Registry, ManualClock],
) -> None:
    server, _, clock = pinned
    granted = requests.post(
        f"{server.url}/v1/pools/alpha/leases", json={"ttl_ms": 10_000, "job_id": "j"}, timeout=5
    ).json()
    assert granted["expires_at_ms"] == 11_000
    assert granted["expires_at"] == "2026-12-01T02:03:14.567Z"
    clock.advance(4_000)
    response = renew(server.url, "alpha", granted["lease_id"], json={"ttl_ms": 20_000})
    assert response.status_code == 200
    assert response.json() == {
        "lease_id": granted["lease_id"],
        "pool_id": "alpha",
        "job_id": "j",
        "expires_at_ms": 25_000,
        "expires_at": "2026-12-01T02:03:28.567Z",
        "ttl_ms": 20_000,
    }


@pytest.mark.parametrize("body", [None, {}, {"ttl_ms": None}])
def test_oc_pool_3045_renewal_without_a_ttl_uses_the_pool_lease_lifetime(
    pinned: tuple[AppServer, Registry, ManualClock], body: object
) -> None:
    server, _, clock = pinned
    lease = requests.post(
        f"{server.url}/v1/pools/alpha/leases", json={"ttl_ms": 1_000}, timeout=5
    ).json()
    clock.advance(500)
    response = renew(server.url, "alpha", lease["lease_id"], json=body)
    assert response.status_code == 200
    assert (response.json()["expires_at_ms"], response.json()["ttl_ms"]) == (46_500, 45_000)
    assert response.json()["expires_at"] == "2026-12-01T02:03:50.067Z"


def test_oc_pool_3045_renewal_never_shortens_a_lease(
    pinned: tuple[AppServer, Registry, ManualClock],
) -> None:
    server, _, clock = pinned
    lease = requests.post(
        f"{server.url}/v1/pools/alpha/leases", json={"ttl_ms": 30_000}, timeout=5
    ).json()
    clock.advance(10_000)
    body = renew(server.url, "alpha", lease["lease_id"], json={"ttl_ms": 1}).json()
    assert (body["expires_at_ms"], body["ttl_ms"]) == (31_000, 20_000)
    assert body["expires_at"] == "2026-12-01T02:03:34.567Z"


@pytest.mark.parametrize("ending", ["returned", "expired", "voided"])
def test_oc_ctl_4011_renewing_an_ended_lease_is_409_naming_how_it_ended(
    pinned: tuple[AppServer, Registry, ManualClock], ending: str
) -> None:
    server, registry, clock = pinned
    lease = requests.post(
        f"{server.url}/v1/pools/alpha/leases", json={"ttl_ms": 5_000}, timeout=5
    ).json()
    if ending == "returned":
        registry.release_lease("alpha", lease["lease_id"])
    elif ending == "expired":
        clock.advance(5_000)
    else:
        registry.dispatch("alpha", EngineExited(Cause.KILLED_BY_SIGNAL, "killed by SIGKILL"))
    response = renew(server.url, "alpha", lease["lease_id"], json={"ttl_ms": 5_000})
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["pool_id"], body["retriable"]) == ("CONFLICT", "alpha", False)
    assert body["message"].endswith(f"it was already {ending}")


@pytest.mark.parametrize(
    ("pool_id", "lease_id", "message"),
    [
        ("alpha", "no-such-lease", "pool 'alpha' has no lease 'no-such-lease'"),
        ("ghost", "no-such-lease", "no pool named 'ghost'"),
    ],
)
def test_oc_ctl_4011_renewing_an_unknown_lease_or_pool_is_404(
    pinned: tuple[AppServer, Registry, ManualClock], pool_id: str, lease_id: str, message: str
) -> None:
    server, _, _ = pinned
    response = renew(server.url, pool_id, lease_id)
    assert response.status_code == 404
    assert (response.json()["code"], response.json()["message"]) == ("NOT_FOUND", message)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"ttl_ms": 0}, "body.ttl_ms"), ({"ttl_ms": "5"}, "body.ttl_ms"), ({"ttl": 5}, "body.ttl")],
)
def test_oc_ctl_4011_a_bad_renewal_body_is_400_naming_the_field(
    pinned: tuple[AppServer, Registry, ManualClock], body: object, field: str
) -> None:
    server, _, _ = pinned
    lease = requests.post(f"{server.url}/v1/pools/alpha/leases", timeout=5).json()
    response = renew(server.url, "alpha", lease["lease_id"], json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMS"
    assert response.json()["message"].startswith(f"{field}: ")


def test_oc_ctl_4011_a_renewal_is_logged_with_its_lease_and_job(
    pinned: tuple[AppServer, Registry, ManualClock], caplog: pytest.LogCaptureFixture
) -> None:
    server, _, _ = pinned
    lease = requests.post(
        f"{server.url}/v1/pools/alpha/leases", json={"job_id": "job-9"}, timeout=5
    ).json()
    with caplog.at_level(logging.INFO, logger="poolmgr.http.routers.leases"):
        assert renew(server.url, "alpha", lease["lease_id"]).status_code == 200
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "lease_renewed"]
    assert (record.pool_id, record.lease_id, record.job_id) == (  # type: ignore[attr-defined]
        "alpha",
        lease["lease_id"],
        "job-9",
    )


def test_oc_ctl_4011_renewal_over_the_real_supervisor(live: LiveManager) -> None:
    lease = acquire(live, "leases", {"ttl_ms": 1_000, "job_id": "job-r"}).json()
    before = time.time_ns() // 1_000_000
    response = renew(live.url, "leases", lease["lease_id"], json={"ttl_ms": 60_000})
    after = time.time_ns() // 1_000_000
    assert response.status_code == 200
    body = response.json()
    assert body["job_id"] == "job-r"
    assert 60_000 - (after - before) - 1 <= body["ttl_ms"] <= 60_000
    at = datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%S.%f%z")
    wall = round(at.timestamp() * 1000)
    assert before + 60_000 - (after - before) - 1 <= wall <= after + 60_000 + 1
    assert release(live, "leases", lease["lease_id"]).status_code == 204
    gone = renew(live.url, "leases", lease["lease_id"])
    assert (gone.status_code, gone.json()["code"]) == (409, "CONFLICT")
