"""A client that leaves in the instant its waiting request is granted holds no lease (OC-ADM-9006).

The long poll of ``POST /v1/pools/{id}/leases`` waits for two things at once: the answer and
the client's disconnect. When both arrive in the same step of the event loop (a slot freed as
the client hung up), the client is gone either way: the lease it was granted must go back at
once instead of being answered into a closed connection and held until its TTL. Driven at the
ASGI level with a scripted ``receive``, so "the same instant" is exact, not a race to win.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message

from tests.api.helpers import fake_app

ONE_SLOT = """
pools:
  - {id: alpha, engine: stub, model: "stub://alpha", devices: [], cpu: true, slots: 1,
     admission: {queue_depth: 4, max_wait_ms: 60000}}
"""


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/pools/alpha/leases",
        "raw_path": b"/v1/pools/alpha/leases",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


def test_a_client_that_leaves_as_its_lease_is_granted_holds_no_lease() -> None:
    app, registry, _, _ = fake_app(ONE_SLOT)
    held = registry.acquire_lease("alpha")
    body = json.dumps({"wait_ms": 60_000}).encode()
    received = 0
    sent: list[Message] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        if received == 1:
            return {"type": "http.request", "body": body, "more_body": False}
        assert received == 2, "the handler listens for the disconnect once"
        # The slot frees (and is granted to the waiting request) as the client hangs up.
        registry.release_lease("alpha", held.lease_id)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(_scope(body), receive, send), timeout=10))

    assert registry.active_leases("alpha") == 0
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [499]
