"""The secrets canary: planted secrets, and a client that pushes them at every endpoint.

Owns the three canary values (the control-plane token, a password inside model URLs, the value
of an environment variable named ``X_API_KEY``), :class:`Transcript` (every answer a client
received, as text) and :func:`exercise`, which pushes each secret at the API wherever a client
could (job ids, model refs, correlation ids, pool ids in paths, a wrong bearer token, malformed
bodies). The API tests (``tests/api/test_api_secrets.py``) and the secrets scenario
(:mod:`harness.steps.secrets`) both run it against a real manager and search what came back.

Serves OC-CTL-4007 and OC-CTL-4006.
"""

from __future__ import annotations

from typing import Any

import requests

from harness.waiting import wait_until

__all__ = ["CANARIES", "ENV_KEY", "NEW_MODEL", "TOKEN", "URL_PASS", "Transcript", "exercise"]

TOKEN = "CANARY-TOKEN-9f3a51c0de"
URL_PASS = "CANARY-URLPASS-4d1e88"
ENV_KEY = "CANARY-ENVKEY-77c2b0aa"
CANARIES = (TOKEN, URL_PASS, ENV_KEY)
NEW_MODEL = f"stub://modeluser:{URL_PASS}@hub.example/new"


class Transcript:
    """Every response the client received: what was asked, and the answer as text."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.asked: list[str] = []
        self.texts: list[str] = []
        """Status, headers and body of each response (the request itself is not in it)."""

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = requests.request(method, f"{self.url}{path}", timeout=10, **kwargs)
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.asked.append(f"{method} {path}")
        self.texts.append(f"{response.status_code}\n{headers}\n{response.text}")
        return response

    def answers(self, asked: str, status: int) -> list[str]:
        return [
            text
            for a, text in zip(self.asked, self.texts, strict=True)
            if a == asked and text.startswith(f"{status}\n")
        ]


def exercise(t: Transcript) -> None:
    """Push every canary at the API of the manager behind ``t``; waits are bounded polls."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    wait_until(lambda: t.call("GET", "/v1/pools/alpha/health").json()["ready"], 20, "alpha Ready")
    wait_until(
        lambda: t.call("GET", "/v1/pools/beta/health").json()["last_error"], 20, "beta's error"
    )
    for path in ("/v1/pools", "/v1/replicasets", "/metrics", "/healthz", "/readyz"):
        t.call("GET", path)
    wrong = {"Authorization": f"Bearer {ENV_KEY}"}
    assert t.call("POST", "/v1/pools/alpha/leases", headers=wrong).status_code == 403
    for job_id in (TOKEN, ENV_KEY, f"https://u:{URL_PASS}@x"):
        granted = t.call("POST", "/v1/pools/alpha/leases", json={"job_id": job_id}, headers=auth)
        assert granted.status_code == 201 and "***" in granted.json()["job_id"]
    t.call("GET", "/v1/pools", headers={"X-Correlation-Id": TOKEN})
    t.call("GET", f"/v1/pools/{TOKEN}/health")
    t.call("POST", "/v1/pools/alpha/drain", json={"deadline_ms": TOKEN}, headers=auth)
    t.call("POST", "/v1/pools/alpha/drain", data=f'{{"deadline_ms": "{ENV_KEY}', headers=auth)
    reload = t.call(
        "POST", "/v1/pools/alpha/reload", json={"new_model_ref": NEW_MODEL}, headers=auth
    )
    assert reload.status_code == 202
    wait_until(
        lambda: (
            (t.call("GET", "/v1/pools/alpha/health").json()["reload"] or {}).get("outcome")
            == "done"
        ),
        20,
        "the reload to finish",
    )
    t.call("GET", "/v1/pools/beta/health")
    t.call("GET", "/metrics")
