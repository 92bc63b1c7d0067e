"""The exit-detection benchmark (bench/bench_exit.py) still runs and reports its figures.

A smoke test, so the script cannot rot: ``--quick`` runs every part (the bare pidfd waiter, the
manager on the pidfd path, the manager on the old thread-per-child path) at a tiny size into a
temporary file. It asserts the report's shape and the facts that hold at any speed (every kill
measured, the ratios computed from their figures, no thread per child on the pidfd path and
one per child on the old one); never a time.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from poolmgr.runtime.pidfd import pidfd_usable
from tests.unit.bench_runs import run_bench

QUICK_POOLS = 3

pytestmark = [
    pytest.mark.skipif(not pidfd_usable(), reason="this kernel has no pidfd_open"),
    pytest.mark.skipif(sys.version_info >= (3, 12), reason="the old path is Python 3.11's"),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_bench(tmp_path_factory, "bench_exit.py", "--quick")


def test_the_report_names_its_command_and_machine(report: dict[str, Any]) -> None:
    assert report["command"] == "python bench/bench_exit.py --quick"
    assert report["machine"]["cpus"] >= 1
    assert set(report) >= {"pidfd", "thread_watcher", "seconds"}


def test_every_kill_is_measured_against_the_bare_waiters(report: dict[str, Any]) -> None:
    for name in ("pidfd", "thread_watcher"):
        part = report[name]
        fig, own, bare = (
            part["kill_to_not_ready"],
            part["bare_waiter_on_the_engine"],
            part["bare_pidfd_waiter"],
        )
        assert part["pools"] == fig["n"] == own["n"] == bare["n"] == QUICK_POOLS
        assert 0 < bare["p50_ms"] <= bare["p99_ms"] <= bare["max_ms"]
        assert 0 < fig["p50_ms"] <= fig["p99_ms"] <= fig["max_ms"]
        assert part["ratio_p50_to_bare"] == pytest.approx(fig["p50_ms"] / bare["p50_ms"], rel=0.01)
        assert part["ratio_p99_to_engine_end"] == pytest.approx(
            fig["p99_ms"] / own["p99_ms"], rel=0.01
        )
        assert set(part["hops_p50_ms"]) == {
            "engine_end",
            "engine_end_to_not_ready",
            "engine_end_to_reaper_end",
        }


def test_only_the_old_path_keeps_a_thread_per_child(report: dict[str, Any]) -> None:
    new = report["pidfd"]["threads_with_pools_ready"]["python_threads_by_name"]
    old = report["thread_watcher"]["threads_with_pools_ready"]["python_threads_by_name"]
    assert new.get("asyncio-waitpid", 0) == 0
    assert old.get("asyncio-waitpid", 0) >= QUICK_POOLS
