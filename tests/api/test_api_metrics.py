"""Metrics: live exposition, the contract gate, promtool, and label budgets.

Serves OC-POOL-3060 (pool_ready, active_leases, drain_events_total), OC-POOL-3061 (budgets
enforced at runtime), OC-POOL-3062 (engine_info), OC-POOL-3030 (restarts, preload outcomes,
driver resets, VRAM), OC-MET-6001 (contract drift fails the gate, both ways) and OC-MET-6002
(label budgets listed in the contract).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from poolmgr.assemble import build_registry
from poolmgr.config import parse_config
from poolmgr.core.clock import ManualClock
from poolmgr.core.decisions import DrainCounted, DriverResetCounted, Restarted
from poolmgr.core.events import (
    EngineExited,
    EngineStarted,
    PreloadFailed,
    PreloadSucceeded,
    StartRequested,
)
from poolmgr.core.inventory import GpuDevice, GpuInventory
from poolmgr.core.vocab import Cause, DrainReason
from poolmgr.telemetry.metrics import (
    CATALOGUE,
    LABEL_BUDGETS,
    OVERFLOW,
    PoolMetrics,
)
from poolmgr.telemetry.redact import Redactor
from tests.api.helpers import (
    ROOT,
    TWO_POOLS,
    LiveManager,
    load_script,
    ready_registry,
    run_script,
    wait_until,
)

GATE = ROOT / "ci" / "check_metrics_contract.py"
CONTRACT = ROOT / "spec" / "metrics-contract.yaml"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


def scrape(live: LiveManager) -> str:
    response = requests.get(f"{live.url}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return response.text


def run_gate(*args: str) -> subprocess.CompletedProcess[str]:
    """The gate as CI runs it: a separate process."""
    return run_script(GATE, *args)


GATE_MODULE = load_script(GATE)


def gate_on_text(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The gate's ``main`` in this process on ``text`` (fast); exit status and stderr."""
    scraped = tmp_path / "scrape.txt"
    scraped.write_text(text)
    status = GATE_MODULE.main([str(scraped)])
    return int(status), capsys.readouterr().err


# --- live exposition ----------------------------------------------------------------------


def test_oc_pool_3060_pool_ready_is_1_for_ready_and_0_for_unready_pools(live: LiveManager) -> None:
    text = scrape(live)
    assert value(text, "pool_ready", pool_id="alpha") == 1.0
    assert value(text, "pool_ready", pool_id="slow") == 0.0


def test_oc_pool_3060_active_leases_follows_grants_and_returns(live: LiveManager) -> None:
    url = f"{live.url}/v1/pools/metered/leases"
    lease = requests.post(url, timeout=5).json()
    assert value(scrape(live), "active_leases", pool_id="metered") == 1.0
    requests.delete(f"{url}/{lease['lease_id']}", timeout=5)
    assert value(scrape(live), "active_leases", pool_id="metered") == 0.0


def test_oc_pool_3060_drain_is_counted_with_its_reason(live: LiveManager) -> None:
    before = value(scrape(live), "drain_events_total", pool_id="metered", reason="api_request")
    assert before is None
    requests.post(f"{live.url}/v1/pools/metered/drain", json={"deadline_ms": 0}, timeout=5)
    text = scrape(live)
    assert value(text, "drain_events_total", pool_id="metered", reason="api_request") == 1.0


def test_oc_pool_3062_engine_info_carries_engine_and_version(live: LiveManager) -> None:
    health = live.health("alpha")
    info = {
        dict(labels)["pool_id"]: dict(labels)
        for (name, labels), v in samples(scrape(live)).items()
        if name == "engine_info" and v == 1.0
    }
    assert info["alpha"]["engine"] == "stub"
    assert info["alpha"]["engine_version"] == health["engine_version"]
    assert "slow" not in info  # never preloaded: no provenance to show yet


def test_oc_pool_3030_preload_outcomes_count_success_and_failure(live: LiveManager) -> None:
    text = scrape(live)
    assert value(text, "preload_outcomes_total", pool_id="alpha", result="success") == 1.0

    def failures() -> float | None:
        found = value(scrape(live), "preload_outcomes_total", pool_id="broken", result="failure")
        return found if found and found >= 1 else None

    wait_until(failures, 15, "a counted preload failure")


def test_oc_pool_3030_restarts_are_counted_by_the_cause_before_them(live: LiveManager) -> None:
    def restarts() -> dict[str, float] | None:
        found = {
            dict(labels)["cause"]: v
            for (name, labels), v in samples(scrape(live)).items()
            if name == "restarts_total" and dict(labels)["pool_id"] == "crashy"
        }
        return found or None

    found = wait_until(restarts, 15, "a counted restart of the crashing pool")
    assert set(found) <= {"engine_exited", "killed_by_signal", "preload_failed"}
    assert sum(found.values()) >= 1


