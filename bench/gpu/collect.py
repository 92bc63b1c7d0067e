"""Fold one GPU check's outputs into ``gpu.json`` and say whether each step worked (OC-GPU-9509).

``bench/gpu/run.sh`` calls this last. It reads, from the work folder of the run: the build
record (``build.json``), the models' ``manifest.json``, behave's JSON report of the ``@gpu``
scenarios, pytest's JUnit XML of ``tests/gpu``, the figures the scenarios recorded
(``figures.jsonl``) and the memory model's measurements (``memory_model.json``); and the GPU,
driver and CUDA versions from the product's NVML view (:func:`poolmgr.io.nvml.read_view`).

It writes ``gpu.json`` and validates it (``bench/gpu/gpu.schema.json`` with ``jsonschema``, then
the facts each mode must show) and exits 0 only when every step worked:

- ``--check`` (no GPU): the build is skipped with its reason, the models were written, every
  ``@gpu`` scenario and every GPU test is reported *skipped with a reason* (none passed, none
  failed, at least one of each was seen), and every figure is ``null`` with the reason;
- a real run: a device is named, the build made the binary, every scenario and test passed,
  and every expected figure has a value. Figures come only from what the run measured.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema

from poolmgr.io.nvml import read_view

__all__ = ["FIGURES", "build_report", "main", "problems_of"]

SCHEMA = Path(__file__).with_name("gpu.schema.json")

#: Every figure a real run reports: name -> (unit, how it is measured).
FIGURES: dict[str, tuple[str, str]] = {
    "build_s": ("s", "cmake configure + build of the llama-server target (run.sh)"),
    "models_s": ("s", "writing the GGUF models with the gguf package (bench/gpu/models.py)"),
    "tiny_ready_s": ("s", "manager start to the tiny CUDA pool Ready (features/gpu)"),
    "restart_to_ready_s": ("s", "SIGKILL of the CUDA engine to its pool Ready again"),
    "tiny_ready_beside_hog_s": ("s", "manager start to Ready with 1 GiB of VRAM left free"),
    "memory_model_worst_error_pct": ("%", "largest |predicted - measured| / measured"),
}


def _scenarios(path: Path) -> dict[str, Any]:
    """The ``@gpu`` scenarios of behave's JSON report: counts, reasons and each one's status."""
    items = []
    if path.is_file():
        for feature in json.loads(path.read_text()):
            for element in feature.get("elements", []):
                if element.get("type") != "scenario" or "gpu" not in _tags(feature, element):
                    continue
                items.append(
                    {
                        "name": element["name"],
                        "location": element["location"],
                        "status": element.get("status", "untested"),
                        "skip_reason": element.get("skip_reason"),
                    }
                )
    return _counted(items)


def _tags(feature: dict[str, Any], element: dict[str, Any]) -> set[str]:
    return {*feature.get("tags", []), *element.get("tags", [])}


def _tests(path: Path, *, scenarios: bool) -> dict[str, Any]:
    """pytest's JUnit XML: the GPU tests, or (``scenarios``) the pytest-bdd ``@gpu`` scenarios."""
    items = []
    if path.is_file():
        for case in ET.parse(path).getroot().iter("testcase"):
            if ("test_features" in case.get("classname", "")) != scenarios:
                continue
            skipped = case.find("skipped")
            failed = case.find("failure") is not None or case.find("error") is not None
            status = "skipped" if skipped is not None else "failed" if failed else "passed"
            reason = skipped.get("message") if skipped is not None else None
            items.append(
                {
                    "name": case.get("name", ""),
                    "location": case.get("classname", ""),
                    "status": status,
                    "skip_reason": reason,
                }
            )
    return _counted(items)


def _counted(items: list[dict[str, Any]]) -> dict[str, Any]:
    def count(status: str) -> int:
        return sum(1 for item in items if item["status"] == status)

    reasons = sorted({str(i["skip_reason"]) for i in items if i["status"] == "skipped"})
    return {
        "passed": count("passed"),
        "failed": count("failed"),
        "skipped": count("skipped"),
        "skip_reasons": reasons,
        "items": items,
    }


def _json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def _figures(
    work: Path, build: dict[str, Any], models: Any, memory: Any, *, check: bool
) -> dict[str, Any]:
    """Each expected figure with its value, or ``None`` where the run did not measure it.

    ``--check`` reports none: timings of small models on a machine without a GPU are no
    figures of the GPU check.
    """
    values: dict[str, float] = {} if check else _measured(work, build, models, memory)
    return {
        name: {"value": values.get(name), "unit": unit, "how": how}
        for name, (unit, how) in FIGURES.items()
    }


