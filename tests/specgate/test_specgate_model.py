"""The shared model: one requirement record, one parity rule, one way to combine a scenario's
entries and to read an error message (specgate.model, specgate.runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from specgate.errors import (
    FeatureParseError,
    InputError,
    ResultsError,
    SpecgateError,
    YamlShapeError,
)
from specgate.ids import Level
from specgate.model import (
    NOT_RUN,
    RECORD_KEYS,
    Outcome,
    Requirement,
    ResultElement,
    Runner,
    Scenario,
    ScenarioRun,
    Step,
    StepResult,
    error_lines,
)
from specgate.runs import failed_step, map_results, runner_mismatch

REQ = Requirement(
    id="OC-T-1001",
    title="The system MUST work.",
    text="The system MUST work.",
    section="Behaviour",
    level=Level.MUST,
    link="spec/t.md#behaviour",
    file="spec/t.md",
    line=5,
    fingerprint="ab" * 32,
    col=3,
)


def test_a_requirement_record_has_the_record_keys_in_order_and_reads_back() -> None:
    record = REQ.record()
    assert tuple(record) == RECORD_KEYS
    assert record["source"] == "spec/t.md:5"
    assert record["level"] == "must"
    assert Requirement.from_record(record, col=3) == REQ


def test_a_record_without_a_line_in_its_source_keeps_the_source_as_written() -> None:
    record = REQ.record() | {"source": "hand-written"}
    assert Requirement.from_record(record).source == "hand-written"


def test_every_specgate_error_has_one_root() -> None:
    for error in (InputError, ResultsError, FeatureParseError, YamlShapeError):
        assert issubclass(error, SpecgateError)
    assert issubclass(YamlShapeError, ValueError)


def _run(*by_file: tuple[str, Outcome]) -> ScenarioRun:
    return ScenarioRun(Outcome.PASSED, by_file, (), "")


@pytest.mark.parametrize(
    ("by_file", "files", "differs"),
    [
        ((("a", Outcome.PASSED), ("b", Outcome.PASSED)), None, False),
        ((("a", Outcome.PASSED), ("b", Outcome.FAILED)), None, True),
        ((("a", Outcome.PASSED),), None, False),  # only the files that report it count
        ((("a", Outcome.PASSED),), ["a", "b"], True),  # b must report it: not-run there
        ((("a", Outcome.SKIPPED),), ["a", "b"], False),  # skipped agrees with left out
        ((("a", Outcome.SKIPPED), ("b", Outcome.PASSED)), ["a", "b"], True),
    ],
)
def test_oc_bdd_7006_runner_mismatch_is_one_rule(
    by_file: tuple[tuple[str, Outcome], ...], files: list[str] | None, differs: bool
) -> None:
    assert (runner_mismatch(_run(*by_file), files) is not None) is differs


def test_a_scenario_no_file_reports_agrees_everywhere() -> None:
    assert runner_mismatch(NOT_RUN, ["a", "b"]) is None


BEHAVE_ERROR = "ASSERT FAILED: the pool is still running\nwith 3 workers\n\n"
PYTEST_ERROR = """world = <PoolWorld>

    def then_it_stops(world):
>       assert world.stopped, "the pool is still running"
E       AssertionError: the pool is still running
E       assert False

harness/steps/pool.py:12: AssertionError"""
TRACEBACK = """Traceback (most recent call last):
  File "a.py", line 3, in f
    g()
  File "a.py", line 7, in g
    raise KeyError("pool")
KeyError: 'pool'"""


@pytest.mark.parametrize(
    ("error", "limit", "expected"),
    [
        (BEHAVE_ERROR, 6, ["ASSERT FAILED: the pool is still running", "with 3 workers"]),
        (BEHAVE_ERROR, 1, ["ASSERT FAILED: the pool is still running …"]),
        (PYTEST_ERROR, 6, ["AssertionError: the pool is still running", "assert False"]),
        (TRACEBACK, 2, ['    raise KeyError("pool")', "KeyError: 'pool'"]),
        ("x" * 250, 6, ["x" * 199 + "…"]),
        ("", 6, []),
    ],
)
def test_error_lines_are_the_lines_a_person_reads_first(
    error: str, limit: int, expected: list[str]
) -> None:
    assert error_lines(error, limit) == expected


SCENARIO = Scenario(
    feature="features/p.feature",
    rel="p.feature",
    feature_name="P",
    name="stops",
    keyword="Scenario",
    line=3,
    scenario_line=3,
    examples="",
    example_row=None,
    example_values=(),
    tags=("OC-P-1001",),
    steps=(Step("Given", "a pool", "given", 4), Step("Then", "it stops", "then", 5)),
)


def _entry(
    shown: str, statuses: tuple[str, ...], *, selected: bool = True, reason: str = ""
) -> tuple[str, list[ResultElement]]:
    outcomes = {"passed": Outcome.PASSED, "failed": Outcome.FAILED, "skipped": Outcome.SKIPPED}
    steps = tuple(
        StepResult(t, s, outcomes[s], True)
        for t, s in zip(("a pool", "it stops"), statuses, strict=False)
    )
    element = ResultElement(
        results_file=shown,
        runner=Runner.BEHAVE,
        uri="features/p.feature",
        line=3,
        name="stops",
        param=None,
        status=None,
        steps=steps,
        error="boom" if "failed" in statuses else "",
        reason=reason,
        selected=selected,
        duration_s=0.5,
    )
    return shown, [element]


def _combined(*files: tuple[str, list[ResultElement]]) -> ScenarioRun:
    return map_results([SCENARIO], list(files), Path("features")).runs[SCENARIO.key]


def test_an_entry_its_run_did_not_select_does_not_outvote_one_that_ran() -> None:
    run = _combined(
        _entry("a.json", ("skipped", "skipped"), selected=False),
        _entry("b.json", ("passed", "passed")),
    )
    assert (run.outcome, run.reason) == (Outcome.PASSED, "")
    assert run.by_file == (("a.json", Outcome.NOT_RUN), ("b.json", Outcome.PASSED))


def test_a_scenario_only_deselected_is_not_run_not_skipped() -> None:
    run = _combined(_entry("a.json", ("skipped", "skipped"), selected=False))
    assert (run.outcome, run.reason, run.duration_s) == (Outcome.NOT_RUN, "not selected", None)


def test_a_skipped_scenario_keeps_its_reason_and_a_failed_one_its_step() -> None:
    skipped = _combined(_entry("a.json", ("skipped", "skipped"), reason="no GPU"))
    assert (skipped.outcome, skipped.reason) == (Outcome.SKIPPED, "no GPU")
    failed = _combined(_entry("a.json", ("passed", "failed")))
    step = failed_step(SCENARIO, failed)
    assert (failed.outcome, step and step.written, step and step.line, failed.error) == (
        Outcome.FAILED,
        "Then it stops",
        5,
        "boom",
    )
    assert failed.duration_s == 0.5


def test_a_scenario_no_file_reports_is_not_run_in_no_results_file() -> None:
    run = _combined()
    assert (run.outcome, run.reason, run.steps) == (
        Outcome.NOT_RUN,
        "in no results file",
        (Outcome.NOT_RUN, Outcome.NOT_RUN),
    )
