"""Queued lease requests over a real socket (OC-ADM-9001..9003, 9005, 9006, 9010..9012).

The control plane runs under uvicorn over a registry driven by hand on a
:class:`~poolmgr.core.clock.ManualClock`: a deadline passes when the test advances the clock
and ticks the registry, never by sleeping. A request that waits is a ``requests.post`` in a
thread (joined with a bound); "it waits" is read from the registry's admission view, polled
with a bound.
"""

from __future__ import annotations

import gc
import json
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from harness.waiting import wait_until
from poolmgr.core.admission import Priority
from poolmgr.core.clock import ManualClock
from poolmgr.core.events import DrainRequested
from poolmgr.core.registry import Registry
from poolmgr.core.vocab import DrainReason
from tests.api.helpers import AppServer, fake_app

CONFIG = """
tenants:
  - {name: gold, weight: 4, max_concurrent: 1}
  - {name: metered, weight: 1, rps: 1, burst: 1}
pools:
  - {id: solo, engine: stub, model: "stub://solo", devices: [], cpu: true, slots: 1,
     admission: {queue_depth: 2, max_wait_ms: 60000}}
  - {id: spare, engine: stub, model: "stub://spare", devices: [], cpu: true, slots: 2,
     admission: {queue_depth: 2, max_wait_ms: 60000}}
  - {id: nodepth, engine: stub, model: "stub://nodepth", devices: [], cpu: true, slots: 1,
     admission: {queue_depth: 0, max_wait_ms: 60000}}
"""
JOIN_S = 10.0


class Manager:
    """The server, its registry and its clock."""

    def __init__(self, server: AppServer, registry: Registry) -> None:
        self.url = server.url
        self.registry = registry
        clock = registry.clock
        assert isinstance(clock, ManualClock)
        self.clock = clock

    def lease(self, pool_id: str, body: dict[str, Any] | None = None) -> requests.Response:
        return requests.post(f"{self.url}/v1/pools/{pool_id}/leases", json=body, timeout=JOIN_S)

    def release(self, pool_id: str, lease_id: str) -> requests.Response:
        return requests.delete(f"{self.url}/v1/pools/{pool_id}/leases/{lease_id}", timeout=5)

    def waiting(self, pool_id: str, tier: Priority = Priority.INTERACTIVE) -> int:
        return self.registry.admission_view().depths[pool_id][tier]

    def wait_for_depth(self, pool_id: str, depth: int) -> None:
        wait_until(lambda: self.waiting(pool_id) == depth, JOIN_S, f"{pool_id} depth {depth}")


class Waiter:
    """A lease request that may wait, posted from its own thread."""

    def __init__(self, manager: Manager, pool_id: str, body: dict[str, Any]) -> None:
        self.response: requests.Response | None = None
        self._thread = threading.Thread(
            target=self._post, args=(manager, pool_id, body), daemon=True
        )
        self._thread.start()

    def _post(self, manager: Manager, pool_id: str, body: dict[str, Any]) -> None:
        self.response = manager.lease(pool_id, body)

    def answer(self) -> requests.Response:
        self._thread.join(JOIN_S)
        assert not self._thread.is_alive(), "the waiting request got no answer"
        assert self.response is not None
        return self.response

    @property
    def answered(self) -> bool:
        return not self._thread.is_alive()


@pytest.fixture
def manager() -> Iterator[Manager]:
    app, registry, _, _ = fake_app(CONFIG)
    with AppServer(app) as server:
        yield Manager(server, registry)


