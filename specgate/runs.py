"""Results matched onto scenarios: each scenario's run per results file, and runner parity.

Decides which scenario a results entry belongs to (feature path by suffix, then line, then
name, example row values and step texts), each scenario's outcome combined over the results
files (it passes only if it passed in every file that reports it), and, computed here once for
``spec-trace --require-parity`` and ``bdd-gate``, whether the results files disagree about a
scenario (OC-BDD-7006). Pure: results and scenarios in, runs out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from specgate.model import NOT_RUN, Outcome, ResultElement, Scenario, ScenarioRun, worst


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


def map_results(
    scenarios: Sequence[Scenario],
    files: Sequence[tuple[str, Sequence[ResultElement]]],
    features_dir: Path,
) -> Mapped:
    """Each scenario's combined run (keyed by ``Scenario.key``) plus warnings for results
    that match no scenario."""
    index = ScenarioIndex(scenarios, features_dir)
    seen: dict[str, list[tuple[str, Outcome, tuple[Outcome, ...], str]]] = {}
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
            seen.setdefault(scenario.key, []).append(
                (shown, outcome, element.step_outcomes, element.error)
            )
    runs: dict[str, ScenarioRun] = {}
    by_key = {s.key: s for s in scenarios}
    for key, entries in seen.items():
        count = len(by_key[key].steps)
        if len(entries) == 1:  # the common case: one result for the scenario
            shown, outcome, steps, error = entries[0]
            padded = steps[:count] + (Outcome.NOT_RUN,) * (count - len(steps))
            runs[key] = ScenarioRun(outcome, ((shown, outcome),), padded, error)
            continue
        per_file: dict[str, Outcome] = {}
        for shown, outcome, _, _ in entries:
            per_file[shown] = worst([per_file.get(shown, Outcome.PASSED), outcome])
        steps = tuple(
            worst(e[2][i] if i < len(e[2]) else Outcome.NOT_RUN for e in entries)
            for i in range(count)
        )
        error = next((e[3] for e in entries if e[3]), "")
        runs[key] = ScenarioRun(worst(per_file.values()), tuple(per_file.items()), steps, error)
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


__all__ = ["NOT_RUN", "Mapped", "ScenarioIndex", "map_results", "runner_mismatch"]
