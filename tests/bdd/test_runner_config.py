"""behave's settings live in ``[tool.behave]``; both runners select the same scenarios by tag.

- behave reads ``pyproject.toml`` (``[tool.behave]``): a plain ``behave`` in the repo root runs
  ``features/``, writes the JSON report to ``reports/behave.json`` (making the folder) and shows
  progress on the console, with output capture off, as ci/main.sh and ci/test.sh rely on.
- A requirement ID, a speed tag or a tag expression selects the same scenarios, outline rows
  included, under behave (``--tags=@OC-POOL-3011``) and under pytest-bdd
  (``-m OC-POOL-3011``), and ``-m gpu`` is a registered mark even where no feature has it.
  Serves OC-BDD-7006 (both runners execute the same scenarios).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from behave.configuration import Configuration

from harness.runners import marker_names

RunBehave = Callable[..., subprocess.CompletedProcess[str]]  # the behave_in_repo_copy fixture
ROOT = Path(__file__).resolve().parents[2]
Scenarios = Counter[tuple[str, str]]

# behave names an outline's row "{name} -- @{row.id} {examples.name}" (its default schema).
_ROW_ANNOTATION = re.compile(r" -- @\d+\.\d+ .*$")


def test_behave_takes_its_settings_from_pyproject(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    config = Configuration(command_args=[])
    assert config.paths == ["features"]
    assert config.format == ["specgate.behave_formatter:PrettyJSONFormatter"]
    assert [output.name for output in config.outputs] == ["reports/behave.json"]
    assert config.default_format == "progress"
    assert (config.capture_stdout, config.capture_stderr, config.capture_log) == (
        False,
        False,
        False,
    )


def test_plain_behave_in_the_repo_root_runs_every_feature_and_writes_the_json_report(
    behave_in_repo_copy: RunBehave, tmp_path: Path
) -> None:
    report = tmp_path / "repo" / "reports" / "behave.json"
    assert not report.parent.exists()
    done = behave_in_repo_copy("--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    features = {
        f"features/{p.relative_to(ROOT / 'features')}" for p in ROOT.glob("features/**/*.feature")
    }
    assert "features/gpu/nvml.feature" in features
    reported = {feature["location"].split(":")[0] for feature in json.loads(report.read_text())}
    assert reported == features
    # The console format is progress: one line per feature file, one mark per scenario.
    assert re.search(r"^features/gpu/nvml\.feature\s+_\s*$", done.stdout, re.M), done.stdout


def _behave_selects(run: RunBehave, root: Path, tags: str) -> Scenarios:
    done = run("--dry-run", "--no-summary", f"--tags={tags}", "-o", os.devnull)
    assert done.returncode == 0, done.stdout + done.stderr
    features = json.loads((root / "reports" / "behave.json").read_text())
    return Counter(
        (element["location"].split(":")[0], _ROW_ANNOTATION.sub("", element["name"]))
        for feature in features
        for element in feature.get("elements", [])
        if element["type"] == "scenario" and element["status"] == "untested"
    )


def _pytest_selects(tmp_path: Path, marks: str) -> Scenarios:
    listing = tmp_path / "collected.tsv"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLLECTED_SCENARIOS": str(listing)}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider"),
            *("-p", "tests.bdd.collected_scenarios", "-m", marks, "tests/bdd/test_features.py"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = listing.read_text(encoding="utf-8").splitlines()
    return Counter((path, name) for path, name in (row.split("\t", 1) for row in rows))


KILLED_ENGINE = (
    "features/process/faults.feature",
    "A killed engine is restarted and its pool becomes ready again",
)
STORM = ("features/circuit_breaker/breaker.feature", "A restart storm is bounded in every window")
NVML = ("features/gpu/nvml.feature", "NVML lists every GPU with its memory")


@pytest.mark.parametrize(
    ("behave_tags", "pytest_marks", "selected", "not_selected"),
    [
        ("@OC-POOL-3011", "OC-POOL-3011", [KILLED_ENGINE, STORM], [NVML]),
        ("@gpu", "gpu", [NVML], [KILLED_ENGINE, STORM]),
        (
            "@OC-POOL-3011 and not @process",
            "OC-POOL-3011 and not process",
            [STORM],
            [KILLED_ENGINE],
        ),
    ],
)
def test_behave_tags_and_pytest_marks_select_the_same_scenarios(
    behave_in_repo_copy: RunBehave,
    tmp_path: Path,
    behave_tags: str,
    pytest_marks: str,
    selected: list[tuple[str, str]],
    not_selected: list[tuple[str, str]],
) -> None:
    by_behave = _behave_selects(behave_in_repo_copy, tmp_path / "repo", behave_tags)
    by_pytest = _pytest_selects(tmp_path, pytest_marks)
    assert by_behave == by_pytest
    for scenario in selected:
        assert by_behave[scenario] == 1, scenario
    for scenario in not_selected:
        assert scenario not in by_behave, scenario


def test_speed_tags_are_marks_even_where_no_feature_carries_them(tmp_path: Path) -> None:
    assert marker_names(tmp_path) == {"decision", "process", "gpu"}
    (tmp_path / "one.feature").write_text(
        "@decision @OC-X-1\nFeature: one\n\n  @OC-X-2\n  Scenario: s\n    Given a step\n",
        encoding="utf-8",
    )
    assert marker_names(tmp_path) == {"decision", "process", "gpu", "OC-X-1", "OC-X-2"}
