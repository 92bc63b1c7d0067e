"""pytest-bdd's cucumber JSON plus what spec-trace needs and pytest-bdd leaves out.

pytest-bdd (``--cucumberjson=FILE``) writes only scenarios whose test body ran: a scenario
skipped at setup (``pytest.mark.skip(reason=...)``, ``skipif``) and one that ``-m``/``-k``
deselected are both missing, and no skip reason is kept. With this plugin registered, the file
gets, after pytest-bdd has written it: each such scenario as an entry with ``"status":
"skipped"``, its steps without results, ``skip_reason`` and ``selected`` (false when
deselected, so spec-trace reads it as not run rather than skipped); ``skip_reason`` on an entry
whose test skipped itself while running; and per feature ``runner`` (``pytest-bdd <version>``).

Register it from a conftest (``register(config)`` in ``pytest_configure``) or with
``-p specgate.pytest_plugin``. It does nothing without ``--cucumberjson``.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CucumberExtras", "register"]

NAME = "specgate-cucumber-extras"


def _version() -> str:
    try:
        return f"pytest-bdd {metadata.version('pytest-bdd')}"
    except metadata.PackageNotFoundError:
        return "pytest-bdd"


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ").strip()


@dataclass
class _Scenario:
    """What the cucumber entry of a test that did not run needs."""

    uri: str
    feature: dict[str, Any]
    element: dict[str, Any]


def _scenario_of(item: pytest.Item) -> _Scenario | None:
    """The pytest-bdd scenario a test item runs (None for other tests)."""
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry as templates
    except ImportError:  # pragma: no cover (another pytest-bdd layout)
        return None
    function = getattr(item, "obj", None)
    template = templates.get(function) if callable(function) else None
    if template is None:
        return None
    callspec = getattr(item, "callspec", None)
    example = callspec.params.get("_pytest_bdd_example", {}) if callspec else {}
    scenario = template.render(example)
    feature = template.feature
    tags = sorted(template.tags | feature.tags)
    return _Scenario(
        uri=feature.rel_filename,
        feature={
            "keyword": feature.keyword,
            "uri": feature.rel_filename,
            "name": feature.name or feature.rel_filename,
            "id": feature.rel_filename.lower().replace(" ", "-"),
            "line": feature.line_number,
            "description": feature.description,
            "language": feature.language,
            "tags": [{"name": t, "line": feature.line_number - 1} for t in sorted(feature.tags)],
            "elements": [],
        },
        element={
            "keyword": template.keyword,
            "id": item.name,
            "name": scenario.name,
            "line": template.line_number,
            "description": "",
            "tags": [{"name": t, "line": template.line_number - 1} for t in tags],
            "type": "scenario",
            "status": "skipped",
            "steps": [
                {"keyword": s.keyword, "name": s.name, "line": s.line_number}
                for s in scenario.steps
            ],
        },
    )


class CucumberExtras:
    """Collects skipped and deselected scenarios, then amends the cucumber JSON file."""

    def __init__(self, path: str) -> None:
        self.path = Path(path).expanduser().resolve()
        self.skipped: dict[str, tuple[_Scenario, str, bool]] = {}
        """nodeid -> (scenario, reason, whether the test body ran)."""
        self.deselected: list[_Scenario] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if report.skipped and report.when in ("setup", "call"):
            scenario = _scenario_of(item)
            if scenario is not None:
                ran = report.when == "call"
                self.skipped[item.nodeid] = (scenario, _skip_reason(report), ran)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += [s for s in map(_scenario_of, items) if s is not None]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        if not self.path.is_file():
            return
        features = json.loads(self.path.read_text(encoding="utf-8"))
        by_uri = {f["uri"]: f for f in features}
        for scenario, reason, ran in self.skipped.values():
            feature = by_uri.setdefault(scenario.uri, scenario.feature)
            elements = feature.setdefault("elements", [])
            found = next((e for e in elements if e.get("id") == scenario.element["id"]), None)
            if found is None or not ran:
                found = {**scenario.element, "selected": True}
                elements.append(found)
            found["status"] = "skipped"
            found["skip_reason"] = reason
        for scenario in self.deselected:
            feature = by_uri.setdefault(scenario.uri, scenario.feature)
            entry = {**scenario.element, "selected": False, "skip_reason": None}
            feature.setdefault("elements", []).append(entry)
        runner = _version()
        for feature in by_uri.values():
            feature["runner"] = runner
        self.path.write_text(json.dumps(list(by_uri.values())), encoding="utf-8")


def register(config: pytest.Config) -> None:
    """Register the plugin when ``--cucumberjson`` is given (once; not on xdist workers)."""
    path = getattr(config.option, "cucumber_json_path", None)
    if not path or hasattr(config, "workerinput") or config.pluginmanager.has_plugin(NAME):
        return
    config.pluginmanager.register(CucumberExtras(path), NAME)


def pytest_configure(config: pytest.Config) -> None:
    """``-p specgate.pytest_plugin``: the same as calling :func:`register`."""
    register(config)
