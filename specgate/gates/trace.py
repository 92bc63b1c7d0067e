"""The traceability gate: requirement x scenarios x outcome, its statuses and violations.

Decides each requirement's status and every gate violation, from the requirements, the
scenarios with their combined runs, the review lock and the waivers:

- covered: at least one linked scenario passed and none failed; failing: a linked scenario
  failed or has an undefined step; uncovered: nothing linked passed; info: an info-level
  requirement with nothing passing or failing; retired: a ``-DEPR`` ID; suspect: the
  requirement text changed since it was last reviewed (fingerprint differs from the lock),
  or it is cited by scenarios and was never reviewed; waived: an uncovered requirement with a
  waiver.
- violations: a MUST requirement with no passing scenario; a tag naming an unknown ID; a tag
  naming a retired ID; a scenario with no tag naming a defined requirement (when tags are
  required: OC-BDD-7005); a suspect requirement; a stale or unknown waiver; optionally a
  scenario whose outcome differs between results files (runner parity, OC-BDD-7006, decided
  by ``specgate.runs.runner_mismatch``).

Pure: ``build_matrix`` reads nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from specgate import ids
from specgate.ids import Level
from specgate.model import (
    NO_RUN_INFO,
    NOT_RUN,
    Outcome,
    Requirement,
    RunInfo,
    Scenario,
    ScenarioRun,
)
from specgate.runs import runner_mismatch


class Status(StrEnum):
    COVERED = "covered"
    FAILING = "failing"
    UNCOVERED = "uncovered"
    WAIVED = "waived"
    SUSPECT = "suspect"
    INFO = "info"
    RETIRED = "retired"


class ViolationKind(StrEnum):
    MUST_NOT_PASSING = "must-not-passing"
    UNKNOWN_ID = "unknown-id"
    RETIRED_ID = "retired-id"
    UNTAGGED = "untagged-scenario"
    RUNNER_MISMATCH = "runner-mismatch"
    SUSPECT = "suspect"
    STALE_WAIVER = "stale-waiver"
    UNKNOWN_WAIVER = "unknown-waiver"
    WEAK_PROOF = "weak-proof"


@dataclass(frozen=True, order=True)
class Violation:
    kind: ViolationKind
    subject: str
    message: str


@dataclass(frozen=True)
class Row:
    """One requirement of the matrix with its linked scenario keys."""

    req: Requirement
    status: Status
    suspect: bool
    reviewed: str | None
    scenarios: tuple[str, ...]
    passing: int
    waiver: str | None = None
    proof: float | None = None
    """Proof strength in percent (mutants of the code its scenarios run that they reject)."""


@dataclass(frozen=True)
class Matrix:
    rows: tuple[Row, ...]
    scenarios: tuple[Scenario, ...]
    runs: Mapping[str, ScenarioRun]
    violations: tuple[Violation, ...]
    warnings: tuple[str, ...]
    results_files: tuple[str, ...]
    info: RunInfo = NO_RUN_INFO

    @property
    def ok(self) -> bool:
        return not self.violations

    def run(self, scenario: Scenario) -> ScenarioRun:
        return self.runs.get(scenario.key, NOT_RUN)

    def counts(self) -> dict[str, dict[str, int]]:
        """Requirement counts: status -> level -> n, with ``total`` rows and columns."""
        table: dict[str, dict[str, int]] = {}
        for status in Status:
            table[str(status)] = {str(level): 0 for level in Level} | {"total": 0}
        table["total"] = {str(level): 0 for level in Level} | {"total": 0}
        for row in self.rows:
            for key in (str(row.status), "total"):
                table[key][str(row.req.level)] += 1
                table[key]["total"] += 1
        return table

    def outcome_counts(self) -> dict[str, int]:
        counts = {str(o): 0 for o in Outcome}
        for scenario in self.scenarios:
            counts[str(self.run(scenario).outcome)] += 1
        return counts


def _status(req: Requirement, outcomes: Sequence[Outcome], suspect: bool) -> Status:
    if suspect:
        return Status.SUSPECT
    if ids.is_retired(req.id):
        return Status.RETIRED
    if any(o in (Outcome.FAILED, Outcome.UNDEFINED) for o in outcomes):
        return Status.FAILING
    if Outcome.PASSED in outcomes:
        return Status.COVERED
    return Status.INFO if req.level is Level.INFO else Status.UNCOVERED


def _scenario_violations(
    scenario: Scenario,
    known: Mapping[str, Requirement],
    runs: Mapping[str, ScenarioRun],
    *,
    require_tags: bool,
    umbrella: tuple[str, ...],
    require_parity: bool,
) -> tuple[list[Violation], list[str]]:
    """The violations of one scenario's tags (and runs), and the defined IDs it cites."""
    violations: list[Violation] = []
    cited: list[str] = []
    tags = scenario.id_tags
    key = scenario.key
    where = f"{key} ({scenario.name})"
    if require_tags and not any(t in known for t in tags):
        message = f"{where}: no tag names a defined requirement"
        violations.append(Violation(ViolationKind.UNTAGGED, key, message))
    if require_parity:
        differ = runner_mismatch(runs.get(key, NOT_RUN))
        if differ is not None:
            by_file = ", ".join(f"{f}: {o}" for f, o in differ)
            message = f"{where}: outcomes differ between runners ({by_file})"
            violations.append(Violation(ViolationKind.RUNNER_MISMATCH, key, message))
    for tag in tags:
        if tag not in known:
            if umbrella and tag.startswith(umbrella):
                continue
            message = f"{where}: tag @{tag} names no known requirement"
            violations.append(Violation(ViolationKind.UNKNOWN_ID, key, message))
            continue
        cited.append(tag)
        if ids.is_retired(tag):
            message = f"{where}: tag @{tag} names a retired requirement"
            violations.append(Violation(ViolationKind.RETIRED_ID, key, message))
    return violations, cited


