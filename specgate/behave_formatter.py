"""behave's JSON formatter plus what spec-trace needs and behave's JSON leaves out.

behave 1.3 writes a scenario that ``--tags`` did not select exactly as one a hook
skipped (``scenario.skip(reason=...)``): ``"status": "skipped"`` and steps without results,
and it drops the reason. This formatter writes the same document with, per scenario entry,
``selected`` (false: the run did not select it, so it was not run) and ``skip_reason`` (the
reason given to ``skip``, else null), and per feature ``runner`` (``behave <version>``).
(Scenarios that ``-n`` did not select behave leaves out; spec-trace counts them as not run.) Use it
by its scoped name, in place of ``json`` / ``json.pretty``::

    behave -f specgate.behave_formatter:PrettyJSONFormatter -o reports/behave.json features

or give it a short name in the behave configuration (``[behave.formatters]`` in behave.ini,
``[tool.behave.formatters]`` in pyproject.toml). specgate's results reader reads both keys;
other readers of behave JSON ignore them.
"""

from __future__ import annotations

from typing import Any

import behave
from behave.formatter import json as behave_json

__all__ = ["JSONFormatter", "PrettyJSONFormatter"]

RUNNER = f"behave {behave.__version__}"


def selected(scenario: Any, config: Any) -> bool:
    """Whether the run's tag expression and name filter select the scenario."""
    by_tags = scenario.should_run_with_tags(config.tag_expression)
    return bool(by_tags and scenario.should_run_with_name_select(config))


class JSONFormatter(behave_json.JSONFormatter):  # type: ignore[misc]
    """``json`` with ``selected``/``skip_reason`` per scenario and ``runner`` per feature."""

    name = "specgate.json"
    description = "behave JSON plus selection and skip reasons (for spec-trace)"

    def feature(self, feature: Any) -> None:
        super().feature(feature)
        self.current_feature_data["runner"] = RUNNER

    def finish_current_scenario(self) -> None:
        super().finish_current_scenario()
        scenario = self.current_scenario
        if scenario is None:
            return
        element = self.current_feature_element
        element["selected"] = selected(scenario, self.config)
        reason = getattr(scenario, "skip_reason", None)
        element["skip_reason"] = str(reason) if reason else None


class PrettyJSONFormatter(JSONFormatter):
    """The same, indented and with sorted keys (as ``json.pretty``)."""

    name = "specgate.json.pretty"
    dumps_kwargs = {"indent": 2, "sort_keys": True}  # noqa: RUF012 (behave's own attribute)
