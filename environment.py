"""behave hooks: ``@gpu`` scenarios are skipped, with the reason, where there is no GPU."""

from __future__ import annotations

from typing import Any

from harness.gpu import GPU_TAG, gpu_skip_reason


def before_scenario(context: Any, scenario: Any) -> None:
    if GPU_TAG in scenario.effective_tags:
        reason = gpu_skip_reason()
        if reason is not None:
            scenario.skip(reason=reason)
