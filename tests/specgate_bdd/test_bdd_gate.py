"""Each BDD gate of ``specgate.bdd`` fails on a planted defect and passes on a clean project.

Mini projects live in ``tmp_path``: a feature file, a step module (parsed, never imported) and
results files shaped like behave's JSON formatter and pytest-bdd's cucumber JSON; their
builders live in :mod:`harness.projects` (the gate scenarios use the same ones).
Requirements: OC-BDD-7001..7006.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.projects import FEATURE, STEPS, behave_results, project, pytest_bdd_results
from specgate.bdd import main, run


def violations(tmp_path: Path, **kwargs: Any) -> list[str]:
    return run(**project(tmp_path, **kwargs))


def test_a_clean_project_passes_every_gate(tmp_path: Path) -> None:
    assert violations(tmp_path) == []


def test_oc_bdd_7001_undefined_step_in_behave_results_fails(tmp_path: Path) -> None:
    results = behave_results()
    step = results[0]["elements"][0]["steps"][1]
    del step["match"]
    step["result"] = {"status": "undefined"}
    found = violations(tmp_path, behave=results)
    assert any("undefined step 'it holds'" in v for v in found), found


def test_oc_bdd_7001_pending_step_in_pytest_bdd_results_fails(tmp_path: Path) -> None:
    results = pytest_bdd_results()
    results[0]["elements"][0]["steps"][1]["result"]["status"] = "pending"
    found = violations(tmp_path, pytest_bdd=results)
    assert any("pending step" in v for v in found), found


def test_oc_bdd_7001_step_missing_from_pytest_bdd_results_counts_as_undefined(
    tmp_path: Path,
) -> None:
    results = pytest_bdd_results()
    results[0]["elements"][0]["steps"].pop()  # pytest-bdd drops a step it cannot find
    found = violations(tmp_path, pytest_bdd=results)
    assert any("undefined step 'it holds'" in v for v in found), found


def test_oc_bdd_7001_feature_step_without_a_pattern_is_undefined(tmp_path: Path) -> None:
    feature = FEATURE.replace("Then it holds", "Then it wobbles")
    found = violations(tmp_path, feature=feature)
    assert any("undefined step: then 'it wobbles'" in v for v in found), found


def test_oc_bdd_7001_step_matched_by_two_patterns_is_ambiguous(tmp_path: Path) -> None:
    steps = STEPS + '\n\n@then("it {verb}")\ndef it_verb(verb):\n    assert verb\n'
    found = violations(tmp_path, steps=steps)
    assert any("ambiguous step 'it holds'" in v for v in found), found


def test_oc_bdd_7002_scenario_without_steps_fails(tmp_path: Path) -> None:
    feature = FEATURE + "\n  @OC-POOL-3003\n  Scenario: Nothing happens\n"
    found = violations(tmp_path, feature=feature)
    assert any("empty scenario" in v and "Nothing happens" in v for v in found), found


def test_oc_bdd_7002_outline_without_examples_rows_fails(tmp_path: Path) -> None:
    feature = FEATURE.replace("      | 1 |\n      | 2 |\n", "")
    found = violations(tmp_path, feature=feature)
    assert any("Scenario Outline without Examples rows" in v for v in found), found


def test_oc_bdd_7003_then_step_that_asserts_nothing_fails(tmp_path: Path) -> None:
    steps = STEPS.replace("    assert True\n", "    print('fine')\n")
    found = violations(tmp_path, steps=steps)
    assert any("'it_holds'" in v and "asserts nothing" in v for v in found), found


def test_oc_bdd_7003_then_step_calling_an_assert_helper_passes(tmp_path: Path) -> None:
    found = violations(tmp_path)
    assert not any("asserts nothing" in v for v in found), found


def test_step_pattern_that_no_feature_uses_fails(tmp_path: Path) -> None:
    steps = STEPS + '\n\n@given("a gadget")\ndef a_gadget():\n    pass\n'
    found = violations(tmp_path, steps=steps)
    assert any("no feature uses: 'a gadget'" in v for v in found), found


def test_oc_bdd_7004_behave_results_with_zero_scenarios_fail(tmp_path: Path) -> None:
    found = violations(tmp_path, behave=[{"location": "x.feature:1", "elements": []}])
    assert any("behave.json: the run selected zero scenarios" in v for v in found), found


def test_oc_bdd_7004_behave_results_whose_scenarios_were_all_deselected_fail(
    tmp_path: Path,
) -> None:
    deselected = {
        "type": "scenario",
        "name": "A widget holds",
        "location": "features/w.feature:4",
        "status": "skipped",
        "selected": False,
        "skip_reason": None,
        "steps": [],
    }
    found = violations(tmp_path, behave=[{"location": "x.feature:1", "elements": [deselected]}])
    assert any("behave.json: the run selected zero scenarios" in v for v in found), found


def test_oc_bdd_7004_pytest_bdd_results_with_zero_scenarios_fail(tmp_path: Path) -> None:
    found = violations(tmp_path, pytest_bdd=[])
    assert any("pb.json: the run selected zero scenarios" in v for v in found), found


def test_oc_bdd_7005_scenario_without_requirement_tag_fails(tmp_path: Path) -> None:
    feature = FEATURE.replace("  @OC-POOL-3001\n", "  @smoke\n")
    found = violations(tmp_path, feature=feature)
    assert any("A widget holds" in v and "no requirement-ID tag" in v for v in found), found


def test_oc_bdd_7005_custom_id_pattern_is_honoured(tmp_path: Path) -> None:
    paths = project(tmp_path)
    found = run(**paths, id_pattern=r"^REQ-\d+$")
    assert sum("no requirement-ID tag" in v for v in found) == 2, found


def test_oc_bdd_7006_outcome_difference_on_one_examples_row_fails(tmp_path: Path) -> None:
    pb = pytest_bdd_results(["passed", "passed", "failed"])
    found = violations(tmp_path, pytest_bdd=pb)
    diffs = [v for v in found if "behave says" in v]
    assert diffs == [
        "widgets.feature 'A widget counts' (Examples row 2): "
        "behave says passed, pytest-bdd says failed"
    ], found


def test_cli_exits_1_with_violations_and_0_when_clean(tmp_path: Path, capsys: Any) -> None:
    paths = project(tmp_path)
    args = [
        "--features",
        str(paths["features"]),
        "--steps",
        str(paths["steps"][0]),
        "--behave",
        str(paths["behave"]),
        "--pytest-bdd",
        str(paths["pytest_bdd"]),
    ]
    assert main(args) == 0
    (paths["features"] / "widgets.feature").write_text(FEATURE.replace("@OC-POOL-3001", "@x"))
    assert main(args) == 1
    assert "no requirement-ID tag" in capsys.readouterr().out


def test_scenario_skipped_by_both_runners_is_not_a_violation(tmp_path: Path) -> None:
    """A @gpu-style skip: behave reports it skipped, pytest-bdd leaves it out of its JSON."""
    behave = behave_results()
    element = behave[0]["elements"][0]
    element["status"] = "skipped"
    for st in element["steps"]:
        del st["result"]
    pytest_bdd = pytest_bdd_results()
    pytest_bdd[0]["elements"].pop(0)
    assert violations(tmp_path, behave=behave, pytest_bdd=pytest_bdd) == []


def test_oc_bdd_7006_skipped_in_behave_but_passed_in_pytest_bdd_fails(tmp_path: Path) -> None:
    behave = behave_results()
    element = behave[0]["elements"][0]
    element["status"] = "skipped"
    for st in element["steps"]:
        del st["result"]
    found = violations(tmp_path, behave=behave)
    assert any("behave says skipped, pytest-bdd says passed" in v for v in found), found


def test_oc_bdd_7005_a_retired_requirement_tag_counts_as_an_id_tag(tmp_path: Path) -> None:
    """The default ID pattern is specgate.ids' own, which knows the -DEPR suffix."""
    feature = FEATURE.replace("@OC-POOL-3001\n", "@OC-POOL-3001-DEPR\n")
    found = violations(tmp_path, feature=feature)
    assert not any("no requirement-ID tag" in v for v in found), found


def test_oc_bdd_7006_a_scenario_pytest_bdd_left_out_differs_from_a_pass(tmp_path: Path) -> None:
    pytest_bdd = pytest_bdd_results()
    pytest_bdd[0]["elements"].pop(0)
    found = violations(tmp_path, pytest_bdd=pytest_bdd)
    assert found == [
        "widgets.feature 'A widget holds': behave says passed, pytest-bdd says not-run"
    ], found
