"""The scale benchmark (bench/bench_scale.py) still runs and reports its figures.

A smoke test, so the script cannot rot: ``--quick`` runs every part (two ``poolmgr serve``
managers of test-engine pools in child processes, health under scrapes, the in-process pause
measurement) at a tiny size into a temporary file. It asserts the report's shape and the facts
that hold at any speed (every pool became Ready, both managers stopped cleanly, the scraper
scraped, the ratios are computed from their figures); never a time.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.bench_runs import run_bench


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_bench(tmp_path_factory, "bench_scale.py", "--quick")


def test_the_report_names_its_command_and_machine(report: dict[str, Any]) -> None:
    assert report["command"] == "python bench/bench_scale.py --quick"
    assert report["machine"]["cpus"] >= 1
    assert set(report) >= {"live", "memory_per_pool", "in_process", "seconds"}


def test_both_managers_served_every_pool_and_stopped_cleanly(report: dict[str, Any]) -> None:
    live = report["live"]
    assert (live["baseline"]["pools"], live["scale"]["pools"]) == (5, 20)
    for manager in (live["baseline"], live["scale"]):
        assert manager["serve_exit"] == 0
        assert manager["scraper_exit"] == 0
        assert manager["startup_to_all_ready_s"] > 0
        assert manager["health_idle"]["samples"] == manager["health_during_scrapes"]["samples"]
        assert manager["metrics_bytes"] > 0 and manager["listing_bytes"] > 0
    # every pool's series are in the scrape: more pools, more text
    assert live["scale"]["metrics_bytes"] > live["baseline"]["metrics_bytes"]
    assert live["scale"]["listing_bytes"] > live["baseline"]["listing_bytes"]


def test_ratios_are_computed_from_their_figures(report: dict[str, Any]) -> None:
    scale = report["live"]["scale"]
    idle, busy = scale["health_idle"]["p99_ms"], scale["health_during_scrapes"]["p99_ms"]
    assert scale["health_p99_during_scrapes_over_idle"] == round(busy / idle, 3)
    memory = report["memory_per_pool"]
    rss = scale["memory"]["rss_mib"] - report["live"]["baseline"]["memory"]["rss_mib"]
    assert memory["rss_mib_per_pool"] == round(rss / 15, 4)
    assert memory["between_pools"] == [5, 20]
    ip = report["in_process"]
    assert ip["pools"] == 20
    expected = ip["metrics_stepped_longest_pause_ms"] / ip["metrics_one_go_pause_ms"]
    assert ip["metrics_stepped_pause_over_one_go"] == round(expected, 3)
