"""The traceability gate: requirement x scenarios x outcome, its statuses and violations.

Decides each requirement's status and every gate violation, from the requirements, the
scenarios with their combined runs, the review lock and the waivers:

- covered: at least one linked scenario passed and none failed; failing: a linked scenario
  failed or has an undefined step; not-run: it has scenarios and none of them ran (a partial
  run did not select them); uncovered: nothing linked passed; info: an info-level
  requirement with nothing passing or failing; retired: a ``-DEPR`` ID; suspect: the
  requirement text changed since it was last reviewed (fingerprint differs from the lock),
  or it is cited by scenarios and was never reviewed; waived: an uncovered (or not-run)
  requirement with a waiver.
- violations, for a requirement at a gated level (MUST by default, ``gate_levels``): each
  linked scenario that failed or has an undefined step, even beside passing ones and even when
  waived (naming the scenario, its first failed step and the message's first line); no
  passing scenario (not waived): no scenario at all, or only skipped ones; a requirement whose
  scenarios were all not run only with ``require_complete``. With ``require_complete``, also
  one violation for the scenarios the run did not run. Then: a tag naming an unknown ID; a tag
  naming a retired ID; a scenario with no tag naming a defined requirement (when tags are
  required: OC-BDD-7005); a suspect requirement; a stale or unknown waiver; optionally a
  scenario whose outcome differs between results files (runner parity, OC-BDD-7006, decided
  by ``specgate.runs.runner_mismatch``).

A run is partial (``RunInfo.partial``) when some scenario was not run; it still checks every
scenario that ran, every tag and every requirement with no scenario at all.

Pure: ``build_matrix`` reads nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
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
    Step,
    error_lines,
)
from specgate.runs import failed_step, runner_mismatch


class Status(StrEnum):
    COVERED = "covered"
    FAILING = "failing"
    NOT_RUN = "not-run"
    UNCOVERED = "uncovered"
    WAIVED = "waived"
    SUSPECT = "suspect"
    INFO = "info"
    RETIRED = "retired"


class ViolationKind(StrEnum):
    FAILING_SCENARIO = "failing-scenario"
    MUST_NOT_PASSING = "must-not-passing"
    INCOMPLETE_RUN = "incomplete-run"
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

    def failed_step(self, scenario: Scenario) -> Step | None:
        """The scenario's first failed or undefined step, if it failed."""
        return failed_step(scenario, self.run(scenario))

    def failed(self) -> tuple[Scenario, ...]:
        """The scenarios whose run failed or has an undefined step, in suite order."""
        return tuple(s for s in self.scenarios if self.run(s).outcome in _BAD)

    def not_run(self) -> tuple[Scenario, ...]:
        return tuple(s for s in self.scenarios if self.run(s).outcome is Outcome.NOT_RUN)

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


_BAD = (Outcome.FAILED, Outcome.UNDEFINED)
GATED_DEFAULT = (Level.MUST,)
GATE_LEVELS = {
    "must": (Level.MUST,),
    "should": (Level.MUST, Level.SHOULD),
    "may": (Level.MUST, Level.SHOULD, Level.MAY),
}
"""``--gate-level`` word -> the levels it gates (each gates the levels above it too)."""


def _status(req: Requirement, outcomes: Sequence[Outcome], suspect: bool) -> Status:
    if suspect:
        return Status.SUSPECT
    if ids.is_retired(req.id):
        return Status.RETIRED
    if any(o in _BAD for o in outcomes):
        return Status.FAILING
    if Outcome.PASSED in outcomes:
        return Status.COVERED
    if req.level is Level.INFO:
        return Status.INFO
    if outcomes and all(o is Outcome.NOT_RUN for o in outcomes):
        return Status.NOT_RUN
    return Status.UNCOVERED


def failing_message(req: Requirement, scenario: Scenario, run: ScenarioRun) -> str:
    """A failing-scenario violation: the requirement, the scenario, its step and message."""
    what = "has an undefined step" if run.outcome is Outcome.UNDEFINED else "failed"
    level = req.level.value.upper()
    text = f"{req.id} ({req.source}, {level}): {scenario.key} {scenario.name!r} {what}"
    step = failed_step(scenario, run)
    if step is not None:
        text += f" at step {scenario.feature}:{step.line} {step.written!r}"
    first = error_lines(run.error, 1)
    return f"{text}: {first[0]}" if first else text


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


@dataclass(frozen=True)
class _Gate:
    """How the rows are judged: the gated levels, completeness and the proof floor."""

    levels: Collection[Level]
    require_complete: bool
    proof_floor: float | None


