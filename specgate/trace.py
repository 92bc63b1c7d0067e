"""spec-trace: the traceability gate between requirements, scenarios and run results.

Decides whether every requirement is proven: reads the extracted requirements
(``--requirements``, default ``spec/requirements``), the Gherkin scenarios (``--features``,
default ``features``; tags on Feature, Rule, Scenario and Examples are inherited), the run
results (``--results``, default ``reports/behave.json reports/pytest-bdd.json``: behave JSON
and pytest-bdd cucumber JSON) and the review lock (``--lock``, default
``spec/trace.lock.yaml``) and, with ``--proof-strength``, each requirement's proof strength
(the mutation score of its own scenarios), and builds the requirement x scenario x outcome matrix.

The gate fails on: a failing (or undefined) scenario of a requirement at a gated level
(``--gate-level must``, the default, or ``should`` or ``may``: that level and those above it),
even beside passing ones and even when waived; a gated requirement with no passing scenario
(no scenario at all, or only skipped ones; one whose scenarios were all not run only with
``--require-complete``); with ``--require-complete``, any scenario not run; a tag naming an
unknown (or retired) ID (``--allow-undefined ORCH`` accepts undefined umbrella IDs of that
prefix); a scenario without a tag naming a defined requirement (OC-BDD-7005; off with
``--no-require-tags``); a suspect requirement, whose text changed since it was reviewed (or
that scenarios cite but nobody ever reviewed); with ``--require-parity``, a scenario whose
outcome differs between the results files (OC-BDD-7006); with ``--proof-floor``, a MUST
requirement whose proof strength is measured below the floor.

A partial run (scenarios not selected by ``behave --tags``/``-n`` or ``pytest -m``/``-k``, or
in no results file) is labelled as such; its unselected scenarios are "not run", never
"skipped". The run's commit (``--commit``, else ``git rev-parse HEAD``), date (``--date``, else
the newest results file's modification time, UTC) and runners head the report.

``spec-trace review ID [ID...]`` (or ``review --all``) records the current fingerprints in the
lock once the scenarios have been checked against the new text.

Output: the run, a summary table, the violations and each failed scenario with its failed step
and message, or ``--json``; ``--html OUT`` writes a self-contained report page (file links
relative to it, or under ``--source-url``).

Exit codes: 0 gate passed (or review done); 1 gate failed; 2 usage or input error (missing
or unreadable requirements, feature or results files, unknown ID given to review).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from specgate.cache import cache_dir_from, no_gc
from specgate.errors import FeatureParseError, ResultsError, SpecgateError
from specgate.gates.trace import GATE_LEVELS, build_matrix
from specgate.model import ResultElement, RunInfo
from specgate.paths import display_path
from specgate.readers.features import read_features
from specgate.readers.proof import load_proof_strength
from specgate.readers.requirements import (
    load_lock,
    load_requirements,
    load_waivers,
    render_lock,
)
from specgate.readers.results import read_results
from specgate.readers.runinfo import git_commit, newest_mtime, runner_label
from specgate.render.html import render_html
from specgate.render.json import trace_json
from specgate.render.text import trace_report
from specgate.runs import map_results

DEFAULT_RESULTS = ["reports/behave.json", "reports/pytest-bdd.json"]
EXIT_OK, EXIT_GATE, EXIT_INPUT = 0, 1, 2


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--requirements",
        default="spec/requirements",
        help="directory of extracted requirement YAML (default: spec/requirements)",
    )
    parser.add_argument(
        "--lock", default="spec/trace.lock.yaml", help="review lock (default: spec/trace.lock.yaml)"
    )


def _gate_options(parser: argparse.ArgumentParser) -> None:
    """The options that decide what fails the gate and what the report says about the run."""
    parser.add_argument(
        "--gate-level",
        choices=list(GATE_LEVELS),
        default="must",
        help="the lowest level whose failing scenarios or missing passing scenarios fail the "
        "gate: must (default), should (MUST and SHOULD) or may",
    )
    parser.add_argument(
        "--require-complete",
        action="store_true",
        help="fail when a scenario was not run (not selected by --tags/-m/-k, or in no "
        "results file); without it a partial run gates only what ran",
    )
    parser.add_argument(
        "--commit",
        help="the commit the report names (default: `git rev-parse HEAD`, empty outside git)",
    )
    parser.add_argument(
        "--date",
        help="the date the report names (default: the newest results file's modification "
        "time, ISO 8601 UTC)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec-trace",
        description="Traceability gate: requirements x Gherkin scenarios x run results. "
        "Use `spec-trace review ID...` to re-stamp reviewed requirements.",
        epilog="exit codes: 0 gate passed; 1 gate failed; 2 usage or input error",
    )
    _common(parser)
    parser.add_argument("--features", default="features", help="feature files (default: features)")
    parser.add_argument(
        "--results",
        nargs="*",
        default=DEFAULT_RESULTS,
        help="behave JSON / pytest-bdd cucumber JSON files "
        "(default: reports/behave.json reports/pytest-bdd.json)",
    )
    parser.add_argument(
        "--allow-missing-results",
        action="store_true",
        help="treat a missing results file as 'not run' instead of an error",
    )
    parser.add_argument(
        "--require-tags",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="every scenario must carry a requirement ID tag (default: on)",
    )
    parser.add_argument(
        "--allow-undefined",
        action="append",
        default=[],
        metavar="PREFIX",
        help="tags with this ID prefix (e.g. ORCH) may name IDs no spec defines (umbrella IDs); "
        "they neither count as coverage nor fail the gate; repeatable",
    )
    parser.add_argument(
        "--require-parity",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="fail when a scenario's outcome differs between results files (default: off)",
    )
    parser.add_argument(
        "--waivers",
        default="spec/trace.waivers.yaml",
        help="requirement ID -> reason it has no passing scenario yet; a missing file means "
        "none (default: spec/trace.waivers.yaml)",
    )
    parser.add_argument(
        "--proof-strength",
        metavar="JSON",
        help="per-requirement proof strength (mutation score of its own scenarios), shown "
        "beside the status; see specgate/readers/proof.py for the shape",
    )
    parser.add_argument(
        "--proof-floor",
        type=float,
        metavar="PERCENT",
        help="with --proof-strength: fail for a MUST requirement measured below this",
    )
    _gate_options(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--html", metavar="OUT", help="write a self-contained HTML report")
    parser.add_argument(
        "--source-url",
        metavar="URL",
        help="with --html: link files to URL + path + '#L' + line (a forge's blob URL, e.g. "
        "https://github.com/o/r/blob/{commit}/; {commit} is the run's commit) instead of "
        "relative to the report",
    )
    parser.add_argument("--cache-dir", help="parse cache (default: reports/.specgate-cache)")
    parser.add_argument("--no-cache", action="store_true", help="do not use a parse cache")
    return parser


def build_review_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec-trace review",
        description="Record the current fingerprints of reviewed requirements in the lock.",
        epilog="exit codes: 0 done; 2 usage error or unknown ID",
    )
    _common(parser)
    parser.add_argument("ids", nargs="*", metavar="ID", help="requirement IDs to re-stamp")
    parser.add_argument("--all", action="store_true", help="re-stamp every requirement")
    return parser


def _err(message: str) -> int:
    print(f"spec-trace: {message}", file=sys.stderr)
    return EXIT_INPUT


def review(argv: list[str]) -> int:
    args = build_review_parser().parse_args(argv)
    if bool(args.ids) == bool(args.all):
        return _err("review: give requirement IDs or --all (not both)")
    lock_path = Path(args.lock)
    try:
        requirements = {r.id: r for r in load_requirements(Path(args.requirements))}
        reviewed = load_lock(lock_path)
    except SpecgateError as exc:
        return _err(str(exc))
    if args.all:
        updated = {rid: r.fingerprint for rid, r in requirements.items()}
    else:
        unknown = [rid for rid in args.ids if rid not in requirements]
        if unknown:
            return _err(f"review: unknown requirement ID(s): {', '.join(unknown)}")
        updated = dict(reviewed)
        updated.update({rid: requirements[rid].fingerprint for rid in args.ids})
    changed = sorted(k for k in updated if reviewed.get(k) != updated[k])
    dropped = sorted(set(reviewed) - set(updated))
    content = render_lock(updated)
    current = lock_path.read_text(encoding="utf-8") if lock_path.is_file() else None
    if content != current:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock_path.write_text(content, encoding="utf-8")
    print(
        f"spec-trace review: {len(changed)} re-stamped, {len(dropped)} dropped, "
        f"{len(updated)} recorded in {display_path(lock_path)}"
    )
    if len(changed) <= 20:
        for rid in changed:
            print(f"  reviewed {rid}")
    return EXIT_OK


def _load_results(
    paths: list[str], allow_missing: bool
) -> tuple[list[tuple[str, list[ResultElement]]], list[str]]:
    loaded: list[tuple[str, list[ResultElement]]] = []
    warnings: list[str] = []
    for name in paths:
        path = Path(name)
        shown = display_path(path)
        if not path.is_file():
            if not allow_missing:
                raise ResultsError(
                    f"{shown}: results file not found (run the suite first, or pass "
                    "--allow-missing-results)"
                )
            warnings.append(f"{shown}: results file not found; its scenarios count as not run")
            continue
        loaded.append((shown, read_results(path, shown)))
    return loaded, warnings


def _run_info(args: argparse.Namespace, results: list[tuple[str, list[ResultElement]]]) -> RunInfo:
    """The commit, date and runners the report names (``partial`` is the gate's to say)."""
    return RunInfo(
        commit=git_commit(Path.cwd()) if args.commit is None else args.commit,
        date=newest_mtime([Path(p) for p in args.results]) if args.date is None else args.date,
        runners=tuple(runner_label(shown, elements) for shown, elements in results),
    )


def _href_maker(html_path: Path) -> Any:
    base = html_path.resolve().parent

    def href(link: str) -> str:
        target, _, anchor = link.partition("#")
        rel = os.path.relpath(Path(target).resolve(), base) if target else ""
        return Path(rel).as_posix() + (f"#{anchor}" if anchor else "")

    return href


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "review":
        return review(argv[1:])
    args = build_parser().parse_args(argv)
    with no_gc():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    features_dir = Path(args.features)
    if not features_dir.is_dir():
        return _err(f"features directory not found: {features_dir}")
    cache_dir = cache_dir_from(args.cache_dir, disabled=args.no_cache)
    try:
        requirements = load_requirements(Path(args.requirements))
        reviewed = load_lock(Path(args.lock))
        waived = load_waivers(Path(args.waivers))
        suite = read_features(features_dir, cache_dir)
        if suite.errors:
            raise FeatureParseError(list(suite.errors))
        results, warnings = _load_results(args.results, args.allow_missing_results)
        proof = load_proof_strength(Path(args.proof_strength)) if args.proof_strength else {}
    except FeatureParseError as exc:
        for message in exc.messages:
            print(message, file=sys.stderr)
        return _err("feature files could not be parsed")
    except SpecgateError as exc:
        return _err(str(exc))
    scenarios = list(suite.scenarios)
    mapped = map_results(scenarios, results, features_dir)
    matrix = build_matrix(
        requirements,
        scenarios,
        mapped.runs,
        reviewed,
        require_tags=args.require_tags,
        allow_undefined=args.allow_undefined,
        require_parity=args.require_parity,
        warnings=[*warnings, *mapped.warnings],
        results_files=[shown for shown, _ in results],
        waived=waived,
        proof=proof,
        proof_floor=args.proof_floor if args.proof_strength else None,
        gate_levels=GATE_LEVELS[args.gate_level],
        require_complete=args.require_complete,
        info=_run_info(args, results),
    )
    if args.json:
        print(json.dumps(trace_json(matrix), indent=1, ensure_ascii=False))
    else:
        sys.stdout.write(trace_report(matrix))
    if args.html:
        html_path = Path(args.html)
        try:
            page = render_html(matrix, _href_maker(html_path), args.source_url)
        except ValueError as exc:
            return _err(str(exc))
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(page, encoding="utf-8")
        if not args.json:
            print(f"spec-trace: wrote {display_path(html_path)}")
    return EXIT_OK if matrix.ok else EXIT_GATE


if __name__ == "__main__":
    raise SystemExit(main())
