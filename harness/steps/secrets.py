"""Steps of the secrets canary (OC-CTL-4007): planted secrets never leave a live manager.

The canary exercise of :mod:`harness.canary` (shared with ``tests/api/test_api_secrets.py``) is
run against the scenario's live manager; then answers, ``/metrics``, the manager's stderr, its
JSON log and its engine logs are searched for the planted values.

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import psutil

from harness import canary
from harness.assertions import assert_equal
from harness.live import live_manager_of
from harness.registry import step
from harness.steps.fields import names
from harness.world import PoolWorld


@step(
    "given",
    'the manager is running with "{token_var}" holding "{token}", "{key_var}" holding "{key}" '
    "and this config",
)
def given_manager_with_secrets(
    world: PoolWorld, token_var: str, token: str, key_var: str, key: str, docstring: str
) -> None:
    live_manager_of(world).start(docstring, env={token_var: token, key_var: key})


@step("when", "a client pushes the canary secrets of the API tests at every endpoint")
def when_push_canaries(world: PoolWorld) -> None:
    live = live_manager_of(world)
    config = (live.tmp / "pools.yaml").read_text()
    assert canary.URL_PASS in config, "setup: the config does not plant the canary URL password"
    assert live.proc is not None, "setup: the manager is not running"
    planted_env = psutil.Process(live.proc.pid).environ().values()
    missing = [s for s in (canary.TOKEN, canary.ENV_KEY) if s not in planted_env]
    assert_equal(missing, [], "canary values the manager's environment lacks")
    transcript = canary.Transcript(live.url)
    canary.exercise(transcript)
    world.gate.transcript = transcript


def _secrets(text: str) -> list[str]:
    secrets = names(text)
    assert secrets, "no secret named"
    return secrets


@step("then", 'none of the secrets "{secrets}" appears in any live answer')
def then_no_secret_in_answers(world: PoolWorld, secrets: str) -> None:
    transcript = world.gate.transcript
    assert transcript is not None and transcript.texts, "no answers were recorded"
    leaks = [
        (secret, asked)
        for secret in _secrets(secrets)
        for asked, text in zip(transcript.asked, transcript.texts, strict=True)
        if secret in text
    ]
    assert_equal(leaks, [], "answers carrying a secret")


@step("then", 'none of the secrets "{secrets}" appears in the live metrics')
def then_no_secret_in_metrics(world: PoolWorld, secrets: str) -> None:
    text = live_manager_of(world).metrics_text()
    assert "pool_ready" in text, "the scrape shows no pool"
    leaks = [s for s in _secrets(secrets) if s in text]
    assert_equal(leaks, [], "secrets in /metrics")


@step(
    "then",
    'none of the secrets "{secrets}" appears in the manager\'s stderr, its JSON log '
    "or the engine logs",
)
def then_no_secret_in_logs(world: PoolWorld, secrets: str) -> None:
    live = live_manager_of(world)
    logs = live.tmp / "logs"
    manager_log = (logs / "manager.jsonl").read_text()
    engine_logs = sorted(logs.glob("*.log"))
    assert manager_log.strip(), "the manager's JSON log is empty"
    assert_equal([p.name for p in engine_logs], ["alpha.log", "beta.log"], "engine logs")
    texts = {"stderr": live.stderr(), "manager.jsonl": manager_log}
    texts.update({p.name: p.read_text() for p in engine_logs})
    leaks = [(s, name) for s in _secrets(secrets) for name, text in texts.items() if s in text]
    assert_equal(leaks, [], "secrets in the manager's output or logs")
