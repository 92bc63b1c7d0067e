"""The facts every specgate tool reads once: requirement, scenario, outcome and run.

Decides the shape of what the readers produce and the gates and renderers consume:

- ``Requirement``: one defined requirement, whether read from a Markdown spec (it then knows
  its column) or from the generated YAML; ``RECORD_KEYS`` is the one spelling of the generated
  record's keys and their order.
- ``Scenario`` and ``Step``: one runnable scenario of a feature file (an outline row counts as
  one), with inherited tags and the given/when/then kind of each step (OC-BDD-7001, 7005).
- ``FeatureProblem``: a scenario shape no runner reports (no steps, an outline without rows:
  OC-BDD-7002).
- ``Outcome`` and ``worst``: the one vocabulary of run outcomes; ``StepResult`` and
  ``ResultElement``: one scenario entry of one results file, keeping the runner's own status
  word only for messages, whether the run selected it, its skip reason and duration;
  ``ScenarioRun``: a scenario's outcome combined over results files (OC-BDD-7006 compares its
  per-file outcomes) with its skip or not-run reason and duration;
  ``RunInfo``: the run a report shows (commit, date, runners, partial); ``error_lines``: the
  lines of an error message a person reads first (shared by the gate and the renderers).

Values only: no I/O, no parsing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from specgate import ids
from specgate.ids import Level

__all__ = [
    "LOCK_KEY",
    "NOT_RUN",
    "NO_RUN_INFO",
    "RECORD_KEYS",
    "REQUIRED_KEYS",
    "WAIVER_KEY",
    "FeatureProblem",
    "Level",
    "Outcome",
    "Requirement",
    "ResultElement",
    "RunInfo",
    "Runner",
    "Scenario",
    "ScenarioRun",
    "Step",
    "StepResult",
    "error_lines",
    "worst",
]

# ----------------------------------------------------------------------------- requirements

RECORD_KEYS = ("id", "title", "text", "section", "level", "link", "source", "fingerprint")
"""Keys of a generated requirement record, in the order spec-extract writes them."""
REQUIRED_KEYS = ("id", "level", "fingerprint")
"""Keys a requirement record read back must have (the others default to empty)."""
LOCK_KEY = "reviewed"
"""Top-level key of the review lock (requirement ID -> reviewed fingerprint)."""
WAIVER_KEY = "waived"
"""Top-level key of the waiver file (requirement ID -> why it has no passing scenario)."""

_SOURCE = re.compile(r"(.+):([0-9]+)\Z")


@dataclass(frozen=True)
class Requirement:
    """One defined requirement. ``file``/``line`` locate its ``[ID]``; ``col`` is known only
    when it was read from the Markdown spec (0 when read back from generated YAML)."""

    id: str
    title: str
    text: str
    section: str
    level: Level
    link: str
    file: str
    line: int
    fingerprint: str
    col: int = 0

    @property
    def source(self) -> str:
        """``file:line`` (just ``file`` when the line is unknown)."""
        return f"{self.file}:{self.line}" if self.line else self.file

    def record(self) -> dict[str, str]:
        """The generated-YAML record, keys in ``RECORD_KEYS`` order."""
        return {key: str(getattr(self, key)) for key in RECORD_KEYS}

    @staticmethod
    def from_record(record: Mapping[str, str], col: int = 0) -> Requirement:
        """A requirement from a record (missing optional keys read as empty).

        Raises ``ValueError`` for an unknown level."""
        source = record.get("source", "")
        match = _SOURCE.match(source)
        file, line = (match.group(1), int(match.group(2))) if match else (source, 0)
        return Requirement(
            id=record["id"],
            title=record.get("title", ""),
            text=record.get("text", ""),
            section=record.get("section", ""),
            level=Level(record["level"]),
            link=record.get("link", ""),
            file=file,
            line=line,
            fingerprint=record["fingerprint"],
            col=col,
        )


# ----------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Step:
    """One step as run: its keyword as written, text (outline values filled in), its kind
    (``given``/``when``/``then``; ``And``/``But``/``*`` take the previous step's) and line."""

    keyword: str
    text: str
    kind: str
    line: int

    @property
    def written(self) -> str:
        """The step as the feature file writes it: ``Then it stops``."""
        return f"{self.keyword.strip()} {self.text}"


@dataclass(frozen=True)
class Scenario:
    """One runnable scenario (an outline row counts as one).

    ``feature`` is the file's display path; ``rel`` its path below the features directory (what
    results files are matched against); ``line`` the scenario line or, for an outline row, the
    example row line; ``scenario_line`` the line of the Scenario (Outline) keyword;
    ``example_row`` the row's index among all rows of the outline (None for a plain scenario).
    """

    feature: str
    rel: str
    feature_name: str
    name: str
    keyword: str
    line: int
    scenario_line: int
    examples: str
    example_row: int | None
    example_values: tuple[str, ...]
    tags: tuple[str, ...]
    steps: tuple[Step, ...]

    @property
    def key(self) -> str:
        return f"{self.feature}:{self.line}"

    @property
    def id_tags(self) -> tuple[str, ...]:
        return tuple(t for t in self.tags if ids.looks_like_id_tag(t))

    def to_json(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "rel": self.rel,
            "feature_name": self.feature_name,
            "name": self.name,
            "keyword": self.keyword,
            "line": self.line,
            "scenario_line": self.scenario_line,
            "examples": self.examples,
            "example_row": self.example_row,
            "example_values": list(self.example_values),
            "tags": list(self.tags),
            "steps": [[s.keyword, s.text, s.kind, s.line] for s in self.steps],
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Scenario:
        return Scenario(
            feature=data["feature"],
            rel=data["rel"],
            feature_name=data["feature_name"],
            name=data["name"],
            keyword=data["keyword"],
            line=data["line"],
            scenario_line=data["scenario_line"],
            examples=data["examples"],
            example_row=data["example_row"],
            example_values=tuple(data["example_values"]),
            tags=tuple(data["tags"]),
            steps=tuple(Step(k, t, kind, line) for k, t, kind, line in data["steps"]),
        )


@dataclass(frozen=True)
class FeatureProblem:
    """A scenario shape that no runner reports: ``what`` says which (OC-BDD-7002)."""

    rel: str
    line: int
    name: str
    what: str


# ----------------------------------------------------------------------------- outcomes


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    UNDEFINED = "undefined"
    SKIPPED = "skipped"
    NOT_RUN = "not-run"


# Worst first: the combination of several outcomes is the worst of them.
_SEVERITY = {
    Outcome.FAILED: 4,
    Outcome.UNDEFINED: 3,
    Outcome.SKIPPED: 2,
    Outcome.NOT_RUN: 1,
    Outcome.PASSED: 0,
}


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    found = list(outcomes)
    return max(found, key=_SEVERITY.__getitem__) if found else Outcome.NOT_RUN


class Runner(StrEnum):
    """Which tool wrote a results file, told apart by its JSON shape."""

    BEHAVE = "behave"
    PYTEST_BDD = "pytest-bdd"


@dataclass(frozen=True)
class StepResult:
    """One step of one results entry. ``status`` is the runner's own word (None when the step
    has no result), kept for messages; ``outcome`` is what it means; ``matched`` says whether the
    runner recorded a step definition for it (behave's ``match``)."""

    name: str
    status: str | None
    outcome: Outcome
    matched: bool


@dataclass(frozen=True)
class ResultElement:
    """One scenario entry of one results file (``results_file`` as the user named it)."""

    results_file: str
    runner: Runner
    uri: str
    line: int
    name: str
    param: str | None
    status: Outcome | None
    steps: tuple[StepResult, ...]
    error: str
    reason: str = ""
    """The skip reason the runner recorded (specgate's behave formatter or pytest plugin)."""
    selected: bool = True
    """False when the run did not select the scenario (``--tags``, ``-n``, ``-m``, ``-k``): the
    entry then means "not run", however the runner's status word reads."""
    duration_s: float | None = None
    """Seconds its steps took, when the runner reported step durations."""
    runner_version: str = ""
    """The runner's version, when the results file records it."""

    @property
    def step_outcomes(self) -> tuple[Outcome, ...]:
        return tuple(s.outcome for s in self.steps)

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    def outcome(self, expected_steps: int) -> Outcome:
        """Outcome given how many steps the scenario has in its feature file."""
        if not self.selected:
            return Outcome.NOT_RUN
        steps = set(self.step_outcomes)
        for outcome in (Outcome.FAILED, Outcome.UNDEFINED):
            if outcome in steps:
                return outcome
        # behave reports "error" for a scenario with an undefined step: steps explain first.
        if self.status in (Outcome.FAILED, Outcome.UNDEFINED):
            return self.status
        if Outcome.SKIPPED in steps or self.status is Outcome.SKIPPED:
            return Outcome.SKIPPED
        if len(self.steps) < expected_steps:
            return Outcome.UNDEFINED  # the runner stopped before steps it could not find
        return Outcome.PASSED


@dataclass(frozen=True)
class ScenarioRun:
    """Combined outcome of one scenario over all results files; ``by_file`` holds the outcome
    in each file that reports it."""

    outcome: Outcome
    by_file: tuple[tuple[str, Outcome], ...]
    steps: tuple[Outcome, ...]
    error: str
    reason: str = ""
    """Why it was skipped or not run (a skip reason, "not selected"), else empty."""
    duration_s: float | None = None
    """Seconds the scenario took (the longest over the results files), when reported."""


@dataclass(frozen=True)
class RunInfo:
    """What a report says about the run it shows (filled by ``spec-trace``, shown by renderers).

    ``partial``: some scenarios were not selected in this run (``--tags``, ``-m``, ``-k``), so
    they are "not run" and the report covers part of the suite."""

    commit: str = ""
    date: str = ""
    runners: tuple[str, ...] = ()
    partial: bool = False


def error_lines(error: str, limit: int = 6) -> list[str]:
    """The lines of a runner's error message a person reads first, at most ``limit``.

    pytest's failure report ends in ``E   `` lines (the assertion and its explanation): those
    are taken. A Python traceback: its last lines (the exception). Anything else (behave's
    ``ASSERT FAILED: ...``): its first lines. Blank lines are dropped, long lines cut at 200."""
    lines = [line.rstrip() for line in error.splitlines() if line.strip()]
    pytest_e = [line[1:].strip() for line in lines if line.startswith("E ")]
    if pytest_e:
        lines = pytest_e
    elif any(line.startswith("Traceback (most recent call last)") for line in lines):
        lines = lines[-limit:]
    cut = [line if len(line) <= 200 else line[:199] + "…" for line in lines[:limit]]
    if len(lines) > limit:
        cut[-1] = cut[-1] + " …"
    return cut


NOT_RUN = ScenarioRun(Outcome.NOT_RUN, (), (), "")
NO_RUN_INFO = RunInfo()
