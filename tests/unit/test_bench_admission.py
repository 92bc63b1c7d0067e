"""The admission benchmark (bench/bench_admission.py) still runs and reports its figures.

A smoke test, so the script cannot rot: ``--quick`` runs every part (in-process, share error,
HTTP with a real server in a child process) at a tiny size into a temporary file. It asserts
the report's shape and the facts that hold at any speed (every request answered, shares within
the SFQ bound, ratios computed from their figures); never a time.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.bench_runs import run_bench


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_bench(tmp_path_factory, "bench_admission.py", "--quick")


def test_the_report_names_its_command_and_machine(report: dict[str, Any]) -> None:
    assert report["command"] == "python bench/bench_admission.py --quick"
    assert report["machine"]["cpus"] >= 1
    assert set(report) >= {"in_process", "share_error", "http", "keepalive_probe", "seconds"}


def test_in_process_figures_come_with_their_baselines(report: dict[str, Any]) -> None:
    ip = report["in_process"]
    assert ip["baseline_immediate_per_s"] > 0 and ip["baseline_lease_table_per_s"] > 0
    for part in ("short_queue", "deep_queue"):
        fig = ip[part]
        assert fig["decisions_per_s"] > 0
        expected = fig["decisions_per_s"] / ip["baseline_immediate_per_s"]
        assert fig["ratio_to_immediate"] == pytest.approx(expected, rel=0.01)
    assert ip["deep_queue"]["waiting"] > ip["short_queue"]["waiting"] == 32
    for part in ("queue_short", "queue_deep"):
        assert ip[part]["push_pick_per_s"] > 0 and ip[part]["baseline_deque_per_s"] > 0


def test_backlogged_shares_stay_within_the_sfq_bound(report: dict[str, Any]) -> None:
    parts = report["share_error"]
    assert [p["weights"] for p in parts] == [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4]]
    for part in parts:
        assert [w["window"] for w in part["windows"]] == [100, 1000]
        for window in part["windows"]:
            assert window["windows"] > 0
            assert window["windows_breaking_sfq_bound"] == 0
            # OC-ADM-9009's note: within about two admissions of N * w / W.
            assert window["max_abs_error_admissions"] <= 2
        gauge = part["ewma_gauge_at_end"]
        assert sum(gauge["shares"].values()) == pytest.approx(1.0, abs=1e-3)


def test_every_http_request_was_answered(report: dict[str, Any]) -> None:
    http = report["http"]
    assert http["clients"] == 40
    assert http["error_count"] == 0 and http["errors"] == []
    # Every grant was followed by its return, and at least every client was admitted once.
    assert http["statuses"] == {"201": http["admissions"], "204": http["admissions"]}
    assert http["admissions"] >= 120
    assert http["admissions_per_s"] > 0 and http["baseline_immediate_round_trips_per_s"] > 0
    assert set(http["wait_p50_s_by_tenant"]) == {f"w{i}" for i in range(1, 9)}
    assert http["wait_p50_s"] <= http["wait_p99_s"] <= http["wait_max_s"]
    assert set(http["admission_share_gauge_at_target"]["shares"]) == {f"w{i}" for i in range(1, 9)}
    assert set(http["server_loop_lag_s"]) == {"p99", "max", "max_at_s"}


def test_the_keepalive_probe_measures_both_binds(report: dict[str, Any]) -> None:
    probe = report["keepalive_probe"]
    assert probe["serve_bind_ms"] > 0 and probe["nodelay_bind_ms"] > 0
