"""``poolmgr plan`` names where its GPUs come from, simulated above all (OC-GPU-9508)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.nvml_double import load_double
from poolmgr.cli.plan import plan_main

NVML_DATA = Path(__file__).resolve().parents[1] / "data" / "nvml"
INVENTORY = """\
inventory:
  gpus:
    - {index: 0, name: sim0, total_bytes: 25769803776, free_bytes: 25769803776}
"""
POOL = """\
pools:
  - {id: s, engine: stub, model: stub://s, devices: [0]}
"""
SIMULATED_LINE = "GPUs: simulated (manager.simulate_gpus), not read from NVML"


@pytest.fixture
def plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., str]:
    """Run ``poolmgr plan`` in-process on a config text; its standard output."""

    def run(text: str, *, as_json: bool) -> str:
        path = tmp_path / "poolmgr.yaml"
        path.write_text(text, encoding="utf-8")
        assert plan_main(argparse.Namespace(config=str(path), json=as_json)) == 0
        return capsys.readouterr().out

    return run


def test_plan_text_says_the_gpus_are_simulated(plan: Callable[..., str]) -> None:
    text = plan("manager: {simulate_gpus: true}\n" + INVENTORY + POOL, as_json=False)
    assert SIMULATED_LINE in text.splitlines()


def test_plan_json_says_the_gpus_are_simulated(plan: Callable[..., str]) -> None:
    out = plan("manager: {simulate_gpus: true}\n" + INVENTORY + POOL, as_json=True)
    assert json.loads(out)["gpus"] == "simulated"


def test_plan_with_a_static_inventory_says_static_and_not_simulated(
    plan: Callable[..., str],
) -> None:
    text = plan(INVENTORY + POOL, as_json=False)
    assert SIMULATED_LINE not in text
    assert json.loads(plan(INVENTORY + POOL, as_json=True))["gpus"] == "static"


def test_plan_without_an_inventory_says_nvml_when_nvml_answers(
    plan: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        sys.modules, "pynvml", load_double(NVML_DATA / "one_gpu_engine.json").module
    )
    assert json.loads(plan(POOL, as_json=True))["gpus"] == "nvml"


def test_plan_without_an_inventory_or_nvml_says_none(
    plan: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    cpu_pool = "pools:\n  - {id: c, engine: stub, model: stub://c, devices: [], cpu: true}\n"
    assert json.loads(plan(cpu_pool, as_json=True))["gpus"] == "none"