def _requirement_row(
    req: Requirement,
    cited: Sequence[Scenario],
    runs: Mapping[str, ScenarioRun],
    reviewed: Mapping[str, str],
    waived: Mapping[str, str],
    proof: Mapping[str, float | None],
    proof_floor: float | None,
) -> tuple[Row, list[Violation]]:
    """One requirement's row of the matrix and its violations."""
    outcomes = [runs.get(s.key, NOT_RUN).outcome for s in cited]
    recorded = reviewed.get(req.id)
    suspect = recorded != req.fingerprint if recorded is not None else bool(cited)
    passing = sum(1 for o in outcomes if o is Outcome.PASSED)
    status = _status(req, outcomes, suspect)
    is_waived = req.id in waived
    if is_waived and status is Status.UNCOVERED:
        status = Status.WAIVED
    strength = proof.get(req.id)
    row = Row(
        req,
        status,
        suspect,
        recorded,
        tuple(s.key for s in cited),
        passing,
        waived.get(req.id),
        strength,
    )
    violations: list[Violation] = []
    if (
        proof_floor is not None
        and req.level is Level.MUST
        and strength is not None
        and strength < proof_floor
    ):
        message = (
            f"{req.id} ({req.source}): its scenarios reject {strength:.0f} % of the mutants of "
            f"the code they run, below the floor of {proof_floor:.0f} %"
        )
        violations.append(Violation(ViolationKind.WEAK_PROOF, req.id, message))
    if suspect:
        why = "changed since it was reviewed" if recorded else "was never reviewed"
        violations.append(
            Violation(
                ViolationKind.SUSPECT,
                req.id,
                f"{req.id} ({req.source}) is suspect: its text {why}; "
                f"check its scenarios, then run `spec-trace review {req.id}`",
            )
        )
    if is_waived and passing:
        message = f"{req.id} has a passing scenario now: remove its waiver"
        violations.append(Violation(ViolationKind.STALE_WAIVER, req.id, message))
    if req.level is Level.MUST and not passing and not ids.is_retired(req.id):
        failing = any(o in (Outcome.FAILED, Outcome.UNDEFINED) for o in outcomes)
        if not is_waived or failing:
            summary = ", ".join(sorted({str(o) for o in outcomes})) or "no scenario"
            violations.append(
                Violation(
                    ViolationKind.MUST_NOT_PASSING,
                    req.id,
                    f"{req.id} ({req.source}) is a MUST requirement with no passing scenario "
                    f"({summary})",
                )
            )
    return row, violations


def build_matrix(
    requirements: Sequence[Requirement],
    scenarios: Sequence[Scenario],
    runs: Mapping[str, ScenarioRun],
    reviewed: Mapping[str, str],
    *,
    require_tags: bool = True,
    allow_undefined: Sequence[str] = (),
    require_parity: bool = False,
    warnings: Sequence[str] = (),
    results_files: Sequence[str] = (),
    waived: Mapping[str, str] | None = None,
    proof: Mapping[str, float | None] | None = None,
    proof_floor: float | None = None,
) -> Matrix:
    """``allow_undefined``: ID prefixes (e.g. ``ORCH``) whose tags may name IDs no spec defines
    (umbrella IDs); such tags are ignored. ``require_parity``: a scenario whose outcome differs
    between results files is a violation (OC-BDD-7006). ``waived``: requirement ID -> reason; a
    waived MUST requirement with no passing scenario is shown as ``waived`` instead of failing
    the gate, a waiver on a requirement that now has a passing scenario is a violation (waivers
    only shrink), and a waiver naming an unknown ID is a violation. ``proof``: requirement ID ->
    proof strength in percent (``None``: not measured); with ``proof_floor``, a MUST requirement
    measured below the floor is a violation."""
    waived = dict(waived or {})
    known = {r.id: r for r in requirements}
    linked: dict[str, list[Scenario]] = {r.id: [] for r in requirements}
    violations: list[Violation] = []
    umbrella = tuple(f"{prefix}-" for prefix in allow_undefined)
    for scenario in scenarios:
        found, cited = _scenario_violations(
            scenario,
            known,
            runs,
            require_tags=require_tags,
            umbrella=umbrella,
            require_parity=require_parity,
        )
        violations.extend(found)
        for tag in cited:
            linked[tag].append(scenario)
    rows = []
    for req in requirements:
        row, found = _requirement_row(
            req, linked[req.id], runs, reviewed, waived, proof or {}, proof_floor
        )
        rows.append(row)
        violations.extend(found)
    for req_id in sorted(set(waived) - set(known), key=ids.id_sort_key):
        message = f"waiver names {req_id}, which no spec defines"
        violations.append(Violation(ViolationKind.UNKNOWN_WAIVER, req_id, message))
    return Matrix(
        rows=tuple(rows),
        scenarios=tuple(scenarios),
        runs=runs,
        violations=tuple(violations),
        warnings=tuple(warnings),
        results_files=tuple(results_files),
    )
