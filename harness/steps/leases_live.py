"""Process-level steps of leases and the control plane's input edges, against a real manager.

Serves, over real sockets against a real ``poolmgr serve`` (:class:`~harness.live.LiveManager`):
lease renewal (OC-POOL-3045, OC-CTL-4011) and the wall-clock expiry of grants and renewals
(OC-CTL-4010); 405 answers with ``Allow`` and ``HEAD`` on the manager's health endpoints
(OC-CTL-4012, OC-CTL-4013); a drain without a deadline (OC-CTL-4014); and messages that name
secrets without being masked (OC-CTL-4015). Like :mod:`harness.steps.live`, this module loads
the HTTP server; waits are bounded polls, never fixed sleeps.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from typing import Any

import requests

from harness.assertions import assert_equal
from harness.live import LiveManager, live_manager_of
from harness.registry import step
from harness.steps.live import kill_live_engine
from harness.waiting import wait_until
from harness.world import PoolWorld

_RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
_EXPIRY_WAIT_S = 10.0


def _last(live: LiveManager) -> requests.Response:
    assert live.last is not None, "no request has been made yet"
    return live.last


def _lease_path(live: LiveManager) -> str:
    assert live.lease_ids, "setup: no lease was granted"
    return live.lease_ids[-1]


def _epoch_ms(rfc3339: str) -> int:
    return round(datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


# --- leases ---------------------------------------------------------------------------------


@step("when", 'a client for job "{job}" leases a slot of the live pool "{pool}" for {ttl:d} ms')
def lease_live_for(world: PoolWorld, job: str, pool: str, ttl: int) -> None:
    live = live_manager_of(world)
    response = live.request("POST", f"/v1/pools/{pool}/leases", json={"ttl_ms": ttl, "job_id": job})
    assert_equal(response.status_code, 201, f"status of the grant: {response.text}")
    live.granted.append(response.json())
    live.lease_ids.append(f"/v1/pools/{pool}/leases/{response.json()['lease_id']}")


@step("when", "the client renews its live lease")
def renew_live(world: PoolWorld) -> None:
    live = live_manager_of(world)
    live.request("POST", f"{_lease_path(live)}/renew")


@step("when", "the client renews its live lease for {ttl:d} ms")
def renew_live_for(world: PoolWorld, ttl: int) -> None:
    live = live_manager_of(world)
    live.request("POST", f"{_lease_path(live)}/renew", json={"ttl_ms": ttl})


@step("when", 'a client renews the lease "{lease}" of the live pool "{pool}"')
def renew_live_named(world: PoolWorld, lease: str, pool: str) -> None:
    live_manager_of(world).request("POST", f"/v1/pools/{pool}/leases/{lease}/renew")


@step("when", "the client's live lease expires")
def live_lease_expires(world: PoolWorld) -> None:
    """Bounded wait until the client's own clock is past the expiry the grant named in UTC."""
    live = live_manager_of(world)
    assert live.granted, "setup: no lease was granted"
    due = _epoch_ms(str(live.granted[-1]["expires_at"])) + 50
    wait_until(
        lambda: time.time_ns() // 1_000_000 >= due, _EXPIRY_WAIT_S, "the lease's expiry to pass"
    )


@step("when", 'the engine of the live pool "{pool}" is killed and the manager voids its leases')
def kill_engine_and_void(world: PoolWorld, pool: str) -> None:
    """SIGKILL the engine, then wait (bounded) until the manager has recorded that exit."""
    kill_live_engine(world, pool)
    live_manager_of(world).wait_health(
        pool,
        lambda h: (h["last_error"] or {}).get("cause") == "killed_by_signal",
        "the engine's exit to be recorded",
        _EXPIRY_WAIT_S,
    )


@step(
    "then",
    "the lease answer gives the lease {ms:d} ms from the answer, on the manager's clock and in UTC",
)
def then_lease_lasts(world: PoolWorld, ms: int) -> None:
    live = live_manager_of(world)
    response = _last(live)
    assert response.status_code in (200, 201), f"not a lease answer: {response.text}"
    body: dict[str, Any] = response.json()
    before, after = live.last_window_ms
    took = after - before
    assert ms - took - 1 <= body["ttl_ms"] <= ms, f"ttl_ms {body['ttl_ms']} is not {ms} (±{took})"
    expires_at = str(body["expires_at"])
    assert _RFC3339_MS.match(expires_at), f"expires_at {expires_at!r} is not RFC 3339 UTC, in ms"
    wall = _epoch_ms(expires_at)
    low, high = before + ms - took - 1, after + ms + 1
    assert low <= wall <= high, f"expires_at {expires_at} is not {ms} ms after the answer"


@step("then", 'the lease answer names the job "{job}"')
def then_lease_job(world: PoolWorld, job: str) -> None:
    response = _last(live_manager_of(world))
    assert_equal(response.status_code, 201, f"status of the grant: {response.text}")
    assert_equal(response.json().get("job_id"), job, "job_id of the lease answer")


@step("then", 'the envelope message ends with "{text}"')
def then_envelope_message_ends(world: PoolWorld, text: str) -> None:
    message = str(_last(live_manager_of(world)).json().get("message"))
    assert message.endswith(text), f"message {message!r} does not end with {text!r}"


@step("then", 'the envelope message reads "{text}"')
def then_envelope_message(world: PoolWorld, text: str) -> None:
    assert_equal(_last(live_manager_of(world)).json().get("message"), text, "envelope message")


@step("then", 'the manager logged the event "{event}" for the client\'s live lease and job "{job}"')
def then_lease_event_logged(world: PoolWorld, event: str, job: str) -> None:
    live = live_manager_of(world)
    lease_id = _lease_path(live).rsplit("/", 1)[-1]

    def logged() -> dict[str, Any] | None:
        for line in live.stderr().splitlines():
            if line.startswith("{") and f'"{event}"' in line:
                record: dict[str, Any] = json.loads(line)
                if record.get("event") == event and record.get("lease_id") == lease_id:
                    return record
        return None

    record = wait_until(logged, 5, f"a {event} log line for lease {lease_id}")
    assert_equal(record.get("job_id"), job, f"job_id of the {event} line")


# --- input edges ------------------------------------------------------------------------------


@step("when", 'a client sends "{method} {path}" to the live manager')
def send_method(world: PoolWorld, method: str, path: str) -> None:
    live_manager_of(world).request(method, path)


@step("then", "the answer has status {status:d} and no body")
def then_status_no_body(world: PoolWorld, status: int) -> None:
    response = _last(live_manager_of(world))
    assert_equal(response.status_code, status, f"status of the {response.request.method} answer")
    assert_equal(response.content, b"", "body")


@step("then", 'the answer allows the methods "{methods}"')
def then_allow(world: PoolWorld, methods: str) -> None:
    assert_equal(_last(live_manager_of(world)).headers.get("Allow"), methods, "Allow header")


# --- drain without a deadline -----------------------------------------------------------------


@step("when", 'a client drains the live pool "{pool}" without naming a deadline')
def drain_live_default(world: PoolWorld, pool: str) -> None:
    live_manager_of(world).request("POST", f"/v1/pools/{pool}/drain")


@step("then", 'the drain is accepted with a deadline of {ms:d} ms taken from "{source}"')
def then_drain_accepted(world: PoolWorld, ms: int, source: str) -> None:
    response = _last(live_manager_of(world))
    assert_equal(response.status_code, 202, f"status of the drain: {response.text}")
    body = response.json()
    assert_equal((body["deadline_ms"], body["deadline_source"]), (ms, source), "deadline")
