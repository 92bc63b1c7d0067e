"""@process steps of admission against a live manager: long polls, hang-ups, drains, metrics.

Serves, over real sockets against a real ``poolmgr serve`` (:class:`~harness.live.LiveManager`):
a lease request that waits for a slot and is granted when one is returned (OC-ADM-9001,
OC-ADM-9004), refused at its deadline (OC-ADM-9003) or at once when its pool drains
(OC-ADM-9005); a client that hangs up while it waits leaves the queue (OC-ADM-9006); the
admission metrics and log lines (OC-ADM-9013, OC-ADM-9015, OC-ADM-9016).

A waiting client is an ordinary ``requests`` call in a thread of its own (a long poll blocks
its caller), joined with a bound; a hanging-up client is a raw socket that sends its request
and closes. Waits are bounded polls, never fixed sleeps.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from prometheus_client.parser import text_string_to_metric_families

from harness.assertions import assert_equal
from harness.live import LiveManager, live_manager_of
from harness.registry import step
from harness.waiting import wait_until
from harness.world import PoolWorld

_ANSWER_TIMEOUT_S = 10.0
"""How long a step waits for a waiting client's answer: well below the waits the features ask
for, so an answer that only came at the deadline fails the step."""


@dataclass
class _Waiter:
    """A client whose lease request waits in a thread of its own."""

    thread: threading.Thread
    answer: list[requests.Response] = field(default_factory=list)
    error: list[BaseException] = field(default_factory=list)


def _waiters(live: LiveManager) -> list[_Waiter]:
    return live.waiters


def _ask(live: LiveManager, pool: str, body: dict[str, Any]) -> None:
    answer: list[requests.Response] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            url = f"{live.url}/v1/pools/{pool}/leases"
            answer.append(requests.post(url, json=body, timeout=_ANSWER_TIMEOUT_S * 6))
        except requests.RequestException as exc:
            error.append(exc)

    thread = threading.Thread(target=run, daemon=True, name=f"waiting-client-{pool}")
    thread.start()
    _waiters(live).append(_Waiter(thread, answer, error))


def _answer(live: LiveManager) -> requests.Response:
    waiters = _waiters(live)
    assert waiters, "setup: no client is waiting"
    waiter = waiters[-1]
    waiter.thread.join(_ANSWER_TIMEOUT_S)
    assert not waiter.thread.is_alive(), (
        f"the waiting client got no answer within {_ANSWER_TIMEOUT_S} s"
    )
    assert not waiter.error, f"the waiting client's request failed: {waiter.error[0]!r}"
    live.last = waiter.answer[0]
    return waiter.answer[0]


def _gauge(live: LiveManager, name: str, labels: dict[str, str]) -> float | None:
    want = set(labels.items())
    for family in text_string_to_metric_families(live.metrics_text()):
        for sample in family.samples:
            if sample.name == name and want <= set(sample.labels.items()):
                return float(sample.value)
    return None


# --- clients --------------------------------------------------------------------------------


@step("given", 'a client holds the only slot of the live pool "{pool}"')
def given_only_slot_held(world: PoolWorld, pool: str) -> None:
    live = live_manager_of(world)
    response = live.request("POST", f"/v1/pools/{pool}/leases", json={})
    assert_equal(response.status_code, 201, f"setup: the grant of the slot: {response.text}")
    assert_equal(live.health(pool)["slots_free"], 0, f"setup: free slots of {pool}")
    live.lease_ids.append(f"/v1/pools/{pool}/leases/{response.json()['lease_id']}")


@step(
    "when",
    'a client of tenant "{tenant}" asks for a slot of the live pool "{pool}", '
    "waiting up to {wait:d} ms",
)
def ask_waiting(world: PoolWorld, tenant: str, pool: str, wait: int) -> None:
    _ask(live_manager_of(world), pool, {"tenant": tenant, "wait_ms": wait})


@step(
    "when",
    'a client of tenant "{tenant}" asks for a slot of the live pool "{pool}", '
    "waiting up to {wait:d} ms, and hangs up while it waits",
)
def ask_and_hang_up(world: PoolWorld, tenant: str, pool: str, wait: int) -> None:
    live = live_manager_of(world)
    parts = urlsplit(live.url)
    body = json.dumps({"tenant": tenant, "wait_ms": wait}).encode()
    head = (
        f"POST /v1/pools/{pool}/leases HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head + body)
        wait_until(
            lambda: (
                _gauge(live, "admission_queue_depth", {"pool_id": pool, "priority": "interactive"})
                == 1.0
                or None
            ),
            _ANSWER_TIMEOUT_S,
            f"the hanging-up client's request waiting in the queue of {pool}",
        )


# --- answers --------------------------------------------------------------------------------


@step("then", 'the live admission queue of "{pool}" holds one waiting "{priority}" request')
def then_queue_holds_one(world: PoolWorld, pool: str, priority: str) -> None:
    assert _queue_holds(world, pool, 1, priority), f"{pool} holds no waiting {priority} request"


@step("then", 'the live admission queue of "{pool}" holds no waiting "{priority}" request')
def then_queue_holds_none(world: PoolWorld, pool: str, priority: str) -> None:
    assert _queue_holds(world, pool, 0, priority), f"{pool} still holds a {priority} request"


def _queue_holds(world: PoolWorld, pool: str, n: int, priority: str) -> bool:
    """Whether the pool's queue comes to hold ``n`` requests of the tier (a bounded wait)."""
    live = live_manager_of(world)
    labels = {"pool_id": pool, "priority": priority}
    seen = wait_until(
        lambda: _gauge(live, "admission_queue_depth", labels) == float(n) or None,
        _ANSWER_TIMEOUT_S,
        f"admission_queue_depth{labels} == {n}",
    )
    return seen is True