def _gated_violations(
    req: Requirement,
    cited: Sequence[Scenario],
    runs: Mapping[str, ScenarioRun],
    *,
    passing: int,
    waived: bool,
    require_complete: bool,
) -> list[Violation]:
    """A gated requirement's failing scenarios, or its lack of a passing one."""
    violations: list[Violation] = []
    for scenario in cited:
        run = runs.get(scenario.key, NOT_RUN)
        if run.outcome in _BAD:
            message = failing_message(req, scenario, run)
            violations.append(Violation(ViolationKind.FAILING_SCENARIO, req.id, message))
    if violations or passing or waived:
        return violations
    outcomes = [runs.get(s.key, NOT_RUN).outcome for s in cited]
    if outcomes and all(o is Outcome.NOT_RUN for o in outcomes) and not require_complete:
        return violations  # a partial run that did not select its scenarios
    summary = ", ".join(sorted({str(o) for o in outcomes})) or "no scenario"
    message = (
        f"{req.id} ({req.source}) is a {req.level.value.upper()} requirement with no passing "
        f"scenario ({summary})"
    )
    return [Violation(ViolationKind.MUST_NOT_PASSING, req.id, message)]


def _requirement_row(
    req: Requirement,
    cited: Sequence[Scenario],
    runs: Mapping[str, ScenarioRun],
    reviewed: Mapping[str, str],
    waived: Mapping[str, str],
    proof: Mapping[str, float | None],
    gate: _Gate,
) -> tuple[Row, list[Violation]]:
    """One requirement's row of the matrix and its violations."""
    outcomes = [runs.get(s.key, NOT_RUN).outcome for s in cited]
    recorded = reviewed.get(req.id)
    suspect = recorded != req.fingerprint if recorded is not None else bool(cited)
    passing = sum(1 for o in outcomes if o is Outcome.PASSED)
    status = _status(req, outcomes, suspect)
    is_waived = req.id in waived
    if is_waived and status in (Status.UNCOVERED, Status.NOT_RUN):
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
    floor = gate.proof_floor
    if floor is not None and req.level is Level.MUST and strength is not None and strength < floor:
        message = (
            f"{req.id} ({req.source}): its scenarios reject {strength:.0f} % of the mutants of "
            f"the code they run, below the floor of {floor:.0f} %"
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
    if req.level in gate.levels and not ids.is_retired(req.id):
        violations += _gated_violations(
            req,
            cited,
            runs,
            passing=passing,
            waived=is_waived,
            require_complete=gate.require_complete,
        )
    return row, violations


def _incomplete(scenarios: Sequence[Scenario], runs: Mapping[str, ScenarioRun]) -> list[Violation]:
    """With ``require_complete``: one violation naming the scenarios that were not run."""
    missing = [s for s in scenarios if runs.get(s.key, NOT_RUN).outcome is Outcome.NOT_RUN]
    if not missing:
        return []
    reasons = sorted({runs.get(s.key, NOT_RUN).reason or "not run" for s in missing})
    shown = ", ".join(s.key for s in missing[:3]) + (", …" if len(missing) > 3 else "")
    message = (
        f"{len(missing)} of {len(scenarios)} scenarios were not run ({'; '.join(reasons)}): "
        f"{shown}; completeness is required"
    )
    return [Violation(ViolationKind.INCOMPLETE_RUN, "run", message)]


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
    gate_levels: Collection[Level] = GATED_DEFAULT,
    require_complete: bool = False,
    info: RunInfo = NO_RUN_INFO,
) -> Matrix:
    """``allow_undefined``: ID prefixes (e.g. ``ORCH``) whose tags may name IDs no spec defines
    (umbrella IDs); such tags are ignored. ``require_parity``: a scenario whose outcome differs
    between results files is a violation (OC-BDD-7006). ``waived``: requirement ID -> reason; a
    waived MUST requirement with no passing scenario is shown as ``waived`` instead of failing
    the gate, a waiver on a requirement that now has a passing scenario is a violation (waivers
    only shrink), and a waiver naming an unknown ID is a violation. ``proof``: requirement ID ->
    proof strength in percent (``None``: not measured); with ``proof_floor``, a MUST requirement
    measured below the floor is a violation. ``gate_levels``: the levels whose failing
    scenarios and missing passing scenarios fail the gate. ``require_complete``: a scenario
    that was not run is a violation (else a requirement whose scenarios were all not run passes
    as not-run). ``info``: the run's metadata; its ``partial`` is set here."""
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
    gate = _Gate(frozenset(gate_levels), require_complete, proof_floor)
    for req in requirements:
        row, found = _requirement_row(
            req, linked[req.id], runs, reviewed, waived, proof or {}, gate
        )
        rows.append(row)
        violations.extend(found)
    for req_id in sorted(set(waived) - set(known), key=ids.id_sort_key):
        message = f"waiver names {req_id}, which no spec defines"
        violations.append(Violation(ViolationKind.UNKNOWN_WAIVER, req_id, message))
    if require_complete:
        violations.extend(_incomplete(scenarios, runs))
    partial = any(runs.get(s.key, NOT_RUN).outcome is Outcome.NOT_RUN for s in scenarios)
    return Matrix(
        rows=tuple(rows),
        scenarios=tuple(scenarios),
        runs=runs,
        violations=tuple(violations),
        warnings=tuple(warnings),
        results_files=tuple(results_files),
        info=replace(info, partial=partial),
    )
