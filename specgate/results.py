"""Run results of behave and pytest-bdd, mapped onto the scenarios of the feature files.

Decides each scenario's outcome (passed / failed / skipped / undefined / not-run) from the
results files. Shapes read (both seen in samples produced with the installed tools):

- behave ``-f json``: a list of features with ``location`` ``"path:line"``; ``elements`` of
  ``type`` scenario/background, each with ``location`` (the example row line for outline
  rows), ``name`` (outline rows get `` -- @1.2 <examples name>``), ``status`` (sometimes null)
  and ``steps`` whose ``result.status`` is missing for steps that never ran.
- pytest-bdd ``--cucumberjson``: a list of features with ``uri`` (relative to its features base
  directory); ``elements`` with ``line`` (the Scenario Outline line for every row), ``id``
  (``test_name[<row values joined by ->]``) and only the steps that ran: a step with no
  definition is left out, so a short list means an undefined step.

A scenario is matched by feature path (suffix match) and line, then narrowed by example row,
name and step texts. It passes only if it passed in every results file it appears in.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from specgate.features import Scenario


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

_STATUS_MAP = {
    "passed": Outcome.PASSED,
    "failed": Outcome.FAILED,
    "error": Outcome.FAILED,
    "hook_error": Outcome.FAILED,
    "cleanup_error": Outcome.FAILED,
    "undefined": Outcome.UNDEFINED,
    "pending": Outcome.UNDEFINED,
    "pending_warn": Outcome.UNDEFINED,
    "ambiguous": Outcome.FAILED,
    "skipped": Outcome.SKIPPED,
    "untested": Outcome.SKIPPED,
}


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    found = list(outcomes)
    return max(found, key=_SEVERITY.__getitem__) if found else Outcome.NOT_RUN


def normalise_status(status: object) -> Outcome | None:
    """A runner's status word as an Outcome (None when absent or unknown)."""
    return _STATUS_MAP.get(str(status).lower()) if isinstance(status, str) else None


class ResultsError(Exception):
    """A results file that cannot be read or has an unexpected shape."""


@dataclass(frozen=True)
class ResultElement:
    """One scenario entry of one results file."""

    results_file: str
    uri: str
    line: int
    name: str
    param: str | None
    status: Outcome | None
    steps: tuple[Outcome, ...]
    step_names: tuple[str, ...]
    error: str

    def outcome(self, expected_steps: int) -> Outcome:
        """Outcome given how many steps the scenario has in its feature file."""
        steps = set(self.steps)
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


_BEHAVE_ROW_SUFFIX = re.compile(r" -- @\d+\.\d+(?: .*)?\Z")
_PARAM = re.compile(r"\[(.*)\]\Z", re.DOTALL)


def _steps(raw: Sequence[Any]) -> tuple[tuple[Outcome, ...], tuple[str, ...], str]:
    outcomes: list[Outcome] = []
    names: list[str] = []
    error = ""
    status_map = _STATUS_MAP
    for step in raw:
        if not isinstance(step, dict):
            raise ResultsError("a step is not an object")
        result = step.get("result")
        if isinstance(result, dict):
            status = result.get("status")
            outcomes.append(
                status_map.get(status, Outcome.SKIPPED)
                if isinstance(status, str)
                else Outcome.SKIPPED
            )
        else:
            outcomes.append(Outcome.SKIPPED)
        names.append(str(step.get("name", "")))
        if not error and isinstance(result, dict) and result.get("error_message"):
            message = result["error_message"]
            text = "\n".join(message) if isinstance(message, list) else str(message)
            error = text.strip()[-800:]
    return tuple(outcomes), tuple(names), error


def _split_location(location: str) -> tuple[str, int]:
    path, _, line = location.rpartition(":")
    if not path or not line.isdigit():
        raise ResultsError(f"bad location {location!r}")
    return path, int(line)


def parse_results(data: object, results_file: str) -> list[ResultElement]:
    """Scenario entries of a behave or pytest-bdd (cucumber) JSON document."""
    if not isinstance(data, list):
        raise ResultsError("expected a JSON list of features")
    elements: list[ResultElement] = []
    for feature in data:
        if not isinstance(feature, dict):
            raise ResultsError("a feature is not an object")
        cucumber = "uri" in feature
        if cucumber:
            feature_uri = str(feature["uri"])
        elif "location" in feature:
            feature_uri = _split_location(str(feature["location"]))[0]
        else:
            raise ResultsError("a feature has neither 'uri' (cucumber) nor 'location' (behave)")
        for element in feature.get("elements") or ():
            if not isinstance(element, dict):
                raise ResultsError("an element is not an object")
            if element.get("type", "scenario") != "scenario":
                continue
            steps, names, error = _steps(element.get("steps") or ())
            name = str(element.get("name", ""))
            if cucumber:
                uri, line = feature_uri, int(element.get("line", 0))
                match = _PARAM.search(str(element.get("id", "")))
                param = match.group(1) if match else None
            else:
                uri, line = _split_location(str(element.get("location", "")))
                name = _BEHAVE_ROW_SUFFIX.sub("", name)
                param = None
            elements.append(
                ResultElement(
                    results_file=results_file,
                    uri=uri,
                    line=line,
                    name=name,
                    param=param,
                    status=normalise_status(element.get("status")),
                    steps=steps,
                    step_names=names,
                    error=error,
                )
            )
    return elements


def read_results(path: Path, shown: str) -> list[ResultElement]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultsError(f"{shown}: cannot read: {exc.strerror}") from exc
    if not text.strip():
        raise ResultsError(f"{shown}: empty results file (did the run crash?)")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ResultsError(f"{shown}: not JSON: {exc}") from exc
    try:
        return parse_results(data, shown)
    except (ResultsError, ValueError, TypeError) as exc:
        raise ResultsError(f"{shown}: unexpected shape: {exc}") from exc


@dataclass(frozen=True)
class ScenarioRun:
    """Combined outcome of one scenario over all results files."""

    outcome: Outcome
    by_file: tuple[tuple[str, Outcome], ...]
    steps: tuple[Outcome, ...]
    error: str


NOT_RUN = ScenarioRun(Outcome.NOT_RUN, (), (), "")


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
    if len(cands) > 1 and element.step_names:
        n = len(element.step_names)
        texts = element.step_names
        cands = _narrow(cands, [s for s in cands if tuple(t.text for t in s.steps[:n]) == texts])
    return cands[0] if len(cands) == 1 else None


def _resolve_feature(
    uri: str, known: Mapping[str, _FeatureIndex], features_dir: Path
) -> str | None:
    path = uri.replace("\\", "/")
    if os.path.isabs(path):
        try:
            rel = Path(path).resolve().relative_to(features_dir.resolve()).as_posix()
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
    grouped: dict[str, list[Scenario]] = {}
    for s in scenarios:
        grouped.setdefault(s.rel, []).append(s)
    known = {rel: _FeatureIndex(group) for rel, group in grouped.items()}
    seen: dict[str, list[tuple[str, Outcome, tuple[Outcome, ...], str]]] = {}
    warnings: list[str] = []
    for shown, elements in files:
        for element in elements:
            rel = _resolve_feature(element.uri, known, features_dir)
            scenario = _pick(known[rel], element) if rel is not None else None
            if scenario is None:
                warnings.append(
                    f"{shown}: result for {element.uri}:{element.line} {element.name!r} "
                    "matches no scenario of the feature files"
                )
                continue
            outcome = element.outcome(len(scenario.steps))
            seen.setdefault(scenario.key, []).append((shown, outcome, element.steps, element.error))
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
