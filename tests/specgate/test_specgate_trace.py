"""spec-trace: matrix, outcomes from behave / pytest-bdd results, the gate and the review lock."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from specgate import extract, trace

Write = Callable[[str, str], Path]  # the `write` fixture of conftest.py
DATA = Path(__file__).resolve().parent / "data"

SPEC = """# Trace

## Behaviour

- [OC-T-1001] The system MUST work.
- [OC-T-1002] The first path SHOULD pass.
"""

FEATURE = """@OC-T-1001
Feature: Trace demo

  @OC-T-1002
  Scenario: first
    Given a thing
    Then it works

  Scenario: second
    Given a thing
    Then it fails
"""
LINES = {"first": 5, "second": 9}


def behave_results(feature: str, outcomes: Mapping[str, Sequence[str | None]]) -> str:
    """A results file in the shape behave's JSON formatter writes (see specgate.readers.results)."""
    elements: list[dict[str, Any]] = []
    for name, statuses in outcomes.items():
        line = LINES[name]
        steps: list[dict[str, Any]] = []
        for i, status in enumerate(statuses):
            step: dict[str, Any] = {
                "keyword": "Given",
                "step_type": "given",
                "name": f"step {i}",
                "location": f"{feature}:{line + 1 + i}",
            }
            if status is not None:
                step["result"] = {"status": status, "duration": 0.001}
            steps.append(step)
        failed = "failed" in statuses
        elements.append(
            {
                "type": "scenario",
                "keyword": "Scenario",
                "name": name,
                "tags": [],
                "location": f"{feature}:{line}",
                "steps": steps,
                "status": "failed" if failed else "passed",
            }
        )
    feature_entry = {
        "keyword": "Feature",
        "name": "Trace demo",
        "tags": [],
        "location": f"{feature}:2",
        "status": "passed",
        "elements": elements,
    }
    return json.dumps([feature_entry])


PASS: list[str | None] = ["passed", "passed"]
FAIL: list[str | None] = ["passed", "failed"]


