"""The chaos soak (bench/soak.py) still runs, injects its faults and finds nothing wrong.

A smoke test, so the script cannot rot: 8 s of faults on 4 stub pools with 5 lease clients,
into a temporary file. It asserts the report's shape and the facts that hold at any speed:
zero violations, faults injected, the clients' leases all accounted for by the manager
(granted = returned + voided + expired), both memory samples taken; never a time. Then the
checks themselves, on made-up observations: each one flags what a wrong manager would show.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.unit.bench_runs import run_bench

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--seconds", "8", "--pools", "4", "--clients", "5"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_bench(tmp_path_factory, "soak.py", *ARGS)


def test_the_soak_finds_no_violation(report: dict[str, Any]) -> None:
    assert report["figures"]["violations"] == []


def test_the_report_names_its_command_machine_and_settings(report: dict[str, Any]) -> None:
    assert report["command"].startswith("python bench/soak.py " + " ".join(ARGS) + " --out ")
    assert report["machine"]["cpus"] >= 1
    settings = report["settings"]
    assert (settings["seconds"], settings["pools"], settings["clients"]) == (8.0, 4, 5)


def test_faults_were_injected(report: dict[str, Any]) -> None:
    faults = report["figures"]["faults"]
    assert set(faults) == {"kill9", "sigstop", "cuda_error", "reload_corrupt", "drain"}
    assert sum(faults.values()) >= 2  # one every 2 s over 8 s, some may be refused (409)


def test_every_lease_is_accounted_for(report: dict[str, Any]) -> None:
    leases = report["figures"]["leases"]
    assert leases["granted"] > 0
    assert leases["granted"] == leases["returned"] + leases["voided"] + leases["expired"]
    assert leases["expired"] == 0  # held far below their TTL


def test_the_manager_was_sampled_before_faults_after_warm_up_and_at_the_end(
    report: dict[str, Any],
) -> None:
    manager = report["figures"]["manager"]
    assert list(manager) == ["baseline", "first", "last"]
    for sample in manager.values():
        assert sample["rss_bytes"] > 0 and sample["fds"] > 0
    assert manager["baseline"]["at_s"] < manager["first"]["at_s"] < manager["last"]["at_s"]
    ratios = report["figures"]["ratios"]
    assert ratios["rss_last_over_first"] == round(
        manager["last"]["rss_bytes"] / manager["first"]["rss_bytes"], 3
    )
    assert report["figures"]["log"]["unhandled_exceptions"] == 0


# --- the checks themselves, on made-up observations (no manager): wrong answers are caught


def _soak_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_soak", ROOT / "bench" / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_soak"] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


SOAK = _soak_module()


@pytest.fixture
def soak() -> Any:
    args = argparse.Namespace(pools=2, clients=1, seed=1)
    made = SOAK.Soak(args, Path("/nonexistent"), random.Random(1))
    made.ps = psutil.Process()  # this test process: no engine below it
    made.books = {pool: SOAK.PoolBook() for pool in made.pools}
    made.t0 = time.monotonic() - 100.0
    return made


def _entry(pool: str, *, ready: bool) -> dict[str, Any]:
    return {"id": pool, "ready": ready, "slots_free": 2, "slots_total": 2}


def test_a_pool_ready_without_an_engine_past_the_window_is_a_violation(soak: Any) -> None:
    now = soak.now()
    soak.bad_since["soak-00"] = now - SOAK.DETECTION_WINDOW_MS / 1000 - 0.5
    soak.bad_since["soak-01"] = now - SOAK.DETECTION_WINDOW_MS / 1000 - 0.5
    SOAK.check_ready(soak, [_entry("soak-00", ready=True), _entry("soak-01", ready=False)], now)
    assert [(v["kind"], v["pool"]) for v in soak.violations] == [
        ("ready_without_live_engine", "soak-00")
    ]


def test_a_pool_ready_without_an_engine_within_the_window_is_not_yet_one(soak: Any) -> None:
    now = soak.now()
    soak.bad_since["soak-00"] = now - SOAK.DETECTION_WINDOW_MS / 1000 + 0.5
    SOAK.check_ready(soak, [_entry("soak-00", ready=True)], now)
    assert soak.violations == []


def test_ready_long_after_its_engine_was_killed_is_a_violation_counted_from_the_kill(
    soak: Any,
) -> None:
    now = soak.now()
    window_s = SOAK.DETECTION_WINDOW_MS / 1000
    soak.healthy_at["soak-00"] = soak.healthy_at["soak-01"] = now - 3 * window_s
    soak.ended_at["soak-00"] = now - 2 * window_s  # killed after it was last seen healthy
    soak.ended_at["soak-01"] = now - 4 * window_s  # an old kill: a new engine was seen since
    listing = [_entry("soak-00", ready=True), _entry("soak-01", ready=True)]
    SOAK.check_ready(soak, listing, now)
    assert [(v["kind"], v["pool"]) for v in soak.violations] == [
        ("ready_without_live_engine", "soak-00")
    ]


def test_more_active_leases_than_clients_hold_is_a_violation(soak: Any) -> None:
    health = {"slots_total": 2, "leases": {"active": 2, "returned": 0, "expired": 0, "voided": 0}}
    health["restarts"] = {"count": 0}
    SOAK.check_health(soak, "soak-00", health, bound=1)
    assert [v["kind"] for v in soak.violations] == ["lease_count_impossible"]


def test_a_counter_that_goes_down_is_a_violation(soak: Any) -> None:
    leases = {"active": 0, "returned": 5, "expired": 0, "voided": 0}
    SOAK.check_health(
        soak, "soak-00", {"slots_total": 2, "leases": leases, "restarts": {"count": 3}}, 2
    )
    leases = {"active": 0, "returned": 5, "expired": 0, "voided": 0}
    SOAK.check_health(
        soak, "soak-00", {"slots_total": 2, "leases": leases, "restarts": {"count": 2}}, 2
    )
    assert [(v["kind"], v["counter"]) for v in soak.violations] == [
        ("counter_went_down", "restarts")
    ]


def test_more_restarts_in_a_breaker_window_than_its_threshold_is_a_violation(soak: Any) -> None:
    limit = SOAK.BREAKER["failure_threshold"]
    soak.restarts["soak-00"] = [(1.0, 0), (5.0, limit)]  # at the bound: fine
    soak.restarts["soak-01"] = [(1.0, 0), (5.0, limit + 1)]
    assert SOAK.check_breaker(soak) == limit + 1
    assert [(v["kind"], v["pool"]) for v in soak.violations] == [("breaker_bound", "soak-01")]


def _answer(status: int, text: str) -> httpx.Response:
    return httpx.Response(status, text=text)


def test_a_lease_voided_with_no_fault_on_its_pool_is_a_violation(soak: Any) -> None:
    voided = _answer(409, "cannot return lease 'x' of pool 'soak-00': it was already voided")
    soak.fault_log["soak-01"].append(soak.now())  # a fault elsewhere explains nothing
    SOAK.ended(soak, "soak-00", "x", soak.now() - 1.0, voided)
    soak.fault_log["soak-00"].append(soak.now())
    SOAK.ended(soak, "soak-00", "y", soak.now() - 1.0, voided)
    assert [(v["kind"], v["lease"]) for v in soak.violations] == [
        ("lease_voided_without_fault", "x")
    ]
    assert soak.books["soak-00"].ended["voided"] == 2


def test_a_lease_the_manager_no_longer_knows_is_lost(soak: Any) -> None:
    SOAK.ended(soak, "soak-00", "x", soak.now(), _answer(404, "pool 'soak-00' has no lease 'x'"))
    assert [v["kind"] for v in soak.violations] == ["lease_lost"]
