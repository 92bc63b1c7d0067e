"""BDD gates the runners do not give: decides whether a Gherkin suite and its runs are sound.

Generic: knows nothing about the project under test. Checks, and exits 1 listing every
violation (0 when clean):

- OC-BDD-7001: undefined, ambiguous or pending steps, in a behave JSON or a pytest-bdd cucumber
  JSON results file, or statically (a feature step that no pattern of the step modules matches,
  or that two patterns of the same keyword match);
- OC-BDD-7002: a scenario with no steps, a Scenario Outline without Examples rows (features are
  read with the official ``gherkin`` parser);
- OC-BDD-7003: a Then-step function whose body has no ``assert``, ``raise`` or ``assert_*`` call
  (static AST check of the step modules given with ``--steps``);
- a step pattern that no feature uses;
- OC-BDD-7004: a results file selecting zero scenarios;
- OC-BDD-7005: a scenario without a requirement-ID tag (feature, rule, scenario and examples
  tags count);
- OC-BDD-7006: per-scenario outcomes that differ between the behave and pytest-bdd results
  (keyed by feature file, scenario name and Examples row).

Step patterns are found in the step modules as string literals of step decorators or table
entries: ``@given("...")``, ``@then(parsers.parse("..."))`` or ``@step("then", "...")``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import parse  # type: ignore[import-untyped]
from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

DEFAULT_ID_PATTERN = r"^(OC-[A-Z0-9-]+-[0-9]{3,5}|ORCH-[0-9]{3,5})$"
KINDS = ("given", "when", "then")
_KEYWORD_TYPES = {"Context": "given", "Action": "when", "Outcome": "then"}
_BEHAVE_ROW_SUFFIX = re.compile(r" -- @\d+\.\d+.*$")
_BAD_STEP_STATUSES = {"undefined", "pending", "ambiguous"}


@dataclass(frozen=True)
class FeatureStep:
    kind: str
    text: str
    line: int


@dataclass(frozen=True)
class Scenario:
    """One scenario, or one Examples row of an outline (``row`` is its index, else None)."""

    file: str
    name: str
    line: int
    row: int | None
    row_line: int | None
    row_values: tuple[str, ...]
    tags: tuple[str, ...]
    steps: tuple[FeatureStep, ...]
    own_steps: int


@dataclass(frozen=True)
class StepPattern:
    kind: str
    pattern: str
    module: str
    line: int


@dataclass
class Report:
    violations: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.violations.append(text)


# ----------------------------------------------------------------------------- features


def _kinds(steps: Sequence[dict[str, Any]], previous: str = "given") -> list[str]:
    out: list[str] = []
    for st in steps:
        kind = _KEYWORD_TYPES.get(st.get("keywordType", ""))
        if kind is None:
            word = st["keyword"].strip().lower()
            kind = word if word in KINDS else previous
        out.append(kind)
        previous = kind
    return out


def _fill(text: str, header: Sequence[str], values: Sequence[str]) -> str:
    for name, value in zip(header, values, strict=False):
        text = text.replace(f"<{name}>", value)
    return text


def parse_features(features_dir: Path, report: Report) -> list[Scenario]:
    """Every scenario (outline rows expanded) under ``features_dir``; grammar problems reported."""
    scenarios: list[Scenario] = []
    for path in sorted(features_dir.rglob("*.feature")):
        rel = path.relative_to(features_dir).as_posix()
        try:
            doc: Any = Parser().parse(TokenScanner(path.read_text(encoding="utf-8")))
        except Exception as exc:  # the gherkin parser raises its own composite errors
            report.add(f"{rel}: not valid Gherkin: {exc}")
            continue
        feature = doc.get("feature")
        if not feature:
            continue
        ftags = [t["name"].lstrip("@") for t in feature.get("tags", [])]
        _collect(rel, feature["children"], ftags, [], scenarios, report)
    return scenarios


def _collect(
    rel: str,
    children: Iterable[dict[str, Any]],
    tags: list[str],
    background: list[dict[str, Any]],
    out: list[Scenario],
    report: Report,
) -> None:
    bg = list(background)
    for child in children:
        if "background" in child:
            bg = bg + list(child["background"]["steps"])
        elif "rule" in child:
            rule = child["rule"]
            rtags = tags + [t["name"].lstrip("@") for t in rule.get("tags", [])]
            _collect(rel, rule["children"], rtags, bg, out, report)
        elif "scenario" in child:
            _scenario(rel, child["scenario"], tags, bg, out, report)


def _scenario(
    rel: str,
    sc: dict[str, Any],
    tags: list[str],
    bg: list[dict[str, Any]],
    out: list[Scenario],
    report: Report,
) -> None:
    line = sc["location"]["line"]
    where = f"{rel}:{line} {sc['name']!r}"
    own = list(sc["steps"])
    if not own:
        report.add(f"{where}: empty scenario (no steps)")
    stags = tags + [t["name"].lstrip("@") for t in sc.get("tags", [])]
    all_steps = bg + own
    kinds = _kinds(bg) + _kinds(own)
    is_outline = "outline" in sc["keyword"].lower() or "template" in sc["keyword"].lower()
    examples = sc.get("examples", [])
    if not (is_outline or examples):
        steps = tuple(
            FeatureStep(k, s["text"], s["location"]["line"])
            for k, s in zip(kinds, all_steps, strict=True)
        )
        out.append(Scenario(rel, sc["name"], line, None, None, (), tuple(stags), steps, len(own)))
        return
    rows = [(ex, row) for ex in examples for row in ex.get("tableBody", [])]
    if not rows:
        report.add(f"{where}: Scenario Outline without Examples rows")
    for index, (ex, row) in enumerate(rows):
        header = [c["value"] for c in (ex.get("tableHeader") or {}).get("cells", [])]
        values = tuple(c["value"] for c in row["cells"])
        etags = stags + [t["name"].lstrip("@") for t in ex.get("tags", [])]
        steps = tuple(
            FeatureStep(k, _fill(s["text"], header, values), s["location"]["line"])
            for k, s in zip(kinds, all_steps, strict=True)
        )
        out.append(
            Scenario(
                rel,
                sc["name"],
                line,
                index,
                row["location"]["line"],
                values,
                tuple(etags),
                steps,
                len(own),
            )
        )


# ----------------------------------------------------------------------------- step modules


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and node.args:  # parsers.parse("...")
        return _literal(node.args[0])
    return None


def _call_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _decorator_step(dec: ast.expr) -> tuple[str, str] | None:
    """(kind, pattern) when ``dec`` is a step decorator with literal arguments."""
    if not isinstance(dec, ast.Call):
        return None
    name = _call_name(dec.func).lower()
    if name in KINDS and dec.args:
        pattern = _literal(dec.args[0])
        return (name, pattern) if pattern is not None else None
    if name == "step" and len(dec.args) >= 2:
        kind = _literal(dec.args[0])
        pattern = _literal(dec.args[1])
        if kind in KINDS and pattern is not None:
            return kind, pattern
    return None


def _asserts(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert | ast.Raise):
            return True
        if isinstance(node, ast.Call) and _call_name(node.func).startswith("assert"):
            return True
    return False


def step_modules(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    return files


def scan_steps(paths: Sequence[Path], report: Report) -> list[StepPattern]:
    """Step patterns of the modules; Then-steps without an assertion are reported (7003)."""
    patterns: list[StepPattern] = []
    for path in step_modules(paths):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            report.add(f"{path}: cannot parse: {exc}")
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for dec in node.decorator_list:
                found = _decorator_step(dec)
                if found is None:
                    continue
                kind, pattern = found
                patterns.append(StepPattern(kind, pattern, str(path), node.lineno))
                if kind == "then" and not _asserts(node):
                    report.add(
                        f"{path}:{node.lineno}: Then-step {node.name!r} ({pattern!r}) "
                        "asserts nothing"
                    )
    return patterns


def check_step_usage(
    scenarios: Sequence[Scenario], patterns: Sequence[StepPattern], report: Report
) -> None:
    """Undefined, ambiguous (static) and unused step patterns."""
    compiled = [(p, parse.compile(p.pattern)) for p in patterns]
    used: set[int] = set()
    seen: set[tuple[str, str]] = set()
    for sc in scenarios:
        for st in sc.steps:
            hits = [
                i for i, (p, c) in enumerate(compiled) if p.kind == st.kind and c.parse(st.text)
            ]
            used.update(hits)
            if (st.kind, st.text) in seen:
                continue
            seen.add((st.kind, st.text))
            if not hits:
                report.add(f"{sc.file}:{st.line}: undefined step: {st.kind} {st.text!r}")
            elif len(hits) > 1:
                names = ", ".join(repr(compiled[i][0].pattern) for i in hits)
                report.add(f"{sc.file}:{st.line}: ambiguous step {st.text!r}: {names}")
    for i, (p, _) in enumerate(compiled):
        if i not in used:
            report.add(f"{p.module}:{p.line}: step pattern no feature uses: {p.pattern!r}")


def check_tags(scenarios: Sequence[Scenario], id_pattern: str, report: Report) -> None:
    rx = re.compile(id_pattern)
    done: set[tuple[str, int]] = set()
    for sc in scenarios:
        if (sc.file, sc.line) in done:
            continue
        if not any(rx.match(t) for t in sc.tags):
            done.add((sc.file, sc.line))
            report.add(f"{sc.file}:{sc.line} {sc.name!r}: no requirement-ID tag")


# ----------------------------------------------------------------------------- results

Key = tuple[str, str, int | None]


def _match_file(uri: str, files: Sequence[str]) -> str:
    uri = uri.split(":")[0].replace("\\", "/")
    for f in sorted(files, key=len, reverse=True):
        if uri == f or uri.endswith("/" + f):
            return f
    return uri


def _load(path: Path, report: Report) -> list[dict[str, Any]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.add(f"{path}: cannot read results: {exc}")
        return None
    if not isinstance(data, list):
        report.add(f"{path}: results must be a JSON list of features")
        return None
    return data


def _row_of(candidates: Sequence[Scenario], used: set[int], want: Any) -> Scenario | None:
    for sc in candidates:
        if sc.row not in used and want(sc):
            if sc.row is not None:
                used.add(sc.row)
            return sc
    return None


def behave_outcomes(
    path: Path, scenarios: Sequence[Scenario], report: Report
) -> dict[Key, str] | None:
    data = _load(path, report)
    if data is None:
        return None
    files = sorted({s.file for s in scenarios})
    out: dict[Key, str] = {}
    for feat in data:
        rel = _match_file(str(feat.get("location", "")), files)
        for el in feat.get("elements", []) or []:
            if el.get("type") == "background":
                continue
            name = _BEHAVE_ROW_SUFFIX.sub("", el.get("name", ""))
            loc = str(el.get("location", ""))
            line = int(loc.rsplit(":", 1)[1]) if ":" in loc else -1
            candidates = [s for s in scenarios if s.file == rel and s.name == name]
            found = next((s for s in candidates if s.row_line == line), None)
            key: Key = (rel, name, found.row if found else None)
            status = str(el.get("status", "failed"))
            for st in el.get("steps", []):
                if status == "skipped" and not st.get("result"):
                    # A scenario skipped before it ran (e.g. @gpu on a machine without one):
                    # its steps have no result; undefined ones are still caught statically.
                    continue
                st_status = str((st.get("result") or {}).get("status", "undefined"))
                if st_status in _BAD_STEP_STATUSES or "match" not in st:
                    report.add(f"{path}: {rel} {name!r}: {st_status} step {st.get('name')!r}")
                    status = "failed"
            out[key] = _norm(status)
    if not out:
        report.add(f"{path}: the run selected zero scenarios")
    return out


def pytest_bdd_outcomes(
    path: Path, scenarios: Sequence[Scenario], report: Report
) -> dict[Key, str] | None:
    data = _load(path, report)
    if data is None:
        return None
    files = sorted({s.file for s in scenarios})
    out: dict[Key, str] = {}
    used: dict[tuple[str, str], set[int]] = {}
    for feat in data:
        rel = _match_file(str(feat.get("uri", "")), files)
        for el in feat.get("elements", []) or []:
            name = str(el.get("name", ""))
            candidates = [s for s in scenarios if s.file == rel and s.name == name]
            ident = str(el.get("id", ""))
            params = ident[ident.find("[") + 1 : -1] if ident.endswith("]") else ""
            taken = used.setdefault((rel, name), set())
            found = _row_of(candidates, taken, lambda s, p=params: "-".join(s.row_values) == p)
            if found is None:
                found = _row_of(candidates, taken, lambda s: True)
            key: Key = (rel, name, found.row if found else None)
            steps = el.get("steps", []) or []
            statuses = [str((s.get("result") or {}).get("status", "undefined")) for s in steps]
            for s, st in zip(steps, statuses, strict=True):
                if st in _BAD_STEP_STATUSES:
                    report.add(f"{path}: {rel} {name!r}: {st} step {s.get('name')!r}")
            status = "failed" if any(s != "passed" for s in statuses) else "passed"
            expected = len(found.steps) if found else len(steps)
            if len(steps) < expected and status == "passed":
                missing = found.steps[len(steps)] if found else None
                text = missing.text if missing else "?"
                report.add(f"{path}: {rel} {name!r}: undefined step {text!r} (not run)")
                status = "failed"
            if not steps and not expected:
                status = "passed"
            out[key] = status
    if not out:
        report.add(f"{path}: the run selected zero scenarios")
    return out


def _norm(status: str) -> str:
    return "passed" if status == "passed" else ("skipped" if status == "skipped" else "failed")


def compare(a: dict[Key, str], b: dict[Key, str], report: Report) -> None:
    for key in sorted(
        set(a) | set(b), key=lambda k: (k[0], k[1], k[2] if k[2] is not None else -1)
    ):
        left, right = a.get(key, "not run"), b.get(key, "not run")
        # pytest-bdd leaves scenarios skipped at setup out of its cucumber JSON.
        if left != right and {left, right} != {"skipped", "not run"}:
            row = "" if key[2] is None else f" (Examples row {key[2] + 1})"
            report.add(f"{key[0]} {key[1]!r}{row}: behave says {left}, pytest-bdd says {right}")


# ----------------------------------------------------------------------------- CLI


def run(
    features: Path,
    steps: Sequence[Path],
    behave: Path | None,
    pytest_bdd: Path | None,
    id_pattern: str = DEFAULT_ID_PATTERN,
) -> list[str]:
    """Every violation found (empty when the suite is clean)."""
    report = Report()
    scenarios = parse_features(features, report)
    check_tags(scenarios, id_pattern, report)
    if steps:
        check_step_usage(scenarios, scan_steps(steps, report), report)
    b = behave_outcomes(behave, scenarios, report) if behave else None
    p = pytest_bdd_outcomes(pytest_bdd, scenarios, report) if pytest_bdd else None
    if b is not None and p is not None:
        compare(b, p, report)
    return report.violations


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bdd-gate", description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=Path, default=Path("features"))
    ap.add_argument("--steps", type=Path, nargs="*", default=[])
    ap.add_argument("--behave", type=Path)
    ap.add_argument("--pytest-bdd", dest="pytest_bdd", type=Path)
    ap.add_argument("--id-pattern", default=DEFAULT_ID_PATTERN)
    args = ap.parse_args(argv)
    violations = run(args.features, args.steps, args.behave, args.pytest_bdd, args.id_pattern)
    for v in violations:
        print(v)
    if violations:
        print(f"bdd-gate: {len(violations)} violation(s)", file=sys.stderr)
        return 1
    print("bdd-gate: clean")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
