"""Steps of the GPU check's no-GPU form: ``bench/gpu/run.sh --check`` run for real.

The scenarios run the script as a subprocess, with NVML hidden from it (a ``pynvml`` whose
``nvmlInit`` fails, first on ``PYTHONPATH``), so they hold on a machine with a GPU too, and read
what it wrote: its exit status, ``gpu.log`` and ``gpu.json``. Serves OC-GPU-9509 (the script
and its ``--check`` form, which exits 0 only when each step worked) and OC-GPU-9510 (behave and
pytest both report every GPU scenario and test as skipped with the reason).

Registered in the step table with :func:`harness.registry.step` (OC-BDD-7006); every Then-step
asserts (OC-BDD-7003).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import weakref
from pathlib import Path
from typing import Any

from harness.assertions import assert_equal
from harness.registry import step
from harness.steps.fields import names
from harness.world import PoolWorld

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 600.0
HIDDEN_NVML = '''"""A pynvml that cannot start: NVML hidden by a scenario (gpu_check)."""


def nvmlInit():
    raise OSError("NVML hidden by the scenario")
'''


def _folder(world: PoolWorld) -> Path:
    run = world.gpu.run
    if run.folder is None:
        run.folder = Path(tempfile.mkdtemp(prefix="poolmgr-gpu-check-"))
        weakref.finalize(world, shutil.rmtree, run.folder, True)
    return run.folder


def _report(world: PoolWorld) -> dict[str, Any]:
    path = _folder(world) / "out" / "gpu.json"
    assert path.is_file(), f"the GPU check wrote no gpu.json: {_log(world)[-2000:]}"
    report: dict[str, Any] = json.loads(path.read_text())
    return report


def _log(world: PoolWorld) -> str:
    path = _folder(world) / "out" / "gpu.log"
    return path.read_text() if path.is_file() else ""


@step("given", "NVML cannot start for the commands this scenario runs")
def given_nvml_hidden(world: PoolWorld) -> None:
    hidden = _folder(world) / "hidden-nvml"
    hidden.mkdir(exist_ok=True)
    (hidden / "pynvml.py").write_text(HIDDEN_NVML)
    world.gpu.run.env["PYTHONPATH"] = os.pathsep.join([str(hidden), str(ROOT)])


@step("given", "the work folder of the GPU check holds a file where the models go")
def given_models_blocked(world: PoolWorld) -> None:
    work = _folder(world) / "work"
    work.mkdir(exist_ok=True)
    (work / "models").write_text("not a folder\n")


@step("when", 'the GPU check runs with "{options}"')
def when_check_runs(world: PoolWorld, options: str) -> None:
    folder = _folder(world)
    args = ["bash", str(ROOT / "bench" / "gpu" / "run.sh"), *options.split()]
    args += ["--work", str(folder / "work"), str(folder / "out")]
    world.gpu.run.check = subprocess.run(
        args,
        cwd=ROOT,
        env={**os.environ, "PYTHON": sys.executable, **world.gpu.run.env},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


@step("then", "the GPU check exits with status {code:d}")
def then_check_exit(world: PoolWorld, code: int) -> None:
    done = world.gpu.run.check
    assert done is not None, "the GPU check did not run"
    assert_equal(done.returncode, code, f"exit status of run.sh ({done.stdout[-3000:]})")


@step("then", 'its log says "{text}"')
def then_log_says(world: PoolWorld, text: str) -> None:
    log = _log(world)
    assert text in log, f"{text!r} not in gpu.log: {log[-2000:]}"


@step("then", "its gpu.json is a check that names no device and has every figure null")
def then_report_is_check(world: PoolWorld) -> None:
    report = _report(world)
    assert_equal((report["check"], report["device"]), (True, None), "check, device")
    assert report["device_reason"], "no reason given for the missing device"
    values = {name: figure["value"] for name, figure in report["figures"].items()}
    assert values and set(values.values()) == {None}, f"figures: {values}"
    assert report["figures_reason"], "no reason given for the missing figures"
    assert_equal(report["build"]["skipped"], True, "build skipped")


@step("then", 'its gpu.json lists the models "{models}"')
def then_report_models(world: PoolWorld, models: str) -> None:
    listed = sorted(_report(world)["models"]["models"])
    assert_equal(listed, sorted(names(models)), "models in gpu.json")


@step(
    "then",
    'its gpu.json has {n:d} {part} reported by {runner}, each skipped with the reason "{reason}"',
)
def then_report_skipped(world: PoolWorld, n: int, part: str, runner: str, reason: str) -> None:
    keys = {
        ("@gpu scenarios", "behave"): "scenarios",
        ("@gpu scenarios", "pytest"): "scenarios_pytest",
        ("GPU tests", "pytest"): "tests",
    }
    assert (part, runner) in keys, f"unknown part {part!r} of runner {runner!r}: {sorted(keys)}"
    outcome = _report(world)[keys[part, runner]]
    statuses = [(item["status"], item["skip_reason"]) for item in outcome["items"]]
    assert_equal(statuses, [("skipped", reason)] * n, f"{part} reported by {runner}")
