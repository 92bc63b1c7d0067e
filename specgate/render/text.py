"""Terminal output: the traceability summary table with its warnings, violations and verdict.

Decides what ``spec-trace`` prints without ``--json``: one line of totals, a table of
requirement counts by status and level, the scenario outcome counts, the warnings, the
violations and the gate verdict. (Lint and link findings print as one formatted line each,
``Diagnostic.format`` and ``Broken.format``; bdd-gate's findings are its messages.)
"""

from __future__ import annotations

from specgate.gates.trace import Matrix

COLUMNS = ("must", "should", "may", "info", "total")


def trace_report(matrix: Matrix) -> str:
    counts = matrix.counts()
    lines = [
        f"spec-trace: {counts['total']['total']} requirements, {len(matrix.scenarios)} scenarios "
        f"(results: {', '.join(matrix.results_files) or 'none'})",
        f"{'status':<10}" + "".join(f"{c:>8}" for c in COLUMNS),
    ]
    for status, row in counts.items():
        lines.append(f"{status:<10}" + "".join(f"{row[c]:>8}" for c in COLUMNS))
    outcomes = matrix.outcome_counts()
    lines.append("scenarios: " + ", ".join(f"{n} {o}" for o, n in outcomes.items()))
    if matrix.warnings:
        lines.append(f"warnings ({len(matrix.warnings)}):")
        lines.extend(f"  {w}" for w in matrix.warnings)
    if matrix.violations:
        lines.append(f"violations ({len(matrix.violations)}):")
        lines.extend(f"  [{v.kind}] {v.message}" for v in matrix.violations)
        lines.append(f"gate: FAILED ({len(matrix.violations)} violation(s))")
    else:
        lines.append("gate: passed")
    return "\n".join(lines) + "\n"
