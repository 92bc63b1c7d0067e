"""spec-trace's gate on real runs: failing scenarios beside passing ones, partial runs, skip
reasons, durations, run metadata and the console report of a failing run (#11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from specgate import extract, trace
from specgate.readers.runinfo import git_commit, newest_mtime

Write = Callable[[str, str], Path]  # the `write` fixture of conftest.py
ROOT = Path(__file__).resolve().parents[2]

SPEC = """# Gate

- [OC-G-1001] The pool MUST start.
- [OC-G-1002] The pool MUST stop.
- [OC-G-1003] The pool MUST use a GPU when it has one.
- [OC-G-1004] The pool SHOULD say hello.
"""

FEATURE = """Feature: Gate demo

  @OC-G-1001
  Scenario: starts
    Given a pool
    Then it holds

  @OC-G-1001 @OC-G-1002
  Scenario: stops
    Given a pool
    Then it stops
    And it holds

  @OC-G-1003 @gpu
  Scenario: uses the GPU
    Given a pool
    Then it holds
"""

BEHAVE_STEPS = """
from behave import given, then

@given("a pool")
def _(context):
    pass

@then("it holds")
def _(context):
    pass

@then("it stops")
def _(context):
    assert 1 == 2, "the pool is still running\\nwith 3 workers"
"""

BEHAVE_ENV = """
def before_scenario(context, scenario):
    if "gpu" in scenario.effective_tags:
        scenario.skip(reason="no GPU here")
"""

PYTEST_CONFTEST = """
import pytest
from specgate.pytest_plugin import register

def pytest_configure(config):
    register(config)

def pytest_bdd_apply_tag(tag, function):
    if tag == "gpu":
        pytest.mark.skip(reason="no GPU here")(function)
        return True
    return None
"""

PYTEST_BINDING = """
from pytest_bdd import given, scenarios, then

scenarios("../features/gate.feature")

@given("a pool")
def _():
    pass

@then("it holds")
def _():
    pass

@then("it stops")
def _():
    assert 1 == 2, "the pool is still running"
