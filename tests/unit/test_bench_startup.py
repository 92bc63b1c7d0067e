"""The start-up benchmark (bench/bench_startup.py) still runs and reports its figures.

A smoke test, so the script cannot rot: ``--quick`` runs a real ``poolmgr serve`` with 1 and 5
stub pools (started 2 at a time) into a temporary file. It asserts the report's shape and the
facts that hold at any speed (OC-PERF-9107: the first answer comes before readiness and
``/readyz`` then says 503 or 200; OC-PERF-9108: never more pools starting at once than
``start_concurrency``; every pool started; clean exits; ratios computed from their figures);
never a time.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.bench_runs import run_bench


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_bench(tmp_path_factory, "bench_startup.py", "--quick")


def test_the_report_names_its_command_machine_and_baselines(report: dict[str, Any]) -> None:
    assert report["command"] == "python bench/bench_startup.py --quick"
    assert report["machine"]["cpus"] >= 1
    assert report["baseline_import_uvicorn_fastapi_s"] > 0
    assert report["import_poolmgr_serve_s"] > 0
    assert report["goal_first_answer_s"] == 1.5


def test_every_run_answered_first_then_became_ready_and_stopped_cleanly(
    report: dict[str, Any],
) -> None:
    parts = [report["one_pool"], report["many_pools"], report["many_pools_unthrottled"]]
    assert [p["pools"] for p in parts] == [1, 5, 5]
    for part in parts:
        for run in part["runs"]:
            assert 0 < run["first_answer_s"] <= run["ready_s"]
            assert run["readyz_status_just_after_first_answer"] in (200, 503)
            assert run["pools_started"] == part["pools"]
            assert run["exit_code"] == 0


def test_never_more_pools_starting_than_the_start_concurrency(report: dict[str, Any]) -> None:
    many, free = report["many_pools"], report["many_pools_unthrottled"]
    assert many["start_concurrency"] == 2 and free["start_concurrency"] == 256
    assert 1 <= many["most_starting_at_once"] <= 2
    assert 1 <= free["most_starting_at_once"] <= 5


def test_ratios_are_computed_from_their_figures(report: dict[str, Any]) -> None:
    r, many = report["ratios"], report["many_pools"]
    base = report["baseline_import_uvicorn_fastapi_s"]
    assert r["first_answer_to_bare_import"] == pytest.approx(
        many["first_answer_s"] / base, abs=0.01
    )
    one = report["one_pool"]["first_answer_s"]
    assert r["first_answer_to_one_pool"] == pytest.approx(many["first_answer_s"] / one, abs=0.01)
    free = report["many_pools_unthrottled"]
    assert r["ready_to_unthrottled"] == pytest.approx(many["ready_s"] / free["ready_s"], abs=0.01)
    expected = many["first_answer_s"] / free["first_answer_s"]
    assert r["first_answer_to_unthrottled"] == pytest.approx(expected, abs=0.01)
