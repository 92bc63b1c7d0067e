"""behave hooks: ``@gpu`` scenarios are skipped, with the reason, where there is no GPU."""

from __future__ import annotations

from typing import Any

from harness.runners import skip_scenario_without_gpu


def before_scenario(context: Any, scenario: Any) -> None:
    skip_scenario_without_gpu(scenario)
