"""Results matched onto scenarios: each scenario's run per results file, and runner parity.

Decides which scenario a results entry belongs to (feature path by suffix, then line, then
name, example row values and step texts), each scenario's outcome combined over the results
files (it passes only if it passed in every file that ran it; an entry its run did not select
counts only when no file ran the scenario: it is then "not run", reason "not selected", and a
scenario no file reports is "not run", reason "in no results file"), its skip reason, its
duration (the longest over the files), which step of a failed run failed first (derived from
the run, never stored beside it), and, computed here once for
``spec-trace --require-parity`` and ``bdd-gate``, whether the results files disagree about a
scenario (OC-BDD-7006). Pure: results and scenarios in, runs out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from specgate.model import NOT_RUN, Outcome, ResultElement, Scenario, ScenarioRun, Step, worst


class _FeatureIndex:
    def __init__(self, scenarios: Sequence[Scenario]) -> None:
        self.scenarios = scenarios
        self.by_line: dict[int, list[Scenario]] = {}
        self.by_scenario_line: dict[int, list[Scenario]] = {}
        for s in scenarios:
            self.by_line.setdefault(s.line, []).append(s)
            self.by_scenario_line.setdefault(s.scenario_line, []).append(s)


def _param_matches(param: str, values: tuple[str, ...]) -> bool:
    joined = "-".join(values)
    return param == joined or (param.startswith(joined) and param[len(joined) :].isdigit())


def _narrow(cands: list[Scenario], keep: list[Scenario]) -> list[Scenario]:
    return keep if keep else cands


def _pick(index: _FeatureIndex, element: ResultElement) -> Scenario | None:
    at_line = index.by_line.get(element.line) or index.by_scenario_line.get(element.line) or []
    cands = [s for s in at_line if s.name == element.name]
    if not cands:
        # The feature file may have moved since the run: look the scenario up by name, and
        # only trust the line alone when no scenario has that name (a renamed outline row).
        cands = [s for s in index.scenarios if s.name == element.name] or at_line
    if len(cands) > 1 and element.param is not None:
        param = element.param
        cands = _narrow(cands, [s for s in cands if _param_matches(param, s.example_values)])
    if len(cands) > 1:
        cands = _narrow(cands, [s for s in cands if s.name == element.name])
    if len(cands) > 1 and element.steps:
        n = len(element.steps)
        texts = element.step_names
        cands = _narrow(cands, [s for s in cands if tuple(t.text for t in s.steps[:n]) == texts])
    return cands[0] if len(cands) == 1 else None


class ScenarioIndex:
    """Finds the scenario a results entry reports, among the scenarios of a features dir."""

    def __init__(self, scenarios: Sequence[Scenario], features_dir: Path) -> None:
        grouped: dict[str, list[Scenario]] = {}
        for s in scenarios:
            grouped.setdefault(s.rel, []).append(s)
        self._known = {rel: _FeatureIndex(group) for rel, group in grouped.items()}
        self._features_dir = features_dir

    def feature_of(self, uri: str) -> str | None:
        """The feature file (path below the features dir) that a results ``uri`` names."""
        known: Mapping[str, _FeatureIndex] = self._known
        path = uri.replace("\\", "/")
        if os.path.isabs(path):
            try:
                rel = Path(path).resolve().relative_to(self._features_dir.resolve()).as_posix()
            except ValueError:
                rel = None
            if rel in known:
                return rel
        parts = [p for p in path.split("/") if p not in ("", ".")]
        for i in range(len(parts)):
            candidate = "/".join(parts[i:])
            if candidate in known:
                return candidate
        return None

    def scenario_of(self, element: ResultElement) -> Scenario | None:
        rel = self.feature_of(element.uri)
        return _pick(self._known[rel], element) if rel is not None else None


@dataclass(frozen=True)
class Mapped:
    runs: dict[str, ScenarioRun]
    warnings: tuple[str, ...]


NOT_SELECTED = "not selected"
"""The reason of a scenario that a results file reports but its run did not select."""
NOT_REPORTED = "in no results file"
"""The reason of a scenario that no results file reports."""

_BAD = (Outcome.FAILED, Outcome.UNDEFINED)


@dataclass(frozen=True)
class _Entry:
    shown: str
    outcome: Outcome
    element: ResultElement


def failed_step(scenario: Scenario, run: ScenarioRun) -> Step | None:
    """The first failed or undefined step of a failed or undefined run, else None.

    A step whose own outcome is failed or undefined comes first; for an undefined run without
    one (pytest-bdd leaves an undefined step out), the first step that did not pass."""
    if run.outcome not in _BAD:
        return None
    outcomes = list(zip(scenario.steps, run.steps, strict=False))
    found = next((step for step, o in outcomes if o in _BAD), None)
    if found is None and run.outcome is Outcome.UNDEFINED:
        found = next((step for step, o in outcomes if o is not Outcome.PASSED), None)
    return found


def _combine(scenario: Scenario, entries: Sequence[_Entry]) -> ScenarioRun:
    """One scenario's run over its entries: an entry the run did not select counts only when
    no entry ran it (it then says why it was not run)."""
    count = len(scenario.steps)
    per_file: dict[str, Outcome] = {}
    for e in entries:
        prior = per_file.get(e.shown)
        per_file[e.shown] = e.outcome if prior is None else worst([prior, e.outcome])
    ran = [e for e in entries if e.outcome is not Outcome.NOT_RUN]
    outcome = worst(e.outcome for e in ran) if ran else Outcome.NOT_RUN
    steps = tuple(
        worst(
            e.element.step_outcomes[i] if i < len(e.element.steps) else Outcome.NOT_RUN for e in ran
        )
        if ran
        else Outcome.NOT_RUN
        for i in range(count)
    )
    error = next((e.element.error for e in ran if e.outcome in _BAD and e.element.error), "")
    error = error or next((e.element.error for e in ran if e.element.error), "")
    if outcome is Outcome.NOT_RUN:
        reason = NOT_SELECTED
    elif outcome is Outcome.SKIPPED:
        reason = next((e.element.reason for e in ran if e.element.reason), "")
    else:
        reason = ""
    durations = [e.element.duration_s for e in ran if e.element.duration_s is not None]
    return ScenarioRun(
        outcome,
        tuple(per_file.items()),
        steps,
        error,
        reason=reason,
        duration_s=max(durations) if durations else None,
    )


def map_results(
    scenarios: Sequence[Scenario],
    files: Sequence[tuple[str, Sequence[ResultElement]]],
    features_dir: Path,
) -> Mapped:
    """Each scenario's combined run (keyed by ``Scenario.key``; one for every scenario, a
    scenario no file reports is not run) plus warnings for results that match no scenario."""
    index = ScenarioIndex(scenarios, features_dir)
    seen: dict[str, list[_Entry]] = {}
    warnings: list[str] = []
    for shown, elements in files:
        for element in elements:
            scenario = index.scenario_of(element)
            if scenario is None:
                warnings.append(
                    f"{shown}: result for {element.uri}:{element.line} {element.name!r} "
                    "matches no scenario of the feature files"
                )
                continue
            outcome = element.outcome(len(scenario.steps))
            seen.setdefault(scenario.key, []).append(_Entry(shown, outcome, element))
    runs: dict[str, ScenarioRun] = {}
    for scenario in scenarios:
        entries = seen.get(scenario.key)
        if entries:
            runs[scenario.key] = _combine(scenario, entries)
        else:
            steps = (Outcome.NOT_RUN,) * len(scenario.steps)
            runs[scenario.key] = ScenarioRun(Outcome.NOT_RUN, (), steps, "", NOT_REPORTED)
    return Mapped(runs, tuple(warnings))


def runner_mismatch(
    run: ScenarioRun, files: Sequence[str] | None = None
) -> tuple[tuple[str, Outcome], ...] | None:
    """The outcome in each results file when they disagree about a scenario, else None.

    ``files``: the results files that must each report the scenario (default: those that do).
    A file among them that leaves the scenario out counts as not-run, and not-run agrees with
    skipped: a runner may leave out what it skipped at setup (pytest-bdd does).
    """
    reported = dict(run.by_file)
    names = [f for f, _ in run.by_file] if files is None else list(files)
    per_file = tuple((f, reported.get(f, Outcome.NOT_RUN)) for f in names)
    kinds = {Outcome.SKIPPED if o is Outcome.NOT_RUN else o for _, o in per_file}
    return per_file if len(kinds) > 1 else None


__all__ = [
    "NOT_REPORTED",
    "NOT_RUN",
    "NOT_SELECTED",
    "Mapped",
    "ScenarioIndex",
    "failed_step",
    "map_results",
    "runner_mismatch",
]
