"""The control-plane benchmark (bench/bench_http.py) still runs and reports its figures.

A smoke test, so the script cannot rot: ``--quick`` runs every server (the control plane, the
same with logging at WARNING, a bare ASGI app, a one-route FastAPI app, the control plane on
the socket bound before #12) at a tiny size into a temporary file. It asserts the report's
shape and ratios computed from their own figures; never a time.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.bench_runs import run_bench


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_bench(tmp_path_factory, "bench_http.py", "--quick")


def test_the_report_names_its_command_and_machine(report: dict[str, Any]) -> None:
    assert report["command"] == "python bench/bench_http.py --quick"
    assert report["machine"]["cpus"] >= 1
    assert set(report) >= {"keepalive", "handlers", "rounds", "requests_per_figure"}


def test_kept_alive_latency_is_measured_on_both_binds_with_its_baseline(
    report: dict[str, Any],
) -> None:
    assert set(report["keepalive"]) == {"app", "app-old-bind"}
    for figures in report["keepalive"].values():
        kept, fresh = figures["kept_alive_p50_ms"], figures["fresh_connection_p50_ms"]
        assert kept > 0 and fresh > 0
        assert figures["ratio_kept_to_fresh"] == pytest.approx(kept / fresh, rel=0.01)


def test_every_handler_figure_comes_with_the_bare_and_framework_baselines(
    report: dict[str, Any],
) -> None:
    assert set(report["handlers"]) == {"healthz", "pool_health", "lease_cycle"}
    for h in report["handlers"].values():
        assert min(h["app_per_s"], h["app_quiet_per_s"], h["bare_asgi_per_s"]) > 0
        assert h["fastapi_hello_per_s"] > 0
        assert h["ratio_bare_to_app"] == pytest.approx(
            h["bare_asgi_per_s"] / h["app_per_s"], rel=0.01
        )
        assert h["ratio_hello_to_app"] == pytest.approx(
            h["fastapi_hello_per_s"] / h["app_per_s"], rel=0.01
        )
