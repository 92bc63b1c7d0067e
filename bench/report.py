"""What every benchmark's report shares: the machine it ran on and how the report is written.

Each ``bench/bench_*.py`` builds its figures, each with a baseline measured in the same run;
this module names the machine (cores, Python, the load average when the run started and when
it ended: the machines are shared, so a figure is read with its load) and writes the JSON and
prints the Markdown table, the same way for every benchmark.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """The machine block of a report, at the start of the run."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }


def finish(
    result: dict[str, Any], out: Path, render: Callable[[dict[str, Any]], str], started: float
) -> int:
    """Note the load at the end and the run's seconds, write ``out``, print the table; 0."""
    result["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    result["seconds"] = round(time.perf_counter() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(render(result))
    print(f"wrote {out}")
    return 0
