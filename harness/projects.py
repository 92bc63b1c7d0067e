"""Throw-away BDD projects: the clean mini project and the named defects planted in it.

Owns the mini project that the BDD gates are proved against, both by the gate's unit tests
(``tests/specgate_bdd/test_bdd_gate.py`` imports it) and by the gate scenarios
(``features/``, via :mod:`harness.steps.gates`): its feature text, its step module (parsed by
the gate, never imported), results files in behave's JSON and pytest-bdd's cucumber-JSON
shapes, and :data:`DEFECTS`, which maps a defect's name, as the feature files spell it, to the
change it makes to the clean project.

Serves OC-BDD-7001..7006.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "DEFECTS",
    "FEATURE",
    "ROWS",
    "STEPS",
    "behave_results",
    "build_project",
    "project",
    "pytest_bdd_results",
]

FEATURE = """\
Feature: Widgets
  @OC-POOL-3001
  Scenario: A widget holds
    Given a widget
    Then it holds

  @OC-POOL-3002
  Scenario Outline: A widget counts
    Given a widget
    Then it counts <n>

    Examples:
      | n |
      | 1 |
      | 2 |
"""

STEPS = """\
from pytest_bdd import given, then
from harness.registry import step


@given("a widget")
def a_widget():
    pass


@then("it holds")
def it_holds():
    assert True


@step("then", "it counts {n:d}")
def it_counts(n):
    assert_positive(n)
"""

GLOSSARY = """\
# Glossary

| Term | Meaning | Not |
|---|---|---|
| widget | the thing the project is about | gadget, gizmo |
"""

# (scenario name, line of the Scenario or Examples row, steps, status)
ROWS: list[tuple[str, int, list[str]]] = [
    ("A widget holds", 3, ["a widget", "it holds"]),
    ("A widget counts", 14, ["a widget", "it counts 1"]),
    ("A widget counts", 15, ["a widget", "it counts 2"]),
]


Row = tuple[str, int, list[str]]


def behave_results(
    statuses: list[str] | None = None, rows: list[Row] = ROWS
) -> list[dict[str, Any]]:
    """behave's JSON for ``rows``, each scenario with the given status (default passed)."""
    statuses = statuses or ["passed"] * len(rows)
    elements = []
    for i, ((name, line, steps), status) in enumerate(zip(rows, statuses, strict=True)):
        shown = name if i == 0 else f"{name} -- @1.{i} "
        elements.append(
            {
                "type": "scenario",
                "name": shown,
                "location": f"features/widgets.feature:{line}",
                "status": status,
                "steps": [
                    {"name": s, "match": {"location": "x.py:1"}, "result": {"status": status}}
                    for s in steps
                ],
            }
        )
    return [{"location": "features/widgets.feature:1", "elements": elements}]


def pytest_bdd_results(
    statuses: list[str] | None = None, rows: list[Row] = ROWS
) -> list[dict[str, Any]]:
    """pytest-bdd's cucumber JSON for ``rows``, each with the given status."""
    statuses = statuses or ["passed"] * len(rows)
    elements = []
    for i, ((name, _line, steps), status) in enumerate(zip(rows, statuses, strict=True)):
        ident = "test_a_widget_holds" if i == 0 else f"test_a_widget_counts[{i}]"
        elements.append(
            {
                "name": name,
                "id": ident,
                "steps": [{"name": s, "result": {"status": status}} for s in steps],
            }
        )
    return [{"uri": "widgets.feature", "elements": elements}]


def project(
    tmp_path: Path,
    feature: str = FEATURE,
    steps: str = STEPS,
    behave: list[dict[str, Any]] | None = None,
    pytest_bdd: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write the project under ``tmp_path``; return the gate's keyword arguments."""
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "widgets.feature").write_text(feature)
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "table.py").write_text(steps)
    (tmp_path / "behave.json").write_text(
        json.dumps(behave_results() if behave is None else behave)
    )
    (tmp_path / "pb.json").write_text(
        json.dumps(pytest_bdd_results() if pytest_bdd is None else pytest_bdd)
    )
    (tmp_path / "glossary.md").write_text(GLOSSARY)
    return {
        "glossary": tmp_path / "glossary.md",
        "features": tmp_path / "features",
        "steps": [tmp_path / "steps"],
        "behave": tmp_path / "behave.json",
        "pytest_bdd": tmp_path / "pb.json",
    }


Change = dict[str, Any]
"""Keyword arguments for :func:`project` that plant one defect."""


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


def _ruled_out_word() -> Change:
    # A description line (not a step or a title), so that the results files still match.
    described = FEATURE.replace("Feature: Widgets\n", "Feature: Widgets\n  Each gadget holds.\n")
    shifted = [(name, line + 1, steps) for name, line, steps in ROWS]
    return {
        "feature": described,
        "behave": behave_results(rows=shifted),
        "pytest_bdd": pytest_bdd_results(rows=shifted),
    }


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
    "a feature that uses a word the glossary rules out": _ruled_out_word,
}


def build_project(root: Path, defect: str) -> dict[str, Any]:
    """Write the clean mini project with ``defect`` planted under ``root``; the gate's arguments."""
    change = DEFECTS.get(defect)
    assert change is not None, f"setup: no defect named {defect!r}; known: {sorted(DEFECTS)}"
    root.mkdir()
    return project(root, **change())
