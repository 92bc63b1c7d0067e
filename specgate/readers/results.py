"""Run results of behave and pytest-bdd, read once into ``ResultElement`` records.

Decides what a results file says, in the shared ``Outcome`` vocabulary: this module is the
only place that knows the runners' own status words. Shapes read (both seen in samples
produced with the installed tools):

- behave ``-f json``: a list of features with ``location`` ``"path:line"``; ``elements`` of
  ``type`` scenario/background, each with ``location`` (the example row line for outline
  rows), ``name`` (outline rows get `` -- @1.2 <examples name>``), ``status`` (sometimes null)
  and ``steps`` whose ``result.status`` is missing for steps that never ran and whose
  ``match`` is missing for steps without a definition.
- pytest-bdd ``--cucumberjson``: a list of features with ``uri`` (relative to its features base
  directory); ``elements`` with ``line`` (the Scenario Outline line for every row), ``id``
  (``test_name[<row values joined by ->]``) and only the steps that ran: a step with no
  definition is left out, so a short list means an undefined step.

Both shapes may carry what specgate's own runner plug-ins add (``specgate.behave_formatter``,
``specgate.pytest_plugin``): per scenario entry ``selected`` (false: the run did not select it,
so it was not run, whatever its status word says) and ``skip_reason``; per feature ``runner``
(name and version). Step durations are read as seconds (behave writes seconds, pytest-bdd
nanoseconds) and summed per scenario entry.

Serves OC-BDD-7001 (the step words undefined, pending, ambiguous), OC-BDD-7004 and OC-BDD-7006.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from specgate.errors import ResultsError
from specgate.model import Outcome, ResultElement, Runner, StepResult

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
DEFINITION_PROBLEMS = frozenset({"undefined", "pending", "ambiguous"})
"""Step status words that mean the step's definition is missing, unfinished or ambiguous."""
NO_RESULT = "undefined"
"""The word shown for a step that has no result at all."""


def normalise_status(status: object) -> Outcome | None:
    """A runner's status word as an Outcome (None when absent or unknown)."""
    return _STATUS_MAP.get(str(status).lower()) if isinstance(status, str) else None


_BEHAVE_ROW_SUFFIX = re.compile(r" -- @\d+\.\d+(?: .*)?\Z")
_PARAM = re.compile(r"\[(.*)\]\Z", re.DOTALL)


_ERROR_HEAD, _ERROR_TAIL = 1500, 2500
"""An error message longer than both is kept as its head and tail (the assertion is usually
at one end: behave writes it first, pytest's report and tracebacks last)."""


def _clip(text: str) -> str:
    if len(text) <= _ERROR_HEAD + _ERROR_TAIL:
        return text
    return f"{text[:_ERROR_HEAD]}\n…\n{text[-_ERROR_TAIL:]}"


def _steps(raw: Sequence[Any], unit: float) -> tuple[tuple[StepResult, ...], str, float | None]:
    """The steps, the first error message and the summed duration (``unit``: seconds per
    unit the runner writes durations in)."""
    steps: list[StepResult] = []
    error = ""
    duration: float | None = None
    status_map = _STATUS_MAP
    for step in raw:
        if not isinstance(step, dict):
            raise ResultsError("a step is not an object")
        result = step.get("result")
        status = result.get("status") if isinstance(result, dict) else None
        word = status if isinstance(status, str) else None
        outcome = status_map.get(word, Outcome.SKIPPED) if word is not None else Outcome.SKIPPED
        steps.append(StepResult(str(step.get("name", "")), word, outcome, "match" in step))
        if not isinstance(result, dict):
            continue
        took = result.get("duration")
        if isinstance(took, int | float) and not isinstance(took, bool):
            duration = (duration or 0.0) + took * unit
        if not error and result.get("error_message"):
            message = result["error_message"]
            text = "\n".join(map(str, message)) if isinstance(message, list) else str(message)
            error = _clip(text.strip())
    return tuple(steps), error, duration


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
        version = feature.get("runner")
        runner_version = version if isinstance(version, str) else ""
        unit = 1e-9 if cucumber else 1.0
        for element in feature.get("elements") or ():
            if not isinstance(element, dict):
                raise ResultsError("an element is not an object")
            if element.get("type", "scenario") != "scenario":
                continue
            steps, error, duration = _steps(element.get("steps") or (), unit)
            reason = element.get("skip_reason")
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
                    runner=Runner.PYTEST_BDD if cucumber else Runner.BEHAVE,
                    uri=uri,
                    line=line,
                    name=name,
                    param=param,
                    status=normalise_status(element.get("status")),
                    steps=steps,
                    error=error,
                    reason=reason.strip() if isinstance(reason, str) else "",
                    selected=element.get("selected") is not False,
                    duration_s=duration,
                    runner_version=runner_version,
                )
            )
    return elements


def read_results(path: Path, shown: str) -> list[ResultElement]:
    """The scenario entries of one results file; ``shown`` names it in messages."""
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
