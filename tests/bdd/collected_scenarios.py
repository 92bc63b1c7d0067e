"""pytest plugin: writes the scenarios pytest-bdd collected, to compare them with behave's.

Loaded with ``-p tests.bdd.collected_scenarios`` (the repo root on ``PYTHONPATH``) by
``tests/bdd/test_runner_config.py``. After collection it writes one line per collected
scenario to the file named by ``COLLECTED_SCENARIOS``: the feature file relative to the
current folder, a tab, and the scenario's name with an outline's example values filled in
(the name behave reports for the same row).
"""

from __future__ import annotations

import os

import pytest
from pytest_bdd.scenario import scenario_wrapper_template_registry


def pytest_collection_finish(session: pytest.Session) -> None:
    lines = []
    for item in session.items:
        function = getattr(item, "obj", None)
        template = None if function is None else scenario_wrapper_template_registry.get(function)
        if template is None:
            continue
        callspec = getattr(item, "callspec", None)
        example = {} if callspec is None else callspec.params.get("_pytest_bdd_example", {})
        path = os.path.relpath(template.feature.filename)
        lines.append(f"{path}\t{template.render(example).name}\n")
    with open(os.environ["COLLECTED_SCENARIOS"], "w", encoding="utf-8") as out:
        out.writelines(lines)