@step("then", 'the waiting client is granted a lease of the live pool "{pool}"')
def then_waiter_granted(world: PoolWorld, pool: str) -> None:
    live = live_manager_of(world)
    answer = _answer(live)
    assert_equal(answer.status_code, 201, f"status of the waiting client's answer: {answer.text}")
    assert_equal(answer.json()["pool_id"], pool, "pool of the lease")
    live.lease_ids.append(f"/v1/pools/{pool}/leases/{answer.json()['lease_id']}")


@step("then", "the waiting client is answered with an error envelope")
def then_waiter_refused(world: PoolWorld) -> None:
    """The answer becomes the scenario's last one, for the envelope steps that follow."""
    answer = _answer(live_manager_of(world))
    assert answer.status_code >= 400, f"expected a refusal, got {answer.status_code}"


@step("then", "the answer's retry hint is {seconds:d} s")
def then_retry_after(world: PoolWorld, seconds: int) -> None:
    live = live_manager_of(world)
    assert live.last is not None, "no answer yet"
    assert_equal(live.last.headers.get("Retry-After"), str(seconds), "Retry-After")


@step("then", 'the live gauge "{name}" with {labels} is {value:g}')
def then_live_gauge(world: PoolWorld, name: str, labels: str, value: float) -> None:
    """``labels``: ``key="value"`` pairs joined by ", " (as in the exposition text)."""
    wanted = dict(
        (k.strip(), v.strip().strip('"')) for k, v in (p.split("=", 1) for p in labels.split(","))
    )
    got = _gauge(live_manager_of(world), name, wanted)
    assert_equal(got, value, f"{name}{wanted}")


@step(
    "then",
    'the manager logged the event "{event}" for tenant "{tenant}" on "{pool}" '
    'with the code "{code}"',
)
def then_admission_logged_code(
    world: PoolWorld, event: str, tenant: str, pool: str, code: str
) -> None:
    record = _logged(live_manager_of(world), event, tenant, pool)
    assert_equal(record.get("code"), code, f"code of the {event} line")


@step(
    "then",
    'the manager logged the event "{event}" for tenant "{tenant}" on "{pool}" '
    "in the interactive tier",
)
def then_admission_logged(world: PoolWorld, event: str, tenant: str, pool: str) -> None:
    record = _logged(live_manager_of(world), event, tenant, pool)
    assert_equal(record.get("priority"), "interactive", f"priority of the {event} line")


def _logged(live: LiveManager, event: str, tenant: str, pool: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for line in live.stderr().splitlines():
            if line.startswith("{") and f'"{event}"' in line:
                record: dict[str, Any] = json.loads(line)
                if (record.get("event"), record.get("tenant"), record.get("pool_id")) == (
                    event,
                    tenant,
                    pool,
                ):
                    return record
        return None

    return wait_until(found, _ANSWER_TIMEOUT_S, f"a {event} line for {tenant} on {pool}")
