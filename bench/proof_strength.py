"""Proof strength per requirement: the mutation score of a requirement's own scenarios (#10).

"Covered" says a requirement has a passing scenario; it does not say that the scenario would
fail for a wrong implementation. For each requirement ID this tool takes the decision-level
scenarios tagged with it, finds the decision-module functions those scenarios execute (mutmut's
own record of which test reaches which function, ``mutants/mutmut-stats.json``), draws a seeded
sample of the mutants of those functions and runs only that requirement's scenarios against
each. The share of sampled mutants they reject is the requirement's proof strength.

Usage (after ``bench/mutation.py`` has generated ``mutants/``; it generates them itself if not)::

    python bench/proof_strength.py                      # bench/results/proof-strength.json
    python bench/proof_strength.py --per-requirement 40 --seed 7

``spec-trace --proof-strength bench/results/proof-strength.json --proof-floor N`` shows the
figure beside "covered" in the report and fails for a MUST requirement below the floor.

How it runs: one pytest session collects the scenarios once (inside ``mutants/``, so the code
under test is mutmut's trampolined copy); for every (requirement, mutant) pair the process
forks, the child activates the mutant and runs that requirement's scenarios with pytest's own
``runtestprotocol`` and exits 1 at the first failure. Forking after collection keeps each trial
to the scenarios' own run time. A child still running after ``--timeout`` seconds is killed and
counts as a kill (the scenarios hung, which mutmut also counts as detected). Mutants listed in
``bench/equivalent_mutants.txt`` are left out of the sample.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from mutation import MUTANTS, MUTMUT, NO_MUTANT, SUITE, exit_codes, load_equivalents  # noqa: E402

REQUIREMENT_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d+$")
DEFAULT_OUT = ROOT / "bench" / "results" / "proof-strength.json"


def mangled(mutant: str) -> str:
    """The function a mutant belongs to (mutmut names mutants ``<function>__mutmut_<n>``)."""
    return mutant.rsplit("__mutmut_", 1)[0]


def ensure_mutants() -> None:
    if not (MUTANTS / "mutmut-stats.json").exists():
        subprocess.run([MUTMUT, "run", "--max-children", "2", NO_MUTANT], cwd=ROOT, check=False)
    if not (MUTANTS / "mutmut-stats.json").exists():
        raise SystemExit("mutmut produced no stats; run bench/mutation.py first")


def trial(items: list[Any], mutant: str, timeout_s: float) -> bool:
    """Whether the scenarios ``items`` fail with ``mutant`` active (in a forked child)."""
    from _pytest.runner import runtestprotocol

    pid = os.fork()
    if pid == 0:  # child: never returns
        code = 0
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.environ["MUTANT_UNDER_TEST"] = mutant
            for item in items:
                reports = runtestprotocol(item, log=False, nextitem=None)
                if any(report.failed for report in reports):
                    code = 1
                    break
        except BaseException:  # a crash in the child is a failing scenario
            code = 1
        os._exit(code)
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) != 0
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return True
        time.sleep(0.005)


class ProofRunner:
    """pytest plugin: collect once, then run the trials instead of the normal test loop."""

    def __init__(self, per_requirement: int, seed: int, timeout_s: float) -> None:
        self.per_requirement = per_requirement
        self.seed = seed
        self.timeout_s = timeout_s
        self.result: dict[str, dict[str, Any]] = {}

    def pytest_runtestloop(self, session: Any) -> bool:
        stats = json.loads((MUTANTS / "mutmut-stats.json").read_text(encoding="utf-8"))
        reached: dict[str, set[str]] = defaultdict(set)  # test node id -> functions
        for function, tests in stats["tests_by_mangled_function_name"].items():
            for test in tests:
                reached[test].add(function)
        equivalents = load_equivalents()
        mutants_of: dict[str, list[str]] = defaultdict(list)
        for codes in exit_codes().values():
            for name in codes:
                if name not in equivalents:
                    mutants_of[mangled(name)].append(name)
        by_requirement: dict[str, list[Any]] = defaultdict(list)
        for item in session.items:
            for mark in {m.name for m in item.iter_markers()}:
                if REQUIREMENT_ID.match(mark):
                    by_requirement[mark].append(item)
        for rid, items in sorted(by_requirement.items()):
            functions = set().union(*(reached.get(item.nodeid, set()) for item in items))
            pool = sorted(n for f in functions for n in mutants_of.get(f, []))
            rng = random.Random(f"{self.seed}:{rid}")
            sample = (
                pool
                if len(pool) <= self.per_requirement
                else rng.sample(pool, self.per_requirement)
            )
            killed = sum(trial(items, mutant, self.timeout_s) for mutant in sample)
            self.result[rid] = {
                "scenarios": len(items),
                "mutants_reached": len(pool),
                "sampled": len(sample),
                "killed": killed,
                "score": round(100.0 * killed / len(sample), 1) if sample else None,
            }
            shown = "-" if not sample else f"{self.result[rid]['score']:.0f} %"
            print(
                f"{rid}: {shown} ({killed}/{len(sample)} of {len(pool)} mutants reached, "
                f"{len(items)} scenarios)",
                file=sys.__stdout__,
                flush=True,
            )
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-requirement", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    out = args.out.resolve()
    ensure_mutants()

    os.chdir(MUTANTS)  # import the trampolined copy of the code, as mutmut does
    sys.path.insert(0, str(MUTANTS))
    import pytest

    runner = ProofRunner(args.per_requirement, args.seed, args.timeout)
    start = time.perf_counter()
    rc = pytest.main([*SUITE, "-p", "no:randomly"], plugins=[runner])
    wall_s = time.perf_counter() - start
    if rc not in (0, 5) and not runner.result:
        return 2
    report = {
        "what": "share of sampled mutants of the code a requirement's decision-level "
        "scenarios execute that those scenarios alone reject",
        "tests": "pytest " + " ".join(SUITE),
        "per_requirement": args.per_requirement,
        "seed": args.seed,
        "wall_s": round(wall_s, 1),
        "requirements": runner.result,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(runner.result)} requirements, {wall_s:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
