"""The traceability matrix: requirement x scenarios x outcome, its statuses and the gate.

Decides each requirement's status and every gate violation, from the extracted requirements,
the scenarios with their combined outcomes, and the review lock:

- covered: at least one linked scenario passed and none failed; failing: a linked scenario
  failed or has an undefined step; uncovered: nothing linked passed; info: an info-level
  requirement with nothing passing or failing; retired: a ``-DEPR`` ID; suspect: the
  requirement text changed since it was last reviewed (fingerprint differs from the lock),
  or it is cited by scenarios and was never reviewed.
- violations: a MUST requirement with no passing scenario; a tag naming an unknown ID; a tag
  naming a retired ID; a scenario with no tag naming a defined requirement (when tags are
  required: OC-BDD-7005); a suspect requirement; optionally a scenario whose outcome differs
  between results files (runner parity, OC-BDD-7006).

``build_matrix`` is pure; ``load_requirements`` and the lock helpers read and write files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from specgate import ids
from specgate.features import Scenario
from specgate.ids import Level
from specgate.results import NOT_RUN, Outcome, ScenarioRun
from specgate.yamlio import YamlShapeError, dump_mapping, load_mapping, load_records

LOCK_KEY = "reviewed"
LOCK_COMMENTS = (
    "Reviewed requirement fingerprints: requirement ID -> sha256 of its text when last reviewed.",
    "Maintained by `spec-trace review ID...` (or `spec-trace review --all`); do not edit by hand.",
)
_REQUIRED_KEYS = ("id", "level", "fingerprint")


@dataclass(frozen=True)
class Req:
    """A requirement as read back from the generated YAML."""

    id: str
    title: str
    text: str
    section: str
    level: Level
    link: str
    source: str
    fingerprint: str


class InputError(Exception):
    """A requirements or lock file that cannot be used."""


def load_requirements(directory: Path) -> list[Req]:
    """Every requirement of ``directory/*.yaml`` (sorted by ID)."""
    if not directory.is_dir():
        raise InputError(f"requirements directory not found: {directory}")
    found: dict[str, Req] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            records = load_records(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, YamlShapeError) as exc:
            raise InputError(f"{path}: cannot read requirements: {exc}") from exc
        for record in records:
            missing = [k for k in _REQUIRED_KEYS if not record.get(k)]
            if missing:
                raise InputError(f"{path}: a requirement lacks {', '.join(missing)}")
            try:
                level = Level(record["level"])
            except ValueError as exc:
                raise InputError(f"{path}: unknown level {record['level']!r}") from exc
            req = Req(
                id=record["id"],
                title=record.get("title", ""),
                text=record.get("text", ""),
                section=record.get("section", ""),
                level=level,
                link=record.get("link", ""),
                source=record.get("source", ""),
                fingerprint=record["fingerprint"],
            )
            if req.id in found:
                raise InputError(f"{path}: {req.id} appears in two requirement files")
            found[req.id] = req
    return sorted(found.values(), key=lambda r: ids.id_sort_key(r.id))


def load_lock(path: Path) -> dict[str, str]:
    """The review lock (empty when the file does not exist yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read lock: {exc}") from exc
    try:
        return load_mapping(LOCK_KEY, text)
    except (ValueError, YamlShapeError) as exc:
        raise InputError(f"{path}: bad lock file: {exc}") from exc


def render_lock(reviewed: Mapping[str, str]) -> str:
    ordered = {k: reviewed[k] for k in sorted(reviewed, key=ids.id_sort_key)}
    return dump_mapping(LOCK_KEY, ordered, LOCK_COMMENTS)


WAIVER_KEY = "waived"


def load_waivers(path: Path) -> dict[str, str]:
    """The waiver file: requirement ID -> why it has no passing scenario yet (and where it will).

    A missing file means no waivers.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read waivers: {exc}") from exc
    try:
        waivers = load_mapping(WAIVER_KEY, text)
    except (ValueError, YamlShapeError) as exc:
        raise InputError(f"{path}: bad waiver file: {exc}") from exc
    for req_id, reason in waivers.items():
        if not reason.strip():
            raise InputError(f"{path}: waiver for {req_id} gives no reason")
    return waivers


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


@dataclass(frozen=True, order=True)
class Violation:
    kind: ViolationKind
    subject: str
    message: str


@dataclass(frozen=True)
class Row:
    """One requirement of the matrix with its linked scenario keys."""

    req: Req
    status: Status
    suspect: bool
    reviewed: str | None
    scenarios: tuple[str, ...]
    passing: int
    waiver: str | None = None


@dataclass(frozen=True)
class Matrix:
    rows: tuple[Row, ...]
    scenarios: tuple[Scenario, ...]
    runs: Mapping[str, ScenarioRun]
    violations: tuple[Violation, ...]
    warnings: tuple[str, ...]
    results_files: tuple[str, ...]

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


def _status(req: Req, outcomes: Sequence[Outcome], suspect: bool) -> Status:
    if suspect:
        return Status.SUSPECT
    if ids.is_retired(req.id):
        return Status.RETIRED
    if any(o in (Outcome.FAILED, Outcome.UNDEFINED) for o in outcomes):
        return Status.FAILING
    if Outcome.PASSED in outcomes:
        return Status.COVERED
    return Status.INFO if req.level is Level.INFO else Status.UNCOVERED


def build_matrix(
    requirements: Sequence[Req],
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
) -> Matrix:
    """``allow_undefined``: ID prefixes (e.g. ``ORCH``) whose tags may name IDs no spec defines
    (umbrella IDs); such tags are ignored. ``require_parity``: a scenario whose outcome differs
    between results files is a violation (OC-BDD-7006). ``waived``: requirement ID -> reason; a
    waived MUST requirement with no passing scenario is shown as ``waived`` instead of failing
    the gate, a waiver on a requirement that now has a passing scenario is a violation (waivers
    only shrink), and a waiver naming an unknown ID is a violation."""
    waived = dict(waived or {})
    known = {r.id: r for r in requirements}
    linked: dict[str, list[Scenario]] = {r.id: [] for r in requirements}
    violations: list[Violation] = []
    umbrella = tuple(f"{prefix}-" for prefix in allow_undefined)
    for scenario in scenarios:
        tags = scenario.id_tags
        where = f"{scenario.key} ({scenario.name})"
        if require_tags and not any(t in known for t in tags):
            violations.append(
                Violation(
                    ViolationKind.UNTAGGED,
                    scenario.key,
                    f"{where}: no tag names a defined requirement",
                )
            )
        if require_parity:
            seen = {o for _, o in runs.get(scenario.key, NOT_RUN).by_file}
            if len(seen) > 1:
                by_file = ", ".join(f"{f}: {o}" for f, o in runs[scenario.key].by_file)
                violations.append(
                    Violation(
                        ViolationKind.RUNNER_MISMATCH,
                        scenario.key,
                        f"{where}: outcomes differ between runners ({by_file})",
                    )
                )
        for tag in tags:
            if tag not in known:
                if umbrella and tag.startswith(umbrella):
                    continue
                violations.append(
                    Violation(
                        ViolationKind.UNKNOWN_ID,
                        scenario.key,
                        f"{where}: tag @{tag} names no known requirement",
                    )
                )
                continue
            linked[tag].append(scenario)
            if ids.is_retired(tag):
                violations.append(
                    Violation(
                        ViolationKind.RETIRED_ID,
                        scenario.key,
                        f"{where}: tag @{tag} names a retired requirement",
                    )
                )
    rows = []
    for req in requirements:
        cited = linked[req.id]
        outcomes = [runs.get(s.key, NOT_RUN).outcome for s in cited]
        recorded = reviewed.get(req.id)
        suspect = recorded != req.fingerprint if recorded is not None else bool(cited)
        passing = sum(1 for o in outcomes if o is Outcome.PASSED)
        status = _status(req, outcomes, suspect)
        is_waived = req.id in waived
        if is_waived and status is Status.UNCOVERED:
            status = Status.WAIVED
        row = Row(
            req,
            status,
            suspect,
            recorded,
            tuple(s.key for s in cited),
            passing,
            waived.get(req.id),
        )
        rows.append(row)
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
            violations.append(
                Violation(
                    ViolationKind.STALE_WAIVER,
                    req.id,
                    f"{req.id} has a passing scenario now: remove its waiver",
                )
            )
        if req.level is Level.MUST and not passing and not ids.is_retired(req.id):
            if is_waived and not any(o in (Outcome.FAILED, Outcome.UNDEFINED) for o in outcomes):
                continue
            summary = ", ".join(sorted({str(o) for o in outcomes})) or "no scenario"
            violations.append(
                Violation(
                    ViolationKind.MUST_NOT_PASSING,
                    req.id,
                    f"{req.id} ({req.source}) is a MUST requirement with no passing scenario "
                    f"({summary})",
                )
            )
    for req_id in sorted(set(waived) - set(known), key=ids.id_sort_key):
        violations.append(
            Violation(
                ViolationKind.UNKNOWN_WAIVER,
                req_id,
                f"waiver names {req_id}, which no spec defines",
            )
        )
    return Matrix(
        rows=tuple(rows),
        scenarios=tuple(scenarios),
        runs=runs,
        violations=tuple(violations),
        warnings=tuple(warnings),
        results_files=tuple(results_files),
    )
