"""The harness layout holds: decision-level steps load no HTTP server; behave sees real steps.

- Importing the decision-level step modules loads neither fastapi nor uvicorn (only the live
  and secrets steps start a real manager).
- ``behave --dry-run -f steps.usage`` in the repo root (no path: ``[tool.behave]`` names
  ``features``) lists every step of the table at its own module and line, never at the
  runner's adapter. Serves OC-BDD-7006.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import harness.steps.__all_steps__  # noqa: F401  (fills the step table)
from harness.registry import all_steps

RunBehave = Callable[..., subprocess.CompletedProcess[str]]  # the behave_in_repo_copy fixture

ROOT = Path(__file__).resolve().parents[2]
DECISION_MODULES = [
    "harness.steps.backoff",
    "harness.steps.breaker",
    "harness.steps.config",
    "harness.steps.gates",
    "harness.steps.gpu",
    "harness.steps.leases",
    "harness.steps.lifecycle",
    "harness.steps.metrics",
    "harness.steps.placement",
]


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_decision_level_step_modules_do_not_load_the_http_server() -> None:
    code = (
        f"import sys\nfor m in {DECISION_MODULES!r}: __import__(m)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn')"
        " or m in ('poolmgr.serve', 'poolmgr.http.app', 'harness.live')))"
    )
    done = _python("-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_behave_lists_every_step_at_its_own_file_and_line(
    behave_in_repo_copy: RunBehave, tmp_path: Path
) -> None:
    done = behave_in_repo_copy("--dry-run", "--no-summary", "-f", "steps.usage")
    assert done.returncode == 0, done.stdout + done.stderr
    # -f replaced the console format only: the configured JSON report was written as well.
    assert (tmp_path / "repo" / "reports" / "behave.json").is_file()
    shown = re.findall(r"^@(given|when|then)\('.*'\)\s+# (\S+):(\d+)$", done.stdout, re.M)
    expected = {
        (d.kind, os.path.relpath(d.func.__code__.co_filename, ROOT), d.func.__code__.co_firstlineno)
        for d in all_steps()
    }
    assert len(expected) == len(all_steps()), "two steps share a location"
    assert {(kind, path, int(line)) for kind, path, line in shown} == expected
