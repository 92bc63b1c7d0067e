"""Benchmark: wall time of the behave suite, split by speed class, against a same-run baseline.

Runs ``behave`` as the README's main job does (a real subprocess) over ``features/`` for each
tag selection: the decision-level scenarios (``@decision``: pure core, injected clock), the
process-level scenarios (``@process``: a real ``poolmgr serve`` with stub engines), and the
whole suite. The baseline is ``behave --dry-run`` over the same files (start-up, parsing and
step matching, no execution), so the ratios say what executing the scenarios costs on top of
loading them. Best of ``--repeat`` runs. Prints the figures and writes
``bench/results/bench_behave.json``. Run: ``.venv/bin/python bench/bench_behave.py``.
Never used as a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FEATURES = str(ROOT / "features")
BEHAVE = [sys.executable, "-m", "behave", "--no-capture", "-f", "null"]


def timed(args: list[str]) -> float:
    # Outside the repo root, so that pyproject.toml's [tool.behave] (which also writes
    # reports/behave.json) is not read: the figure is behave's run alone, and the main job's
    # report is left as it was.
    with tempfile.TemporaryDirectory() as elsewhere:
        started = time.perf_counter()
        done = subprocess.run(args, cwd=elsewhere, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def best(args: list[str], repeat: int) -> float:
    return min(timed(args) for _ in range(repeat))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best is kept)")
    args = parser.parse_args(argv)
    baseline = best([*BEHAVE, "--dry-run", FEATURES], args.repeat)
    selections = {
        "decision": ["--tags=@decision", FEATURES],
        "process": ["--tags=@process", FEATURES],
        "all": [FEATURES],
    }
    figures: dict[str, dict[str, float]] = {}
    for name, selection in selections.items():
        seconds = best([*BEHAVE, *selection], args.repeat)
        figures[name] = {"seconds": round(seconds, 3), "ratio_to_dry_run": seconds / baseline}
    result = {
        "benchmark": "behave suite wall time",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "repeat": args.repeat,
        "baseline_dry_run_seconds": round(baseline, 3),
        "figures": figures,
    }
    out = ROOT / "bench" / "results" / "bench_behave.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"behave --dry-run (baseline): {baseline:.2f} s")
    for name, fig in figures.items():
        print(f"behave {name:<8}: {fig['seconds']:.2f} s ({fig['ratio_to_dry_run']:.1f}x dry run)")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
