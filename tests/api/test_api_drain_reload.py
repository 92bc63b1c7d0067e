"""Drain and reload over a real socket (OC-CTL-4003, OC-CTL-4014, OC-POOL-3031..3034).

Most tests run the real supervisor; the default deadline is checked over a hand-driven
registry whose controller records the deadline it was given.
"""

from __future__ import annotations

import pytest
import requests

from tests.api.helpers import AppServer, LiveManager, fake_app


def post(live: LiveManager, path: str, body: object) -> requests.Response:
    return requests.post(f"{live.url}{path}", json=body, timeout=5)


def test_oc_ctl_4003_drain_answers_202_and_the_pool_ends_stopped(live: LiveManager) -> None:
    response = post(live, "/v1/pools/drainer/drain", {"deadline_ms": 1_000})
    assert response.status_code == 202
    assert response.json() == {
        "pool_id": "drainer",
        "action": "drain",
        "deadline_ms": 1_000,
        "deadline_source": "request",
        "stop_grace_ms": 10_000,
        "new_model_ref": None,
    }
    health = live.wait_health("drainer", lambda h: h["state"] == "stopped", what="stopped")
    assert health["ready"] is False and health["live"] is False
    assert health["drain_reason"] == "api_request"
    assert health["counters"]["drain_events"] == {"api_request": 1}


def test_oc_pool_3044_draining_pool_refuses_leases_with_pool_unavailable(
    live: LiveManager,
) -> None:
    lease = post(live, "/v1/pools/held/leases", {"ttl_ms": 60_000})
    assert lease.status_code == 201
    # The held lease keeps the drain going until its deadline.
    assert post(live, "/v1/pools/held/drain", {"deadline_ms": 3_000}).status_code == 202
    refused = post(live, "/v1/pools/held/leases", {})
    assert refused.status_code == 503
    body = refused.json()
    assert body["code"] == "POOL_UNAVAILABLE" and body["retriable"] is True
    assert int(refused.headers["Retry-After"]) >= 1
    assert body["retry_after_ms"] >= 1


def test_oc_pool_3034_drain_of_a_draining_pool_is_409_conflict(live: LiveManager) -> None:
    assert post(live, "/v1/pools/conflict/leases", {"ttl_ms": 60_000}).status_code == 201
    assert post(live, "/v1/pools/conflict/drain", {"deadline_ms": 3_000}).status_code == 202
    again = post(live, "/v1/pools/conflict/drain", {"deadline_ms": 1})
    assert again.status_code == 409
    assert again.json()["code"] == "CONFLICT"
    assert again.json()["pool_id"] == "conflict"
    assert again.json()["engine"] == "stub"


def test_oc_ctl_4003_reload_answers_202_and_health_shows_it_done(live: LiveManager) -> None:
    response = post(live, "/v1/pools/reloader/reload", {"new_model_ref": "stub://new"})
    assert response.status_code == 202
    assert response.json()["action"] == "reload"
    health = live.wait_health(
        "reloader",
        lambda h: h["reload"] is not None and h["reload"]["outcome"] == "done" and h["ready"],
        what="reload done",
    )
    assert health["reload"]["from"] == "stub://old" and health["reload"]["to"] == "stub://new"
    assert health["model_ref"] == "stub://new"
    assert health["counters"]["drain_events"].get("reload") == 1


def test_oc_pool_3033_failed_reload_rolls_back_and_health_reports_the_cause(
    live: LiveManager,
) -> None:
    missing = "/nonexistent/poolmgr-test/model.gguf"
    response = post(live, "/v1/pools/rollback/reload", {"new_model_ref": missing, "deadline_ms": 0})
    assert response.status_code == 202
    health = live.wait_health(
        "rollback",
        lambda h: (
            h["reload"] is not None and h["reload"]["outcome"] == "rolled_back" and h["ready"]
        ),
        what="rollback finished",
    )
    assert health["reload"]["cause"] is not None
    assert health["model_ref"] == "stub://good"


def test_oc_pool_3034_reload_while_a_reload_runs_is_409(live: LiveManager) -> None:
    live.wait_ready("busy")
    first = post(live, "/v1/pools/busy/reload", {"new_model_ref": "stub://busy2", "deadline_ms": 0})
    assert first.status_code == 202
    second = post(live, "/v1/pools/busy/reload", {"new_model_ref": "stub://busy3"})
    assert second.status_code == 409
    assert second.json()["code"] == "CONFLICT"
    live.wait_health("busy", lambda h: h["reload"]["outcome"] == "done", what="reload done")


def test_oc_ctl_4004_drain_of_unknown_pool_is_404(live: LiveManager) -> None:
    response = post(live, "/v1/pools/ghost/drain", {"deadline_ms": 10})
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


DEADLINE_POOLS = """
pools:
  - {id: alpha, engine: stub, model: "stub://a", devices: [], cpu: true, drain_deadline_ms: 4321,
     stop_grace_ms: 1234}
"""


@pytest.mark.parametrize("body", [None, {}, {"deadline_ms": None}])
def test_oc_ctl_4014_drain_without_a_deadline_uses_the_pool_configured_one(body: object) -> None:
    app, _, controller, _ = fake_app(DEADLINE_POOLS)
    with AppServer(app) as server:
        response = requests.post(f"{server.url}/v1/pools/alpha/drain", json=body, timeout=5)
    assert response.status_code == 202
    assert response.json() == {
        "pool_id": "alpha",
        "action": "drain",
        "deadline_ms": 4_321,
        "deadline_source": "pool_config",
        "stop_grace_ms": 1_234,
        "new_model_ref": None,
    }
    assert controller.calls == [("drain", "alpha", "4321")]


def test_oc_ctl_4014_a_requested_deadline_wins_and_is_named_as_the_request() -> None:
    app, _, controller, _ = fake_app(DEADLINE_POOLS)
    with AppServer(app) as server:
        response = post_to(server.url, "/v1/pools/alpha/drain", {"deadline_ms": 0})
        reload = post_to(server.url, "/v1/pools/alpha/reload", {"new_model_ref": "stub://b"})
    assert (response.json()["deadline_ms"], response.json()["deadline_source"]) == (0, "request")
    assert (reload.json()["deadline_ms"], reload.json()["deadline_source"]) == (
        4_321,
        "pool_config",
    )
    assert controller.calls == [("drain", "alpha", "0"), ("reload", "alpha", "stub://b", "4321")]


def post_to(url: str, path: str, body: object) -> requests.Response:
    return requests.post(f"{url}{path}", json=body, timeout=5)


def test_oc_ctl_4004_reload_with_wrong_type_names_the_field(live: LiveManager) -> None:
    response = post(live, "/v1/pools/alpha/reload", {"new_model_ref": 5})
    assert response.status_code == 400
    assert "new_model_ref" in response.json()["message"]


def test_oc_ctl_4004_unknown_body_field_is_refused_by_name(live: LiveManager) -> None:
    response = post(live, "/v1/pools/alpha/drain", {"deadline_ms": 5, "force": True})
    assert response.status_code == 400
    assert "force" in response.json()["message"]


def test_oc_ctl_4004_negative_deadline_is_invalid(live: LiveManager) -> None:
    response = post(live, "/v1/pools/alpha/drain", {"deadline_ms": -1})
    assert response.status_code == 400
    assert "deadline_ms" in response.json()["message"]


def test_oc_ctl_4004_malformed_json_is_invalid_params(live: LiveManager) -> None:
    response = requests.post(
        f"{live.url}/v1/pools/alpha/drain",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMS"
    assert "JSON" in response.json()["message"]
