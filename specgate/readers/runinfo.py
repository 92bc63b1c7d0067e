"""What a report says about its run: the commit, the date and the runners of the results.

Decides each ``RunInfo`` field that ``spec-trace`` does not take from an option: the commit is
``git rev-parse HEAD`` of the working directory (empty outside a git checkout or without git);
the date is the newest results file's modification time, ISO 8601 in UTC to the second (so a
report made again from the same files says the same); a runner is named with its version when
the results file records one (specgate's behave formatter and pytest plugin do), else by the
shape of its entries, followed by the results file.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from specgate.model import ResultElement

__all__ = ["git_commit", "newest_mtime", "runner_label"]


def git_commit(cwd: Path) -> str:
    """``git rev-parse HEAD`` in ``cwd``, or empty when that is no git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def newest_mtime(paths: Sequence[Path]) -> str:
    """The newest modification time among the files that exist, ``YYYY-MM-DDTHH:MM:SSZ``."""
    times = [p.stat().st_mtime for p in paths if p.is_file()]
    if not times:
        return ""
    return datetime.fromtimestamp(int(max(times)), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def runner_label(shown: str, elements: Sequence[ResultElement]) -> str:
    """``behave 1.3.3 (reports/behave.json)``; ``pytest-bdd (x.json)`` without a version;
    ``x.json (no scenarios)`` when the file reports none."""
    if not elements:
        return f"{shown} (no scenarios)"
    versions = sorted({e.runner_version for e in elements if e.runner_version})
    if versions:
        return f"{', '.join(versions)} ({shown})"
    runners = sorted({str(e.runner) for e in elements})
    return f"{', '.join(runners)} ({shown})"
