"""BDD gates the runners do not give: whether a Gherkin suite and its runs are sound.

Generic: knows nothing about the project under test. Decides, from what the shared readers
read (scenarios, step definitions, results entries) and the runs of ``specgate.runs``, every
violation, as one message each:

- OC-BDD-7001: undefined, ambiguous or pending steps, in a behave JSON or a pytest-bdd cucumber
  JSON results file, or statically (a feature step that no pattern of the step modules matches,
  or that two patterns of the same keyword match);
- OC-BDD-7002: a scenario with no steps, a Scenario Outline without Examples rows;
- OC-BDD-7003: a Then-step function whose body has no ``assert``, ``raise`` or ``assert_*`` call;
- a step pattern that no feature uses;
- OC-BDD-7004: a results file selecting zero scenarios;
- OC-BDD-7005: a scenario without a requirement-ID tag (feature, rule, scenario and examples
  tags count; IDs as ``specgate.ids`` defines them, or a pattern given);
- OC-BDD-7006: a scenario whose outcome differs between the behave and the pytest-bdd results
  (``specgate.runs.runner_mismatch``; a scenario one runner leaves out counts as not run there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import parse  # type: ignore[import-untyped]

from specgate import ids
from specgate.model import NOT_RUN, Outcome, ResultElement, Runner, Scenario, ScenarioRun
from specgate.readers.features import Suite
from specgate.readers.results import DEFINITION_PROBLEMS, NO_RESULT
from specgate.readers.steps import StepModules
from specgate.runs import ScenarioIndex, runner_mismatch

DEFAULT_ID_PATTERN = ids.ID_RE.pattern
"""Requirement IDs as ``specgate.ids`` defines them (retired ``-DEPR`` IDs included)."""


def suite_violations(suite: Suite) -> list[str]:
    """Feature files the parser rejects, scenarios without steps, outlines without rows."""
    found = list(suite.errors)
    found += [f"{p.rel}:{p.line} {p.name!r}: {p.what}" for p in suite.problems]
    return found


def tag_violations(scenarios: Sequence[Scenario], id_pattern: str) -> list[str]:
    """Scenarios (an outline counts once) with no tag matching ``id_pattern``."""
    rx = re.compile(id_pattern)
    found: list[str] = []
    done: set[tuple[str, int]] = set()
    for sc in scenarios:
        where = (sc.rel, sc.scenario_line)
        if where in done or any(rx.match(t) for t in sc.tags):
            continue
        done.add(where)
        found.append(f"{sc.rel}:{sc.scenario_line} {sc.name!r}: no requirement-ID tag")
    return found


def definition_violations(modules: StepModules) -> list[str]:
    """Step modules that cannot be parsed and Then-steps that assert nothing."""
    found = list(modules.errors)
    for d in modules.definitions:
        if d.kind == "then" and not d.asserts:
            found.append(
                f"{d.module}:{d.line}: Then-step {d.function!r} ({d.pattern!r}) asserts nothing"
            )
    return found


def usage_violations(scenarios: Sequence[Scenario], modules: StepModules) -> list[str]:
    """Undefined and ambiguous feature steps (static), and step patterns no feature uses."""
    found: list[str] = []
    compiled = [(d, parse.compile(d.pattern)) for d in modules.definitions]
    used: set[int] = set()
    seen: set[tuple[str, str]] = set()
    for sc in scenarios:
        for st in sc.steps:
            hits = [
                i for i, (d, c) in enumerate(compiled) if d.kind == st.kind and c.parse(st.text)
            ]
            used.update(hits)
            if (st.kind, st.text) in seen:
                continue
            seen.add((st.kind, st.text))
            if not hits:
                found.append(f"{sc.rel}:{st.line}: undefined step: {st.kind} {st.text!r}")
            elif len(hits) > 1:
                names = ", ".join(repr(compiled[i][0].pattern) for i in hits)
                found.append(f"{sc.rel}:{st.line}: ambiguous step {st.text!r}: {names}")
    for i, (d, _) in enumerate(compiled):
        if i not in used:
            found.append(f"{d.module}:{d.line}: step pattern no feature uses: {d.pattern!r}")
    return found


def _element_violations(element: ResultElement, scenario: Scenario | None, rel: str) -> list[str]:
    where = f"{element.results_file}: {rel} {element.name!r}"
    found: list[str] = []
    for step in element.steps:
        if element.status is Outcome.SKIPPED and step.status is None:
            # A scenario skipped before it ran (e.g. @gpu on a machine without one): its steps
            # have no result; undefined ones are still caught statically.
            continue
        word = step.status if step.status is not None else NO_RESULT
        # Only behave records a step's definition ("match"); pytest-bdd leaves undefined out.
        unmatched = element.runner is Runner.BEHAVE and not step.matched
        if word in DEFINITION_PROBLEMS or unmatched:
            found.append(f"{where}: {word} step {step.name!r}")
    reported = len(element.steps)
    all_passed = all(s.outcome is Outcome.PASSED for s in element.steps)
    if scenario is not None and reported < len(scenario.steps) and all_passed:
        # The runner stopped before a step it could not find (pytest-bdd leaves it out).
        found.append(f"{where}: undefined step {scenario.steps[reported].text!r} (not run)")
    return found


def result_violations(elements: Sequence[ResultElement], index: ScenarioIndex) -> list[str]:
    """Undefined, pending or ambiguous steps that one results file reports."""
    found: list[str] = []
    for element in elements:
        scenario = index.scenario_of(element)
        rel = scenario.rel if scenario else (index.feature_of(element.uri) or element.uri)
        found += _element_violations(element, scenario, rel)
    return found


def parity_violations(
    scenarios: Sequence[Scenario], runs: Mapping[str, ScenarioRun], behave: str, pytest_bdd: str
) -> list[str]:
    """Scenarios whose outcome under behave differs from their outcome under pytest-bdd."""
    found: list[str] = []
    order = sorted(
        scenarios,
        key=lambda s: (s.rel, s.name, s.example_row if s.example_row is not None else -1),
    )
    for sc in order:
        differ = runner_mismatch(runs.get(sc.key, NOT_RUN), [behave, pytest_bdd])
        if differ is None:
            continue
        (_, left), (_, right) = differ
        row = "" if sc.example_row is None else f" (Examples row {sc.example_row + 1})"
        found.append(f"{sc.rel} {sc.name!r}{row}: behave says {left}, pytest-bdd says {right}")
    return found
