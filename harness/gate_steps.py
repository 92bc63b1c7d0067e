"""Steps that prove the project's own gates and guards: BDD gates, OpenAPI drift, budgets, secrets.

- BDD gates (OC-BDD-7001..7006): a throw-away project with one planted defect
  (:mod:`harness.gate_world`) is checked by :func:`specgate.bdd.run`, and the finding is
  asserted by its text; the clean project must pass every gate.
- OpenAPI contract (OC-CTL-4008): ``ci/check_openapi.py`` runs as a real subprocess, against
  the committed document and against a temp copy with a planted drift (``--path``).
- Label budgets (OC-MET-6002, OC-POOL-3061): a
  :class:`~poolmgr.telemetry.metrics.PoolMetrics` with a
  small ``pool_id`` budget counts more pools than it admits; its registry's text exposition
  is parsed with ``prometheus_client``.
- Secrets (OC-CTL-4007): the canary exercise of ``tests/api/test_api_secrets.py`` (imported)
  is run against the scenario's live manager, then answers, ``/metrics``, the manager's
  stderr, its JSON log and its engine logs are searched for the planted values.

Registered in the one step table with :func:`harness.steps.step` (OC-BDD-7006); every
Then-step asserts (OC-BDD-7003).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
from prometheus_client.parser import text_string_to_metric_families

from harness.assertions import assert_equal
from harness.gate_world import GateState, build_project, gate_state_of
from harness.live import live_manager_of
from harness.steps import step
from harness.world import PoolWorld
from poolmgr.telemetry.metrics import LABEL_BUDGETS, PoolMetrics
from specgate.bdd import run
from tests.api import test_api_secrets as canary

ROOT = Path(__file__).resolve().parents[1]
CHECK_OPENAPI = ROOT / "ci" / "check_openapi.py"
COMMITTED_OPENAPI = ROOT / "spec" / "openapi.json"
CHECK_TIMEOUT_S = 60


def _state(world: PoolWorld) -> GateState:
    return gate_state_of(world)


def _names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


# =========================================================================== BDD gates


@step("given", 'a throw-away BDD project with the planted defect "{defect}"')
def given_gate_project(world: PoolWorld, defect: str) -> None:
    build_project(_state(world), defect)


@step("when", "the BDD gates check the throw-away project")
def when_gates_check(world: PoolWorld) -> None:
    state = _state(world)
    assert state.project, "setup: no throw-away project was built"
    state.violations = run(**state.project)


def _violations(world: PoolWorld) -> list[str]:
    found = _state(world).violations
    assert found is not None, "the gates have not checked the project"
    return found


@step("then", "the gates report no violation")
def then_no_violation(world: PoolWorld) -> None:
    assert_equal(_violations(world), [], "violations of the clean project")


@step("then", 'the gates report a violation containing "{text}"')
def then_violation(world: PoolWorld, text: str) -> None:
    found = _violations(world)
    assert any(text in v for v in found), f"no violation contains {text!r}: {found}"


# =========================================================================== OpenAPI


def _check_openapi(state: GateState, path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(CHECK_OPENAPI), "--path", str(path)],
        cwd=state.tmp,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_S,
        check=False,
    )
    state.exit_code = done.returncode
    state.output = done.stdout + done.stderr


@step("given", 'a copy of the committed OpenAPI document whose title says "{title}"')
def given_drifted_openapi(world: PoolWorld, title: str) -> None:
    state = _state(world)
    document = json.loads(COMMITTED_OPENAPI.read_text(encoding="utf-8"))
    assert document["info"]["title"] != title, "setup: the planted title is not a drift"
    document["info"]["title"] = title
    copy = state.tmp / "openapi.json"
    copy.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    state.planted = title


@step("when", "the OpenAPI check runs against the committed document")
def when_check_committed(world: PoolWorld) -> None:
    _check_openapi(_state(world), COMMITTED_OPENAPI)


@step("when", "the OpenAPI check runs against the drifted copy")
def when_check_copy(world: PoolWorld) -> None:
    state = _state(world)
    copy = state.tmp / "openapi.json"
    assert copy.exists(), "setup: no drifted copy was written"
    _check_openapi(state, copy)


@step("then", "the OpenAPI check exits with status {code:d}")
def then_check_status(world: PoolWorld, code: int) -> None:
    state = _state(world)
    assert_equal(state.exit_code, code, f"exit status of check_openapi ({state.output})")


@step("then", 'the OpenAPI check says "{text}"')
def then_check_says(world: PoolWorld, text: str) -> None:
    output = _state(world).output
    assert text in output, f"{text!r} not in the check's output: {output}"


@step("then", "the OpenAPI check shows the planted line as a removed diff line")
def then_check_diff(world: PoolWorld) -> None:
    state = _state(world)
    lines = state.output.splitlines()
    removed = [line for line in lines if line.startswith("-") and not line.startswith("---")]
    assert any(state.planted in line for line in removed), f"drift not shown: {state.output}"


# =========================================================================== label budgets


def _metrics(world: PoolWorld) -> PoolMetrics:
    metrics = _state(world).metrics
    assert metrics is not None, "setup: no metrics object was made"
    return metrics


@step("given", 'metrics that allow {n:d} distinct values of the label "{label}"')
def given_metrics_budget(world: PoolWorld, n: int, label: str) -> None:
    budgets = {**LABEL_BUDGETS, label: n}
    _state(world).metrics = PoolMetrics(world.registry, budgets=budgets)


@step("given", "metrics with the default label budgets")
def given_metrics_default(world: PoolWorld) -> None:
    _state(world).metrics = PoolMetrics(world.registry)


@step("when", 'a driver reset is counted once for each of the pools "{pools}"')
def when_count_resets(world: PoolWorld, pools: str) -> None:
    metrics = _metrics(world)
    for pool in _names(pools):
        metrics.count("driver_resets_total", pool)


@step("when", 'a driver reset is counted once for each of {n:d} pools named "{prefix}1" onwards')
def when_count_many_resets(world: PoolWorld, n: int, prefix: str) -> None:
    metrics = _metrics(world)
    for i in range(1, n + 1):
        metrics.count("driver_resets_total", f"{prefix}{i}")


def _scraped(world: PoolWorld, family: str) -> dict[frozenset[tuple[str, str]], float]:
    text = _metrics(world).render().decode()
    samples: dict[frozenset[tuple[str, str]], float] = {}
    for fam in text_string_to_metric_families(text):
        for sample in fam.samples:
            if sample.name == family:
                samples[frozenset(sample.labels.items())] = sample.value
    return samples


@step("then", 'the scrape shows "{family}" for exactly {n:d} distinct pool_id values')
def then_distinct_pools(world: PoolWorld, family: str, n: int) -> None:
    pools = {dict(labels)["pool_id"] for labels in _scraped(world, family)}
    assert_equal(len(pools), n, f"distinct pool_id values of {family}")


@step("then", 'the scrape shows "{family}" of pool "{pool}" at {value:d}')
def then_series_value(world: PoolWorld, family: str, pool: str, value: int) -> None:
    series = _scraped(world, family)
    found = [v for labels, v in series.items() if dict(labels).get("pool_id") == pool]
    assert_equal(found, [float(value)], f"{family} of pool {pool}")


@step("then", 'the scrape shows no "{family}" series for the pools "{pools}"')
def then_series_absent(world: PoolWorld, family: str, pools: str) -> None:
    shown = {dict(labels).get("pool_id") for labels in _scraped(world, family)}
    leaked = sorted(p for p in _names(pools) if p in shown)
    assert_equal(leaked, [], f"pools past the budget shown by {family}")


@step("then", 'the scrape counts {n:d} folds of the label "{label}" of "{metric}"')
def then_overflow_count(world: PoolWorld, n: int, label: str, metric: str) -> None:
    series = _scraped(world, "label_overflow_total")
    key = frozenset({("metric", metric), ("label", label)})
    assert_equal(series.get(key, 0.0), float(n), f"label_overflow_total{{{metric},{label}}}")


# =========================================================================== secrets


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
    _state(world).transcript = transcript


def _secrets(text: str) -> list[str]:
    secrets = _names(text)
    assert secrets, "no secret named"
    return secrets


@step("then", 'none of the secrets "{secrets}" appears in any live answer')
def then_no_secret_in_answers(world: PoolWorld, secrets: str) -> None:
    transcript = _state(world).transcript
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
