"""pytest-bdd bindings: the shared step table registered by :mod:`harness.runners`.

The same functions behave runs are registered here with ``pytest_bdd.parsers.parse``; the
world is a fixture named ``world`` (the table's first parameter), and a ``docstring``
parameter receives the step's doc string, as pytest-bdd provides it. Serves OC-BDD-7006.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.runners import apply_pytest_bdd_tag, marker_names, register_pytest_bdd
from harness.world import PoolWorld
from specgate.pytest_plugin import register as register_cucumber_extras


@pytest.fixture
def world() -> PoolWorld:
    """A fresh scenario world."""
    return PoolWorld()


ROOT = Path(__file__).resolve().parents[2]
FEATURES = ROOT / "features"

#: What behave needs from the repo root: its configuration, the features, the step glue and
#: the packages the glue imports. Nothing else (no reports/, no .venv).
MIRRORED = (
    "pyproject.toml",
    "environment.py",
    "features",
    "steps",
    "harness",
    "poolmgr",
    "specgate",
)

RunBehave = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def behave_in_repo_copy(tmp_path: Path) -> RunBehave:
    """Run ``python -m behave ARGS`` in the root of a copy of this repo (links to its files).

    behave reads the repo's ``[tool.behave]`` there as it would in the repo itself, and writes
    its reports under ``tmp_path/repo/reports``, never over the repo's own ``reports/``.
    """
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in MIRRORED:
        (repo / name).symlink_to(ROOT / name)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": str(repo)}
        return subprocess.run(
            [sys.executable, "-m", "behave", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run


def pytest_configure(config: pytest.Config) -> None:
    """Register every feature tag and the speed tags as marks (``-m gpu``, ``-m OC-POOL-3011``)."""
    for tag in sorted(marker_names(FEATURES)):
        config.addinivalue_line("markers", f"{tag}: feature tag (harness.runners.marker_names)")
    # --cucumberjson also gets skip reasons and deselected scenarios (for spec-trace).
    register_cucumber_extras(config)


def pytest_bdd_apply_tag(tag: str, function: Callable[..., object]) -> bool:
    """Each tag becomes a mark of the same name; ``@gpu`` also skips without a GPU."""
    return apply_pytest_bdd_tag(tag, function)


register_pytest_bdd()
