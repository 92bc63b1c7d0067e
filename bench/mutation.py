"""Mutation testing of the decision modules with the feature suite as the only tests (#10).

How much wrong code do the scenarios reject? mutmut (configured in ``pyproject.toml``,
``[tool.mutmut]``) mutates every decision module -- lifecycle, backoff, breaker, restarts, leases,
registry, placement, kvcap, preflight, the GGUF reader, the failure classifier and the events it
becomes (runtime/verdicts) -- and runs
only the decision-level scenarios against each mutant (``pytest tests/bdd/test_features.py -m
decision``: the same feature files behave runs). No unit test takes part.

Usage::

    python bench/mutation.py                         # every mutant; bench/results/mutation.json
    python bench/mutation.py --sample 300 --threshold 90 --out reports/mutation-sample.json
    python bench/mutation.py --module poolmgr/core/backoff.py

It writes a JSON report (per module: total, killed, timeout, survived, no tests, equivalent,
kill rate) and, beside it, ``<name>-survivors.txt`` with the diff of every surviving mutant.
A kill rate is ``(killed + timeout) / (total - equivalent)``: a mutant that makes the suite
hang is detected (mutmut stops it), and a mutant listed in ``bench/equivalent_mutants.txt``
(reviewed, one line of reasoning each) cannot be told apart by any test and is left out.

With ``--threshold``, the exit status is 1 when a module (a full run) or the sample as a whole
(``--sample``: a few hundred mutants spread over the modules are too few per module) kills
fewer than that percentage. The baseline measured in the same run is the clean decision suite's
wall time; the report gives the mutation run's wall time as a ratio to it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
EQUIVALENTS = ROOT / "bench" / "equivalent_mutants.txt"
DEFAULT_OUT = ROOT / "bench" / "results" / "mutation.json"
BIN = Path(sys.executable).parent
MUTMUT = str(BIN / "mutmut")
SUITE = ["tests/bdd/test_features.py", "-m", "decision", "-q", "-p", "no:cacheprovider"]
# A name no mutant has: ``mutmut run`` generates the mutants and collects which scenarios reach
# which function, then stops at its own "nothing matches" check. mutmut has no command that only
# lists mutants, and a seeded sample needs the names before anything runs.
NO_MUTANT = "__list_only__"

# mutmut's exit codes per mutant (mutmut.stats.status_by_exit_code).
KILLED = {1, 3}
TIMEOUT = {-24, 24, 36, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


@dataclass
class ModuleScore:
    total: int = 0
    killed: int = 0
    timeout: int = 0
    survived: int = 0
    no_tests: int = 0
    equivalent: int = 0
    other: int = 0

    @property
    def kill_rate(self) -> float:
        judged = self.total - self.equivalent
        return 100.0 if judged <= 0 else 100.0 * (self.killed + self.timeout) / judged

    def add(self, code: int | None, equivalent: bool) -> None:
        self.total += 1
        if equivalent and code in SURVIVED | NO_TESTS:
            self.equivalent += 1
        elif code in KILLED:
            self.killed += 1
        elif code in TIMEOUT:
            self.timeout += 1
        elif code in SURVIVED:
            self.survived += 1
        elif code in NO_TESTS:
            self.no_tests += 1
        else:
            self.other += 1


def load_equivalents(path: Path = EQUIVALENTS) -> dict[str, str]:
    """``name  reason`` per line (``#`` comments); a name without a reason is an error."""
    found: dict[str, str] = {}
    if not path.exists():
        return found
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{path}:{number}: mutant {name} is listed without a reason")
        found[name] = reason.strip()
    return found


def meta_files() -> list[Path]:
    return sorted(MUTANTS.rglob("*.py.meta"))


def exit_codes() -> dict[str, dict[str, int | None]]:
    """Per module path (``poolmgr/core/backoff.py``): mutant name -> mutmut's exit code."""
    by_module: dict[str, dict[str, int | None]] = {}
    for meta in meta_files():
        module = str(meta.relative_to(MUTANTS)).removesuffix(".meta")
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        if codes:
            by_module[module] = codes
    return by_module


LOG = ROOT / "reports" / "mutmut.log"


def mutmut(*args: str) -> int:
    """Run mutmut, its progress output appended to ``reports/mutmut.log``."""
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("a", encoding="utf-8") as log:
        log.write(f"\n$ mutmut {' '.join(args[:4])}{' ...' if len(args) > 4 else ''}\n")
        log.flush()
        return subprocess.run(
            [MUTMUT, *args], cwd=ROOT, check=False, stdout=log, stderr=subprocess.STDOUT
        ).returncode


def clean_suite_seconds() -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "python"), "-m", "pytest", *SUITE], cwd=ROOT, capture_output=True, check=False
    )
    if done.returncode != 0:
        sys.stdout.write(done.stdout.decode(errors="replace")[-4000:])
        raise SystemExit("the decision scenarios fail without any mutant; fix them first")
    return time.perf_counter() - start


