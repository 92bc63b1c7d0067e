"""The traceability matrix as one self-contained HTML page for spec reviewers.

Decides what a reviewer without a terminal sees: the gate verdict, summary counts by status and
level, the violations, then every requirement with its level, status, text and linked
scenarios (steps and outcomes), with filters by status, level and free text. Inline CSS and
JS only, no external assets; output is deterministic (no timestamps). Filters can be preset
from the URL fragment, e.g. ``report.html#status=failing&level=must&q=drain``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from html import escape

from specgate.gates.trace import Matrix, Row, Status
from specgate.ids import Level
from specgate.model import Outcome

_CSS = """
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--sus:#8250df;--mute:#57606a;--line:#d0d7de}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;
padding:1rem 1.5rem;color:#1f2328}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.4rem 0 .5rem}
.verdict{padding:.6rem .9rem;border-radius:6px;font-weight:600}
.verdict.ok{background:#dafbe1;color:var(--ok)}.verdict.fail{background:#ffebe9;color:var(--bad)}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:.8rem 0}
.card{border:1px solid var(--line);border-radius:6px;padding:.5rem .8rem;min-width:7rem;
cursor:pointer;background:#fff;text-align:left;font:inherit}
.card .count{display:block;font-size:1.6rem;font-weight:700}
.card.covered .count{color:var(--ok)}.card.failing .count{color:var(--bad)}
.card.uncovered .count{color:var(--warn)}.card.suspect .count{color:var(--sus)}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);
padding:.35rem .5rem;vertical-align:top;text-align:left}
table.counts td,table.counts th{text-align:right}table.counts th:first-child{text-align:left}
.badge{display:inline-block;border-radius:1rem;padding:0 .55rem;font-size:.8rem;font-weight:600;
border:1px solid currentColor;white-space:nowrap}
.covered,.passed{color:var(--ok)}.failing,.failed{color:var(--bad)}
.uncovered,.undefined,.waived{color:var(--warn)}.suspect{color:var(--sus)}
.info,.retired,.skipped,.not-run{color:var(--mute)}
td.text{color:#1f2328}.title{font-weight:600}.meta{color:var(--mute);font-size:.85rem}
.filters{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin:.5rem 0 .8rem;
position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid var(--line)}
.filters input{min-width:16rem}ul.scenarios{margin:.3rem 0;padding-left:1.1rem}
ol.steps{margin:.2rem 0 .4rem;padding-left:1.3rem;color:#1f2328}
ol.steps .kw{font-weight:600}pre.error{white-space:pre-wrap;background:#fff8f8;
border-left:3px solid var(--bad);padding:.3rem .5rem;font-size:.8rem;max-height:12rem;overflow:auto}
ul.violations li{margin:.2rem 0}tr[hidden]{display:none}
"""

_JS = """
(function(){
  var rows=[].slice.call(document.querySelectorAll('#requirements tbody tr'));
  var st=document.getElementById('f-status'),lv=document.getElementById('f-level'),
      q=document.getElementById('f-text'),shown=document.getElementById('shown-count');
  function apply(){
    var s=st.value,l=lv.value,t=q.value.trim().toLowerCase(),n=0;
    rows.forEach(function(r){
      var ok=(!s||r.dataset.status===s)&&(!l||r.dataset.level===l)&&
             (!t||r.dataset.search.indexOf(t)!==-1);
      r.hidden=!ok; if(ok){n++;}
    });
    shown.textContent=String(n);
    var p=[];if(s){p.push('status='+encodeURIComponent(s));}
    if(l){p.push('level='+encodeURIComponent(l));}if(t){p.push('q='+encodeURIComponent(t));}
    if(history.replaceState){history.replaceState(null,'',p.length?'#'+p.join('&'):' ');}
  }
  var h=new URLSearchParams(location.hash.replace(/^#/,''));
  if(h.get('status')){st.value=h.get('status');}if(h.get('level')){lv.value=h.get('level');}
  if(h.get('q')){q.value=h.get('q');}
  [st,lv].forEach(function(e){e.addEventListener('change',apply);});
  q.addEventListener('input',apply);
  [].slice.call(document.querySelectorAll('.card[data-status]')).forEach(function(c){
    c.addEventListener('click',function(){st.value=c.dataset.status;apply();});
  });
  apply();
})();
"""


@lru_cache(maxsize=64)
def _badge(value: str) -> str:
    return f'<span class="badge {escape(value)}">{escape(value)}</span>'


def _scenarios_html(matrix: Matrix, row: Row, by_key: dict[str, int]) -> str:
    if not row.scenarios:
        return '<span class="meta">no scenario</span>'
    tally: dict[str, int] = {}
    items = []
    for key in row.scenarios:
        scenario = matrix.scenarios[by_key[key]]
        run = matrix.run(scenario)
        outcome = str(run.outcome)
        tally[outcome] = tally.get(outcome, 0) + 1
        steps = []
        for i, step in enumerate(scenario.steps):
            step_outcome = str(run.steps[i]) if i < len(run.steps) else str(Outcome.NOT_RUN)
            steps.append(
                f'<li class="{escape(step_outcome)}">'
                f'<span class="kw">{escape(step.keyword)}</span> '
                f"{escape(step.text)} {_badge(step_outcome)}</li>"
            )
        files = ", ".join(f"{escape(f)}: {escape(str(o))}" for f, o in run.by_file)
        error = f'<pre class="error">{escape(run.error)}</pre>' if run.error else ""
        items.append(
            f'<li class="scenario" data-outcome="{escape(outcome)}">{_badge(outcome)} '
            f"{escape(scenario.feature_name)} › <b>{escape(scenario.name)}</b> "
            f'<span class="meta">{escape(scenario.key)}'
            f"{' · ' + files if files else ''}</span>"
            f'<ol class="steps">{"".join(steps)}</ol>{error}</li>'
        )
    summary = ", ".join(f"{n} {o}" for o, n in sorted(tally.items()))
    count = len(row.scenarios)
    noun = "scenario" if count == 1 else "scenarios"
    return (
        f"<details><summary>{count} {noun}: {escape(summary)}</summary>"
        f'<ul class="scenarios">{"".join(items)}</ul></details>'
    )


def _row_html(matrix: Matrix, row: Row, by_key: dict[str, int], href: Callable[[str], str]) -> str:
    req = row.req
    search = " ".join((req.id, req.title, req.text, req.section)).lower()
    reviewed = (
        "never reviewed"
        if row.reviewed is None
        else ("reviewed" if row.reviewed == req.fingerprint else "changed since review")
    )
    return (
        f'<tr id="{escape(req.id)}" data-status="{escape(str(row.status))}" '
        f'data-level="{escape(str(req.level))}" data-search="{escape(search)}">'
        f'<td class="id"><a href="{escape(href(req.link))}">{escape(req.id)}</a></td>'
        f"<td>{escape(str(req.level))}</td><td>{_badge(str(row.status))}"
        + (f'<div class="waiver">{escape(row.waiver)}</div>' if row.waiver else "")
        + "</td>"
        f'<td class="text"><div class="title">{escape(req.title)}</div>'
        f"<details><summary>full text</summary><p>{escape(req.text)}</p>"
        f'<p class="meta">section: {escape(req.section or "-")} · source: {escape(req.source)}'
        f" · {escape(reviewed)}</p></details></td>"
        f"<td>{_scenarios_html(matrix, row, by_key)}</td>"
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


def render_html(matrix: Matrix, href: Callable[[str], str] = lambda link: link) -> str:
    """The whole page. ``href`` turns a requirement link (``spec/x.md#anchor``) into a URL
    relative to where the page is written."""
    counts = matrix.counts()
    total = counts["total"]["total"]
    by_key = {s.key: i for i, s in enumerate(matrix.scenarios)}
    failing = counts[str(Status.FAILING)]["total"]
    note = (
        f" {failing} requirement(s) still have failing scenarios; the test runs report those."
        if failing
        else ""
    )
    verdict = (
        '<p class="verdict ok" id="verdict">Gate passed: every MUST requirement has a passing '
        f"scenario and nothing is suspect.{note}</p>"
        if matrix.ok
        else f'<p class="verdict fail" id="verdict">Gate FAILED: {len(matrix.violations)} '
        "violation(s), listed below.</p>"
    )
    cards = "".join(
        f'<button type="button" class="card {s}" data-status="{s}">'
        f'<span class="count" id="count-{s}">{counts[s]["total"]}</span>{s}</button>'
        for s in (str(x) for x in Status)
    )
    levels = [str(level) for level in Level]
    head = "".join(f"<th>{lvl}</th>" for lvl in [*levels, "total"])
    body = "".join(
        f"<tr><th>{s}</th>"
        + "".join(f"<td>{counts[s][c]}</td>" for c in [*levels, "total"])
        + "</tr>"
        for s in [*(str(x) for x in Status), "total"]
    )
    outcomes = matrix.outcome_counts()
    outcome_text = ", ".join(f"{n} {o}" for o, n in outcomes.items())
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
    status_options = "".join(f'<option value="{s}">{s}</option>' for s in (str(x) for x in Status))
    level_options = "".join(f'<option value="{lvl}">{lvl}</option>' for lvl in levels)
    rows = "".join(_row_html(matrix, row, by_key, href) for row in matrix.rows)
    sources = ", ".join(escape(f) for f in matrix.results_files) or "none"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Traceability report</title><style>{_CSS}</style></head><body>"
        "<h1>Traceability report</h1>"
        f'<p class="meta">{total} requirements · {len(matrix.scenarios)} scenarios '
        f"({escape(outcome_text)}) · results: {sources}</p>"
        f'{verdict}<section id="summary"><h2>Summary</h2><div class="cards">{cards}</div>'
        f'<table class="counts"><thead><tr><th>status</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></section>"
        f'<section id="violations"><h2>Violations ({len(matrix.violations)})</h2>{violations}'
        f"{warnings}</section>"
        '<section id="matrix"><h2>Requirements</h2><div class="filters">'
        f'<label>Status <select id="f-status"><option value="">all</option>{status_options}'
        "</select></label>"
        f'<label>Level <select id="f-level"><option value="">all</option>{level_options}'
        "</select></label>"
        '<label>Search <input id="f-text" type="search" placeholder="ID or words"></label>'
        f'<span>showing <b id="shown-count">{total}</b> of {total}</span></div>'
        '<table id="requirements"><thead><tr><th>ID</th><th>Level</th><th>Status</th>'
        "<th>Requirement</th><th>Scenarios</th>"
        '<th title="mutation score of its own scenarios">Proof</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section><script>{_JS}</script></body></html>\n"
    )
