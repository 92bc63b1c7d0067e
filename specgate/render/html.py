"""The traceability matrix as one self-contained HTML page for spec reviewers.

Decides what a reviewer without a terminal sees, top to bottom: the verdict banner (red with the
violation count on any violation, green only when there is none), the run (commit, date,
runners, results files, scenario outcomes and time, and "partial run: N of M scenarios ran" when
scenarios were not selected), summary counts by status and level with what each status means,
the violations, then every requirement with its level, status, text, source and linked
scenarios. Each scenario shows its outcome, file:line, tags, duration, skip or not-run reason,
failed step with its message, and steps.

Links (``Links``): a file:line links to ``path#Lline`` relative to the page by default (so it
opens from a checkout), or, with a source URL (``spec-trace --source-url``), to
``URL + path + "#Lline"``, ``{commit}`` in the URL replaced by the run's commit. Paths are the
ones spec-trace shows (relative to where it ran, normally the repository root).

Inline CSS and JS only (``render/html_assets.py``); output is deterministic: the only date is
the run's own (``RunInfo.date``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from specgate.gates.trace import Matrix, Row, Status
from specgate.ids import Level
from specgate.model import Outcome, Scenario, ScenarioRun, Step
from specgate.render.html_assets import CSS, JS

__all__ = ["STATUS_MEANING", "Links", "render_html"]

STATUS_MEANING = {
    "covered": "a linked scenario passed and none failed",
    "failing": "a linked scenario failed or has an undefined step",
    "not-run": "none of its scenarios ran (a partial run did not select them, or no results "
    "file reports them); not gated unless the run must be complete (--require-complete)",
    "uncovered": "no linked scenario passed",
    "waived": "uncovered, with a recorded reason (the waiver file)",
    "suspect": "its text changed since it was reviewed, or scenarios cite it and it was never "
    "reviewed",
    "info": "an info-level requirement with nothing passed or failed (the info column counts "
    "every info-level requirement, whatever its status)",
    "retired": "a -DEPR ID, kept so old tags are recognised",
}
"""What each status means, shown under the summary table (every status has an entry: a test
holds this table to ``specgate.gates.trace.Status``)."""


@dataclass(frozen=True)
class Links:
    """Where the page links a file to: ``href`` turns a path into one relative to the page;
    ``base`` (a source URL with the commit filled in, ending in ``/``) replaces it when set."""

    href: Callable[[str], str]
    base: str | None = None

    @staticmethod
    def make(href: Callable[[str], str], source_url: str | None, commit: str) -> Links:
        """Raises ``ValueError`` when ``source_url`` names ``{commit}`` and the commit is
        unknown."""
        if not source_url:
            return Links(href)
        if "{commit}" in source_url and not commit:
            raise ValueError(
                f"--source-url {source_url}: the URL names {{commit}} but this run's commit is "
                "unknown"
            )
        base = source_url.replace("{commit}", commit)
        return Links(href, base if base.endswith("/") else base + "/")

    def to(self, path: str, line: int = 0, anchor: str = "") -> str:
        """The URL of ``path`` at ``line`` (``#L<line>``) or at ``anchor``."""
        fragment = f"#L{line}" if line else (f"#{anchor}" if anchor else "")
        if not path:
            return fragment
        outside = (
            PurePosixPath(path).is_absolute()
            or PureWindowsPath(path).is_absolute()
            or path.startswith("../")
        )
        if self.base is None or outside:
            return quote(self.href(path)) + fragment
        return self.base + quote(path) + fragment

    def link(self, link: str) -> str:
        """A requirement's link (``spec/x.md#anchor``)."""
        target, _, anchor = link.partition("#")
        return self.to(target, anchor=anchor)


@lru_cache(maxsize=64)
def _badge(value: str) -> str:
    return f'<span class="badge {escape(value)}">{escape(value)}</span>'


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _duration(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def _scenario_search(scenario: Scenario) -> str:
    tags = " ".join(f"@{t}" for t in scenario.tags)
    return " ".join((scenario.name, scenario.feature_name, scenario.feature, tags)).lower()


def _run_details(run: ScenarioRun, failed: Step | None) -> str:
    """Why it did not run, or where it failed: the reason, the failed step, the message."""
    parts = []
    if run.reason and run.outcome in (Outcome.SKIPPED, Outcome.NOT_RUN):
        outcome = str(run.outcome).replace("-", " ")
        parts.append(f'<p class="reason">{escape(outcome)}: {escape(run.reason)}</p>')
    if failed is not None:
        parts.append(
            f'<p class="failed-step">{escape(str(run.outcome))} at step '
            f"<code>{escape(failed.written)}</code></p>"
        )
    if run.error:
        parts.append(f'<pre class="error">{escape(run.error)}</pre>')
    return "".join(parts)


def _scenario_html(matrix: Matrix, scenario: Scenario, links: Links) -> str:
    run = matrix.run(scenario)
    outcome = str(run.outcome)
    steps = []
    for i, step in enumerate(scenario.steps):
        step_outcome = str(run.steps[i]) if i < len(run.steps) else str(Outcome.NOT_RUN)
        steps.append(
            f'<li class="{escape(step_outcome)}">'
            f'<span class="kw">{escape(step.keyword)}</span> '
            f"{escape(step.text)} {_badge(step_outcome)}</li>"
        )
    files = ", ".join(f"{escape(f)}: {escape(str(o))}" for f, o in run.by_file)
    duration = (
        f' <span class="duration">{_duration(run.duration_s)}</span>'
        if run.duration_s is not None
        else ""
    )
    tags = " ".join(f"@{t}" for t in scenario.tags)
    details = _run_details(run, matrix.failed_step(scenario))
    return (
        f'<li class="scenario" data-outcome="{escape(outcome)}" '
        f'data-search="{escape(_scenario_search(scenario))}">{_badge(outcome)} '
        f"{escape(scenario.feature_name)} › <b>{escape(scenario.name)}</b> "
        f'<a class="source" href="{escape(links.to(scenario.feature, scenario.line))}">'
        f"{escape(scenario.key)}</a>{duration}"
        f'<div class="meta">{escape(tags)}{" · " + files if files else ""}</div>'
        f'{details}<ol class="steps">{"".join(steps)}</ol></li>'
    )


def _scenarios_html(matrix: Matrix, row: Row, by_key: dict[str, int], links: Links) -> str:
    if not row.scenarios:
        return '<span class="meta">no scenario</span>'
    tally: dict[str, int] = {}
    items = []
    for key in row.scenarios:
        scenario = matrix.scenarios[by_key[key]]
        outcome = str(matrix.run(scenario).outcome)
        tally[outcome] = tally.get(outcome, 0) + 1
        items.append(_scenario_html(matrix, scenario, links))
    summary = ", ".join(f"{n} {o}" for o, n in sorted(tally.items()))
    return (
        f'<details class="scenario-list"><summary>{_plural(len(row.scenarios), "scenario")}: '
        f'{escape(summary)}</summary><ul class="scenarios">{"".join(items)}</ul></details>'
    )


def _row_html(matrix: Matrix, row: Row, by_key: dict[str, int], links: Links) -> str:
    req = row.req
    search = " ".join((req.id, req.title, req.text, req.section, req.file)).lower()
    reviewed = (
        "never reviewed"
        if row.reviewed is None
        else ("reviewed" if row.reviewed == req.fingerprint else "changed since review")
    )
    waiver = f'<div class="waiver">{escape(row.waiver)}</div>' if row.waiver else ""
    return (
        f'<tr id="{escape(req.id)}" data-status="{escape(str(row.status))}" '
        f'data-level="{escape(str(req.level))}" data-search="{escape(search)}">'
        f'<th scope="row" class="id"><a href="{escape(links.link(req.link))}">{escape(req.id)}'
        f"</a></th><td>{escape(str(req.level))}</td><td>{_badge(str(row.status))}{waiver}</td>"
        f'<td class="text"><div class="title">{escape(req.title)}</div>'
        f"<details><summary>full text</summary><p>{escape(req.text)}</p>"
        f'<p class="meta">section: {escape(req.section or "-")} · source: '
        f'<a class="source" href="{escape(links.to(req.file, req.line))}">'
        f"{escape(req.source)}</a> · {escape(reviewed)}</p></details></td>"
        f"<td>{_scenarios_html(matrix, row, by_key, links)}</td>"
        f"<td>{_proof_html(row)}</td></tr>"
    )


def _proof_html(row: Row) -> str:
    """The proof strength cell: the share of wrong implementations the scenarios reject."""
    if row.proof is None:
        return '<span class="meta" title="no mutated code reached, or not measured">-</span>'
    kind = "covered" if row.proof >= 80 else ("uncovered" if row.proof >= 50 else "failing")
    return (
        f'<span class="{kind}" title="share of mutants of the code its scenarios run '
        f'that they reject">{row.proof:.0f} %</span>'
    )


def _ran(matrix: Matrix) -> int:
    return sum(1 for s in matrix.scenarios if matrix.run(s).outcome is not Outcome.NOT_RUN)


def _banner(matrix: Matrix) -> str:
    partial = " This is a partial run (see Run)." if matrix.info.partial else ""
    if not matrix.ok:
        count = _plural(len(matrix.violations), "violation")
        return (
            f'<header class="banner fail" id="verdict" role="status">Gate FAILED: {count}, '
            f'listed under <a href="#violations">Violations</a>.'
            f"{partial}</header>"
        )
    failing = matrix.counts().get(str(Status.FAILING), {}).get("total", 0)
    note = (
        f" {_plural(failing, 'requirement')} still {'has' if failing == 1 else 'have'} failing "
        "scenarios at levels the gate does not enforce (filter by status: failing)."
        if failing
        else ""
    )
    return (
        '<header class="banner ok" id="verdict" role="status">Gate passed: no violations.'
        f"{note}{partial}</header>"
    )


def _run_html(matrix: Matrix) -> str:
    info = matrix.info
    outcomes = [f"{n} {o}" for o, n in matrix.outcome_counts().items() if n]
    total = len(matrix.scenarios)
    scenarios = _plural(total, "scenario") + (": " + ", ".join(outcomes) if outcomes else "")
    durations = [d for s in matrix.scenarios if (d := matrix.run(s).duration_s) is not None]
    time = f"<dt>scenario time</dt><dd>{_duration(sum(durations))} in all</dd>" if durations else ""
    partial = (
        f'<p class="partial" id="run-partial">partial run: {_ran(matrix)} of {total} scenarios '
        "ran; the others were not selected</p>"
        if info.partial
        else ""
    )
    return (
        '<section id="run" aria-labelledby="run-h"><h2 id="run-h">Run</h2>'
        f'{partial}<dl class="run">'
        f'<dt>commit</dt><dd id="run-commit">{escape(info.commit or "unknown")}</dd>'
        f'<dt>date</dt><dd id="run-date">{escape(info.date or "unknown")}</dd>'
        f'<dt>runners</dt><dd id="run-runners">{escape(", ".join(info.runners) or "unknown")}</dd>'
        "<dt>results files</dt>"
        f'<dd id="run-results">{escape(", ".join(matrix.results_files) or "none")}</dd>'
        f'<dt>scenarios</dt><dd id="run-outcomes">{escape(scenarios)}</dd>{time}</dl></section>'
    )


def _summary_html(matrix: Matrix) -> str:
    counts = matrix.counts()
    statuses = [s for s in counts if s != "total"]
    levels = [str(level) for level in Level]
    cards = "".join(
        f'<button type="button" class="card {s}" data-status="{s}" title="show {s} only">'
        f'<span class="count" id="count-{s}">{counts[s]["total"]}</span>{s}</button>'
        for s in statuses
    )
    head = "".join(f'<th scope="col">level: {lvl}</th>' for lvl in levels)
    body = "".join(
        f'<tr><th scope="row">status: {s}</th>'
        + "".join(f"<td>{counts[s][c]}</td>" for c in [*levels, "total"])
        + "</tr>"
        for s in statuses
    )
    totals = "".join(f"<td>{counts['total'][c]}</td>" for c in [*levels, "total"])
    legend = "".join(
        f"<dt>{_badge(s)}</dt><dd>{escape(STATUS_MEANING[s])}</dd>"
        for s in statuses
        if s in STATUS_MEANING
    )
    return (
        '<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>'
        f'<div class="cards">{cards}</div><table class="counts"><caption>Requirements by '
        "status (rows) and by level (columns). Each requirement has one status and one level, "
        "so the status row <b>info</b> and the column <b>level: info</b> count different "
        "things: the row counts info-level requirements with nothing run, the column every "
        "info-level requirement whatever its status.</caption>"
        f'<thead><tr><th scope="col">status \\ level</th>{head}<th scope="col">all levels</th>'
        f'</tr></thead><tbody>{body}<tr class="total"><th scope="row">all statuses</th>'
        f'{totals}</tr></tbody></table><dl class="legend">{legend}</dl></section>'
    )


def _violations_html(matrix: Matrix) -> str:
    violations = (
        '<ul class="violations">'
        + "".join(
            f'<li data-kind="{escape(str(v.kind))}">{_badge(str(v.kind))} {escape(v.message)}</li>'
            for v in matrix.violations
        )
        + "</ul>"
        if matrix.violations
        else "<p>None.</p>"
    )
    warnings = (
        "<h2>Warnings</h2><ul>"
        + "".join(f"<li>{escape(w)}</li>" for w in matrix.warnings)
        + "</ul>"
        if matrix.warnings
        else ""
    )
    return (
        '<section id="violations" aria-labelledby="violations-h">'
        f'<h2 id="violations-h">Violations ({len(matrix.violations)})</h2>{violations}'
        f"{warnings}</section>"
    )


def _matrix_html(matrix: Matrix, links: Links) -> str:
    total = len(matrix.rows)
    by_key = {s.key: i for i, s in enumerate(matrix.scenarios)}
    statuses = [s for s in matrix.counts() if s != "total"]
    status_options = "".join(f'<option value="{s}">{s}</option>' for s in statuses)
    level_options = "".join(f'<option value="{lvl}">{lvl}</option>' for lvl in map(str, Level))
    rows = "".join(_row_html(matrix, row, by_key, links) for row in matrix.rows)
    return (
        '<section id="matrix" aria-labelledby="matrix-h"><h2 id="matrix-h">Requirements</h2>'
        '<div class="filters" role="search">'
        '<label for="f-status">Status</label><select id="f-status">'
        f'<option value="">all</option>{status_options}</select>'
        '<label for="f-level">Level</label><select id="f-level">'
        f'<option value="">all</option>{level_options}</select>'
        '<label for="f-text">Search</label><input id="f-text" type="search" '
        'placeholder="IDs, words, scenario names, @tags, files">'
        f'<span aria-live="polite">showing <b id="shown-count">{total}</b> of {total}</span>'
        '</div><table id="requirements"><thead><tr><th scope="col">ID</th>'
        '<th scope="col">Level</th><th scope="col">Status</th><th scope="col">Requirement</th>'
        '<th scope="col">Scenarios</th>'
        '<th scope="col" title="mutation score of its own scenarios">Proof</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def render_html(
    matrix: Matrix,
    href: Callable[[str], str] = lambda path: path,
    source_url: str | None = None,
) -> str:
    """The whole page. ``href`` turns a path (``spec/x.md``, ``features/a.feature``) into a URL
    relative to where the page is written; ``source_url``, when given, is the prefix of every
    file link instead (see ``Links``). Raises ``ValueError`` for a ``source_url`` naming
    ``{commit}`` when the run's commit is unknown."""
    links = Links.make(href, source_url, matrix.info.commit)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Traceability report</title><style>{CSS}</style></head><body>"
        f"{_banner(matrix)}<h1>Traceability report</h1>"
        f'<p class="meta">{_plural(len(matrix.rows), "requirement")} · '
        f"{_plural(len(matrix.scenarios), 'scenario')}</p>"
        f"{_run_html(matrix)}{_summary_html(matrix)}{_violations_html(matrix)}"
        f"{_matrix_html(matrix, links)}<script>{JS}</script></body></html>\n"
    )