def test_oc_pool_3014_breaker_state_marks_exactly_the_current_state(live: LiveManager) -> None:
    text = scrape(live)
    states = {s: value(text, "breaker_state", pool_id="alpha", state=s) for s in ("closed", "open")}
    assert states == {"closed": 1.0, "open": 0.0}


def test_oc_met_6001_live_scrape_passes_the_contract_gate(live: LiveManager) -> None:
    result = run_gate(f"{live.url}/metrics")
    assert result.returncode == 0, result.stderr
    assert "no drift" in result.stdout


def test_oc_met_6001_live_scrape_passes_promtool(live: LiveManager, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is required in CI (Debian package 'prometheus')")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=scrape(live),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the gate finds drift both ways ---------------------------------------------------------


def exposition(text_edit: str = "") -> str:
    registry = ready_registry(parse_config(TWO_POOLS, "<t>"))
    metrics = PoolMetrics(registry, redactor=Redactor(environ={}))
    metrics.on_fact("alpha", DrainCounted(DrainReason.API_REQUEST))
    return metrics.render().decode() + text_edit


def test_oc_met_6001_gate_passes_an_exposition_file_without_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = gate_on_text(tmp_path, exposition(), capsys)
    assert status == 0, err


def test_oc_met_6001_gate_flags_an_uncontracted_metric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = "# HELP surprise_total x\n# TYPE surprise_total counter\nsurprise_total 1.0\n"
    status, err = gate_on_text(tmp_path, exposition(extra), capsys)
    assert status == 1
    assert "surprise_total: exported but not in the contract" in err


def test_oc_met_6001_gate_flags_a_contracted_metric_nothing_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "\n".join(
        line for line in exposition().splitlines() if "host_ram_used_bytes" not in line
    )
    status, err = gate_on_text(tmp_path, text + "\n", capsys)
    assert status == 1
    assert "host_ram_used_bytes: in the contract but not exported" in err


def test_oc_met_6001_gate_flags_a_changed_label_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = exposition().replace('pool_ready{pool_id="alpha"}', 'pool_ready{pool="alpha"}')
    status, err = gate_on_text(tmp_path, text, capsys)
    assert status == 1
    assert "pool_ready: label set" in err


def test_oc_met_6001_gate_flags_a_changed_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = exposition().replace("# TYPE active_leases gauge", "# TYPE active_leases untyped")
    status, err = gate_on_text(tmp_path, text, capsys)
    assert status == 1
    assert "active_leases: type unknown, the contract says gauge" in err


def test_oc_met_6002_gate_flags_a_label_over_its_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = "".join(f'drain_events_total{{pool_id="alpha",reason="r{i}"}} 1.0\n' for i in range(17))
    text = exposition().replace("# HELP restarts_total", extra + "# HELP restarts_total")
    status, err = gate_on_text(tmp_path, text, capsys)
    assert status == 1
    assert "drain_events_total: label reason has 18 distinct values, budget 16" in err


def test_oc_met_6001_contract_file_lists_exactly_the_code_catalogue() -> None:
    doc = yaml.safe_load(CONTRACT.read_text())
    listed = {(m["name"], m["type"], tuple(m["labels"])) for m in doc["metrics"]}
    assert listed == {(s.name, s.type.value, s.labels) for s in CATALOGUE}


def test_oc_met_6002_contract_budgets_match_the_runtime_budgets() -> None:
    doc = yaml.safe_load(CONTRACT.read_text())
    assert doc["label_budgets"] == dict(LABEL_BUDGETS)
    inherited = {
        "engine": 4,
        "engine_version": 64,
        "pool_id": 256,
        "replica_id": 1024,
        "priority": 8,
        "reason": 16,
        "tenant": 256,
        "result": 4,
        "state": 8,
        "mode": 4,
        "model_id": 1024,
    }
    assert inherited.items() <= doc["label_budgets"].items()


# --- budgets at runtime ---------------------------------------------------------------------

THREE_POOLS = (
    TWO_POOLS
    + '  - {id: gamma, engine: stub, model: "stub://g", devices: [], cpu: true, slots: 2}\n'
)


def test_oc_pool_3061_pool_ids_past_the_budget_fold_into_overflow() -> None:
    registry = ready_registry(parse_config(THREE_POOLS, "<t>"))
    metrics = PoolMetrics(registry, redactor=Redactor(environ={}), budgets={"pool_id": 2})
    text = metrics.render().decode()
    ready = {
        dict(labels)["pool_id"]: v
        for (name, labels), v in samples(text).items()
        if name == "pool_ready"
    }
    assert ready == {"alpha": 1.0, "beta": 1.0, OVERFLOW: 1.0}
    overflow = value(text, "label_overflow_total", metric="pool_ready", label="pool_id")
    assert overflow == 1.0


def test_oc_pool_3061_a_folded_value_is_counted_once_across_scrapes() -> None:
    registry = ready_registry(parse_config(THREE_POOLS, "<t>"))
    metrics = PoolMetrics(registry, redactor=Redactor(environ={}), budgets={"pool_id": 2})
    metrics.render()
    metrics.render()
    text = metrics.render().decode()
    assert value(text, "label_overflow_total", metric="pool_ready", label="pool_id") == 1.0


def test_oc_pool_3061_counter_labels_past_the_budget_fold_and_are_counted() -> None:
    registry = ready_registry(parse_config(TWO_POOLS, "<t>"))
    metrics = PoolMetrics(registry, redactor=Redactor(environ={}), budgets={"reason": 2})
    for reason in ("api_request", "reload", "shutdown", "driver_error", "shutdown"):
        metrics.on_fact("alpha", DrainCounted(DrainReason(reason)))
    text = metrics.render().decode()
    assert value(text, "drain_events_total", pool_id="alpha", reason="api_request") == 1.0
    assert value(text, "drain_events_total", pool_id="alpha", reason=OVERFLOW) == 3.0
    overflow = value(text, "label_overflow_total", metric="drain_events_total", label="reason")
    assert overflow == 2.0  # shutdown and driver_error: two distinct values folded


def test_oc_pool_3030_driver_resets_are_counted_from_facts() -> None:
    registry = ready_registry(parse_config(TWO_POOLS, "<t>"))
    metrics = PoolMetrics(registry, redactor=Redactor(environ={}))
    metrics.on_fact("beta", DriverResetCounted(Cause.DRIVER_ERROR))
    text = metrics.render().decode()
    assert value(text, "driver_resets_total", pool_id="beta") == 1.0
    assert metrics.pool_counters("beta")["driver_resets_total"] == {"": 1}


def test_oc_pool_3030_vram_gauges_come_from_the_inventory() -> None:
    registry = ready_registry(parse_config(TWO_POOLS, "<t>"))
    inventory = GpuInventory((GpuDevice(1, "H100", 80 * 2**30, 60 * 2**30),))
    metrics = PoolMetrics(registry, inventory=lambda: inventory, redactor=Redactor(environ={}))
    text = metrics.render().decode()
    assert value(text, "vram_total_bytes", device="1") == float(80 * 2**30)
    assert value(text, "vram_used_bytes", device="1") == float(20 * 2**30)


def test_oc_ctl_4007_metric_label_values_are_redacted() -> None:
    config = parse_config(TWO_POOLS, "<t>")
    registry = build_registry(config, ManualClock(0), random.Random(1))
    registry.dispatch("alpha", StartRequested())
    registry.dispatch("alpha", EngineStarted(pid=1))
    registry.dispatch("alpha", PreloadSucceeded("b1 https://bob:hunter2pw@mirror/x", None, 2))
    metrics = PoolMetrics(registry, redactor=Redactor(["s3cr3t-value"], environ={}))
    text = metrics.render().decode()
    assert "hunter2pw" not in text
    assert "https://***@mirror/x" in text


def test_oc_pool_3030_preload_outcome_counted_once_per_preload() -> None:
    config = parse_config(TWO_POOLS, "<t>")
    registry = build_registry(config, ManualClock(0), random.Random(1))
    metrics = PoolMetrics(registry, redactor=Redactor(environ={}))
    registry.dispatch("alpha", StartRequested())
    registry.dispatch("alpha", EngineStarted(pid=1))
    registry.dispatch("alpha", PreloadSucceeded("v1", None, 2))
    registry.dispatch("alpha", PreloadSucceeded("v1", None, 2))  # ignored by the machine
    assert metrics.pool_counters("alpha")["preload_outcomes_total"] == {"success": 1}


def test_oc_pool_3030_counters_follow_the_facts_the_registry_tells() -> None:
    config = parse_config(TWO_POOLS, "<t>")
    clock = ManualClock(0)
    registry = build_registry(config, clock, random.Random(1))
    metrics = PoolMetrics(registry, redactor=Redactor(environ={}))
    registry.dispatch("alpha", StartRequested())
    registry.dispatch("alpha", EngineStarted(pid=1))
    registry.dispatch("alpha", PreloadFailed(Cause.MODEL_LOAD_FAILED, "bad file"))
    clock.advance(registry.machine("alpha").retry_after_ms() or 0)
    registry.tick()
    registry.dispatch("alpha", EngineStarted(pid=2))
    registry.dispatch("alpha", PreloadSucceeded("v1", None, 2))
    registry.dispatch("alpha", EngineExited(Cause.ENGINE_EXITED, "exit 1"))
    counters = metrics.pool_counters("alpha")
    assert counters["preload_outcomes_total"] == {"failure": 1, "success": 1}
    assert counters["restarts_total"] == {"model_load_failed": 1}
    assert "drain_events_total" not in counters
    metrics.on_fact("alpha", Restarted(Cause.ENGINE_EXITED))
    assert metrics.pool_counters("alpha")["restarts_total"] == {
        "model_load_failed": 1,
        "engine_exited": 1,
    }
