"""Terminal output: the run, the traceability summary, the violations and what failed.

Decides what ``spec-trace`` prints without ``--json``: one line of totals; on a partial run,
a line saying so (how many scenarios were not run and why); the run's commit, date and
runners; a table of requirement counts by status and level; the scenario outcome counts and
the skip reasons; the warnings; the violations; then each failed scenario with its
``file:line`` and name, its first failed step with its line and the first lines of the
message, so a person can act without opening the JSON; last the gate verdict. A run where
everything passed stays a dozen lines. (Lint and link findings print as one formatted line
each, ``Diagnostic.format`` and ``Broken.format``; bdd-gate's findings are its messages.)
"""

from __future__ import annotations

from collections import Counter

from specgate.gates.trace import Matrix
from specgate.model import Outcome, error_lines

COLUMNS = ("must", "should", "may", "info", "total")
MESSAGE_LINES = 6
"""At most this many lines of each failed scenario's message."""


def _run_lines(matrix: Matrix) -> list[str]:
    info = matrix.info
    lines: list[str] = []
    not_run = matrix.not_run()
    if info.partial:
        reasons = Counter(matrix.run(s).reason or "not run" for s in not_run)
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
        lines.append(
            f"PARTIAL RUN: {len(not_run)} of {len(matrix.scenarios)} scenarios not run ({why}); "
            "requirements whose scenarios were all not run are not gated"
        )
    parts = [
        f"commit {info.commit[:12] or 'unknown'}",
        info.date or "date unknown",
        ", ".join(info.runners) or "no results",
    ]
    lines.append("run: " + "; ".join(parts))
    return lines


def _skip_lines(matrix: Matrix) -> list[str]:
    reasons = Counter(
        matrix.run(s).reason or "no reason recorded"
        for s in matrix.scenarios
        if matrix.run(s).outcome is Outcome.SKIPPED
    )
    return [f"  skipped ({n}): {reason}" for reason, n in sorted(reasons.items())]


def failure_lines(matrix: Matrix) -> list[str]:
    """Each failed or undefined scenario: where, which step, what the message says."""
    failed = matrix.failed()
    if not failed:
        return []
    lines = [f"failed scenarios ({len(failed)}):"]
    for scenario in failed:
        run = matrix.run(scenario)
        lines.append(f"  {scenario.key}  {scenario.name}  [{run.outcome}]")
        step = matrix.failed_step(scenario)
        if step is not None:
            lines.append(f"    step {scenario.feature}:{step.line}  {step.written}")
        lines.extend(f"    | {text}" for text in error_lines(run.error, MESSAGE_LINES))
    return lines


def trace_report(matrix: Matrix) -> str:
    counts = matrix.counts()
    lines = [
        f"spec-trace: {counts['total']['total']} requirements, {len(matrix.scenarios)} scenarios "
        f"(results: {', '.join(matrix.results_files) or 'none'})",
        *_run_lines(matrix),
        f"{'status':<10}" + "".join(f"{c:>8}" for c in COLUMNS),
    ]
    for status, row in counts.items():
        lines.append(f"{status:<10}" + "".join(f"{row[c]:>8}" for c in COLUMNS))
    outcomes = matrix.outcome_counts()
    lines.append("scenarios: " + ", ".join(f"{n} {o}" for o, n in outcomes.items()))
    lines.extend(_skip_lines(matrix))
    if matrix.warnings:
        lines.append(f"warnings ({len(matrix.warnings)}):")
        lines.extend(f"  {w}" for w in matrix.warnings)
    if matrix.violations:
        lines.append(f"violations ({len(matrix.violations)}):")
        lines.extend(f"  [{v.kind}] {v.message}" for v in matrix.violations)
    lines.extend(failure_lines(matrix))
    if matrix.violations:
        lines.append(f"gate: FAILED ({len(matrix.violations)} violation(s))")
    else:
        lines.append("gate: passed" + (" (partial run)" if matrix.info.partial else ""))
    return "\n".join(lines) + "\n"