def choose(
    modules: list[str], sample: int | None, seed: int, max_children: int
) -> list[str] | None:
    """The mutant names to run (``None``: all of them), generating the mutants first."""
    if sample is None and not modules:
        return None
    mutmut("run", "--max-children", str(max_children), NO_MUTANT)
    codes = exit_codes()
    if not codes:
        raise SystemExit("mutmut generated no mutants; see its output above")
    names = sorted(n for m, c in codes.items() if not modules or m in modules for n in c)
    if sample is not None and sample < len(names):
        names = sorted(random.Random(seed).sample(names, sample))
    return names


def score(
    chosen: list[str] | None, equivalents: dict[str, str]
) -> tuple[dict[str, ModuleScore], list[str], list[str]]:
    """Per-module scores, the survivors and the stale entries of the equivalents list."""
    wanted = None if chosen is None else set(chosen)
    scores: dict[str, ModuleScore] = {}
    survivors: list[str] = []
    stale: list[str] = []
    known: set[str] = set()
    for module, codes in exit_codes().items():
        for name, code in sorted(codes.items()):
            known.add(name)
            if wanted is not None and name not in wanted:
                continue
            is_equivalent = name in equivalents
            scores.setdefault(module, ModuleScore()).add(code, is_equivalent)
            if is_equivalent and code in KILLED | TIMEOUT:
                stale.append(f"{name}: listed as equivalent but killed")
            elif not is_equivalent and code in SURVIVED | NO_TESTS:
                survivors.append(name)
    stale += [f"{name}: no such mutant" for name in equivalents if name not in known]
    return scores, survivors, stale


def behave_agrees(names: list[str], killed: set[str]) -> dict[str, object]:
    """Run behave's decision scenarios under each mutant; does its verdict match pytest-bdd's?

    The same feature files and step functions run under both runners; this checks it holds for
    wrong code too. behave runs inside ``mutants/`` with the trampolined copy first on the path.
    """
    for extra in ("steps", "environment.py"):
        source, target = ROOT / extra, MUTANTS / extra
        if source.is_dir() and not target.exists():
            shutil.copytree(source, target)
        elif source.is_file():
            shutil.copy2(source, target)
    disagree: list[str] = []
    for name in names:
        env = {**os.environ, "MUTANT_UNDER_TEST": name, "PYTHONPATH": str(MUTANTS)}
        done = subprocess.run(
            [str(BIN / "behave"), "--tags=decision", "-f", "null", "--no-capture", "features"],
            cwd=MUTANTS,
            env=env,
            capture_output=True,
            check=False,
        )
        if (done.returncode != 0) != (name in killed):
            disagree.append(name)
    return {"mutants": len(names), "disagree": disagree}


