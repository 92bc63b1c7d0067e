"""Running a benchmark script as its smoke test does: one place for the bench tests' set-up.

Each ``tests/unit/test_bench_*.py`` runs its script once (``--quick`` or a short run) into a
temporary file and checks the report; this runs it, checks that it exited 0 and printed its
Markdown table, and answers the JSON it wrote.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TABLE_HEADER = "| Figure | Value | Baseline (same run) |"


def run_bench(
    tmp_path_factory: pytest.TempPathFactory, script: str, *args: str, timeout_s: int = 300
) -> dict[str, Any]:
    """Run ``bench/<script> ARGS --out <tmp>``; the report it wrote."""
    out = tmp_path_factory.mktemp("bench") / Path(script).with_suffix(".json").name
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert TABLE_HEADER in done.stdout
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report
