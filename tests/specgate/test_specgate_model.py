"""The shared model: one requirement record, one parity rule (specgate.model, specgate.runs)."""

from __future__ import annotations

import pytest

from specgate.errors import (
    FeatureParseError,
    InputError,
    ResultsError,
    SpecgateError,
    YamlShapeError,
)
from specgate.ids import Level
from specgate.model import NOT_RUN, RECORD_KEYS, Outcome, Requirement, ScenarioRun
from specgate.runs import runner_mismatch

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
