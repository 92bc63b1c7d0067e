"""Throw-away projects with one planted defect, for the scenarios that prove the BDD gates.

Decides what each named defect is: :data:`DEFECTS` maps a defect's name, as the feature
files spell it, to the change it makes to the clean mini project of the gate's unit tests
(``tests/specgate_bdd/test_bdd_gate.py``: its feature text, step module and results-file
builders in behave's JSON and pytest-bdd's cucumber-JSON shapes are imported, not copied).
:func:`build_project` writes the project into a private temp dir and :func:`gate_state_of`
keeps, per scenario world, what the gate and metrics steps built and observed.

Serves OC-BDD-7001..7006 (gates), OC-CTL-4008 (OpenAPI drift), OC-MET-6002 and OC-POOL-3061
(label budgets) and OC-CTL-4007 (secrets) as scenario state.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poolmgr.telemetry.metrics import PoolMetrics
from tests.api.test_api_secrets import Transcript
from tests.specgate_bdd.test_bdd_gate import (
    FEATURE,
    STEPS,
    behave_results,
    project,
    pytest_bdd_results,
)

__all__ = ["DEFECTS", "GateState", "build_project", "gate_state_of"]

Change = dict[str, Any]
"""Keyword arguments for the unit tests' ``project()`` builder that plant one defect."""


def _clean() -> Change:
    return {}


def _undefined_in_behave() -> Change:
    results = behave_results()
    step = results[0]["elements"][0]["steps"][1]
    del step["match"]
    step["result"] = {"status": "undefined"}
    return {"behave": results}


def _pending_in_pytest_bdd() -> Change:
    results = pytest_bdd_results()
    results[0]["elements"][0]["steps"][1]["result"]["status"] = "pending"
    return {"pytest_bdd": results}


def _no_pattern() -> Change:
    return {"feature": FEATURE.replace("Then it holds", "Then it wobbles")}


def _ambiguous() -> Change:
    extra = '\n\n@then("it {verb}")\ndef it_verb(verb):\n    assert verb\n'
    return {"steps": STEPS + extra}


def _empty_scenario() -> Change:
    return {"feature": FEATURE + "\n  @OC-POOL-3003\n  Scenario: Nothing happens\n"}


def _outline_without_rows() -> Change:
    return {"feature": FEATURE.replace("      | 1 |\n      | 2 |\n", "")}


def _then_without_assert() -> Change:
    return {"steps": STEPS.replace("    assert True\n", "    print('fine')\n")}


def _zero_in_behave() -> Change:
    return {"behave": [{"location": "features/widgets.feature:1", "elements": []}]}


def _zero_in_pytest_bdd() -> Change:
    return {"pytest_bdd": []}


def _untagged() -> Change:
    return {"feature": FEATURE.replace("  @OC-POOL-3001\n", "  @smoke\n")}


def _runners_disagree() -> Change:
    return {"pytest_bdd": pytest_bdd_results(["passed", "passed", "failed"])}


DEFECTS: dict[str, Callable[[], Change]] = {
    "none": _clean,
    "a step behave reports undefined": _undefined_in_behave,
    "a step pytest-bdd reports pending": _pending_in_pytest_bdd,
    "a feature step no pattern matches": _no_pattern,
    "a feature step two patterns match": _ambiguous,
    "a scenario without steps": _empty_scenario,
    "an outline without example rows": _outline_without_rows,
    "a Then step that asserts nothing": _then_without_assert,
    "a behave run that selected nothing": _zero_in_behave,
    "a pytest-bdd run that selected nothing": _zero_in_pytest_bdd,
    "a scenario without a requirement tag": _untagged,
    "an examples row that fails only under pytest-bdd": _runners_disagree,
}


@dataclass
class GateState:
    """What one scenario built and saw: a temp dir, gate findings, metrics, a subprocess run."""

    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gate-world-")))
    project: dict[str, Any] = field(default_factory=dict)
    violations: list[str] | None = None
    metrics: PoolMetrics | None = None
    exit_code: int | None = None
    output: str = ""
    planted: str = ""
    transcript: Transcript | None = None

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def build_project(state: GateState, defect: str) -> dict[str, Any]:
    """Write the clean mini project with ``defect`` planted; return the gate's arguments."""
    change = DEFECTS.get(defect)
    assert change is not None, f"setup: no defect named {defect!r}; known: {sorted(DEFECTS)}"
    root = state.tmp / "project"
    root.mkdir()
    paths: dict[str, Any] = project(root, **change())
    state.project = paths
    return paths


_ATTR = "_gate_state"


def gate_state_of(world: object) -> GateState:
    """The scenario's gate state, created on first use and removed with the world."""
    state = getattr(world, _ATTR, None)
    if isinstance(state, GateState):
        return state
    state = GateState()
    setattr(world, _ATTR, state)
    weakref.finalize(world, state.close)
    return state