"""


def _project(write: Write) -> None:
    write("spec/gate.md", SPEC)
    assert extract.main([]) == 0
    write("features/gate.feature", FEATURE)
    write("features/steps/steps.py", BEHAVE_STEPS)
    write("features/environment.py", BEHAVE_ENV)
    assert trace.main(["review", "--all"]) == 0


def _version(package: str) -> str:
    return metadata.version(package)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _behave(out: str, *args: str) -> None:
    formatter = "specgate.behave_formatter:PrettyJSONFormatter"
    command = [sys.executable, "-m", "behave", "-f", formatter, "-o", out, *args, "features"]
    subprocess.run(command, capture_output=True, check=False, env=_env())


def _trace(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = trace.main(["--commit", "c0ffee", "--date", "2026-01-02T03:04:05Z", *args])
    return code, capsys.readouterr().out


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out = _trace(capsys, "--json", *args)
    return code, json.loads(out)


def _kinds(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(v["kind"], v["subject"]) for v in payload["violations"]]


def _by_name(payload: dict[str, Any], *fields: str) -> dict[str, tuple[Any, ...]]:
    return {s["name"]: tuple(s[f] for f in fields) for s in payload["scenarios"]}


@pytest.mark.slow
def test_must_with_one_failing_and_one_passing_scenario_fails_the_gate(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(write)
    _behave("reports/behave.json")
    code, payload = _json(capsys, "--results", "reports/behave.json")
    assert code == 1
    assert payload["ok"] is False
    statuses = {r["id"]: r["status"] for r in payload["requirements"]}
    assert statuses["OC-G-1001"] == "failing"
    assert [v["message"] for v in payload["violations"]] == [
        "OC-G-1001 (spec/gate.md:3, MUST): features/gate.feature:9 'stops' failed at step "
        "features/gate.feature:11 'Then it stops': ASSERT FAILED: the pool is still running …",
        "OC-G-1002 (spec/gate.md:4, MUST): features/gate.feature:9 'stops' failed at step "
        "features/gate.feature:11 'Then it stops': ASSERT FAILED: the pool is still running …",
        "OC-G-1003 (spec/gate.md:5) is a MUST requirement with no passing scenario (skipped)",
    ]
    assert payload["run"] == {
        "commit": "c0ffee",
        "date": "2026-01-02T03:04:05Z",
        "runners": [f"behave {_version('behave')} (reports/behave.json)"],
        "partial": False,
    }


@pytest.mark.slow
def test_console_of_a_failing_run_shows_file_line_step_and_message(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(write)
    _behave("reports/behave.json")
    code, out = _trace(capsys, "--results", "reports/behave.json")
    assert code == 1
    lines = out.splitlines()
    assert lines[-6:] == [
        "failed scenarios (1):",
        "  features/gate.feature:9  stops  [failed]",
        "    step features/gate.feature:11  Then it stops",
        "    | ASSERT FAILED: the pool is still running",
        "    | with 3 workers",
        "gate: FAILED (3 violation(s))",
    ]
    assert "  skipped (1): no GPU here" in lines
    assert lines[1] == f"run: commit c0ffee; 2026-01-02T03:04:05Z; behave {_version('behave')} " + (
        "(reports/behave.json)"
    )


@pytest.mark.slow
def test_tag_deselected_behave_run_is_partial_and_passes_unless_complete_is_required(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(write)
    _behave("reports/behave.json", "--tags=@OC-G-1001", "--tags=~@OC-G-1002")
    code, payload = _json(capsys, "--results", "reports/behave.json")
    assert (code, _kinds(payload)) == (0, [])
    assert payload["run"]["partial"] is True
    assert _by_name(payload, "outcome", "reason") == {
        "starts": ("passed", ""),
        "stops": ("not-run", "not selected"),
        "uses the GPU": ("not-run", "not selected"),
    }
    statuses = {r["id"]: r["status"] for r in payload["requirements"]}
    assert statuses == {
        "OC-G-1001": "covered",
        "OC-G-1002": "not-run",
        "OC-G-1003": "not-run",
        "OC-G-1004": "uncovered",
    }
    code, out = _trace(capsys, "--results", "reports/behave.json")
    assert out.splitlines()[1] == (
        "PARTIAL RUN: 2 of 3 scenarios not run (2 not selected); "
        "requirements whose scenarios were all not run are not gated"
    )
    assert out.splitlines()[-1] == "gate: passed (partial run)"
    code, payload = _json(capsys, "--results", "reports/behave.json", "--require-complete")
    assert code == 1
    assert _kinds(payload) == [
        ("must-not-passing", "OC-G-1002"),
        ("must-not-passing", "OC-G-1003"),
        ("incomplete-run", "run"),
    ]
    assert payload["violations"][-1]["message"] == (
        "2 of 3 scenarios were not run (not selected): features/gate.feature:9, "
        "features/gate.feature:15; completeness is required"
    )


@pytest.mark.slow
def test_a_partial_run_still_fails_on_a_failing_scenario_and_a_must_without_scenarios(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(write)
    write("spec/gate.md", SPEC + "- [OC-G-1005] The pool MUST drain.\n")
    assert extract.main([]) == 0
    assert trace.main(["review", "--all"]) == 0
    _behave("reports/behave.json", "--tags=@OC-G-1002")
    code, payload = _json(capsys, "--results", "reports/behave.json")
    assert code == 1
    assert payload["run"]["partial"] is True
    assert _kinds(payload) == [
        ("failing-scenario", "OC-G-1001"),
        ("failing-scenario", "OC-G-1002"),
        ("must-not-passing", "OC-G-1005"),
    ]


@pytest.mark.slow
def test_skip_reasons_durations_and_deselection_are_read_from_pytest_bdd(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(write)
    write("bdd/conftest.py", PYTEST_CONFTEST)
    write("bdd/test_gate.py", PYTEST_BINDING)
    write("reports/.keep", "")  # pytest-bdd does not create the folder of its file
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore"]
    command += ["--cucumberjson=reports/pytest-bdd.json", "-k", "not stops", "bdd"]
    subprocess.run(command, capture_output=True, check=False, env=_env())
    code, payload = _json(capsys, "--results", "reports/pytest-bdd.json")
    assert _by_name(payload, "outcome", "reason") == {
        "starts": ("passed", ""),
        "stops": ("not-run", "not selected"),
        "uses the GPU": ("skipped", "no GPU here"),
    }
    assert payload["run"]["runners"] == [
        f"pytest-bdd {_version('pytest-bdd')} (reports/pytest-bdd.json)"
    ]
    assert payload["run"]["partial"] is True
    assert _kinds(payload) == [("must-not-passing", "OC-G-1003")]
    assert code == 1


@pytest.mark.slow
def test_skip_reason_of_a_behave_hook_is_read(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(write)
    _behave("reports/behave.json")
    _, payload = _json(capsys, "--results", "reports/behave.json")
    assert _by_name(payload, "outcome", "reason", "failed_step", "failed_step_line") == {
        "starts": ("passed", "", "", None),
        "stops": ("failed", "", "Then it stops", 11),
        "uses the GPU": ("skipped", "no GPU here", "", None),
    }


def _behave_entry(name: str, line: int, durations: list[float], status: str) -> dict[str, Any]:
    steps = [
        {
            "keyword": "Given",
            "step_type": "given",
            "name": "a pool" if i == 0 else "it holds",
            "location": f"features/gate.feature:{line + 1 + i}",
            "match": {"location": "steps.py:1", "arguments": []},
            "result": {"status": status, "duration": took},
        }
        for i, took in enumerate(durations)
    ]
    return {
        "type": "scenario",
        "keyword": "Scenario",
        "name": name,
        "tags": [],
        "location": f"features/gate.feature:{line}",
        "steps": steps,
        "status": status,
    }


def _cucumber_entry(name: str, line: int, durations: list[int]) -> dict[str, Any]:
    steps = [
        {
            "keyword": "Given",
            "name": "a pool" if i == 0 else "it holds",
            "line": line + 1 + i,
            "match": {"location": ""},
            "result": {"status": "passed", "duration": took},
        }
        for i, took in enumerate(durations)
    ]
    return {"keyword": "Scenario", "id": f"test_{name}", "name": name, "line": line} | {
        "type": "scenario",
        "tags": [],
        "steps": steps,
    }


def test_durations_are_seconds_from_both_runners_and_the_longest_is_kept(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(write)
    behave = [
        {
            "keyword": "Feature",
            "name": "Gate demo",
            "location": "features/gate.feature:1",
            "elements": [_behave_entry("starts", 4, [0.25, 0.5], "passed")],
        }
    ]
    cucumber = [
        {
            "keyword": "Feature",
            "uri": "gate.feature",
            "name": "Gate demo",
            "line": 1,
            "elements": [_cucumber_entry("starts", 4, [250_000_000, 1_000_000_000])],
        }
    ]
    write("reports/behave.json", json.dumps(behave))
    write("reports/pytest-bdd.json", json.dumps(cucumber))
    _, payload = _json(capsys, "--results", "reports/behave.json")
    assert _by_name(payload, "duration_s")["starts"] == (0.75,)
    _, payload = _json(capsys, "--results", "reports/behave.json", "reports/pytest-bdd.json")
    assert _by_name(payload, "duration_s")["starts"] == (1.25,)
    assert payload["run"]["runners"] == [
        "behave (reports/behave.json)",
        "pytest-bdd (reports/pytest-bdd.json)",
    ]


def test_a_failing_should_fails_the_gate_only_at_gate_level_should(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(write)
    write("features/gate.feature", FEATURE.replace("@OC-G-1001 @OC-G-1002", "@OC-G-1004"))
    behave = [
        {
            "keyword": "Feature",
            "name": "Gate demo",
            "location": "features/gate.feature:1",
            "elements": [
                _behave_entry("starts", 4, [0.1, 0.1], "passed"),
                _behave_entry("stops", 9, [0.1, 0.1], "failed"),
            ],
        }
    ]
    write("reports/behave.json", json.dumps(behave))
    base = ["--results", "reports/behave.json", "--allow-undefined", "OC-G"]
    code, payload = _json(capsys, *base)
    assert _kinds(payload) == [("must-not-passing", "OC-G-1002")]
    code, payload = _json(capsys, *base, "--gate-level", "should")
    assert code == 1
    assert _kinds(payload) == [
        ("must-not-passing", "OC-G-1002"),
        ("failing-scenario", "OC-G-1004"),
    ]


def test_run_date_is_the_newest_results_file_in_utc(project: Path) -> None:
    older, newer = project / "a.json", project / "b.json"
    older.write_text("[]", encoding="utf-8")
    newer.write_text("[]", encoding="utf-8")
    os.utime(older, (1_700_000_000, 1_700_000_000))
    os.utime(newer, (1_767_323_045, 1_767_323_045))
    assert newest_mtime([older, newer, project / "missing.json"]) == "2026-01-02T03:04:05Z"
    assert newest_mtime([project / "missing.json"]) == ""


def test_commit_is_empty_outside_a_git_checkout(project: Path) -> None:
    assert git_commit(project) == ""