def setup(
    write: Write,
    *,
    spec: str = SPEC,
    feature: str = FEATURE,
    outcomes: Mapping[str, Sequence[str | None]] | None = None,
    review: bool = True,
) -> None:
    write("spec/t.md", spec)
    assert extract.main([]) == 0
    write("features/t.feature", feature)
    results = outcomes if outcomes is not None else {"first": PASS, "second": PASS}
    write("reports/behave.json", behave_results("features/t.feature", results))
    if review:
        assert trace.main(["review", "--all"]) == 0


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = trace.main(["--results", "reports/behave.json", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def kinds(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(v["kind"], v["subject"]) for v in payload["violations"]]


def statuses(payload: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["status"] for r in payload["requirements"]}


def test_gate_passes_when_each_must_has_a_passing_scenario(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write)
    code, payload = run_json(capsys)
    assert (code, kinds(payload)) == (0, [])
    assert statuses(payload) == {"OC-T-1001": "covered", "OC-T-1002": "covered"}


SKIP: list[str | None] = ["skipped", "skipped"]


def test_planted_must_with_only_skipped_scenarios_fails_the_gate(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, outcomes={"first": SKIP, "second": SKIP})
    code, payload = run_json(capsys)
    assert code == 1
    assert kinds(payload) == [("must-not-passing", "OC-T-1001")]
    assert payload["violations"][0]["message"] == (
        "OC-T-1001 (spec/t.md:5) is a MUST requirement with no passing scenario (skipped)"
    )


def test_must_with_no_scenario_at_all_fails_the_gate(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, spec=SPEC + "- [OC-T-1003] An untested thing MUST hold.\n")
    code, payload = run_json(capsys)
    assert code == 1
    assert kinds(payload) == [("must-not-passing", "OC-T-1003")]
    assert statuses(payload)["OC-T-1003"] == "uncovered"


def test_planted_unknown_tag_id_fails_the_gate(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, feature=FEATURE.replace("@OC-T-1002", "@OC-T-1002 @OC-T-9999"))
    code, payload = run_json(capsys)
    assert code == 1
    assert kinds(payload) == [("unknown-id", "features/t.feature:5")]


def test_lookalike_hyphen_in_a_tag_is_an_unknown_id(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, feature=FEATURE.replace("@OC-T-1002", "@OC\u2011T\u20111002"))
    code, payload = run_json(capsys)
    assert code == 1
    assert ("unknown-id", "features/t.feature:5") in kinds(payload)


def test_untagged_scenario_fails_unless_tags_are_optional(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, feature=FEATURE.replace("@OC-T-1001\n", "\n"))
    code, payload = run_json(capsys)
    assert code == 1
    assert ("untagged-scenario", "features/t.feature:9") in kinds(payload)
    code, payload = run_json(capsys, "--no-require-tags")
    assert "untagged-scenario" not in [k for k, _ in kinds(payload)]


def test_planted_text_change_is_suspect_until_reviewed(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write)
    write("spec/t.md", SPEC.replace("SHOULD pass", "SHOULD pass quickly"))
    assert extract.main([]) == 0
    code, payload = run_json(capsys)
    assert code == 1
    assert kinds(payload) == [("suspect", "OC-T-1002")]
    assert statuses(payload)["OC-T-1002"] == "suspect"
    assert trace.main(["review", "OC-T-1002"]) == 0
    code, payload = run_json(capsys)
    assert (code, kinds(payload)) == (0, [])


def test_cited_requirement_never_reviewed_is_suspect(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, review=False)
    code, payload = run_json(capsys)
    assert code == 1
    assert kinds(payload) == [("suspect", "OC-T-1001"), ("suspect", "OC-T-1002")]


def test_uncited_unreviewed_info_requirement_is_not_suspect(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write)
    write("spec/t.md", SPEC + "- [OC-T-1003] Background information only.\n")
    assert extract.main([]) == 0
    code, payload = run_json(capsys)
    assert (code, kinds(payload)) == (0, [])
    assert statuses(payload)["OC-T-1003"] == "info"


def test_review_all_drops_records_of_removed_requirements(write: Write, project: Path) -> None:
    setup(write, spec=SPEC + "- [OC-T-1003] Gone soon.\n")
    assert "OC-T-1003" in (project / "spec/trace.lock.yaml").read_text()
    write("spec/t.md", SPEC)
    extract.main([])
    assert trace.main(["review", "--all"]) == 0
    assert "OC-T-1003" not in (project / "spec/trace.lock.yaml").read_text()


def test_review_of_unknown_id_is_a_usage_error(write: Write) -> None:
    setup(write)
    assert trace.main(["review", "OC-T-4242"]) == 2


def test_tag_naming_a_retired_requirement_fails_the_gate(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = SPEC + "- [OC-T-1009-DEPR] Old behaviour MUST be gone.\n"
    setup(write, spec=spec, feature=FEATURE.replace("@OC-T-1002", "@OC-T-1002 @OC-T-1009-DEPR"))
    code, payload = run_json(capsys)
    assert code == 1
    assert kinds(payload) == [("retired-id", "features/t.feature:5")]
    assert statuses(payload)["OC-T-1009-DEPR"] == "retired"


def test_missing_results_file_is_an_input_error(write: Write) -> None:
    setup(write)
    assert trace.main(["--results", "reports/none.json"]) == 2


def test_allowed_missing_results_count_as_not_run(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write)
    capsys.readouterr()
    args = ["--results", "reports/none.json", "--allow-missing-results", "--json"]
    code = trace.main(args)
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {(s["outcome"], s["reason"]) for s in payload["scenarios"]} == {
        ("not-run", "in no results file")
    }
    assert payload["run"]["partial"] is True
    assert kinds(payload) == []
    code = trace.main([*args, "--require-complete"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    assert kinds(payload) == [("must-not-passing", "OC-T-1001"), ("incomplete-run", "run")]


def test_default_results_files_are_both_required(write: Write) -> None:
    setup(write)
    assert trace.main([]) == 2


def test_scenario_passes_only_if_it_passed_in_every_results_file(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, outcomes={"first": PASS, "second": FAIL})
    cucumber = [
        {
            "keyword": "Feature",
            "uri": "t.feature",
            "name": "Trace demo",
            "id": "t.feature",
            "line": 2,
            "description": "",
            "language": "en",
            "tags": [],
            "elements": [
                {
                    "keyword": "Scenario",
                    "id": "test_first",
                    "name": "first",
                    "line": 5,
                    "description": "",
                    "tags": [],
                    "type": "scenario",
                    "steps": [
                        {
                            "keyword": "Given",
                            "name": "a thing",
                            "line": 6,
                            "match": {"location": ""},
                            "result": {"status": "passed", "duration": 1},
                        },
                        {
                            "keyword": "Then",
                            "name": "it works",
                            "line": 7,
                            "match": {"location": ""},
                            "result": {"status": "failed", "duration": 1, "error_message": "boom"},
                        },
                    ],
                }
            ],
        }
    ]
    write("reports/pytest-bdd.json", json.dumps(cucumber))
    capsys.readouterr()
    code = trace.main(["--json"])
    payload = json.loads(capsys.readouterr().out)
    first = payload["scenarios"][0]
    assert first["results"] == {
        "reports/behave.json": "passed",
        "reports/pytest-bdd.json": "failed",
    }
    assert first["outcome"] == "failed"
    assert code == 1


def test_real_behave_and_pytest_bdd_samples_map_onto_scenarios(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The samples in data/ were written by behave -f json and pytest --cucumberjson."""
    shutil.copytree(DATA / "features", project / "features")
    (project / "spec").mkdir()
    (project / "spec/demo.md").write_text(
        "## Demo\n\n"
        + "".join(f"- [OC-DEMO-100{i}] Demo part {i} MUST hold.\n" for i in range(1, 6))
        + "- [ORCH-3010] Rule tags MUST be inherited.\n",
        encoding="utf-8",
    )
    assert extract.main([]) == 0
    assert trace.main(["review", "--all"]) == 0
    capsys.readouterr()
    results = [str(DATA / "behave.json"), str(DATA / "pytest-bdd.json")]
    code = trace.main(["--json", "--results", *results])
    payload = json.loads(capsys.readouterr().out)
    got = {s["name"]: (s["outcome"], len(s["results"])) for s in payload["scenarios"]}
    assert got == {
        "plain passing": ("passed", 2),
        "failing one": ("failed", 2),
        "undefined one": ("undefined", 2),
        "outline 1 check": ("passed", 2),
        "outline 2 check": ("failed", 2),
        "outline 3 check": ("passed", 2),
        "in rule": ("passed", 2),
    }
    failed = {
        s["name"]: (s["failed_step"], s["failed_step_line"], s["error"])
        for s in payload["scenarios"]
        if s["failed_step"]
    }
    assert failed == {
        "failing one": ("When I fail", 14, "ASSERT FAILED: boom"),
        "undefined one": ("When I am undefined", 18, ""),
        "outline 2 check": ("When I count 2", 22, "ASSERT FAILED:"),
    }
    assert payload["warnings"] == []
    ids_of = {s["name"]: s["ids"] for s in payload["scenarios"]}
    assert ids_of["outline 1 check"] == ["OC-DEMO-1001", "OC-DEMO-1003", "OC-DEMO-1004"]
    assert ids_of["outline 3 check"] == ["OC-DEMO-1001", "OC-DEMO-1003"]
    assert ids_of["in rule"] == ["OC-DEMO-1001", "ORCH-3010", "OC-DEMO-1005"]
    assert [(v["kind"], v["subject"]) for v in payload["violations"]] == [
        ("failing-scenario", "OC-DEMO-1001"),
        ("failing-scenario", "OC-DEMO-1001"),
        ("failing-scenario", "OC-DEMO-1001"),
        ("failing-scenario", "OC-DEMO-1003"),
        ("failing-scenario", "OC-DEMO-1004"),
    ]
    assert code == 1


def test_feature_parse_error_is_an_input_error(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, feature=FEATURE + "  this is not gherkin\n")
    assert trace.main(["--results", "reports/behave.json"]) == 2
    assert "features/t.feature:12:3:" in capsys.readouterr().err


def test_human_output_lists_summary_and_violations(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, outcomes={"first": SKIP, "second": SKIP})
    capsys.readouterr()
    assert trace.main(["--results", "reports/behave.json", "--commit", "abc", "--date", "d"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "run: commit abc; d; behave (reports/behave.json)"
    assert out[2].split() == ["status", "must", "should", "may", "info", "total"]
    assert out[6].split() == ["uncovered", "1", "1", "0", "0", "2"]
    assert "  [must-not-passing] OC-T-1001 (spec/t.md:5) is a MUST requirement" in "\n".join(out)
    assert out[-1] == "gate: FAILED (1 violation(s))"


def test_help_documents_exit_codes() -> None:
    script = Path(sys.executable).parent / "spec-trace"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "0 gate passed; 1 gate failed; 2 usage or input error" in " ".join(done.stdout.split())
    assert "Exit codes: 0 gate passed" in " ".join((trace.__doc__ or "").split())


BDD_STEPS = """
from behave import given, then

@given("a thing")
def _(context):
    pass

@then("it works")
def _(context):
    pass

@then("it fails")
def _(context):
    raise AssertionError("planted failure")
"""

BDD_BINDING = """
from pytest_bdd import given, scenarios, then

scenarios("../features/t.feature")

@given("a thing")
def _():
    pass

@then("it works")
def _():
    pass

@then("it fails")
def _():
    raise AssertionError("planted failure")
"""


@pytest.mark.slow
def test_end_to_end_with_real_behave_and_pytest_bdd_runs(
    write: Write, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write)
    write("features/steps/steps.py", BDD_STEPS)
    write("bdd/test_t.py", BDD_BINDING)
    env_python = sys.executable
    subprocess.run(
        [env_python, "-m", "behave", "-f", "json", "-o", "reports/behave.json", "features"],
        capture_output=True,
        check=False,
    )
    subprocess.run(
        [
            env_python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore",
            "--cucumberjson=reports/pytest-bdd.json",
            "bdd",
        ],
        capture_output=True,
        check=False,
    )
    capsys.readouterr()
    code = trace.main(["--json"])
    payload = json.loads(capsys.readouterr().out)
    got = {s["name"]: s["results"] for s in payload["scenarios"]}
    both = ("reports/behave.json", "reports/pytest-bdd.json")
    assert got == {
        "first": dict.fromkeys(both, "passed"),
        "second": dict.fromkeys(both, "failed"),
    }
    assert kinds(payload) == [("failing-scenario", "OC-T-1001")]
    assert code == 1


def test_results_of_a_moved_scenario_are_matched_by_name(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, outcomes={"first": PASS, "second": FAIL})
    shifted = FEATURE.replace(
        "  @OC-T-1002\n", "  # a comment added after the run\n\n  @OC-T-1002\n"
    )
    write("features/t.feature", shifted)
    code, payload = run_json(capsys)
    got = {s["name"]: (s["line"], s["outcome"]) for s in payload["scenarios"]}
    assert got == {"first": (7, "passed"), "second": (11, "failed")}
    assert payload["warnings"] == []
    assert kinds(payload) == [("failing-scenario", "OC-T-1001")]
    assert code == 1


def test_result_for_a_scenario_that_no_longer_exists_is_a_warning(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write)
    write("features/t.feature", FEATURE.split("  Scenario: second")[0])
    code, payload = run_json(capsys)
    assert payload["warnings"] == [
        "reports/behave.json: result for features/t.feature:9 'second' matches no scenario of "
        "the feature files"
    ]
    assert code == 0


def test_oc_bdd_7005_undefined_umbrella_tags_are_allowed_only_by_prefix(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, feature=FEATURE.replace("@OC-T-1002", "@OC-T-1002 @ORCH-3010"))
    code, payload = run_json(capsys)
    assert (code, kinds(payload)) == (1, [("unknown-id", "features/t.feature:5")])
    code, payload = run_json(capsys, "--allow-undefined", "ORCH")
    assert (code, kinds(payload)) == (0, [])


def test_oc_bdd_7005_umbrella_tag_alone_does_not_tag_a_scenario(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    feature = FEATURE.replace("@OC-T-1001\n", "@ORCH-3010\n")
    setup(write, feature=feature)
    code, payload = run_json(capsys, "--allow-undefined", "ORCH")
    assert code == 1
    assert ("untagged-scenario", "features/t.feature:9") in kinds(payload)


def test_oc_bdd_7006_runner_mismatch_fails_only_when_parity_is_required(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, outcomes={"first": PASS, "second": PASS})
    write("reports/other.json", behave_results("features/t.feature", {"second": SKIP}))
    args = ["--results", "reports/behave.json", "reports/other.json", "--json"]
    capsys.readouterr()
    assert trace.main(args) == 0
    capsys.readouterr()
    assert trace.main([*args, "--require-parity"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert kinds(payload) == [("runner-mismatch", "features/t.feature:9")]


UNTESTED = SPEC + "- [OC-T-1003] An untested thing MUST hold.\n"


def test_waived_must_without_scenario_is_shown_as_waived_and_passes_the_gate(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, spec=UNTESTED)
    write("spec/trace.waivers.yaml", 'waived:\n  OC-T-1003: "planned: issue 7"\n')
    code, payload = run_json(capsys)
    assert (code, kinds(payload)) == (0, [])
    assert statuses(payload)["OC-T-1003"] == "waived"
    row = next(r for r in payload["requirements"] if r["id"] == "OC-T-1003")
    assert row["waiver"] == "planned: issue 7"


def test_waiver_does_not_hide_a_failing_scenario(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, outcomes={"first": PASS, "second": FAIL})
    write("spec/trace.waivers.yaml", 'waived:\n  OC-T-1001: "later"\n')
    code, payload = run_json(capsys)
    assert code == 1
    assert ("failing-scenario", "OC-T-1001") in kinds(payload)


def test_planted_stale_waiver_on_a_covered_requirement_fails_the_gate(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write)
    write("spec/trace.waivers.yaml", 'waived:\n  OC-T-1002: "not yet"\n')
    code, payload = run_json(capsys)
    assert code == 1
    assert kinds(payload) == [("stale-waiver", "OC-T-1002")]


def test_planted_waiver_for_unknown_id_fails_the_gate(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write)
    write("spec/trace.waivers.yaml", 'waived:\n  OC-T-4242: "typo"\n')
    code, payload = run_json(capsys)
    assert code == 1
    assert kinds(payload) == [("unknown-waiver", "OC-T-4242")]


def test_waiver_without_reason_is_an_input_error(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, spec=UNTESTED)
    write("spec/trace.waivers.yaml", 'waived:\n  OC-T-1003: ""\n')
    assert trace.main(["--results", "reports/behave.json"]) == 2
