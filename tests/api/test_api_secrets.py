"""Canary: planted secrets never leave the manager (OC-CTL-4007, OC-CTL-4006).

Three secrets are planted in a real ``poolmgr serve`` process: the control-plane token (from
an environment variable the config names), a password inside model URLs, and the value of an
environment variable named ``X_API_KEY``. The test then pushes each of them at the API
wherever a client could (job ids, model refs, correlation ids, pool ids in paths, a wrong
bearer token, malformed bodies) and proves that none of them appears in any response body or
header, in ``/metrics``, on stdout or stderr, or in the manager's JSON log. The canary values,
the transcript and the exercise live in :mod:`harness.canary` (the secrets scenario runs them too).

The redactor masks values, never vocabulary: prose that names a secret ("a bearer token is
required.") stays readable while the credential after ``Bearer`` is masked (OC-CTL-4015).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.canary import CANARIES, ENV_KEY, TOKEN, URL_PASS, Transcript, exercise
from poolmgr.telemetry.redact import Redactor
from tests.api.helpers import FAST_RESTARTS, Served, stub_pool


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


# --- values, never vocabulary (OC-CTL-4015) -----------------------------------------------


@pytest.mark.parametrize(
    "prose",
    [
        "a bearer token is required",
        "the request lacks a bearer token.",
        "send bearer tokens, not passwords",
        "a bearer credential is required",
        "Bearer Key: see the docs",
        "no bearer secret; no bearer password!",
    ],
)
def test_oc_ctl_4015_words_that_name_secrets_are_not_masked(prose: str) -> None:
    assert Redactor(environ={}).redact(prose) == prose


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Authorization: Bearer tok3n-abc.def", "Authorization: Bearer ***"),
        ("Bearer token-abc", "Bearer ***"),
        ("bearer eyJhbGciOi.eyJzdWIi.c2ln==", "bearer ***"),
        ("sent Bearer abc123.", "sent Bearer ***"),
        (f"sent Bearer {TOKEN}", "sent Bearer ***"),
    ],
)
def test_oc_ctl_4015_bearer_credentials_are_masked(text: str, masked: str) -> None:
    assert Redactor(environ={}).redact(text) == masked
