"""Machine-readable output: the traceability matrix and the lint result as JSON-ready dicts.

Decides the published JSON shapes of ``spec-trace --json`` and ``spec-lint --json`` (field
names and order). Requirement fields come from the requirement's generated record, so the
record keys are spelled once (``specgate.model.RECORD_KEYS``).
"""

from __future__ import annotations

from typing import Any

from specgate.gates.lint import Corpus
from specgate.gates.trace import Matrix
from specgate.model import Outcome, Requirement, Scenario

TRACE_REQUIREMENT_FIELDS = ("id", "title", "level", "section", "link", "source", "fingerprint")
"""The record fields each requirement of ``spec-trace --json`` shows, in that order (the
text is left out: it is long and the generated YAML has it)."""


def _requirement(req: Requirement) -> dict[str, Any]:
    record = req.record()
    return {key: record[key] for key in TRACE_REQUIREMENT_FIELDS}


def _scenario(matrix: Matrix, s: Scenario) -> dict[str, Any]:
    run = matrix.run(s)
    failed = matrix.failed_step(s)
    return {
        "key": s.key,
        "feature": s.feature,
        "feature_name": s.feature_name,
        "name": s.name,
        "line": s.line,
        "tags": list(s.tags),
        "ids": list(s.id_tags),
        "outcome": str(run.outcome),
        "results": {f: str(o) for f, o in run.by_file},
        "reason": run.reason,
        "duration_s": run.duration_s,
        "failed_step": failed.written if failed else "",
        "failed_step_line": failed.line if failed else None,
        "error": run.error,
        "steps": [
            {
                "keyword": st.keyword,
                "text": st.text,
                "outcome": str(run.steps[i] if i < len(run.steps) else Outcome.NOT_RUN),
            }
            for i, st in enumerate(s.steps)
        ],
    }


def trace_json(matrix: Matrix) -> dict[str, Any]:
    """``spec-trace --json``: verdict, run, summary, requirements, scenarios, violations."""
    info = matrix.info
    return {
        "ok": matrix.ok,
        "run": {
            "commit": info.commit,
            "date": info.date,
            "runners": list(info.runners),
            "partial": info.partial,
        },
        "summary": {"requirements": matrix.counts(), "scenarios": matrix.outcome_counts()},
        "results_files": list(matrix.results_files),
        "requirements": [
            {
                **_requirement(row.req),
                "status": str(row.status),
                "suspect": row.suspect,
                "reviewed_fingerprint": row.reviewed,
                "passing": row.passing,
                "waiver": row.waiver,
                "proof_strength": row.proof,
                "scenarios": list(row.scenarios),
            }
            for row in matrix.rows
        ],
        "scenarios": [_scenario(matrix, s) for s in matrix.scenarios],
        "violations": [
            {"kind": str(v.kind), "subject": v.subject, "message": v.message}
            for v in matrix.violations
        ],
        "warnings": list(matrix.warnings),
    }


def lint_json(corpus: Corpus) -> dict[str, Any]:
    """``spec-lint --json``: verdict, files, requirement count and every diagnostic."""
    return {
        "ok": not corpus.diagnostics,
        "files": [f.path for f in corpus.files],
        "requirements": len(corpus.requirements),
        "diagnostics": [d.to_json() for d in corpus.diagnostics],
    }
