"""The idle benchmark (bench/bench_idle.py) still runs and reports its figures.

A smoke test, so the script cannot rot: ``--quick`` runs a real ``poolmgr serve`` with 2 and
then 4 stub pools, the raw asyncio prober beside it, and the in-process tick timing, into a
temporary file. It asserts the report's shape and the facts that hold at any speed (every pool
Ready throughout, no socket in CLOSE_WAIT, ratios computed from their figures); never a time.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.bench_runs import run_bench


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_bench(tmp_path_factory, "bench_idle.py", "--quick")


def test_the_report_names_its_command_and_machine(report: dict[str, Any]) -> None:
    assert report["command"] == "python bench/bench_idle.py --quick"
    assert report["machine"]["cpus"] >= 1
    assert set(report) >= {"sizes", "tick", "request", "threads_per_added_pool", "goal", "seconds"}


def test_every_pool_is_ready_and_probed_while_measured(report: dict[str, Any]) -> None:
    assert [size["pools"] for size in report["sizes"]] == [2, 4]
    for size in report["sizes"]:
        assert size["pools_ready_after"] == size["pools"]
        assert size["raw_prober"]["probes"] >= size["pools"]  # each engine answered it
        assert size["manager"]["cpu_pct_of_core"] >= 0


def test_the_manager_holds_no_connection_in_close_wait(report: dict[str, Any]) -> None:
    for size in report["sizes"]:
        manager = size["manager"]
        assert manager["close_wait"] == 0
        assert manager["tcp_sockets_to_engines"] <= 2 * size["pools"]


def test_ratios_are_computed_from_their_figures(report: dict[str, Any]) -> None:
    for size in report["sizes"]:
        raw = size["raw_prober"]["cpu_pct_of_core"]
        if raw > 0:
            expected = size["manager"]["cpu_pct_of_core"] / raw
            assert size["ratio_to_raw_prober"] == pytest.approx(expected, rel=0.01, abs=0.01)
        else:
            assert size["ratio_to_raw_prober"] is None
    small, large = report["sizes"]
    growth = (large["manager"]["threads"] - small["manager"]["threads"]) / 2
    assert report["threads_per_added_pool"] == pytest.approx(growth, abs=0.001)


def test_the_tick_is_timed_at_each_pool_count(report: dict[str, Any]) -> None:
    assert [tick["pools"] for tick in report["tick"]] == [2, 4]
    for tick in report["tick"]:
        assert tick["us_per_tick"] > 0 and tick["interval_ms"] == 20
        expected = tick["us_per_tick"] / 1e6 / 0.02 * 100
        assert tick["cpu_pct_of_core"] == pytest.approx(expected, rel=0.02)


def test_one_probe_is_costed_against_a_raw_stream(report: dict[str, Any]) -> None:
    request = report["request"]
    assert request["requests"] == 30
    manager, raw = request["manager_us_cpu_per_probe"], request["raw_stream_us_cpu_per_probe"]
    assert manager > 0 and raw > 0
    assert request["ratio_to_raw_stream"] == pytest.approx(manager / raw, rel=0.01, abs=0.01)
