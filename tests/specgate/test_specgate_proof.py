"""spec-trace --proof-strength / --proof-floor: per-requirement mutation scores in the report
and the gate (issue #10, deliverable 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Write
from test_specgate_trace import PASS, kinds, run_json, setup

from specgate import trace
from specgate.errors import InputError
from specgate.readers.proof import load_proof_strength

BOTH_PASS = {"first": PASS, "second": PASS}


def proof_file(write: Write, scores: dict[str, object]) -> str:
    body = {"requirements": {rid: {"score": s} for rid, s in scores.items()}}
    write("reports/proof.json", json.dumps(body))
    return "reports/proof.json"


def test_proof_strength_is_shown_beside_the_status(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(write, outcomes=BOTH_PASS)
    path = proof_file(write, {"OC-T-1001": 42.5, "OC-T-1002": None})
    code, payload = run_json(capsys, "--proof-strength", path)
    assert (code, kinds(payload)) == (0, [])
    shown = {r["id"]: r["proof_strength"] for r in payload["requirements"]}
    assert shown == {"OC-T-1001": 42.5, "OC-T-1002": None}


@pytest.mark.parametrize(
    ("score", "violations"),
    [(29.9, [("weak-proof", "OC-T-1001")]), (30.0, []), (None, [])],
    ids=["just-below-the-floor", "at-the-floor", "not-measured"],
)
def test_a_must_requirement_below_the_proof_floor_fails_the_gate(
    write: Write,
    capsys: pytest.CaptureFixture[str],
    score: float | None,
    violations: list[tuple[str, str]],
) -> None:
    setup(write, outcomes=BOTH_PASS)
    path = proof_file(write, {"OC-T-1001": score, "OC-T-1002": 1.0})  # 1002 is a SHOULD
    code, payload = run_json(capsys, "--proof-strength", path, "--proof-floor", "30")
    assert (code, kinds(payload)) == (1 if violations else 0, violations)


def test_the_html_report_has_a_proof_column(write: Write) -> None:
    setup(write, outcomes=BOTH_PASS)
    path = proof_file(write, {"OC-T-1001": 87.0})
    code = trace.main(
        ["--results", "reports/behave.json", "--proof-strength", path, "--html", "reports/t.html"]
    )
    html = Path("reports/t.html").read_text(encoding="utf-8")
    assert code == 0
    assert ">Proof</th>" in html
    assert ">87 %</span>" in html


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{", "cannot read proof strength"),
        ('{"scores": {}}', "'requirements' object"),
        ('{"requirements": {"OC-T-1001": {"score": 101}}}', "OC-T-1001: score must be"),
        ('{"requirements": {"OC-T-1001": {"score": "high"}}}', "OC-T-1001: score must be"),
    ],
)
def test_an_unusable_proof_file_names_the_problem(write: Write, text: str, fragment: str) -> None:
    path = write("proof.json", text)
    with pytest.raises(InputError, match=fragment):
        load_proof_strength(path)