def _measured(work: Path, build: dict[str, Any], models: Any, memory: Any) -> dict[str, float]:
    values: dict[str, float] = {}
    if isinstance(build.get("seconds"), int | float):
        values["build_s"] = float(build["seconds"])
    if isinstance(models, dict) and isinstance(models.get("seconds"), int | float):
        values["models_s"] = float(models["seconds"])
    rows = work / "figures.jsonl"
    if rows.is_file():
        for line in rows.read_text().splitlines():
            row = json.loads(line)
            values[str(row["figure"])] = float(row["value"])
    if isinstance(memory, dict):
        sizes = memory.get("sizes", [])
        errors = [abs(s["error_pct"]) for s in sizes if s["error_pct"] is not None]
        if errors:
            values["memory_model_worst_error_pct"] = max(errors)
    return values


def build_report(work: Path, *, check: bool, command: str) -> dict[str, Any]:
    """Everything ``gpu.json`` holds, read from the run's work folder and from NVML."""
    view = read_view()
    gpus = [] if view is None else list(view.gpus)
    device = None
    if view is not None and gpus:
        device = {
            "name": gpus[0].name,
            "uuid": gpus[0].uuid,
            "total_bytes": gpus[0].total_bytes,
            "count": len(gpus),
            "driver_version": view.driver_version,
            "cuda_version": view.cuda_version,
        }
    build = _json(work / "build.json") or {"skipped": True, "reason": "no build record"}
    models = _json(work / "models" / "manifest.json")
    memory = _json(work / "memory_model.json")
    figures = _figures(work, build, models, memory, check=check)
    no_gpu = None if device is not None else "no GPU: NVML gives no view with a device here"
    return {
        "check": check,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": list(os.getloadavg()),
            "python": platform.python_version(),
        },
        "device": device,
        "device_reason": no_gpu,
        "build": build,
        "models": models,
        "scenarios": _scenarios(work / "behave-gpu.json"),
        "scenarios_pytest": _tests(work / "pytest-gpu.xml", scenarios=True),
        "tests": _tests(work / "pytest-gpu.xml", scenarios=False),
        "memory_model": memory,
        "figures": figures,
        "figures_reason": (
            "--check: no GPU, nothing measured; the figures wait for a run on a GPU machine"
            if check
            else None
        ),
    }


def _skipped_with_reason(part: dict[str, Any], what: str) -> list[str]:
    problems = []
    if part["passed"] or part["failed"]:
        problems.append(f"{what}: {part['passed']} passed, {part['failed']} failed without a GPU")
    if not part["skipped"]:
        problems.append(f"{what}: none was seen (the no-GPU form must report them skipped)")
    for item in part["items"]:
        if item["status"] == "skipped" and not item["skip_reason"]:
            problems.append(f"{what}: {item['location']} {item['name']} skipped with no reason")
    return problems


def problems_of(report: dict[str, Any]) -> list[str]:
    """What is wrong with ``report`` for its mode (empty: every step worked)."""
    schema = json.loads(SCHEMA.read_text())
    try:
        jsonschema.validate(report, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        return [f"gpu.json does not match {SCHEMA.name} at {where}: {exc.message}"]
    problems: list[str] = []
    models = report["models"]
    if not models or not {"tiny", "rand-512m", "rand-2g"} <= set(models["models"]):
        problems.append("models: tiny, rand-512m and rand-2g were not all written")
    if report["check"]:
        if not report["build"].get("skipped") or not report["build"].get("reason"):
            problems.append("build: --check must skip the build and say why")
        problems += _skipped_with_reason(report["scenarios"], "@gpu scenarios")
        problems += _skipped_with_reason(report["scenarios_pytest"], "@gpu scenarios (pytest-bdd)")
        problems += _skipped_with_reason(report["tests"], "GPU tests")
        measured = [name for name, f in report["figures"].items() if f["value"] is not None]
        if measured:
            problems.append(f"figures: --check measured nothing, yet reports {measured}")
        return problems
    if report["device"] is None:
        problems.append(f"device: {report['device_reason']}")
    if report["build"].get("skipped") or not report["build"].get("binary"):
        problems.append(f"build: no binary ({report['build'].get('reason')})")
    for what in ("scenarios", "tests"):
        part = report[what]
        if part["failed"] or part["skipped"] or not part["passed"]:
            problems.append(
                f"{what}: {part['passed']} passed, {part['failed']} failed, "
                f"{part['skipped']} skipped {part['skip_reasons']}"
            )
    missing = [name for name, f in report["figures"].items() if f["value"] is None]
    if missing:
        problems.append(f"figures: not measured: {missing}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="the run's work folder")
    parser.add_argument("out", type=Path, help="where to write gpu.json")
    parser.add_argument("--check", action="store_true", help="the no-GPU form of the run")
    parser.add_argument("--command", default="bench/gpu/run.sh", help="the command of the run")
    args = parser.parse_args(argv)
    report = build_report(args.work, check=args.check, command=args.command)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    problems = problems_of(report)
    for problem in problems:
        print(f"gpu.json: {problem}", file=sys.stderr)
    print(f"gpu.json: {'valid' if not problems else 'INVALID'} ({args.out})")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
