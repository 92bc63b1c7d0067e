"""Canary: planted secrets never leave the manager (OC-CTL-4007, OC-CTL-4006).

Three secrets are planted in a real ``poolmgr serve`` process: the control-plane token (from
an environment variable the config names), a password inside model URLs, and the value of an
environment variable named ``X_API_KEY``. The test then pushes each of them at the API
wherever a client could (job ids, model refs, correlation ids, pool ids in paths, a wrong
bearer token, malformed bodies) and proves that none of them appears in any response body or
header, in ``/metrics``, on stdout or stderr, or in the manager's JSON log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.api.helpers import FAST_RESTARTS, Served, stub_pool, wait_until

TOKEN = "CANARY-TOKEN-9f3a51c0de"
URL_PASS = "CANARY-URLPASS-4d1e88"
ENV_KEY = "CANARY-ENVKEY-77c2b0aa"
CANARIES = (TOKEN, URL_PASS, ENV_KEY)
NEW_MODEL = f"stub://modeluser:{URL_PASS}@hub.example/new"


class Transcript:
    """Every response the test received: what was asked, and the answer as text."""

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


@pytest.fixture(scope="module")
def canary_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Transcript]]:
    tmp = tmp_path_factory.mktemp("canary")
    config = {
        "manager": {"auth": {"token_env": "POOLMGR_CANARY_TOKEN"}, "log_dir": str(tmp / "logs")},
        "pools": [
            stub_pool("alpha", f"stub://modeluser:{URL_PASS}@hub.example/alpha"),
            stub_pool(
                "beta", f"https://modeluser:{URL_PASS}@hub.example/beta.gguf", **FAST_RESTARTS
            ),
        ],
    }
    config_path = tmp / "poolmgr.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {"POOLMGR_CANARY_TOKEN": TOKEN, "X_API_KEY": ENV_KEY}
    served = Served(tmp, "--config", str(config_path), "--port", "0", env=env)
    try:
        transcript = Transcript(served.url())
        exercise(transcript)
        assert served.terminate() == 0
        yield served, transcript
    finally:
        served.close()


def exercise(t: Transcript) -> None:
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


@pytest.mark.parametrize("secret", CANARIES, ids=["token", "url-password", "env-key"])
def test_oc_ctl_4007_secret_never_appears_in_responses(
    canary_run: tuple[Served, Transcript], secret: str
) -> None:
    _, transcript = canary_run
    assert len(transcript.texts) > 15
    leaks = [
        asked
        for asked, text in zip(transcript.asked, transcript.texts, strict=True)
        if secret in text
    ]
    assert leaks == []


@pytest.mark.parametrize("secret", CANARIES, ids=["token", "url-password", "env-key"])
def test_oc_ctl_4007_secret_never_appears_in_manager_output_or_log(
    canary_run: tuple[Served, Transcript], secret: str
) -> None:
    served, _ = canary_run
    log = Path(served.stderr_path.parent / "logs" / "manager.jsonl").read_text()
    stderr = served.stderr()
    assert log.strip() and stderr.strip()
    assert secret not in log
    assert secret not in stderr
    assert secret not in "".join(served.stdout)


def test_oc_ctl_4007_masked_model_refs_still_show_where_they_point(
    canary_run: tuple[Served, Transcript],
) -> None:
    _, transcript = canary_run
    healths = [
        json.loads(text.split("\n")[-1])
        for text in transcript.answers("GET /v1/pools/alpha/health", 200)
    ]
    assert healths[-1]["model_ref"] == "stub://***@hub.example/new"
    assert healths[-1]["reload"]["from"] == "stub://***@hub.example/alpha"


def test_oc_ctl_4007_metrics_carry_no_secret(canary_run: tuple[Served, Transcript]) -> None:
    _, transcript = canary_run
    scrapes = transcript.answers("GET /metrics", 200)
    assert len(scrapes) == 2 and "pool_ready" in scrapes[-1]
    assert not any(secret in s for s in scrapes for secret in CANARIES)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(TOKEN, id="token"),
        pytest.param(URL_PASS, id="url-password"),
        pytest.param(ENV_KEY, id="env-key"),
    ],
)
def test_oc_ctl_4007_secret_never_appears_in_engine_logs(
    canary_run: tuple[Served, Transcript], secret: str
) -> None:
    served, _ = canary_run
    engine_logs = sorted((served.stderr_path.parent / "logs").glob("*.log"))
    assert [p.name for p in engine_logs] == ["alpha.log", "beta.log"]
    assert not any(secret in p.read_text() for p in engine_logs)
