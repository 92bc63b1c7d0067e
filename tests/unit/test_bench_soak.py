"""The chaos soak (bench/soak.py) still runs, injects its faults and finds nothing wrong.

A smoke test, so the script cannot rot: 8 s of faults on 4 stub pools with 5 lease clients,
into a temporary file. It asserts the report's shape and the facts that hold at any speed:
zero violations, faults injected, the clients' leases all accounted for by the manager
(granted = returned + voided + expired), both memory samples taken; never a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--seconds", "8", "--pools", "4", "--clients", "5"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "soak.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), *ARGS, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| Figure | Value | Baseline (same run) |" in done.stdout
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


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