def write_survivors(path: Path, survivors: list[str], limit: int) -> None:
    lines = [f"# {len(survivors)} mutants survived the feature suite (diffs: first {limit})", ""]
    for name in survivors[:limit]:
        shown = subprocess.run(
            [MUTMUT, "show", name], cwd=ROOT, capture_output=True, text=True, check=False
        )
        lines.append(shown.stdout.rstrip() or f"# {name}")
        lines.append("")
    lines += [f"# {name}" for name in survivors[limit:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def table(scores: dict[str, ModuleScore]) -> str:
    rows = [
        "| module | mutants | killed | timeout | survived | no tests | equivalent | kill rate |"
    ]
    rows.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for module, s in sorted(scores.items()):
        rows.append(
            f"| `{module}` | {s.total} | {s.killed} | {s.timeout} | {s.survived} | "
            f"{s.no_tests} | {s.equivalent} | {s.kill_rate:.1f} % |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", default=[], help="only this module path")
    parser.add_argument("--sample", type=int, help="run a seeded sample of this many mutants")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--threshold", type=float, help="fail below this kill rate (percent)")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--diffs", type=int, default=400, help="survivor diffs to write")
    parser.add_argument(
        "--behave-sample",
        type=int,
        default=0,
        help="also run behave under this many killed mutants and every survivor",
    )
    parser.add_argument(
        "--score-only",
        action="store_true",
        help="score the mutants/ of the last run again (after editing the equivalents list)",
    )
    args = parser.parse_args(argv)

    equivalents = load_equivalents()
    if args.score_only:
        report = json.loads(args.out.read_text(encoding="utf-8"))
        baseline_s, wall_s, rc = report["baseline_clean_suite_s"], report["wall_s"], 0
        chosen = None
    else:
        shutil.rmtree(MUTANTS, ignore_errors=True)  # a fresh copy of the features and the code
        LOG.unlink(missing_ok=True)
        baseline_s = clean_suite_seconds()
        start = time.perf_counter()
        chosen = choose(args.module, args.sample, args.seed, args.max_children)
        rc = mutmut("run", "--max-children", str(args.max_children), *(chosen or []))
        wall_s = time.perf_counter() - start
    if rc != 0:
        tail = LOG.read_text(encoding="utf-8", errors="replace")[-3000:]
        print(f"{tail}\nmutmut run exited with {rc} (whole output: {LOG})", file=sys.stderr)
        return 2

    scores, survivors, stale = score(chosen, equivalents)
    overall = ModuleScore()
    for s in scores.values():
        for key, value in asdict(s).items():
            setattr(overall, key, getattr(overall, key) + value)
    report = {
        "tool": "mutmut "
        + subprocess.run(
            [MUTMUT, "--version"], capture_output=True, text=True, check=False
        ).stdout.split()[-1],
        "tests": "pytest " + " ".join(SUITE),
        "sample": None if args.sample is None else {"size": len(chosen or []), "seed": args.seed},
        "modules": {
            m: {**asdict(s), "kill_rate": round(s.kill_rate, 1)} for m, s in scores.items()
        },
        "overall": {**asdict(overall), "kill_rate": round(overall.kill_rate, 1)},
        "threshold": args.threshold,
        "baseline_clean_suite_s": round(baseline_s, 2),
        "wall_s": round(wall_s, 1),
        "ratio_to_baseline": round(wall_s / baseline_s, 1),
        "stale_equivalents": stale,
    }
    if args.behave_sample:
        codes = {n: c for per_module in exit_codes().values() for n, c in per_module.items()}
        killed = {n for n, c in codes.items() if c in KILLED}
        picked = random.Random(args.seed).sample(
            sorted(killed), min(args.behave_sample, len(killed))
        )
        report["behave_agreement"] = behave_agrees(sorted(picked) + survivors, killed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_survivors(args.out.with_name(args.out.stem + "-survivors.txt"), survivors, args.diffs)

    print(table(scores))
    print(
        f"overall: {overall.kill_rate:.1f} % of {overall.total} mutants ({wall_s:.0f} s, "
        f"{wall_s / baseline_s:.0f}x the clean suite's {baseline_s:.1f} s)"
    )
    for line in stale:
        print(f"warning: equivalents list: {line}")
    print(f"wrote {args.out}")
    if args.threshold is None:
        return 0
    if args.sample is not None:
        low = {"sample": overall} if overall.kill_rate < args.threshold else {}
    else:
        low = {m: s for m, s in scores.items() if s.kill_rate < args.threshold}
    for what, s in low.items():
        print(f"FAILED: {what} kills {s.kill_rate:.1f} % < {args.threshold} %", file=sys.stderr)
    return 1 if low else 0


if __name__ == "__main__":
    raise SystemExit(main())
