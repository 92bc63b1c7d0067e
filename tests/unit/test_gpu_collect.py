"""``bench/gpu/collect.py``: gpu.json says what the run did, and fails a run whose step failed.

Built from hand-written work folders (behave's JSON, pytest's JUnit XML, the build record, the
models' manifest, the figures), with the NVML view replaced where a test needs a device. The
real form needs a named device, a built binary, every scenario and test passed and every
figure measured; the ``--check`` form needs everything skipped with a reason and no figure
(OC-GPU-9509, OC-GPU-9510).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from poolmgr.core.gpu_truth import GpuReading, GpuView

ROOT = Path(__file__).resolve().parents[2]
REASON = "needs a GPU: NVML (nvidia-ml-py and an NVIDIA driver) is not available here"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_collect", ROOT / "bench/gpu/collect.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_collect"] = module
    spec.loader.exec_module(module)
    return module


collect = _load()


def _behave(status: str, reason: str | None) -> list[dict[str, Any]]:
    element: dict[str, Any] = {"type": "scenario", "name": "s", "location": "f/x.feature:3"}
    element.update({"status": status, "tags": ["OC-GPU-9504"], "skip_reason": reason})
    return [{"tags": ["gpu", "process"], "elements": [element]}]


def _junit(status: str, reason: str) -> str:
    inner = {"skipped": f'<skipped message="{reason}"/>', "failed": "<failure/>", "passed": ""}
    cases = [
        ("tests.gpu.test_memory_model", inner[status]),
        ("tests.bdd.test_features", inner[status]),
    ]
    body = "".join(f'<testcase classname="{c}" name="t">{x}</testcase>' for c, x in cases)
    return f"<testsuites><testsuite>{body}</testsuite></testsuites>"


def _work(tmp_path: Path, *, status: str, reason: str | None, real: bool) -> Path:
    work = tmp_path / "work"
    (work / "models").mkdir(parents=True)
    shape = {"weights_bytes": 1, "n_layers": 1, "kv_bytes_per_token": 1, "train_ctx": 1}
    models = {
        name: {"path": f"/m/{name}.gguf", **shape} for name in ("tiny", "rand-512m", "rand-2g")
    }
    (work / "models" / "manifest.json").write_text(json.dumps({"models": models, "seconds": 1.5}))
    build = {"skipped": False, "reason": None, "seconds": 354, "binary": "/b/llama-server"}
    if not real:
        build = {"skipped": True, "reason": "--check", "seconds": None, "binary": None}
    (work / "build.json").write_text(json.dumps(build))
    (work / "behave-gpu.json").write_text(json.dumps(_behave(status, reason)))
    (work / "pytest-gpu.xml").write_text(_junit(status, reason or ""))
    if real:
        figures = ["tiny_ready_s", "restart_to_ready_s", "tiny_ready_beside_hog_s"]
        rows = [{"figure": f, "value": 1.25, "unit": "s", "how": "x"} for f in figures]
        (work / "figures.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        sizes = [{"error_pct": -12.5}, {"error_pct": 4.0}]
        (work / "memory_model.json").write_text(json.dumps({"sizes": sizes}))
    return work


@pytest.fixture
def one_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    gpu = GpuReading(0, "NVIDIA H200", "GPU-1", 150_000_000_000, 149_000_000_000, {})
    view = GpuView((gpu,), driver_version="580.159.04", cuda_version="13.0", simulated=False)
    monkeypatch.setattr(collect, "read_view", lambda: view)


@pytest.mark.usefixtures("one_gpu")
def test_a_real_run_that_passed_everything_reports_the_device_and_each_figure(
    tmp_path: Path,
) -> None:
    work = _work(tmp_path, status="passed", reason=None, real=True)
    report = collect.build_report(work, check=False, command="run.sh OUT")
    assert collect.problems_of(report) == []
    assert report["device"]["name"] == "NVIDIA H200"
    assert (report["device"]["driver_version"], report["device"]["cuda_version"]) == (
        "580.159.04",
        "13.0",
    )
    figures = {name: f["value"] for name, f in report["figures"].items()}
    assert figures["build_s"] == 354.0
    assert figures["restart_to_ready_s"] == 1.25
    assert figures["memory_model_worst_error_pct"] == 12.5


@pytest.mark.usefixtures("one_gpu")
def test_a_real_run_with_a_failed_scenario_or_a_missing_figure_is_refused(tmp_path: Path) -> None:
    work = _work(tmp_path, status="failed", reason=None, real=True)
    (work / "figures.jsonl").unlink()
    report = collect.build_report(work, check=False, command="run.sh OUT")
    problems = collect.problems_of(report)
    assert any(p.startswith("scenarios: 0 passed, 1 failed") for p in problems), problems
    assert any(p.startswith("tests: 0 passed, 1 failed") for p in problems), problems
    assert any("not measured" in p and "restart_to_ready_s" in p for p in problems), problems


def test_a_real_run_without_a_gpu_names_the_missing_device(tmp_path: Path) -> None:
    work = _work(tmp_path, status="passed", reason=None, real=True)
    report = collect.build_report(work, check=False, command="run.sh OUT")
    assert report["device"] is None
    assert any(p.startswith("device: no GPU") for p in collect.problems_of(report))


def test_the_check_form_passes_when_everything_is_skipped_with_the_reason(tmp_path: Path) -> None:
    work = _work(tmp_path, status="skipped", reason=REASON, real=False)
    report = collect.build_report(work, check=True, command="run.sh --check OUT")
    assert collect.problems_of(report) == []
    assert {f["value"] for f in report["figures"].values()} == {None}
    assert report["figures_reason"]
    assert report["scenarios"]["skip_reasons"] == [REASON]


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        ("passed", None, "@gpu scenarios: 1 passed, 0 failed without a GPU"),
        ("skipped", "", "skipped with no reason"),
    ],
)
def test_the_check_form_refuses_a_pass_or_a_skip_without_reason(
    tmp_path: Path, status: str, reason: str | None, expected: str
) -> None:
    work = _work(tmp_path, status=status, reason=reason, real=False)
    report = collect.build_report(work, check=True, command="run.sh --check OUT")
    problems = collect.problems_of(report)
    assert any(expected in p for p in problems), problems


def test_the_check_form_refuses_a_run_whose_models_were_not_written(tmp_path: Path) -> None:
    work = _work(tmp_path, status="skipped", reason=REASON, real=False)
    (work / "models" / "manifest.json").unlink()
    report = collect.build_report(work, check=True, command="run.sh --check OUT")
    assert "models: tiny, rand-512m and rand-2g were not all written" in collect.problems_of(report)


def test_a_report_that_breaks_the_schema_is_refused_with_the_place(tmp_path: Path) -> None:
    work = _work(tmp_path, status="skipped", reason=REASON, real=False)
    report = collect.build_report(work, check=True, command="run.sh --check OUT")
    report["tests"]["passed"] = -1
    problems = collect.problems_of(report)
    assert len(problems) == 1 and "at tests/passed" in problems[0], problems