def assert_refusal(
    response: requests.Response, status: int, code: str, retry_ms: int | None = 1_000
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["retriable"] is True
    assert body["retry_after_ms"] == retry_ms
    assert response.headers["Retry-After"] == str(-(-(retry_ms or 0) // 1000))
    return body


def test_oc_adm_9001_long_poll_is_granted_when_a_lease_is_returned(manager: Manager) -> None:
    held = manager.lease("solo")
    assert held.status_code == 201
    waiter = Waiter(manager, "solo", {"wait_ms": 30_000, "job_id": "queued-7"})
    manager.wait_for_depth("solo", 1)
    assert not waiter.answered
    assert manager.release("solo", held.json()["lease_id"]).status_code == 204
    granted = waiter.answer()
    assert granted.status_code == 201, granted.text
    body = granted.json()
    assert (body["pool_id"], body["job_id"]) == ("solo", "queued-7")
    assert granted.headers["Location"] == f"/v1/pools/solo/leases/{body['lease_id']}"
    assert manager.waiting("solo") == 0
    assert manager.registry.active_leases("solo") == 1


@pytest.mark.parametrize("tier", ["interactive", "batch"])
def test_oc_adm_9007_either_tier_may_be_named_over_http(manager: Manager, tier: str) -> None:
    granted = manager.lease("spare", {"priority": tier, "tenant": "default"})
    assert granted.status_code == 201, granted.text


def test_oc_adm_9001_wait_ms_zero_on_a_full_pool_is_refused_at_once(manager: Manager) -> None:
    assert manager.lease("solo").status_code == 201
    refused = manager.lease("solo", {"wait_ms": 0})
    assert_refusal(refused, 429, "REPLICA_EXHAUSTED")
    assert manager.waiting("solo") == 0


def test_oc_adm_9001_wait_ms_above_the_pools_maximum_is_400_naming_it(manager: Manager) -> None:
    response = manager.lease("solo", {"wait_ms": 60_001})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_PARAMS" and body["retriable"] is False
    assert "body.wait_ms" in body["message"] and "60000" in body["message"]
    assert "Retry-After" not in response.headers


def test_oc_adm_9002_a_full_queue_answers_queue_full_with_retry_after(manager: Manager) -> None:
    assert manager.lease("nodepth").status_code == 201
    refused = manager.lease("nodepth", {"wait_ms": 5_000})
    body = assert_refusal(refused, 429, "QUEUE_FULL")
    assert body["pool_id"] == "nodepth" and body["policy_label"] is None
    assert "full" in body["message"]
    assert manager.waiting("nodepth") == 0


def test_oc_adm_9003_deadline_refusal_comes_at_the_deadline_tick(manager: Manager) -> None:
    held = manager.lease("solo")
    assert held.status_code == 201
    waiter = Waiter(manager, "solo", {"wait_ms": 5_000})
    manager.wait_for_depth("solo", 1)
    manager.clock.advance(4_999)
    manager.registry.tick()
    assert manager.waiting("solo") == 1 and not waiter.answered  # not before its deadline
    manager.clock.advance(1)
    manager.registry.tick()
    body = assert_refusal(waiter.answer(), 429, "DEADLINE_EXCEEDED")
    assert body["pool_id"] == "solo" and "5000 ms" in body["message"]
    assert manager.waiting("solo") == 0
    assert manager.registry.admission_view().deadlines_met_ratio[Priority.INTERACTIVE] == 0.5


def test_oc_adm_9003_a_deadline_refusal_leaves_no_unretrieved_exception_in_the_log(
    manager: Manager, caplog: pytest.LogCaptureFixture
) -> None:
    # Found by the chaos soak (bench/soak.py): every waiter refused at its deadline logged
    # asyncio's "Future exception was never retrieved" at ERROR, an unhandled-exception line.
    assert manager.lease("solo").status_code == 201
    waiter = Waiter(manager, "solo", {"wait_ms": 1_000})
    manager.wait_for_depth("solo", 1)
    manager.clock.advance(1_000)
    manager.registry.tick()
    assert_refusal(waiter.answer(), 429, "DEADLINE_EXCEEDED")
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        gc.collect()  # an exception's traceback keeps its future in a cycle until collected
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


def test_oc_adm_9005_a_pool_that_starts_draining_refuses_its_waiters(manager: Manager) -> None:
    assert manager.lease("solo").status_code == 201
    waiter = Waiter(manager, "solo", {"wait_ms": 30_000, "priority": "batch"})
    wait_until(lambda: manager.waiting("solo", Priority.BATCH) == 1, JOIN_S, "a batch waiter")
    deadline = manager.clock.now_ms() + 10_000
    manager.registry.dispatch("solo", DrainRequested(DrainReason.API_REQUEST, deadline))
    response = waiter.answer()
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "POOL_UNAVAILABLE" and "Retry-After" in response.headers


def test_oc_adm_9011_a_tenant_at_its_quota_is_refused_with_max_concurrent(
    manager: Manager,
) -> None:
    assert manager.lease("solo", {"tenant": "gold"}).status_code == 201
    refused = manager.lease("spare", {"tenant": "gold"})  # another pool: quotas span pools
    body = assert_refusal(refused, 429, "QUOTA_EXCEEDED")
    assert body["policy_label"] == "max_concurrent" and "'gold'" in body["message"]
    assert manager.registry.active_leases("spare") == 0
    assert manager.lease("spare").status_code == 201  # nobody else is held back


def test_oc_adm_9012_rate_quota_refusal_names_rps_and_the_next_token(manager: Manager) -> None:
    assert manager.lease("spare", {"tenant": "metered"}).status_code == 201
    refused = manager.lease("spare", {"tenant": "metered", "wait_ms": 10_000})
    body = assert_refusal(refused, 429, "QUOTA_EXCEEDED", retry_ms=1_000)
    assert body["policy_label"] == "rps"
    assert manager.waiting("spare") == 0  # it never entered the queue
    manager.clock.advance(1_000)
    assert manager.lease("spare", {"tenant": "metered"}).status_code == 201


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [({"tenant": "nobody"}, "tenant", "nobody"), ({"priority": "urgent"}, "priority", "urgent")],
)
def test_oc_adm_9010_unknown_tenant_or_tier_is_400_naming_field_and_value(
    manager: Manager, body: dict[str, Any], field: str, value: str
) -> None:
    response = manager.lease("solo", body)
    assert response.status_code == 400, response.text
    envelope = response.json()
    assert envelope["code"] == "INVALID_PARAMS" and envelope["retriable"] is False
    assert f"body.{field}" in envelope["message"] and value in envelope["message"]
    assert manager.registry.active_leases("solo") == 0


def test_oc_adm_9006_a_client_that_disconnects_leaves_the_queue(manager: Manager) -> None:
    held = manager.lease("solo")
    assert held.status_code == 201
    host, port = manager.url.removeprefix("http://").split(":")
    payload = json.dumps({"wait_ms": 60_000}).encode()
    raw = socket.create_connection((host, int(port)), timeout=JOIN_S)
    try:
        raw.sendall(
            b"POST /v1/pools/solo/leases HTTP/1.1\r\nHost: test\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        manager.wait_for_depth("solo", 1)
    finally:
        raw.close()
    manager.wait_for_depth("solo", 0)
    # The slot it waited for, freed now, is not granted to the client that left.
    assert manager.release("solo", held.json()["lease_id"]).status_code == 204
    assert manager.registry.active_leases("solo") == 0
    assert manager.lease("solo").status_code == 201
