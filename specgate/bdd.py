"""bdd-gate: the BDD gates the runners do not give, over a features directory and its runs.

Reads the feature files (``--features``), the step modules (``--steps``, parsed, never
imported) and the behave JSON (``--behave``) and pytest-bdd cucumber JSON (``--pytest-bdd``)
results with the shared readers, and prints every violation that ``specgate.gates.bdd`` finds
(OC-BDD-7001 to OC-BDD-7006), one per line; with ``--glossary``, also every word of a feature
file that the glossary rules out (OC-BDD-7007).

Exit codes: 0 clean (``bdd-gate: clean``); 1 violations (``bdd-gate: N violation(s)`` on
stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from specgate.errors import InputError, ResultsError
from specgate.gates import bdd
from specgate.gates.bdd import DEFAULT_ID_PATTERN
from specgate.gates.glossary import glossary_violations, read_glossary
from specgate.model import ResultElement
from specgate.readers.features import read_features
from specgate.readers.results import read_results
from specgate.readers.steps import read_step_modules
from specgate.runs import ScenarioIndex, map_results

__all__ = ["DEFAULT_ID_PATTERN", "main", "run"]

DESCRIPTION = (
    "BDD gates the runners do not give: decides whether a Gherkin suite and its runs are sound."
)


def _results(path: Path, found: list[str]) -> list[ResultElement] | None:
    try:
        elements = read_results(path, str(path))
    except ResultsError as exc:
        found.append(str(exc))
        return None
    if not any(e.selected for e in elements):  # deselected entries do not count (OC-BDD-7004)
        found.append(f"{path}: the run selected zero scenarios")
    return elements


def run(
    features: Path,
    steps: Sequence[Path],
    behave: Path | None,
    pytest_bdd: Path | None,
    id_pattern: str = DEFAULT_ID_PATTERN,
    glossary: Path | None = None,
) -> list[str]:
    """Every violation found (empty when the suite is clean). ``glossary``: a glossary whose
    ruled-out words no feature file may use (:mod:`specgate.gates.glossary`, OC-BDD-7007)."""
    suite = read_features(features, cache_dir=None)
    if glossary is not None:
        try:
            ruled_out = read_glossary(glossary)
        except InputError as exc:
            return [str(exc)]
        found_words = glossary_violations(features, ruled_out)
    else:
        found_words = []
    found = bdd.suite_violations(suite)
    found += bdd.tag_violations(suite.scenarios, id_pattern)
    if steps:
        modules = read_step_modules(steps)
        found += bdd.definition_violations(modules)
        found += bdd.usage_violations(suite.scenarios, modules)
    index = ScenarioIndex(suite.scenarios, features)
    loaded: list[tuple[str, list[ResultElement]]] = []
    for path in (behave, pytest_bdd):
        elements = _results(path, found) if path is not None else None
        if path is not None and elements is not None:
            found += bdd.result_violations(elements, index)
            loaded.append((str(path), elements))
    if len(loaded) == 2:
        runs = map_results(suite.scenarios, loaded, features).runs
        found += bdd.parity_violations(suite.scenarios, runs, loaded[0][0], loaded[1][0])
    return found + [finding.format() for finding in found_words]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bdd-gate", description=DESCRIPTION)
    ap.add_argument("--features", type=Path, default=Path("features"))
    ap.add_argument("--steps", type=Path, nargs="*", default=[])
    ap.add_argument("--behave", type=Path)
    ap.add_argument("--pytest-bdd", dest="pytest_bdd", type=Path)
    ap.add_argument("--id-pattern", default=DEFAULT_ID_PATTERN)
    ap.add_argument(
        "--glossary",
        type=Path,
        help="Markdown glossary (| Term | Meaning | Not |): its ruled-out words fail the gate",
    )
    args = ap.parse_args(argv)
    violations = run(
        args.features, args.steps, args.behave, args.pytest_bdd, args.id_pattern, args.glossary
    )
    for v in violations:
        print(v)
    if violations:
        print(f"bdd-gate: {len(violations)} violation(s)", file=sys.stderr)
        return 1
    print("bdd-gate: clean")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
